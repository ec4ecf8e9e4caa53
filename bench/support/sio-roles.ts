/**
 * Socket.IO roles of bench/support/harness-child.ts (bench/socketio-client.bench.ts):
 *
 * - `sio-server`: the bundled Socket.IO server, auth, rate limit and heartbeat off.
 * - `sio-publisher`: socket.io-client sockets (not the harness under test) that join a
 *   room and publish tagged payloads, each keeping a window of acked publishes in flight.
 */
import { io, type Socket } from 'socket.io-client';

type Cmd = Record<string, unknown> & { cmd: string };
type Serve = (handle: (m: Cmd) => Promise<unknown>) => void;

function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export async function sioServerRole(serve: Serve, reply: (o: unknown) => void): Promise<void> {
  const { createSocketIoServer } = await import('../../servers/socketio/server.ts');
  const s = await createSocketIoServer({ port: 0, host: '127.0.0.1', auth: false, rate: 0, heartbeatMs: 0, maxRoomsPerConn: 10 }, { log: () => {}, transports: ['websocket'] });
  reply({ port: s.port });
  serve(async () => ({ ok: true }));
}

export function sioPublisherRole(serve: Serve): void {
  let running = false;
  let published = 0;
  const sockets: Socket[] = [];
  serve(async (m) => {
    if (m.cmd === 'start') {
      const u = new URL(String(m.url));
      const pad = 'x'.repeat(Number(m.pad ?? 100));
      const room = String(m.room);
      const window = Number(m.window ?? 32);
      running = true;
      for (let k = 0; k < Number(m.conns ?? 2); k++) {
        const s = io(`http://${u.host}`, { path: u.pathname, transports: ['websocket'], reconnection: false, forceNew: true });
        sockets.push(s);
        let counter = 0;
        const one = () => {
          if (!running) return;
          published++;
          s.emit('message', { roomId: room, content: { wsb: `1.${k}.${counter++}.${nowUs()}`, pad } }, one);
        };
        await new Promise<void>((r) => s.once('connect', () => r()));
        await new Promise<void>((r) => s.emit('join-room', room, () => r()));
        for (let w = 0; w < window; w++) one();
      }
      return { ok: true };
    }
    if (m.cmd === 'stop') {
      running = false;
      for (const s of sockets) s.disconnect();
      return { published };
    }
    throw new Error(`unknown command ${m.cmd}`);
  });
}
