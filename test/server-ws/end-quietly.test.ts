/** servers/ws/conn.ts endQuietly: ws's frame readers end without building errors nobody receives. */
import { Writable } from 'node:stream';
import * as wsModule from 'ws';
import { describe, expect, it } from 'vitest';
import { endQuietly } from '../../servers/ws/conn.ts';

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

describe('endQuietly', () => {
  it('is the end() of ws frame readers once the server is loaded', () => {
    expect((wsModule as unknown as { Receiver: { prototype: { end: unknown } } }).Receiver.prototype.end).toBe(endQuietly);
  });

  it('ends an open stream like Writable.end', async () => {
    const w = sink();
    const finished = new Promise((r) => w.once('finish', r));
    expect(endQuietly.call(w)).toBe(w);
    await finished;
    expect(w.writableFinished).toBe(true);
  });

  it('returns at once on a finished or destroyed stream, without going into Writable.end (where the error is built)', async () => {
    const w = sink();
    w.end();
    await new Promise((r) => w.once('finish', r));
    const d = sink();
    d.destroy();
    for (const done of [w, d]) {
      // A view of the stream that counts every look at its internal state, which Writable.end reads first.
      let reads = 0;
      const probe = Object.create(done, {
        writableFinished: { value: done.writableFinished },
        destroyed: { value: done.destroyed },
        writableCorked: { value: 0 },
        _writableState: {
          get: () => {
            reads++;
            return (done as unknown as { _writableState: unknown })._writableState;
          },
        },
      });
      expect(endQuietly.call(probe)).toBe(probe);
      expect(reads).toBe(0);
      (Writable.prototype.end as (this: unknown) => unknown).call(probe);
      expect(reads).toBeGreaterThan(0);
    }
  });

  it('with a callback, behaves as Writable.end: the callback gets ERR_STREAM_ALREADY_FINISHED', async () => {
    const w = sink();
    w.end();
    await new Promise((r) => w.once('finish', r));
    const err = await new Promise<Error | null | undefined>((r) => endQuietly.call(w as never, (e: Error | null | undefined) => r(e)));
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_STREAM_ALREADY_FINISHED');
  });
});
