/** Socket.IO flavour test helpers: servers on 127.0.0.1:0 and real socket.io-client clients, all closed in cleanup(). */
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { createSocketIoServer, type SocketIoServer, type SocketIoServerDeps } from '../../servers/socketio/server.ts';
import type { ServerOptions } from '../../servers/core/options.ts';
import { cleanup as cleanupWs, token } from '../server-ws/helpers.ts';

export { token, getJson, spawnMain, sleep, until } from '../server-ws/helpers.ts';

const servers: SocketIoServer[] = [];
const clients: Socket[] = [];

/** Close every client, server and child process the test started (call from afterEach). */
export async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) {
    c.io.opts.reconnection = false;
    c.disconnect();
    c.io.engine?.close();
  }
  await Promise.all(servers.splice(0).map((s) => s.close({ drainTimeoutMs: 200 })));
  await cleanupWs();
}

export async function startSio(opts: Partial<ServerOptions> = {}, deps: SocketIoServerDeps = {}): Promise<SocketIoServer> {
  const s = await createSocketIoServer({ heartbeatMs: 0, ...opts }, { log: () => {}, ...deps });
  servers.push(s);
  return s;
}

export interface Event {
  name: string;
  args: any[];
}

/** A socket.io-client socket that records every event it gets. */
export class Client {
  readonly events: Event[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.onAny((name: string, ...args: any[]) => this.push({ name, args }));
    socket.on('connect', () => this.push({ name: 'connect', args: [] }));
    socket.on('disconnect', (reason: string) => this.push({ name: 'disconnect', args: [reason] }));
    socket.on('connect_error', (err: Error & { data?: unknown }) => this.push({ name: 'connect_error', args: [err.message, err.data] }));
  }

  private push(e: Event) {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Connect to `url` (http://HOST:PORT/socket.io); resolves once `connected` arrived. */
  static async open(url: string, o: { user?: string; token?: string | null; claims?: Record<string, unknown>; io?: Partial<ManagerOptions & SocketOptions> } = {}): Promise<Client> {
    const c = Client.create(url, o);
    await c.next('connected');
    return c;
  }

  static create(url: string, o: { user?: string; token?: string | null; claims?: Record<string, unknown>; io?: Partial<ManagerOptions & SocketOptions> } = {}): Client {
    const u = new URL(url);
    const t = o.token === null ? undefined : (o.token ?? token({ sub: o.user ?? 'alice', ...o.claims }));
    const socket = io(`http://${u.host}`, {
      path: u.pathname,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...(t === undefined ? {} : { auth: { token: t } }),
      ...o.io,
    });
    clients.push(socket);
    return new Client(socket);
  }

  /** The first not-yet-taken event named `name` matching `pred` (removed from `events`). */
  async next(name: string, pred: (args: any[]) => boolean = () => true, timeoutMs = 3000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.name === name && pred(e.args));
      if (i !== -1) return this.events.splice(i, 1)[0]!.args;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${name} event in ${timeoutMs} ms; have ${JSON.stringify(this.events).slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  all(name: string): any[][] {
    return this.events.filter((e) => e.name === name).map((e) => e.args);
  }

  ack(event: string, ...args: unknown[]): Promise<any> {
    return this.socket.timeout(3000).emitWithAck(event, ...args);
  }

  join(room: string): Promise<any> {
    return this.ack('join-room', room);
  }
}
