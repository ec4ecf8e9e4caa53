/**
 * `scanDelivery` (native.ts) in one pass over a byte range, for the raw client.
 *
 * Profiled on 1,000 clients absorbing a broadcast, `scanDelivery` spent over half
 * of the harness's CPU in `Buffer#indexOf`: six native calls per delivery (one of
 * them, `"replay":true`, scans the whole frame and usually finds nothing), plus a
 * view per frame. Here every key starts with a quote, so looking at each quote
 * once finds the first occurrence of every key exactly as `indexOf` would, and the
 * result is the same as `scanDelivery`'s for any input (test/protocol/raw-scan.test.ts
 * checks that on generated frames). It reads `buf[start, end)` in place.
 */

const Q = 34; // "

// Key bytes after the opening quote.
const WSB = bytes('wsb":"');
const SEQ = bytes('seq":');
const ROOM = bytes('room":"');
const TYPE_MESSAGE = bytes('type":"message"');
const REPLAY = bytes('replay":true');

function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s));
}

/** Whether `key`'s bytes stand at `buf[i]` (within `end`). */
export function at(buf: Buffer, i: number, end: number, key: Uint8Array): boolean {
  const n = key.length;
  if (i + n > end) return false;
  for (let k = 0; k < n; k++) if (buf[i + k] !== key[k]) return false;
  return true;
}

/** Reusable result of `scanDelivery` (one per process: the receive path is single-threaded). */
export interface ScannedDelivery {
  roomStart: number;
  roomEnd: number;
  seq: number;
  node: number;
  pub: number;
  counter: number;
  sendUs: number;
  replay: boolean;
}

/** The next quote at or after `buf[i]` before `end`, or -1. Long runs without one (the padding) go to memchr. */
export function nextQuote(buf: Buffer, i: number, end: number): number {
  const stop = Math.min(end, i + 16);
  for (; i < stop; i++) if (buf[i] === Q) return i;
  if (i >= end) return -1;
  const q = buf.indexOf(Q, i);
  return q < 0 || q >= end ? -1 : q;
}

/** Same contract as `scanDelivery`, on `buf[start, end)`; `roomStart`/`roomEnd` are offsets into `buf`. */
export function scanDeliveryRange(buf: Buffer, start: number, end: number, out: ScannedDelivery): boolean {
  let wsb = -1;
  let seq = -1;
  let room = -1;
  let isMessage = false;
  let replay = false;
  for (let i = nextQuote(buf, start, end); i >= 0; i = nextQuote(buf, i + 1, end)) {
    const j = i + 1;
    // Dispatch on the byte after the quote: most quotes open values, not our keys.
    switch (buf[j]) {
      case 119: // w
        if (wsb < 0 && at(buf, j, end, WSB)) wsb = j + WSB.length;
        break;
      case 115: // s
        if (seq < 0 && at(buf, j, end, SEQ)) seq = j + SEQ.length;
        break;
      case 114: // r
        if (room < 0 && at(buf, j, end, ROOM)) room = j + ROOM.length;
        else if (!replay && at(buf, j, end, REPLAY)) replay = true;
        break;
      case 116: // t
        if (!isMessage && at(buf, j, end, TYPE_MESSAGE)) isMessage = true;
        break;
    }
  }
  return isMessage && readDelivery(buf, end, wsb, room, seq, replay, out);
}

/**
 * Fill `out` from the value positions a scan found (-1 = key not found): the tag at `wsb`,
 * the room string at `room`, the seq at `seq`. False when the tag or the room is missing or
 * not plain (an escaped room name is left to the full parse).
 */
export function readDelivery(buf: Buffer, end: number, wsb: number, room: number, seq: number, replay: boolean, out: ScannedDelivery): boolean {
  if (wsb < 0 || room < 0 || !readTag(buf, wsb, end, out)) return false;
  const roomEnd = stringEnd(buf, room, end);
  if (roomEnd < 0) return false;
  out.roomStart = room;
  out.roomEnd = roomEnd;
  out.seq = seq >= 0 ? readUint(buf, seq, end) : -1;
  out.replay = replay;
  return true;
}

/** Where the last `digits` call stopped. */
let digitsEnd = 0;

/** The decimal integer at `buf[i]`, or -1 when no digit stands there; sets `digitsEnd`. */
function digits(buf: Buffer, i: number, end: number): number {
  let v = 0;
  const from = i;
  while (i < end) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
  }
  digitsEnd = i;
  return i > from ? v : -1;
}

/**
 * Read the harness's tag (four dot-separated decimal integers, then a quote) at
 * `buf[i]` into `out.node/pub/counter/sendUs`; false when it is not one.
 */
export function readTag(buf: Buffer, i: number, end: number, out: ScannedDelivery): boolean {
  for (let k = 0; k < 4; k++) {
    const v = digits(buf, i, end);
    if (v < 0) return false;
    if (k === 0) out.node = v;
    else if (k === 1) out.pub = v;
    else if (k === 2) out.counter = v;
    else out.sendUs = v;
    i = digitsEnd;
    const sep = i < end ? buf[i] : -1;
    if (k < 3 ? sep !== 46 /* . */ : sep !== Q) return false;
    i++;
  }
  return true;
}

/** The non-negative integer at `buf[i]` (after spaces), or -1 when there is none. */
export function readUint(buf: Buffer, i: number, end: number): number {
  while (i < end && buf[i] === 32) i++;
  return digits(buf, i, end);
}

/** Where the JSON string whose body starts at `buf[i]` ends (its closing quote), or -1 when it has an escape or no end. */
export function stringEnd(buf: Buffer, i: number, end: number): number {
  while (i < end && buf[i] !== Q) {
    if (buf[i] === 92 /* \ */) return -1;
    i++;
  }
  return i < end ? i : -1;
}

// ------------------------------------------------------------ replies

const PONG_HEAD = bytes('{"type":"pong","id":');
const ACK_HEAD = bytes('{"type":"ack","id":');
const ROOM_FIELD = bytes(',"room":"');
const SEQ_FIELD = bytes(',"seq":');

/** A reply read by `scanReplyRange`: what `decode` would give for it. */
export type ScannedReply = { kind: 'pong'; id: number } | { kind: 'ack'; id: number; seq: number };

/** Where the last `jsonUint` call stopped. */
let uintEnd = 0;

/**
 * The JSON non-negative integer at `buf[i]` (no sign, no leading zero, no fraction or
 * exponent, at most 15 digits: exactly what JSON.parse gives), or -1; sets `uintEnd`.
 */
function jsonUint(buf: Buffer, i: number, end: number): number {
  const v = digits(buf, i, end);
  const n = digitsEnd - i;
  if (v < 0 || n > 15 || (n > 1 && buf[i] === 48)) return -1;
  uintEnd = digitsEnd;
  return v;
}

/**
 * The two replies a scenario loop waits on most, read from their bytes without a string or
 * JSON.parse: the reference server's `{"type":"pong","id":N}` and
 * `{"type":"ack","id":N,"room":"R","seq":S}` (the whole frame, in exactly that form, R without
 * escapes). Anything else is null, for the codec's `decode` (which gives the same frame for
 * these: test/protocol/raw-scan.test.ts).
 */
export function scanReplyRange(buf: Buffer, start: number, end: number): ScannedReply | null {
  if (at(buf, start, end, PONG_HEAD)) {
    const id = jsonUint(buf, start + PONG_HEAD.length, end);
    return id >= 0 && uintEnd === end - 1 && buf[uintEnd] === 125 /* } */ ? { kind: 'pong', id } : null;
  }
  if (!at(buf, start, end, ACK_HEAD)) return null;
  const id = jsonUint(buf, start + ACK_HEAD.length, end);
  if (id < 0 || !at(buf, uintEnd, end, ROOM_FIELD)) return null;
  const roomEnd = plainStringEnd(buf, uintEnd + ROOM_FIELD.length, end);
  if (roomEnd < 0 || !at(buf, roomEnd + 1, end, SEQ_FIELD)) return null;
  const seq = jsonUint(buf, roomEnd + 1 + SEQ_FIELD.length, end);
  return seq >= 0 && uintEnd === end - 1 && buf[uintEnd] === 125 ? { kind: 'ack', id, seq } : null;
}

/** Like `stringEnd`, and -1 also for a control character (invalid in a JSON string). */
function plainStringEnd(buf: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === Q) return i;
    if (c === 92 || c < 32) return -1;
  }
  return -1;
}
