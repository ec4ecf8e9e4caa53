/**
 * The native flavour's client-frame parser (PROTOCOL.md section 1): raw frame
 * in, a typed command or the `bad_request` answer out. Pure: no socket, no
 * state, so every rule (JSON, shape, room names, the nesting-depth limit) is
 * testable, and fuzzable, on its own.
 */
import { deeperThan, depthMessage } from '../core/json-depth.ts';
import { roomNameProblem } from '../core/room-name.ts';

/** A request id as the client sent it. */
export type Id = string | number;

/** A checked client frame of wsbench/1. */
export type ClientCommand =
  | { type: 'ping'; id: Id; payload?: unknown }
  | { type: 'join'; id: Id; room: string; since?: number; epoch?: string }
  | { type: 'leave'; id: Id; room: string }
  | { type: 'publish'; id: Id; room: string; payload: unknown; echo: boolean };

/** A frame refused with `bad_request`; `id` when the frame had a usable one. */
export interface FrameProblem {
  id?: Id;
  message: string;
}

/** A parsed frame: a command, or the `bad_request` answer. */
export type ParsedFrame = { ok: true; cmd: ClientCommand } | { ok: false; problem: FrameProblem };

/** Limits a frame is checked against (`--max-room-name` bytes, `--max-depth` levels). */
export interface FrameLimits {
  /** Longest room name, UTF-8 bytes. */
  maxRoomName: number;
  /** Deepest nesting of a `payload` (the frame object itself is one level above it). */
  maxDepth: number;
}

function isId(v: unknown): v is Id {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

const fail = (message: string, id?: Id): ParsedFrame => ({ ok: false, problem: id === undefined ? { message } : { id, message } });

/** Parse one inbound frame. Never throws, on any input. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean, limits: FrameLimits): ParsedFrame {
  if (isBinary) return fail('binary frames are not supported: send JSON text');
  let msg: unknown;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : data.toString());
  } catch {
    return fail('frame is not valid JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return fail('frame must be a JSON object');
  const m = msg as Record<string, unknown>;
  const id = isId(m.id) ? m.id : undefined;
  // Before anything walks the frame (or a reply echoes part of it): a deep payload overflows every recursive walker.
  if (deeperThan(m, limits.maxDepth + 1)) return fail(depthMessage(limits.maxDepth), id);
  if (typeof m.type !== 'string') return fail('missing or non-string field "type"', id);
  if (m.type !== 'join' && m.type !== 'leave' && m.type !== 'publish' && m.type !== 'ping') {
    return fail(`unknown type ${JSON.stringify(m.type).slice(0, 64)}; expected join, leave, publish or ping`, id);
  }
  if (id === undefined) return fail('missing field "id" (a string or a number)');
  if (m.type === 'ping') return { ok: true, cmd: m.payload === undefined ? { type: 'ping', id } : { type: 'ping', id, payload: m.payload } };
  const room = m.room;
  if (typeof room !== 'string' || room.length === 0) return fail('missing or non-string field "room"', id);
  const problem = roomNameProblem(room, limits.maxRoomName);
  if (problem) return fail(problem, id);
  if (m.type === 'leave') return { ok: true, cmd: { type: 'leave', id, room } };
  if (m.type === 'join') {
    const since = m.since;
    if (since !== undefined && !(typeof since === 'number' && Number.isSafeInteger(since) && since >= 0)) {
      return fail('field "since" must be a non-negative integer', id);
    }
    // The sequence epoch `since` belongs to (PROTOCOL.md); anything but a string is ignored.
    const epoch = typeof m.epoch === 'string' ? { epoch: m.epoch } : {};
    return { ok: true, cmd: since === undefined ? { type: 'join', id, room } : { type: 'join', id, room, since, ...epoch } };
  }
  if (!('payload' in m)) return fail('missing field "payload"', id);
  if (m.echo !== undefined && typeof m.echo !== 'boolean') return fail('field "echo" must be a boolean', id);
  return { ok: true, cmd: { type: 'publish', id, room, payload: m.payload, echo: m.echo !== false } };
}
