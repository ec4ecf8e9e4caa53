/**
 * The bundled native server names its rooms' sequence epoch (PROTOCOL.md): in the
 * welcome, `joined` and `ack`; a new process is a new epoch; a resume whose `since`
 * belongs to another epoch is replayed the current epoch from its start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client, cleanup, startTestServer } from '../server-ws/helpers.ts';

afterEach(cleanup);

describe('native server: sequence epoch', () => {
  it('names one epoch per process in welcome, joined and ack, and replays the current epoch to a resume from another', async () => {
    const s = await startTestServer();
    const other = await startTestServer();
    const a = await Client.open(s.url);
    const epoch = a.welcome.epoch as string;
    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    expect((await Client.open(other.url)).welcome.epoch).not.toBe(epoch);
    expect(await a.join('r')).toMatchObject({ type: 'joined', seq: 0, epoch });
    for (let i = 1; i <= 3; i++) expect(await a.request({ type: 'publish', id: `p${i}`, room: 'r', payload: { i } })).toMatchObject({ type: 'ack', seq: i, epoch });

    // Resuming with a seq of a sequence that is gone (another epoch, even one ahead of this one): everything of this epoch.
    const b = await Client.open(s.url);
    expect(await b.join('r', { since: 10, epoch: 'gone' })).toMatchObject({ type: 'joined', seq: 3, epoch });
    const replayed = [await b.next((f) => f.type === 'message'), await b.next((f) => f.type === 'message'), await b.next((f) => f.type === 'message')];
    expect(replayed.map((f) => [f.seq, f.replay])).toEqual([[1, true], [2, true], [3, true]]);
    expect(b.frames.some((f) => f.type === 'gap')).toBe(false);

    // Resuming in the same epoch: only what came after `since`.
    const c = await Client.open(s.url);
    expect(await c.join('r', { since: 2, epoch })).toMatchObject({ seq: 3, epoch });
    expect(await c.next((f) => f.type === 'message')).toMatchObject({ seq: 3, replay: true });
    expect(c.frames.filter((f) => f.type === 'message')).toEqual([]);
  });
});
