/**
 * Pre-framed broadcast: a room message is encoded once, framed once, and the
 * same buffer is written to every member's socket.
 *
 * Writing to `ws._socket` directly is safe only while ws's own Sender has
 * nothing queued (its queue fills only while it compresses or reads a Blob):
 * anything we write then lands after every frame ws has already written and
 * before any frame it writes later, so frames never interleave. Otherwise, and
 * whenever permessage-deflate was negotiated, we go through `ws.send`.
 *
 * Sockets written to in one turn of the event loop are corked and uncorked
 * together in a setImmediate, so several messages to the same member in one
 * turn leave in one system call.
 */
import * as wsModule from 'ws';
import type WebSocket from 'ws';
import type { Socket } from 'node:net';
import { isBinaryMessage, wireOf } from './binary.ts';

const SENDER_DEFAULT_STATE = 0;

/** ws exports its Sender at runtime but @types/ws does not declare it. */
const Sender = (wsModule as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
}).Sender;

/** The ws 8 internals we rely on (checked in test/server-ws). */
interface WsInternals {
  _socket: Socket | null;
  _sender: { _state: number; _queue: unknown[] } | null;
  _extensions: Record<string, unknown>;
}

/** Frame `text` as one unmasked, final text frame in a single buffer (a binary frame for a binary message, binary.ts). */
export function preframe(text: string): Buffer {
  const binary = isBinaryMessage(text);
  const data = Buffer.from(text, binary ? 'latin1' : 'utf8');
  const parts = Sender.frame(data, { fin: true, opcode: binary ? 2 : 1, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Whether `ws` may take pre-framed buffers (no extension negotiated). */
export function canWriteDirect(ws: WebSocket): boolean {
  const ext = (ws as unknown as WsInternals)._extensions;
  return !ext || Object.keys(ext).length === 0;
}

/**
 * Writes pre-framed buffers with each socket corked until a setImmediate, so several messages to one member in a turn go out in one write.
 */
export interface CorkingWriter {
  /** Write a pre-framed buffer to `ws` (or `ws.send(text)` when it cannot take it). Returns the socket's buffered bytes. */
  write(ws: WebSocket, direct: boolean, frame: Buffer, text: string): number;
}

/** A corking writer (see CorkingWriter): one setImmediate uncorks every socket written in that turn. */
export function createCorkingWriter(): CorkingWriter {
  let corked: Socket[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const list = corked;
    corked = [];
    for (const s of list) s.uncork();
  };
  return {
    write(ws, direct, frame, text) {
      const w = ws as unknown as WsInternals;
      const sock = w._socket;
      const sender = w._sender;
      if (!sock || !sender) return 0;
      if (direct && sender._state === SENDER_DEFAULT_STATE && sender._queue.length === 0) {
        if (sock.writableCorked === 0) {
          sock.cork();
          corked.push(sock);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        }
        sock.write(frame);
      } else {
        ws.send(wireOf(text));
      }
      return sock.writableLength;
    },
  };
}

/** Writes one room message to members; returns how many it was written to. */
export type Fanout<C> = (members: Iterable<C>, text: string, except: C | null) => number;

/** A member as the fan-out sees it: its socket and whether it takes pre-framed buffers. */
export interface FanoutMember {
  readonly ws: WebSocket;
  readonly direct: boolean;
}

/** How a room message is written to its members, and when a member that does not read is cut (bytes). */
export interface FanoutOptions {
  /** `preframed` (frame once, write the buffer to every socket) or `send` (ws.send per member, the benchmark's comparison). */
  mode: 'preframed' | 'send';
  /** Bytes queued on one socket after which a member that does not read is cut (pre-framed mode). */
  maxSocketBuffer: number;
  /** Called once per member cut for not reading. */
  onSlowConsumer(): void;
}

/** The fan-out of a room message to every open member but `except`. */
export function createFanout<C extends FanoutMember>(o: FanoutOptions): Fanout<C> {
  const writer = createCorkingWriter();
  const preframed = o.mode === 'preframed';
  return (members, text, except) => {
    let frame: Buffer | null = null;
    let n = 0;
    for (const m of members) {
      if (m === except) continue;
      const ws = m.ws;
      if (ws.readyState !== 1) continue;
      if (preframed) {
        frame ??= preframe(text);
        if (writer.write(ws, m.direct, frame, text) > o.maxSocketBuffer) {
          o.onSlowConsumer();
          ws.terminate();
        }
      } else {
        ws.send(wireOf(text));
      }
      n++;
    }
    return n;
  };
}
