/**
 * Binary publishes and deliveries of the lean Socket.IO client (`--set binary=on
 * --protocol socketio`; docs/PROTOCOL.md "Binary frames"). The message's `content` is
 * one Socket.IO binary attachment: the text packet `451-<ackId>[...]` names it with a
 * placeholder and the bytes follow as an Engine.IO binary frame (Engine.IO v4 over
 * websocket: the bytes as they are). The bytes are the harness's payload as in
 * wsbench/1 binary frames: the tag's length (1 byte), the tag (ASCII), the padding.
 */
import { readTag, type ScannedDelivery } from './raw-scan.ts';

/** The placeholder of the first (only) attachment in a Socket.IO binary packet. */
const PLACEHOLDER = '{"_placeholder":true,"num":0}';

/**
 * The Engine.IO text message of a binary publish: a BINARY_EVENT with one attachment for the
 * default namespace. `event`, `roomKey`, `contentKey` are JSON texts (built once per transport).
 */
export function binaryPublishPacket(ackId: number, event: string, roomKey: string, room: string, contentKey: string): string {
  return `451-${ackId}[${event},{${roomKey}:${JSON.stringify(room)},${contentKey}:${PLACEHOLDER}}]`;
}

/** The harness's payload as bytes: the tag's length (1 byte), the tag (ASCII), then the bytes of `pad`. */
export function taggedBytes(tag: string, pad: string): Buffer {
  const out = Buffer.allocUnsafe(1 + tag.length + pad.length);
  out[0] = tag.length;
  const at = 1 + out.write(tag, 1, 'latin1');
  out.write(pad, at, 'latin1');
  return out;
}

/** Scratch for the tag (at most 255 bytes and its closing quote). */
const TAG = Buffer.alloc(256);

/** Read the tag at the head of tagged bytes in `buf[start, end)` into `out` (node, pub, counter, sendUs); false when there is none. */
export function readTaggedBytes(buf: Buffer, start: number, end: number, out: ScannedDelivery): boolean {
  if (start >= end) return false;
  const tagLen = buf[start]!;
  if (start + 1 + tagLen > end) return false;
  // readTag wants a quote after the fourth number: read it from a bounded copy.
  buf.copy(TAG, 0, start + 1, start + 1 + tagLen);
  TAG[tagLen] = 34;
  return readTag(TAG, 0, tagLen + 1, out);
}

/**
 * {room, seq, replay} of a room message announced by a binary packet (its JSON array
 * `data`), when its content is the attachment placeholder; else undefined.
 */
export function binaryDeliveryOf(data: unknown, names: { message: string; room: string; seq: string; content: string }): { room: string; seq: number; replay: boolean } | undefined {
  if (!Array.isArray(data) || data[0] !== names.message) return undefined;
  const m = data[1] as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null) return undefined;
  const room = m[names.room];
  const c = m[names.content] as { _placeholder?: unknown } | undefined;
  if (typeof room !== 'string' || c?._placeholder !== true) return undefined;
  const seq = typeof m[names.seq] === 'number' ? (m[names.seq] as number) : -1;
  return { room, seq, replay: m.replay === true };
}
