/**
 * The native flavour's upgrade path (servers/ws/upgrade.ts): the identity slot of an
 * admitted upgrade that ws then refuses comes back, and the 101 response and the welcome
 * leave in one write.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, Client, startTestServer, token } from './helpers.ts';

afterEach(cleanup);

/** Send `request` on a fresh socket; resolve with the first chunk read and with everything read until the server closes or `ms` pass. */
function rawExchange(port: number, request: string, ms = 1000): Promise<{ first: string; all: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let first: string | undefined;
    let all = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve({ first: first ?? '', all });
    };
    const t = setTimeout(done, ms);
    s.on('data', (d: Buffer) => {
      first ??= d.toString('latin1');
      all += d.toString('latin1');
    });
    s.once('end', done);
    s.once('error', reject);
    s.write(request);
  });
}

const upgrade = (t: string, key = 'dGhlIHNhbXBsZSBub25jZQ==') =>
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${t}\r\n\r\n`;

describe('upgrade', () => {
  it('gives the identity slot back when ws refuses an admitted upgrade (bad Sec-WebSocket-Key)', async () => {
    const s = await startTestServer({ maxConnsPerUser: 1 });
    const t = token({ sub: 'solo' });
    for (let i = 0; i < 3; i++) {
      const r = await rawExchange(s.port, upgrade(t, 'not-a-key'));
      expect(r.all.startsWith('HTTP/1.1 400 ')).toBe(true);
    }
    // The one slot of `solo` is free: a real client gets in, a second one is refused.
    const c = await Client.open(s.url, { token: t });
    expect(c.welcome.user).toBe('solo');
    const r = await rawExchange(s.port, upgrade(t));
    expect(r.all.startsWith('HTTP/1.1 429 ')).toBe(true);
  });

  it('sends the 101 response and the welcome in one write, bytes as before', async () => {
    const s = await startTestServer();
    // A listener of our own hands its sockets to the server (acceptFrom), counting the socket's writes to the kernel.
    let writes = 0;
    const door = net.createServer((sock) => {
      const counted = sock as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
      for (const m of ['_write', '_writev'] as const) {
        const orig = counted[m]!;
        counted[m] = function (this: unknown, ...a: unknown[]) {
          writes++;
          return orig.apply(this, a);
        };
      }
      s.acceptFrom(sock);
    });
    await new Promise<void>((r) => door.listen(0, '127.0.0.1', r));
    const r = await rawExchange((door.address() as net.AddressInfo).port, upgrade(token({ sub: 'w' })), 300);
    await new Promise((res) => door.close(res));
    expect(writes).toBe(1);
    const end = r.first.indexOf('\r\n\r\n');
    expect(r.first.slice(0, 34)).toBe('HTTP/1.1 101 Switching Protocols\r\n');
    expect(r.first).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    const frame = Buffer.from(r.first.slice(end + 4), 'latin1');
    expect(frame[0]).toBe(0x81);
    const len = frame[1]! < 126 ? frame[1]! : frame.readUInt16BE(2);
    const body = frame.subarray(frame[1]! < 126 ? 2 : 4);
    expect(body.length).toBe(len);
    const welcome = JSON.parse(body.toString('utf8'));
    expect(welcome).toMatchObject({ type: 'welcome', user: 'w', node: 'n0', pid: process.pid, heartbeatMs: 0 });
    expect(Object.keys(welcome)).toEqual(['type', 'sid', 'user', 'node', 'pid', 'heartbeatMs', 'limits', 'epoch']);
    expect(welcome.limits).toEqual({ rate: 100, burst: 200, maxPayload: 65536 });
  });
});
