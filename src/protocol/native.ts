/**
 * The built-in `wsbench/1` codec (PROTOCOL.md section 1) and the fast path that
 * reads a room message straight from the frame's bytes.
 *
 * The receive path is the bottleneck of a load generator on a small machine: a
 * delivery is recognised and its room, seq and tag read without JSON.parse and
 * without allocating, when the frame carries our tag. Anything else goes through
 * `decode` (JSON.parse), which is rare by comparison (acks, joins, pongs, errors).
 */
import type { DecodedFrame, FrameCodec } from './types.ts';
import { scanDeliveryRange, type ScannedDelivery } from './raw-scan.ts';

export type { ScannedDelivery } from './raw-scan.ts';

/**
 * The wsbench/1 codec: encodes join (with `since` when resuming), leave, publish (payload `{wsb, pad}`) and ping; waits for the server's welcome.
 */
export const nativeCodec: FrameCodec = {
  name: 'wsbench/1',
  awaitsWelcome: true,
  encodeJoin: (room, id, since, epoch) =>
    since === undefined
      ? `{"type":"join","id":${id},"room":${JSON.stringify(room)}}`
      : `{"type":"join","id":${id},"room":${JSON.stringify(room)},"since":${since}${epoch === undefined ? '' : `,"epoch":${JSON.stringify(epoch)}`}}`,
  encodeLeave: (room, id) => `{"type":"leave","id":${id},"room":${JSON.stringify(room)}}`,
  encodePublish: (room, id, payload) =>
    `{"type":"publish","id":${id},"room":${JSON.stringify(room)},"payload":{"wsb":"${payload.wsb}","pad":"${payload.pad}"}}`,
  encodePing: (id) => `{"type":"ping","id":${id}}`,
  decode: decodeNative,
};

function decodeNative(text: string): DecodedFrame | null {
  let f: any;
  try {
    f = JSON.parse(text);
  } catch {
    return null;
  }
  if (f === null || typeof f !== 'object' || typeof f.type !== 'string') return null;
  switch (f.type) {
    case 'welcome':
      return { kind: 'welcome', node: typeof f.node === 'string' || typeof f.node === 'number' ? String(f.node) : undefined };
    case 'joined':
      return { kind: 'joined', id: f.id, room: String(f.room), members: num(f.members), seq: num(f.seq), epoch: str(f.epoch) };
    case 'left':
      return { kind: 'left', id: f.id };
    case 'ack':
      return { kind: 'ack', id: f.id, seq: num(f.seq), epoch: str(f.epoch) };
    case 'message':
      return {
        kind: 'message',
        room: String(f.room),
        seq: num(f.seq),
        tag: f.payload && typeof f.payload.wsb === 'string' ? f.payload.wsb : undefined,
        replay: f.replay === true,
      };
    case 'gap':
      return { kind: 'gap', room: String(f.room), from: Number(f.from), to: Number(f.to) };
    case 'pong':
      return { kind: 'pong', id: f.id };
    case 'error':
      return { kind: 'error', id: f.id, code: String(f.code ?? 'unknown'), message: typeof f.message === 'string' ? f.message : undefined };
    default:
      return { kind: 'other', name: f.type, data: f };
  }
}

/** A non-empty string field (an epoch), else undefined. */
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}


/**
 * Reads a `message` frame carrying our tag from its bytes into `out` (one pass, no
 * allocation; see raw-scan.ts). Returns false when the frame is anything else (or has
 * an escaped room name), so the caller falls back to the codec's `decode`.
 */
export function scanDelivery(buf: Buffer, out: ScannedDelivery): boolean {
  return scanDeliveryRange(buf, 0, buf.length, out);
}
