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
import type { SocketIoNames } from './socketio-names.ts';
import { connectFailure } from './socketio-errors.ts';
import { eventFrame, offersJoinSince, replyFrame, type ReplyKind } from './socketio-events.ts';

export { DEFAULT_SOCKETIO_NAMES, parseSocketIoNames, type SocketIoNames } from './socketio-names.ts';

/** Options of the socket.io-client transport. */
export interface SocketIoTransportOptions {
  names: SocketIoNames;
  /** Engine.IO transports in order of preference; default websocket only. */
  transports: Array<'websocket' | 'polling'>;
}

/** The Socket.IO transport on socket.io-client (`--set client=socket.io-client`, and long-polling). */
export function createSocketIoTransport(o: SocketIoTransportOptions): Transport {
  const n = o.names;
  const sockets = new Map<number, { socket: Socket; url: string }>();
  // Whether the server said (in its `connected` event's `features`) that `join` takes {since}:
  // only then does a resuming client send it, so servers with the plain (roomId, ack) never see it.
  let joinSince = false;
  return {
    name: 'socket.io-client',
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
      socket.onAny((event: string, arg: unknown) => {
        if (offersJoinSince(n, event, arg)) joinSince = true;
        const frame = eventFrame(n, event, arg);
        if (frame) ev.onFrame(frame);
      });
      socket.on('connect_error', (err: Error & { description?: unknown; data?: unknown }) => {
        if (closed) return;
        closed = true;
        const msg = err.message || 'connect_error';
        const kind = /websocket error|xhr poll error|timeout/i.test(msg) ? (/timeout/i.test(msg) ? 'handshake_timeout' : 'connect_failed') : 'handshake_refused';
        // The caller appends the URL; say what the transport saw and what usually causes it.
        const desc = err.description as { message?: unknown } | number | undefined;
        const cause = typeof desc === 'object' ? desc?.message : desc;
        const body = String((err as { context?: { responseText?: unknown } }).context?.responseText ?? '');
        const failure = connectFailure(kind, msg, typeof cause === 'string' ? cause : cause === undefined ? undefined : String(cause), body, path);
        ev.onError(failure.code, failure.detail);
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
      const ackHandler = (kind: ReplyKind, id: number, room: string) => (res: unknown) => ev.onFrame(replyFrame(kind, id, room, res));
      return {
        // A recovered session has its rooms and missed messages back already; elsewhere a resume asks for the replay.
        join: (room, id, since, epoch) =>
          void (since !== undefined && joinSince && !socket.recovered
            ? socket.emit(n.join, room, epoch === undefined ? { since } : { since, epoch }, ackHandler('joined', id, room))
            : socket.emit(n.join, room, ackHandler('joined', id, room))),
        leave: (room, id) => void socket.emit(n.leave, room, ackHandler('left', id, room)),
        publish: (room, id, tag, pad) => void socket.emit(n.publish, { [n.room]: room, [n.content]: { wsb: tag, pad } }, ackHandler('ack', id, room)),
        emit: (event, data, onAck) => void (onAck ? socket.emit(event, data, onAck) : socket.emit(event, data)),
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
