/**
 * The seeded structural fuzzer, a slice of it (the bench runs 100,000+ inputs):
 * JSON frames and Socket.IO packets built from the protocol's shapes then broken,
 * and raw RFC 6455 violations, at both flavours. Passes when the server is still
 * serving afterwards, logged no stack trace, and leaked no connections.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, startTestServer, token, until } from '../server-ws/helpers.ts';
import { Client as SioClient, cleanup as cleanupSio, startSio } from '../server-socketio/helpers.ts';
import { fuzzNative, fuzzRawFrames, fuzzSocketIo } from './fuzz-run.ts';
import { captureLog } from './helpers.ts';

afterEach(async () => {
  await cleanupSio();
  await cleanup();
});

const SEED = 1313;

describe('fuzzer', () => {
  it('native: 2,000 fuzzed frames and 100 RFC 6455 violations; still serving, no stack in the log', async () => {
    const { lines, log } = captureLog();
    const s = await startTestServer({ rate: 0, maxRoomsPerConn: 20 }, { log });
    const t = token();
    const json = await fuzzNative(`${s.url}?token=${t}`, 2000, SEED);
    const raw = await fuzzRawFrames(s.port, `/ws?token=${t}`, 100, SEED, 300);
    // Every violation but the truncated frame (which waits for more bytes) is closed by the server.
    expect(raw.closedByServer).toBeGreaterThan(80);
    expect(json.sent).toBe(2000);
    expect(s.stats().badRequests).toBeGreaterThan(300);
    const c = await Client.open(s.url);
    expect(await c.join('after')).toMatchObject({ type: 'joined' });
    expect(lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
    c.ws.close();
    await until(() => s.stats().connections === 0, 5000, 'every fuzz connection gone');
  });

  it('socketio: 2,000 fuzzed packets and 100 RFC 6455 violations; still serving, no stack in the log', async () => {
    const { lines, log } = captureLog();
    const s = await startSio({ rate: 0, maxRoomsPerConn: 20 }, { log });
    const json = await fuzzSocketIo(s.url, token({ sub: 'fuzz' }), 2000, SEED);
    const raw = await fuzzRawFrames(s.port, '/socket.io/?EIO=4&transport=websocket', 100, SEED, 300);
    expect(json.sent).toBe(2000);
    expect(raw.closedByServer).toBeGreaterThan(70);
    const a = await SioClient.open(s.url);
    expect(await a.join('after')).toMatchObject({ success: true });
    expect(await a.ack('message', { roomId: 'after', content: 'ok' })).toMatchObject({ success: true });
    expect(lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
  });
});
