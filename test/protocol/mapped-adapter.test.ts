/**
 * Codecs for other dialects: renamed wsbench/1 (`--set ws-fields/ws-types`) without a room
 * field or an ack, and `--adapter` modules, loaded and checked with WSB_ERR_ADAPTER.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMappedCodec } from '../../src/protocol/mapped.ts';
import { applyAdapterOption, codecProblems, loadAdapterFile } from '../../src/scenario/adapter-file.ts';
import type { ScenarioDefinition } from '../../src/scenario/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('renamed wsbench/1', () => {
  it('leaves the room out of a message that has no room field, and names the field', () => {
    const c = createMappedCodec('type=op,room=channel,payload=body', 'message=event,ack=none,welcome=none');
    expect(c.decode('{"op":"event","body":{"wsb":"1.2.3.4"}}')).toEqual({ kind: 'message', room: undefined, seq: undefined, tag: '1.2.3.4', replay: false });
    expect(c.decode('{"op":"event","channel":"c","body":{"wsb":"1.2.3.4"}}')).toMatchObject({ kind: 'message', room: 'c' });
    expect(c.roomField).toBe('channel');
    expect(c.publishAck).toBe('none');
    expect(c.awaitsWelcome).toBe(false);
    expect(createMappedCodec('type=op').publishAck).toBe('frame');
  });

  it('decodes replies without ids as id-less (the runtime matches them in order)', () => {
    const c = createMappedCodec('type=op', 'joined=subbed,pong=hb');
    expect(c.decode('{"op":"subbed"}')).toEqual({ kind: 'joined', id: undefined, room: undefined, members: undefined, seq: undefined });
    expect(c.decode('{"op":"hb"}')).toEqual({ kind: 'pong', id: undefined });
  });
});

describe('--adapter modules', () => {
  const options = { clients: 1 };

  it('accepts a default-exported codec, a factory, and a named `adapter` export', async () => {
    const codec = "{ name: 'x', encodeJoin: () => 'j', encodeLeave: () => 'l', encodePublish: () => 'p', decode: () => null, publishAck: 'echo' }";
    for (const text of [`export default ${codec};`, `export default (o) => (${codec});`, `export const adapter = () => (${codec});`]) {
      const factory = await loadAdapterFile(file(`ok-${Math.random().toString(36).slice(2)}.ts`, text), options);
      expect(factory(options)).toMatchObject({ name: 'x', publishAck: 'echo' });
    }
  });

  it('the bundled example adapter is a valid codec', async () => {
    const example = fileURLToPath(new URL('../../examples/plain-chat-adapter.ts', import.meta.url));
    const codec = (await loadAdapterFile(example, options))(options);
    expect(codec.decode('{"event":"subscribed"}')).toEqual({ kind: 'joined' });
    expect(codec.decode('{"event":"error","message":"Rate limit exceeded"}')).toMatchObject({ kind: 'error', code: 'rate_limited' });
  });

  it('names every problem of a bad module with WSB_ERR_ADAPTER and a hint', async () => {
    const bad = [
      [file('none.ts', 'export const x = 1;'), /exports no codec \(exports: x\)/],
      [file('syntax.ts', 'export default {'), /syntax error/],
      [file('throws.ts', "export default () => { throw new Error('no config'); };"), /building the codec threw: no config/],
      [join(dir, 'missing.ts'), /adapter file not found/],
    ] as const;
    for (const [path, said] of bad) {
      await expect(loadAdapterFile(path, options)).rejects.toMatchObject({ code: 'WSB_ERR_ADAPTER', message: expect.stringMatching(said), hint: expect.any(String) });
    }
    const partial = file('partial.ts', "export default { name: 'p', encodeJoin: () => '', publishAck: 'sometimes' };");
    await expect(loadAdapterFile(partial, options)).rejects.toMatchObject({
      code: 'WSB_ERR_ADAPTER',
      problems: expect.arrayContaining([expect.stringMatching(/no "decode" function/), expect.stringMatching(/publishAck "sometimes"/)]),
    });
  });

  it('replaces the scenario\'s codec; refuses Socket.IO and a second description of the dialect', async () => {
    const path = file('good.ts', "export default { name: 'g', encodeJoin: () => '', encodeLeave: () => '', encodePublish: () => '', decode: () => null };");
    const def: ScenarioDefinition = { name: 's', description: 'd' };
    expect(await applyAdapterOption(def, { adapter: '' }, 'ws')).toBe(def);
    expect((await applyAdapterOption(def, { adapter: path }, 'ws')).adapter!({})).toMatchObject({ name: 'g' });
    await expect(applyAdapterOption(def, { adapter: path }, 'socketio')).rejects.toMatchObject({ code: 'WSB_ERR_ADAPTER' });
    await expect(applyAdapterOption(def, { adapter: path, wsFields: 'type=op' }, 'ws')).rejects.toMatchObject({ code: 'WSB_ERR_ADAPTER', message: expect.stringMatching(/both describe/) });
    expect(codecProblems(null, 'f')).toEqual(['f: the codec is null, expected an object']);
  });
});

describe('per-connection codec state', () => {
  it('each connection decodes with its own codec from forConnection', async () => {
    const { WebSocketServer } = await import('ws');
    const { createRawTransport } = await import('../../src/protocol/raw-transport.ts');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    // The server answers a subscribe with a bare "ok": only the connection knows which room it asked for.
    wss.on('connection', (ws) => ws.on('message', () => ws.send('{"op":"ok"}')));
    let made = 0;
    const codec = {
      name: 'bare-ok',
      encodeJoin: () => '',
      encodeLeave: () => '',
      encodePublish: () => '',
      decode: () => null,
      forConnection() {
        made++;
        const asked: string[] = [];
        return {
          ...codec,
          encodeJoin: (room: string) => (asked.push(room), JSON.stringify({ op: 'sub', channel: room })),
          decode: () => ({ kind: 'joined' as const, room: asked.shift() }),
        };
      },
    };
    const transport = createRawTransport(codec);
    const port = (wss.address() as { port: number }).port;
    const open = (rooms: string[]) =>
      new Promise<Array<string | undefined>>((resolve) => {
        const got: Array<string | undefined> = [];
        const conn = transport.connect(
          { url: `ws://127.0.0.1:${port}/`, handshakeTimeoutMs: 2000 },
          {
            onOpen: () => rooms.forEach((r, i) => conn.join(r, i)),
            onHeartbeat: () => {},
            onFrame: (f) => {
              got.push(f.kind === 'joined' ? f.room : undefined);
              if (got.length === rooms.length) {
                conn.close();
                resolve(got);
              }
            },
            onDelivery: () => {},
            onError: () => {},
            onClose: () => {},
          },
        );
      });
    try {
      expect(await Promise.all([open(['a', 'b']), open(['c'])])).toEqual([['a', 'b'], ['c']]);
      expect(made).toBe(2);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
