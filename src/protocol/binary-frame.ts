/**
 * wsbench/1 binary frames (docs/PROTOCOL.md, "Binary frames"), the client's side:
 * building a binary publish and reading a binary room message in place.
 *
 * publish (client to server): 0x01, flags (bit 0: no echo), id (uint32 BE),
 *   room length (1 byte), room (UTF-8), payload (opaque bytes).
 * message (server to client): 0x02 (0x03 for a replay), seq in ASCII decimal, 0x00,
 *   room length (1 byte), room, sender length (1 byte), sender, payload.
 * The harness's payload: tag length (1 byte), the tag (`node.pub.counter.sendUs`, ASCII),
 *   then the padding.
 */
import { readTag } from './raw-scan.ts';
import type { ScannedDelivery } from './native.ts';

/** First byte of a binary publish (client to server). */
export const BIN_PUBLISH = 0x01;
/** First byte of a binary room message (server to client). */
export const BIN_MESSAGE = 0x02;
/** First byte of a binary room message replayed after a join with `since`. */
export const BIN_REPLAY = 0x03;

/**
 * A binary publish of the harness's payload: `tag` in its header, then `padBytes` bytes of
 * padding (the bytes of `pad`, repeated or cut to length).
 */
export function binaryPublish(room: string, id: number, tag: string, pad: string, padBytes = pad.length): Buffer {
  const roomLen = Buffer.byteLength(room);
  if (roomLen > 255) throw new RangeError(`room name over 255 bytes cannot go in a binary frame: ${room.slice(0, 40)}`);
  const tagLen = tag.length;
  const out = Buffer.allocUnsafe(7 + roomLen + 1 + tagLen + padBytes);
  out[0] = BIN_PUBLISH;
  out[1] = 0;
  out.writeUInt32BE(id >>> 0, 2);
  out[6] = roomLen;
  let at = 7 + out.write(room, 7, 'utf8');
  out[at++] = tagLen;
  at += out.write(tag, at, 'latin1');
  if (padBytes > 0) out.fill(pad.length > 0 ? pad : 'x', at, at + padBytes, 'latin1');
  return out;
}

/**
 * Read a binary room message in `buf[start, end)` into `out` (roomStart/roomEnd are offsets
 * into `buf`; seq, the tag's four numbers, replay). False when it is not a well-formed
 * message carrying the harness's tag.
 */
export function scanBinaryMessage(buf: Buffer, start: number, end: number, out: ScannedDelivery): boolean {
  const kind = buf[start];
  if (kind !== BIN_MESSAGE && kind !== BIN_REPLAY) return false;
  let i = start + 1;
  let seq = 0;
  const digitsFrom = i;
  while (i < end && buf[i]! >= 48 && buf[i]! <= 57) seq = seq * 10 + (buf[i++]! - 48);
  if (i === digitsFrom || i >= end || buf[i] !== 0) return false;
  i++;
  const roomLen = buf[i++];
  if (roomLen === undefined || i + roomLen > end) return false;
  out.roomStart = i;
  out.roomEnd = i + roomLen;
  i += roomLen;
  const fromLen = buf[i++];
  if (fromLen === undefined || i + fromLen >= end) return false;
  i += fromLen;
  const tagLen = buf[i++]!;
  const tagEnd = i + tagLen;
  if (tagEnd > end) return false;
  // readTag wants a quote after the fourth number: check the numbers on a bounded copy of the tag.
  TAG[0] = 0;
  buf.copy(TAG, 0, i, tagEnd);
  TAG[tagLen] = 34;
  if (!readTag(TAG, 0, tagLen + 1, out)) return false;
  out.seq = seq;
  out.replay = kind === BIN_REPLAY;
  return true;
}

/** Scratch for the tag (at most 255 bytes and its closing quote). */
const TAG = Buffer.alloc(256);
