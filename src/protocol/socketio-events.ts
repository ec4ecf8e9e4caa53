/**
 * What a Socket.IO server says, as the harness needs it: an event (name and first
 * argument) or an ack reply, turned into a DecodedFrame. Shared by both Socket.IO
 * clients (socketio-lean.ts parses the packets itself, socketio-transport.ts gets
 * them from socket.io-client), so both report the same frames for the same packets.
 */
import type { DecodedFrame } from './types.ts';
import type { SocketIoNames } from './socketio-names.ts';

/** The request an ack answers: `joined` (join), `left` (leave) or `ack` (publish). */
export type ReplyKind = 'joined' | 'left' | 'ack';

/** The frame for event `event` whose first argument is `arg`; null for a gap event without its numbers. */
export function eventFrame(n: SocketIoNames, event: string, arg: unknown): DecodedFrame | null {
  const o = typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>) : undefined;
  if (event === n.message) {
    const content = o?.[n.content] as { wsb?: unknown } | undefined;
    return {
      kind: 'message',
      room: String(o?.[n.room]),
      seq: numberOr(o?.[n.seq]),
      tag: content && typeof content.wsb === 'string' ? content.wsb : undefined,
      replay: o?.replay === true,
    };
  }
  if (event === n.connected) {
    const node = o?.[n.node];
    return { kind: 'welcome', node: node === undefined ? undefined : String(node) };
  }
  if (event === n.gap) {
    const from = numberOr(o?.from);
    const to = numberOr(o?.to);
    return from !== undefined && to !== undefined ? { kind: 'gap', room: String(o?.[n.room]), from, to } : null;
  }
  // Binary arguments are not handed on: the lean client keeps their placeholders, the library rebuilds them.
  return hasBinary(arg, 3) ? { kind: 'other', name: event } : { kind: 'other', name: event, data: arg };
}

/** Whether `v` holds binary data (or the lean client's placeholder for it) within `depth` levels. */
function hasBinary(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (v as { _placeholder?: unknown })._placeholder === true) return true;
  if (depth === 0) return false;
  return Object.values(v).some((x) => hasBinary(x, depth - 1));
}

/** Whether the `connected` event's `features` say that `join` takes `{since}` (servers/socketio/resume.ts). */
export function offersJoinSince(n: SocketIoNames, event: string, arg: unknown): boolean {
  if (event !== n.connected) return false;
  const features = (arg as { features?: unknown } | null | undefined)?.features;
  return Array.isArray(features) && features.includes('join-since');
}

/** The frame for the ack reply `res` to request `id` (`room` is the joined room). */
export function replyFrame(kind: ReplyKind, id: number, room: string, res: unknown): DecodedFrame {
  const r = typeof res === 'object' && res !== null ? (res as Record<string, unknown>) : undefined;
  if (!r || r.error !== undefined || r.success === false) return { kind: 'error', id, code: String(r?.error ?? 'refused') };
  const epoch = typeof r.epoch === 'string' && r.epoch !== '' ? r.epoch : undefined;
  if (kind === 'joined') return { kind, id, room, members: numberOr(r.members), seq: numberOr(r.seq), epoch };
  if (kind === 'left') return { kind, id };
  return { kind, id, seq: numberOr(r.seq), epoch };
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
