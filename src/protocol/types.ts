/**
 * The contract of src/protocol: HOW a virtual client talks to a server.
 * Adapters only parse and emit events; they never touch histograms or reports.
 */

import type { ReadPace } from './read-pace.ts';

/** A frame decoded by an adapter into what the harness needs. */
export type DecodedFrame =
  | { kind: 'welcome'; node?: string }
  /**
   * Replies (`joined`, `left`, `ack`, `pong`) are matched to their request by `id`; a reply
   * without an id is matched to the client's oldest request of that kind (dialects that answer
   * in order and carry no correlation id). `joined` without a room is the request's room.
   * `epoch` names the room's sequence (PROTOCOL.md): when it changes, the seqs began again.
   */
  | { kind: 'joined'; id?: string | number; room?: string; members?: number; seq?: number; epoch?: string }
  | { kind: 'left'; id?: string | number }
  | { kind: 'ack'; id?: string | number; seq?: number; epoch?: string }
  /**
   * A room message; `tag` is the harness's own tag (the `wsb` field of the published payload) when
   * present. Without `room` it belongs to the receiving client's only room (an error when it has several).
   */
  | { kind: 'message'; room?: string; seq?: number; tag?: string; replay?: boolean }
  | { kind: 'gap'; room: string; from: number; to: number }
  | { kind: 'pong'; id?: string | number }
  | { kind: 'error'; id?: string | number; code: string; message?: string }
  /** Anything else the server pushes (presence, typing, ...), counted by `name`; `data` is a Socket.IO event's first argument. */
  | { kind: 'other'; name: string; data?: unknown };

/**
 * A frame codec for servers that speak a JSON dialect over plain WebSocket: how to
 * encode the harness's requests and decode what comes back. The built-in `wsbench/1`
 * codec is one of these; a scenario may bring its own (see `adapter` in defineScenario).
 */
export interface FrameCodec {
  /** Name shown in reports, e.g. `wsbench/1` or `acme-chat`. */
  name: string;
  /** The URL a client connects to, given the target URL and its token (default: `?token=` appended when a token exists). */
  url?(target: string, token: string | undefined): string;
  /** Extra handshake headers (default: none; the token goes in the URL). */
  headers?(token: string | undefined): Record<string, string>;
  /** A join; resuming, `since` is the last seq received and `epoch` the sequence epoch it belongs to (when the server named one). */
  encodeJoin(room: string, id: number, since?: number, epoch?: string): string;
  encodeLeave(room: string, id: number): string;
  /**
   * Encode a publish. `payload` is an object carrying the harness's tag in `wsb` (a string)
   * and padding in `pad`; send it as the message body so receivers get it back unchanged.
   */
  encodePublish(room: string, id: number, payload: { wsb: string; pad: string }): string;
  /** Application ping; undefined when the dialect has none (the `rtt` metric is then not measured). */
  encodePing?(id: number): string;
  /** Decode one incoming text frame; null when it is not understood (counted as `errors.bad_frame`). */
  decode(text: string): DecodedFrame | null;
  /**
   * Whether a welcome frame arrives before the client may join (default true for wsbench/1, false for
   * custom). A welcome that does not come within `requestTimeoutMs` of the handshake fails the attempt
   * as `errors.no_welcome`.
   */
  awaitsWelcome?: boolean;
  /** How the server acknowledges a publish (default `frame`); see PublishAck. */
  publishAck?: PublishAck;
  /** The name of the field that carries a message's room, named in the error when a message lacks it (default none). */
  roomField?: string;
  /**
   * A codec for one new connection, holding that connection's own state (for example the rooms of
   * the joins it sent, when the server's replies do not name them). Called once per connection;
   * its encode and decode functions serve that connection only (`url`, `headers`, `awaitsWelcome`,
   * `publishAck` and `roomField` are read from the outer codec). Default: one codec for every connection.
   */
  forConnection?(): FrameCodec;
}

/**
 * How a server acknowledges a publish:
 * - `frame`: it answers with a reply (decoded as `ack`, matched by id or in order): timed as `ack`;
 * - `echo`: it sends the publisher its own copy of the message, which is its ack (timed as `ack`);
 * - `none`: nothing; publishes are counted as sent and judged only by their deliveries (no `ack` metric,
 *   no `ack_timeout`/`ack_lost` errors).
 */
export type PublishAck = 'frame' | 'echo' | 'none';

/** What a scenario file provides to drive a custom dialect: built per run from the resolved options. */
export type AdapterFactory = (options: Readonly<Record<string, unknown>>) => FrameCodec;

/** How one connection's opening went, as far as the transport can tell (the raw client). */
export interface WireInfo {
  /** Start to TCP connected, µs. */
  tcpUs: number;
  /** TCP connected to TLS handshake done, µs; -1 without TLS. */
  tlsUs: number;
  /** TLS done (or TCP connected) to the 101 response read, µs. */
  upgradeUs: number;
  /** With TLS: whether the session was resumed; undefined without TLS. */
  tlsResumed?: boolean;
  /** permessage-deflate as agreed (one line), null when offered and declined, undefined when not offered. */
  compression?: string | null;
}

/** Events a client connection reports to the engine. */
export interface ConnectionEvents {
  /** Just before onOpen: the handshake's phases and what was negotiated (transports that can tell). */
  onWire?(info: WireInfo): void;
  onOpen(): void;
  /** The server's heartbeat reached this client; `answered` says whether the client replied (zombies do not). */
  onHeartbeat(answered: boolean): void;
  onFrame(frame: DecodedFrame): void;
  /** A room message on the fast path: the engine gets the parsed fields without a decoded object. */
  onDelivery(room: string, seq: number, tagNode: number, tagPub: number, tagCounter: number, sendUs: number, replay: boolean): void;
  /** A failure before or after open: `code` is a short stable token (ECONNREFUSED, http_401, timeout, ...). */
  onError(code: string, message: string): void;
  /** The connection closed: a WebSocket close code, or a short token for Socket.IO disconnect reasons. */
  onClose(code: number | string, reason: string): void;
}

/** Where and how one virtual client connects. */
export interface ConnectOptions {
  /** The target URL (`ws://`, `wss://`, or `http(s)://` for Socket.IO). */
  url: string;
  /** Identifies the virtual client across reconnects (a transport may resume its session). */
  clientKey?: number;
  /** The client's token, sent as the codec or transport says (default `?token=` in the URL). */
  token?: string;
  /** Source address to bind (spreads many connections over 127.0.0.0/8), default the OS's choice. */
  localAddress?: string;
  /** Opening handshake timeout, ms. */
  handshakeTimeoutMs: number;
}

/** One live connection of one virtual client, whatever the transport. */
export interface ClientConnection {
  /** Join `room`; resuming, after `since` of sequence `epoch` (PROTOCOL.md). */
  join(room: string, id: number, since?: number, epoch?: string): void;
  leave(room: string, id: number): void;
  publish(room: string, id: number, tag: string, pad: string): void;
  /** Returns false when the protocol has no application ping. */
  ping(id: number): boolean;
  /**
   * Socket.IO only (undefined elsewhere): emit an arbitrary event with `data` as its one argument;
   * with `onAck`, ask for an ack and call it with the ack's first argument. An ack lost with the
   * connection is never called (the caller bounds its wait).
   */
  emit?(event: string, data: unknown, onAck?: (res: unknown) => void): void;
  close(code?: number): void;
  /** Drop the TCP connection without a close handshake. */
  terminate(): void;
  /** Stop answering the server's heartbeats (zombie client for conformance scenarios). */
  stopHeartbeat(): void;
  /** Read at this pace from now on (slow consumers, src/protocol/read-pace.ts); only the lean clients have it. */
  readPace?(pace: ReadPace): void;
  readonly isOpen: boolean;
}

/**
 * A wire protocol: opens a client's connection and turns what arrives into
 * `ConnectionEvents`. Implementations: `ws` (the ws package), the raw-socket client
 * and socket.io-client; they parse and emit only, never record metrics.
 */
export interface Transport {
  /** Name shown in reports, e.g. `ws` or `socketio`. */
  name: string;
  /** Whether a client waits for the server's welcome frame before joining. */
  awaitsWelcome: boolean;
  /** How publishes are acknowledged (default `frame`; see PublishAck). */
  publishAck?: PublishAck;
  /** The codec's room field name, for error messages (see FrameCodec.roomField). */
  roomField?: string;
  /** Start connecting; `events` receive open, frames, errors and close of this one connection. */
  connect(opts: ConnectOptions, events: ConnectionEvents): ClientConnection;
}
