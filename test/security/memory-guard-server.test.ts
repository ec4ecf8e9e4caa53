/**
 * The memory guard in real server processes (servers/core/memory-guard.ts): a node over its
 * in-flight budget pauses reading and loses nothing, and a flood keeps a process under its RSS
 * ceiling. These start servers and judge memory, so they run alone (vitest `load` project);
 * the guard's arithmetic with an injected memory reading is test/security/memory-guard.test.ts.
 */
import { describe, it, expect } from 'vitest';

const MIB = 1024 * 1024;

describe('memory guard on a real server', () => {
  it('native: a node over inflight-bytes pauses reading, loses nothing, and shows it in /stats', async () => {
    const { startTestServer, Client, cleanup, until } = await import('../server-ws/helpers.ts');
    try {
      // 1 byte: any growth since the server started counts as over, so the guard pauses.
      const server = await startTestServer({ inflightBytes: 1 });
      const c = await Client.open(server.url);
      await c.join('r');
      const payload = 'p'.repeat(10_000);
      for (let i = 0; i < 30; i++) c.send({ type: 'publish', id: i, room: 'r', payload });
      await until(() => c.frames.filter((f) => f.type === 'ack').length === 30, 20_000, '30 acks');
      await until(() => (server.stats().memoryGuard?.pauses ?? 0) > 0, 5000, 'a pause');
      const st = server.stats();
      expect(st.limits?.inflightBytes).toBe(1);
      expect(st.memoryGuard).toMatchObject({ inflightBytes: 1 });
      expect(c.frames.filter((f) => f.type === 'ack').map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await cleanup();
    }
  });
  it('inflight-bytes 0: no guard in /stats', async () => {
    const { startTestServer, cleanup } = await import('../server-ws/helpers.ts');
    try {
      const server = await startTestServer({ inflightBytes: 0 });
      expect(server.stats().memoryGuard).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});

describe('a flood against a server process: RSS stays under the guard', () => {
  const FLOOD_CLIENTS = 10;
  const FLOOD_MS = 3000;
  const BYTES = 60 * 1024;
  /** A small retention, so a short flood reaches the line: 8 MiB of retention, the default 16 MiB in flight, nothing else kept. */
  const BUDGET = 8 * MIB + 16 * MIB;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** FLOOD_CLIENTS identities, each sending 60 KB messages 50 times a second to a room of its own for FLOOD_MS. */
  async function flood(flavour: 'ws' | 'socketio', url: string, tok: (sub: string) => string): Promise<void> {
    const payload = 'x'.repeat(BYTES);
    const end = Date.now() + FLOOD_MS;
    const pace = () => sleep(20);
    if (flavour === 'ws') {
      const { default: WebSocket } = await import('ws');
      await Promise.all(
        Array.from({ length: FLOOD_CLIENTS }, async (_, i) => {
          const ws = new WebSocket(`${url}?token=${tok(`flood-${i}`)}`);
          ws.on('error', () => {});
          await new Promise((r) => ws.once('open', r));
          ws.send(JSON.stringify({ type: 'join', id: 'j', room: `flood-${i}` }));
          for (let n = 0; Date.now() < end; n++) {
            ws.send(`{"type":"publish","id":${n},"room":"flood-${i}","echo":false,"payload":"${payload}"}`);
            await pace();
          }
          ws.terminate();
        }),
      );
      return;
    }
    const { io } = await import('socket.io-client');
    const u = new URL(url);
    await Promise.all(
      Array.from({ length: FLOOD_CLIENTS }, async (_, i) => {
        const s = io(`http://${u.host}`, { path: u.pathname, transports: ['websocket'], auth: { token: tok(`flood-${i}`) }, reconnection: false, forceNew: true });
        await s.timeout(5000).emitWithAck('join-room', `flood-${i}`).catch((e: Error) => Promise.reject(new Error(`flood client ${i}: join-room: ${e.message}`)));
        while (Date.now() < end) {
          s.volatile.emit('message', { roomId: `flood-${i}`, content: payload });
          await pace();
        }
        s.disconnect();
      }),
    );
  }

  /** A client that comes after the flood publishes once and is answered. */
  async function answered(flavour: 'ws' | 'socketio', url: string, tok: (sub: string) => string): Promise<boolean> {
    if (flavour === 'ws') {
      const { Client } = await import('../server-ws/helpers.ts');
      const c = await Client.open(url, { claims: { sub: 'after' } });
      await c.join('after');
      const ack = await c.request({ type: 'publish', id: 'p', room: 'after', payload: 'hello' }, 5000);
      return ack.type === 'ack';
    }
    const { io } = await import('socket.io-client');
    const u = new URL(url);
    const s = io(`http://${u.host}`, { path: u.pathname, transports: ['websocket'], auth: { token: tok('after') }, reconnection: false, forceNew: true });
    try {
      const step = (what: string) => (e: Error) => Promise.reject(new Error(`the client after the flood: ${what}: ${e.message}`));
      await s.timeout(5000).emitWithAck('join-room', 'after').catch(step('join-room'));
      const res = (await s.timeout(5000).emitWithAck('message', { roomId: 'after', content: 'hello' }).catch(step('message'))) as { success?: boolean };
      return res.success === true;
    } finally {
      s.disconnect();
    }
  }

  for (const flavour of ['ws', 'socketio'] as const) {
    it(`${flavour}: ${FLOOD_CLIENTS} identities x 50 x 60 KB/s keep the process under its idle RSS + retention-bytes + inflight-bytes (+ the connections' allowance); reading pauses, and a client after the flood is answered`, async () => {
      const { spawnMain, cleanup, token } = await import('../server-ws/helpers.ts');
      try {
        const kept = flavour === 'socketio' ? ['--offline-max-per-user', '0', '--recovery-bytes', '0'] : [];
        const p = spawnMain(['--protocol', flavour, '--port', '0', '--heartbeat-ms', '0', '--retention-bytes', String(8 * MIB), '--traffic-bytes', '0', ...kept]);
        const [url] = await p.firstLines(1);
        const port = Number(new URL(url!).port);
        const stats = async () => (await fetch(`http://127.0.0.1:${port}/stats`)).json() as Promise<Record<string, any>>;
        await sleep(1000);
        const idle = (await stats()).rssBytes as number;
        const tok = (sub: string) => token({ sub });
        let peak = 0;
        let done = false;
        const work = flood(flavour, url!, tok).finally(() => (done = true));
        while (!done) {
          peak = Math.max(peak, (await stats()).rssBytes as number);
          await sleep(100);
        }
        await work;
        const st = await stats();
        // The guard's own peak: it samples on every 256 KiB read, more often than this loop.
        peak = Math.max(peak, st.rssBytes, st.memoryGuard.rssPeak);
        const allowance = FLOOD_CLIENTS * (flavour === 'socketio' ? 32 : 16) * 1024;
        expect(st.memoryGuard.pauses).toBeGreaterThan(0);
        expect(peak, `peak ${(peak / MIB).toFixed(1)} MiB, idle ${(idle / MIB).toFixed(1)} MiB, guard ${JSON.stringify(st.memoryGuard)}`).toBeLessThanOrEqual(idle + BUDGET + allowance);
        expect(await answered(flavour, url!, tok)).toBe(true);
      } finally {
        await cleanup();
      }
    }, 20_000);
  }
});
