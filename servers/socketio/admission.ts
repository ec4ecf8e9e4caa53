/**
 * Who may connect and what a connection may send, on the Socket.IO flavour: the
 * handshake middleware (token, identity slot), the per-packet gate (token
 * expiry, both rate buckets, the nesting-depth limit) and the charge for
 * control frames (Engine.IO ping/pong, WebSocket pings).
 */
import type { Server, Socket } from 'socket.io';
import type { Authenticator } from '../core/auth.ts';
import { admitFrame, type Identity, type IdentityRegistry } from '../core/identities.ts';
import { deeperThan, depthMessage } from '../core/json-depth.ts';
import type { ServerCounters } from '../core/metrics.ts';
import type { ServerOptions } from '../core/options.ts';
import { takeToken } from '../core/rate-limit.ts';
import { errorReply, kick, type ConnData } from './context.ts';

/** What the Socket.IO flavour's admission reads: options, authenticator, identities, counters. */
export interface AdmissionDeps {
  opts: ServerOptions;
  authenticator: Authenticator;
  identities: IdentityRegistry;
  counters: ServerCounters;
  /** True once the server is shutting down (handshakes refused). */
  closing(): boolean;
}

/** The admission of one server: install `handshake` with io.use, call `watch` for every connection. */
export function createAdmission(d: AdmissionDeps) {
  const { opts, identities, counters } = d;
  /** Each connection's identity (kept off socket.data, which recovery serialises). */
  const identityOf = new WeakMap<ConnData, Identity>();

  /** Token bucket (the native flavour's): true when the event may proceed. */
  const admit = (data: ConnData, now: number): boolean | 'abuse' => {
    const identity = identityOf.get(data);
    const verdict = identity ? admitFrame(data, identity, identities, now, opts) : takeToken(data, now, opts);
    if (verdict === 'ok') return true;
    counters.rateLimited++;
    return verdict === 'abuse' ? 'abuse' : false;
  };

  /** io.use middleware: admit the handshake's token, keep the connection's data and identity. */
  const handshake: Parameters<Server['use']>[0] = (socket, next) => {
    const refuse = (message: string, code: string) => {
      counters.upgradesRejected++;
      const err = new Error(message) as Error & { data?: unknown };
      err.data = { code };
      next(err);
    };
    if (d.closing()) return refuse('server shutting down', 'shutting_down');
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const adm = d.authenticator.admit(typeof raw === 'string' ? raw : undefined, raw === undefined ? undefined : 'token must be a string');
    if (!adm.ok) {
      return refuse(adm.code === 'unauthorized' ? `unauthorized: ${adm.reason} (send auth: { token: JWT } in the handshake)` : adm.reason, adm.code);
    }
    const { user, rooms: allowed, identity } = adm;
    const now = Date.now();
    // 0 = never in socket.data (recovery serialises it, and JSON has no Infinity).
    const expMs = Number.isFinite(adm.expMs) ? adm.expMs : 0;
    const data: ConnData = { user, allowed, expMs, tokens: opts.burst, refillAt: now, abuseStart: 0, abuseCount: 0 };
    identityOf.set(data, identity);
    socket.data = data;
    // Released when the socket disconnects; a handshake that never becomes a connection releases here.
    socket.conn.once('close', () => release(data));
    next();
  };

  /** Give the connection's identity slot back (once). */
  const release = (data: ConnData) => {
    const identity = identityOf.get(data);
    if (identity && identityOf.delete(data)) identities.release(identity);
  };

  /** The per-packet gate (socket.use): expiry, rate limit, depth; a refused event with an ack gets the reason. */
  const gatePackets = (socket: Socket, data: ConnData) => {
    socket.use((packet, next) => {
      counters.framesIn++;
      const now = Date.now();
      if (data.expMs !== 0 && now >= data.expMs) return kick(counters, socket, 'token expired');
      const verdict = admit(data, now);
      const last = packet[packet.length - 1];
      if (verdict === true) {
        // Before any handler walks the arguments: a deep one overflows JSON.stringify and the encoder.
        for (let i = 1; i < packet.length; i++) {
          if (deeperThan(packet[i], opts.maxDepth + 1)) {
            counters.badRequests++;
            if (typeof last === 'function') {
              counters.framesOut++;
              last(errorReply('bad_request', depthMessage(opts.maxDepth)));
            }
            return;
          }
        }
        return next();
      }
      if (typeof last === 'function') {
        counters.framesOut++;
        last(errorReply('rate_limited', `event dropped: over ${opts.rate} events/s per connection (burst ${opts.burst}) or ${opts.userRate} events/s per identity (burst ${opts.userBurst})`));
      }
      if (verdict === 'abuse') kick(counters, socket, 'rate limit exceeded');
    });
  };

  /**
   * Control frames cost a token like events: Engine.IO ping/pong packets and, on the
   * websocket transport, WebSocket pings (which ws answers by itself). A flood ends in a kick.
   */
  const countControlFrames = (socket: Socket, data: ConnData) => {
    const onControl = () => {
      counters.framesIn++;
      if (admit(data, Date.now()) === 'abuse') kick(counters, socket, 'rate limit exceeded');
    };
    const watchTransport = () => {
      const t = socket.conn.transport as unknown as { name: string; socket?: { on?: (ev: string, fn: () => void) => void } };
      if (t.name === 'websocket') t.socket?.on?.('ping', onControl);
    };
    watchTransport();
    socket.conn.once('upgrade', watchTransport);
    socket.conn.on('packet', (p: { type: string }) => {
      if (p.type === 'ping' || p.type === 'pong') onControl();
    });
  };

  return {
    handshake,
    release,
    /** Gate every packet of a new connection and charge its control frames. */
    watch(socket: Socket, data: ConnData) {
      gatePackets(socket, data);
      countControlFrames(socket, data);
    },
  };
}
