/**
 * Socket.IO transport on socket.io-client (PROTOCOL.md section 2): the chat
 * vocabulary by default, with event and field names configurable per run so a
 * server with the same shape but other names needs no code.
 *
 * Acks are timed only for emits that asked for one; an emit without an ack is
 * never timed (a frequent flaw of other tools, which report such emits as 0 ms).
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientConnection, ConnectionEvents, ConnectOptions, Transport } from './types.ts';

/** Event names of the chat vocabulary, overridable with `--set sio-names=join=subscribe,publish=send`. */
export interface SocketIoNames {
  connected: string;
  join: string;
  leave: string;
  publish: string;
  message: string;
  /** Event telling a resuming member which seqs the server no longer holds ({roomId, from, to}). */
  gap: string;
  /** Payload field names of `message` / `new-message`. */
  room: string;
  content: string;
  seq: string;
  /** Field of the `connected` event naming the node, for per-node breakdowns behind a load balancer. */
  node: string;
}

export const DEFAULT_SOCKETIO_NAMES: SocketIoNames = {
  connected: 'connected',
  join: 'join-room',
  leave: 'leave-room',
  publish: 'message',
  message: 'new-message',
  gap: 'gap',
  room: 'roomId',
  content: 'content',
  seq: 'seq',
  node: 'node',
};

/** Parse `key=value,key=value` overrides; returns problems for unknown keys. */
export function parseSocketIoNames(text: string | undefined): { names: SocketIoNames; problems: string[] } {
  const names = { ...DEFAULT_SOCKETIO_NAMES };
  const problems: string[] = [];
  for (const part of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq) as keyof SocketIoNames;
    if (eq <= 0 || !(key in names) || !part.slice(eq + 1)) {
      problems.push(`socket.io name "${part}": expected KEY=NAME with KEY one of ${Object.keys(names).join(', ')}`);
      continue;
    }
    names[key] = part.slice(eq + 1);
  }
  return { names, problems };
}

export interface SocketIoTransportOptions {
  names: SocketIoNames;
  /** Engine.IO transports in order of preference; default websocket only. */
  transports: Array<'websocket' | 'polling'>;
}

export function createSocketIoTransport(o: SocketIoTransportOptions): Transport {
  const n = o.names;
  const sockets = new Map<number, { socket: Socket; url: string }>();
  // Whether the server said (in its `connected` event's `features`) that `join` takes {since}:
  // only then does a resuming client send it, so servers with the plain (roomId, ack) never see it.
  let joinSince = false;
  return {
    name: 'socket.io',
    // Join as soon as the handshake is done; the `connected` event only tells the node.
    awaitsWelcome: false,
    connect(opts: ConnectOptions, ev: ConnectionEvents): ClientConnection {
      const u = new URL(opts.url.replace(/^ws/, 'http'));
      const path = u.pathname && u.pathname !== '/' ? u.pathname : '/socket.io';
      // Reconnecting a client reuses its Socket, so the server's connection state recovery can
      // restore its rooms and replay what it missed (a fresh Socket would start a new session).
      // A client failing over to another node starts a new session there.
      const kept = opts.clientKey === undefined ? undefined : sockets.get(opts.clientKey);
      const previous = kept && kept.url === opts.url ? kept.socket : undefined;
      if (kept && !previous) kept.socket.close();
      let socket: Socket;
      if (previous && !previous.connected) {
        socket = previous;
        socket.removeAllListeners();
        socket.offAny();
        socket.io.removeAllListeners('ping');
      } else {
        socket = io(`${u.protocol}//${u.host}${u.search}`, {
          path,
          transports: o.transports,
          auth: opts.token ? { token: opts.token } : undefined,
          reconnection: false,
          forceNew: true,
          timeout: opts.handshakeTimeoutMs,
          localAddress: opts.localAddress,
          autoConnect: false,
        } as Parameters<typeof io>[1]);
        if (opts.clientKey !== undefined) sockets.set(opts.clientKey, { socket, url: opts.url });
      }
      let open = false;
      let closed = false;
      let answerPings = true;
      // Engine.IO pings arrive as a `ping` event on the manager.
      socket.io.on('ping', () => ev.onHeartbeat(answerPings));
      socket.on('connect', () => {
        open = true;
        ev.onOpen();
      });
      socket.on(n.connected, (info: Record<string, unknown> | undefined) => {
        const node = info?.[n.node];
        if (Array.isArray(info?.features) && info.features.includes('join-since')) joinSince = true;
        ev.onFrame({ kind: 'welcome', node: node === undefined ? undefined : String(node) });
      });
      socket.on(n.message, (m: Record<string, unknown>) => {
        const content = m?.[n.content] as { wsb?: unknown } | undefined;
        const seq = m?.[n.seq];
        ev.onFrame({
          kind: 'message',
          room: String(m?.[n.room]),
          seq: typeof seq === 'number' ? seq : undefined,
          tag: content && typeof content.wsb === 'string' ? content.wsb : undefined,
          replay: m?.replay === true,
        });
      });
      socket.on(n.gap, (g: Record<string, unknown> | undefined) => {
        const from = numberOr(g?.from);
        const to = numberOr(g?.to);
        if (from !== undefined && to !== undefined) ev.onFrame({ kind: 'gap', room: String(g?.[n.room]), from, to });
      });
      socket.onAny((event: string) => {
        if (event !== n.message && event !== n.connected && event !== n.gap) ev.onFrame({ kind: 'other', name: event });
      });
      socket.on('connect_error', (err: Error & { description?: unknown; data?: unknown }) => {
        if (closed) return;
        closed = true;
        const msg = err.message || 'connect_error';
        const code = /websocket error|xhr poll error|timeout/i.test(msg) ? (/timeout/i.test(msg) ? 'handshake_timeout' : 'connect_failed') : 'handshake_refused';
        // The caller appends the URL; say what the transport saw and what usually causes it.
        const desc = err.description as { message?: unknown } | number | undefined;
        const cause = typeof desc === 'object' ? desc?.message : desc;
        const body = String((err as { context?: { responseText?: unknown } }).context?.responseText ?? '');
        // An Engine.IO v3 server (Socket.IO 2.x) answers v4's handshake with 400 / code 5.
        const oldServer = /"code":5\b|Unsupported protocol version/.test(body);
        const detail = oldServer
          ? `${msg}: ${String(cause)} — the server refused Engine.IO v4; it is probably a Socket.IO 2.x server (Engine.IO v3), which wsbench does not speak (Socket.IO 3 and 4 only)`
          : code === 'handshake_refused'
            ? `the server refused the handshake: ${msg}`
            : code === 'connect_failed'
              ? `${msg}${typeof cause === 'string' ? `: ${cause}` : ''} (no Socket.IO server answered at path ${path}; check the URL's path, the default is /socket.io${/\b400\b/.test(String(cause)) ? '; a Socket.IO 2.x server also answers 400: --set transports=polling shows its reason' : ''})`
              : msg;
        ev.onError(oldServer ? 'engine_io_v3' : code, detail);
        socket.close();
        ev.onClose('connect_error', msg);
      });
      socket.on('disconnect', (reason: string) => {
        if (closed) return;
        closed = true;
        open = false;
        ev.onClose(reason.replace(/\s+/g, '_'), reason);
      });
      socket.connect();
      const ackHandler = (kind: 'joined' | 'left' | 'ack', id: number, room: string) => (res: Record<string, unknown> | undefined) => {
        if (!res || res.error !== undefined || res.success === false) {
          ev.onFrame({ kind: 'error', id, code: String(res?.error ?? 'refused') });
          return;
        }
        if (kind === 'joined') ev.onFrame({ kind, id, room, members: numberOr(res.members), seq: numberOr(res.seq) });
        else if (kind === 'left') ev.onFrame({ kind, id });
        else ev.onFrame({ kind, id, seq: numberOr(res.seq) });
      };
      return {
        // A recovered session has its rooms and missed messages back already; elsewhere a resume asks for the replay.
        join: (room, id, since) =>
          void (since !== undefined && joinSince && !socket.recovered
            ? socket.emit(n.join, room, { since }, ackHandler('joined', id, room))
            : socket.emit(n.join, room, ackHandler('joined', id, room))),
        leave: (room, id) => void socket.emit(n.leave, room, ackHandler('left', id, room)),
        publish: (room, id, tag, pad) => void socket.emit(n.publish, { [n.room]: room, [n.content]: { wsb: tag, pad } }, ackHandler('ack', id, room)),
        ping: () => false,
        close: () => {
          closed = true;
          socket.disconnect();
          ev.onClose(1000, 'client close');
        },
        terminate: () => {
          closed = true;
          socket.io.engine?.close();
          socket.disconnect();
          ev.onClose(1006, 'terminated');
        },
        stopHeartbeat: () => {
          // Engine.IO answers server pings itself; a zombie stops sending its pongs.
          answerPings = false;
          const engine = socket.io.engine as unknown as { _sendPacket: (type: string, ...a: unknown[]) => void } | undefined;
          if (!engine) return;
          const send = engine._sendPacket.bind(engine);
          engine._sendPacket = (type: string, ...rest: unknown[]) => {
            if (type !== 'pong') send(type, ...rest);
          };
        },
        get isOpen() {
          return open && socket.connected;
        },
      };
    },
  };
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
