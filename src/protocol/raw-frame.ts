/**
 * RFC 6455 framing for the raw client transport (raw-transport.ts): a frame
 * reader fed with socket chunks, and the client-side (masked) frame writer.
 *
 * The reader never throws on bad input: a violation is reported once through
 * `onViolation(closeCode, kind, message)` and the reader stops. A complete
 * message is handed over as a byte range of the chunk it arrived in when the frame
 * is contiguous (no copy, not even a view), so the receiver must consume it
 * synchronously.
 */
import { randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';

/** WebSocket opcode (RFC 6455 5.2): continuation frame. */
export const OP_CONT = 0x0;
/** WebSocket opcode: text frame. */
export const OP_TEXT = 0x1;
/** WebSocket opcode: binary frame. */
export const OP_BINARY = 0x2;
/** WebSocket opcode: close. */
export const OP_CLOSE = 0x8;
/** WebSocket opcode: ping. */
export const OP_PING = 0x9;
/** WebSocket opcode: pong. */
export const OP_PONG = 0xa;

/** Largest message accepted from a server, in bytes (default 64 MiB); larger ones close with 1009. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Why the reader gave up: `protocol` (1002, 1009) or `bad_frame` (1007, invalid UTF-8). */
export type ViolationKind = 'protocol' | 'bad_frame';

const EMPTY = Buffer.alloc(0);

/** A message decompressor (permessage-deflate: src/protocol/deflate.ts). */
export interface Inflater {
  /** The message whose compressed payload is `buf[start, end)`; throws on corrupt data or past the size limit. */
  inflate(buf: Buffer, start: number, end: number): Buffer;
}

/**
 * Incremental frame reader. Subclasses (the connection itself, so that no
 * per-connection closure or sink object is allocated) implement the four hooks.
 */
export abstract class FrameReader {
  /** Copies of the bytes of an incomplete frame carried over from earlier chunks, or null. */
  private rdStash: Buffer[] | null = null;
  private rdStashBytes = 0;
  /** Bytes the incomplete frame needs in all (0 = its header is incomplete: re-parse on any byte). */
  private rdNeed = 0;
  /** Fragments of a message in progress (opcode in `rdFragOp`), or null. */
  private rdFrags: Buffer[] | null = null;
  private rdFragOp = 0;
  private rdFragBytes = 0;
  /** Whether the message in progress had RSV1 set on its first frame (compressed). */
  private rdFragDeflated = false;
  /** Set once a violation was reported: every later byte is ignored. */
  protected rdFailed = false;
  /** The connection's permessage-deflate decompressor once negotiated (RSV1 is allowed then), else null. */
  protected inflater: Inflater | null = null;

  /** A complete text (valid UTF-8) or binary message in `buf[start, end)`, only valid during the call. */
  protected abstract onMessage(opcode: number, buf: Buffer, start: number, end: number): void;
  /** A ping, pong or close frame; `data` is only valid during the call. */
  protected abstract onControl(opcode: number, data: Buffer): void;
  /** The server broke the protocol: close with `closeCode`, count `kind`. */
  protected abstract onViolation(closeCode: number, kind: ViolationKind, message: string): void;

  /** Feed bytes read from the socket (may be a shared read buffer: nothing is kept without a copy). */
  readFrames(chunk: Buffer, start: number, end: number): void {
    if (this.rdFailed) return;
    let buf = chunk;
    let i = start;
    let len = end;
    if (this.rdStash !== null) {
      // A large frame arrives in many chunks: keep copies until it is complete, then join once.
      if (this.rdStashBytes + (end - start) < this.rdNeed) {
        this.rdStash.push(Buffer.from(chunk.subarray(start, end)));
        this.rdStashBytes += end - start;
        return;
      }
      this.rdStash.push(chunk.subarray(start, end));
      buf = Buffer.concat(this.rdStash, this.rdStashBytes + (end - start));
      this.rdStash = null;
      i = 0;
      len = buf.length;
    }
    let need = 0;
    while (i < len) {
      if (len - i < 2) break;
      const b0 = buf[i]!;
      const b1 = buf[i + 1]!;
      let n = b1 & 0x7f;
      let head = 2;
      if (n === 126) {
        if (len - i < 4) break;
        n = (buf[i + 2]! << 8) | buf[i + 3]!;
        head = 4;
      } else if (n === 127) {
        if (len - i < 10) break;
        const hi = buf.readUInt32BE(i + 2);
        const lo = buf.readUInt32BE(i + 6);
        // 2^53 is past any limit we accept; 32 high bits above 2^21 cannot be a safe integer.
        n = hi > 0x1fffff ? Infinity : hi * 0x100000000 + lo;
        head = 10;
      }
      if (!this.checkHeader(b0, b1, n)) return;
      if (len - i < head + n) {
        need = head + n;
        break;
      }
      const from = i + head;
      i = from + n;
      const opcode = b0 & 0x0f;
      if (opcode >= OP_CLOSE) {
        this.onControl(opcode, n === 0 ? EMPTY : buf.subarray(from, i));
        if (this.rdFailed) return;
        continue;
      }
      const fin = (b0 & 0x80) !== 0;
      if (opcode !== OP_CONT && fin) {
        if ((b0 & 0x40) !== 0) {
          this.inflated(opcode, buf, from, i);
          if (this.rdFailed) return;
          continue;
        }
        // The common case: a whole message in one frame, handed over without a copy.
        if (opcode === OP_TEXT && !isUtf8Range(buf, from, i)) return void this.fail(1007, 'bad_frame', 'invalid UTF-8 in a text frame');
        this.onMessage(opcode, buf, from, i);
        if (this.rdFailed) return;
        continue;
      }
      if (opcode !== OP_CONT) {
        this.rdFrags = [];
        this.rdFragOp = opcode;
        this.rdFragBytes = 0;
        this.rdFragDeflated = (b0 & 0x40) !== 0;
      }
      // Fragments must outlive this chunk (it may be a shared read buffer): copy.
      this.rdFrags!.push(Buffer.from(buf.subarray(from, i)));
      this.rdFragBytes += n;
      if (fin) {
        const data = Buffer.concat(this.rdFrags!, this.rdFragBytes);
        const op = this.rdFragOp;
        this.rdFrags = null;
        if (this.rdFragDeflated) {
          this.inflated(op, data, 0, data.length);
          if (this.rdFailed) return;
          continue;
        }
        if (op === OP_TEXT && !isUtf8(data)) return void this.fail(1007, 'bad_frame', 'invalid UTF-8 in a fragmented text message');
        this.onMessage(op, data, 0, data.length);
        if (this.rdFailed) return;
      }
    }
    if (i < len) {
      this.rdStash = [Buffer.from(buf.subarray(i, len))];
      this.rdStashBytes = len - i;
      this.rdNeed = need;
    }
  }

  /** Inflate a compressed message and hand it over (text checked for UTF-8 after inflating). */
  private inflated(opcode: number, buf: Buffer, start: number, end: number): void {
    let data: Buffer;
    try {
      data = this.inflater!.inflate(buf, start, end);
    } catch (e) {
      const big = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
      return void (big ? this.fail(1009, 'protocol', `inflated message over ${MAX_MESSAGE_BYTES} bytes`) : this.fail(1007, 'bad_frame', `invalid compressed data: ${(e as Error).message}`));
    }
    if (opcode === OP_TEXT && !isUtf8Range(data, 0, data.length)) return void this.fail(1007, 'bad_frame', 'invalid UTF-8 in a compressed text message');
    this.onMessage(opcode, data, 0, data.length);
  }

  /** Validate a frame header before its payload arrives (so oversize is caught early). */
  private checkHeader(b0: number, b1: number, n: number): boolean {
    const opcode = b0 & 0x0f;
    const rsv = b0 & 0x70;
    if (rsv !== 0) {
      // RSV1 marks the first frame of a compressed data message, once permessage-deflate was agreed (RFC 7692 6).
      const deflated = rsv === 0x40 && this.inflater !== null && opcode !== OP_CONT && opcode < OP_CLOSE;
      if (!deflated) return this.fail(1002, 'protocol', this.inflater === null ? 'reserved bits set (no extension was negotiated)' : 'reserved bits set on a control or continuation frame, or RSV2/RSV3');
    }
    if ((b1 & 0x80) !== 0) return this.fail(1002, 'protocol', 'a server frame is masked');
    if (opcode >= OP_CLOSE) {
      if (opcode > OP_PONG) return this.fail(1002, 'protocol', `unknown control opcode ${opcode}`);
      if ((b0 & 0x80) === 0) return this.fail(1002, 'protocol', 'fragmented control frame');
      if (n > 125) return this.fail(1002, 'protocol', 'control frame payload over 125 bytes');
      return true;
    }
    if (opcode > OP_BINARY) return this.fail(1002, 'protocol', `unknown data opcode ${opcode}`);
    if (opcode === OP_CONT) {
      if (this.rdFrags === null) return this.fail(1002, 'protocol', 'continuation frame without a message in progress');
      if (this.rdFragBytes + n > MAX_MESSAGE_BYTES) return this.fail(1009, 'protocol', `message over ${MAX_MESSAGE_BYTES} bytes`);
      return true;
    }
    if (this.rdFrags !== null) return this.fail(1002, 'protocol', 'new data frame while a fragmented message is in progress');
    if (n > MAX_MESSAGE_BYTES) return this.fail(1009, 'protocol', `message over ${MAX_MESSAGE_BYTES} bytes`);
    return true;
  }

  protected fail(closeCode: number, kind: ViolationKind, message: string): false {
    if (!this.rdFailed) {
      this.rdFailed = true;
      this.rdStash = null;
      this.rdFrags = null;
      this.onViolation(closeCode, kind, message);
    }
    return false;
  }
}

/**
 * Whether `buf[start, end)` is valid UTF-8. Frames of this harness are nearly always
 * ASCII: a byte loop settles that without a view or a native call; anything else
 * goes to `buffer.isUtf8`.
 */
export function isUtf8Range(buf: Buffer, start: number, end: number): boolean {
  let hi = 0;
  for (let k = start; k < end; k++) hi |= buf[k]!;
  return hi < 0x80 || isUtf8(buf.subarray(start, end));
}

/** Whether a close code received from a server is one a peer may send (RFC 6455 7.4). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// Masks must be unpredictable per frame (RFC 6455 5.3); drawing them from a
// batch of 4 KiB of random bytes costs one randomFillSync per 1,024 frames.
const maskPool = Buffer.allocUnsafe(4096);
let maskAt = maskPool.length;

/** Build a masked client frame holding `text` (UTF-8) or `data`; `rsv1` marks a compressed message. */
export function clientFrame(opcode: number, text: string | null, data: Buffer | null, rsv1 = false): Buffer {
  const n = text !== null ? Buffer.byteLength(text) : data !== null ? data.length : 0;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = rsv1 ? 0xc0 | opcode : 0x80 | opcode;
  if (head === 2) out[1] = 0x80 | n;
  else if (head === 4) {
    out[1] = 0x80 | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  if (maskAt === maskPool.length) {
    randomFillSync(maskPool);
    maskAt = 0;
  }
  const m = head;
  out[m] = maskPool[maskAt]!;
  out[m + 1] = maskPool[maskAt + 1]!;
  out[m + 2] = maskPool[maskAt + 2]!;
  out[m + 3] = maskPool[maskAt + 3]!;
  maskAt += 4;
  const p = m + 4;
  if (text !== null) out.write(text, p, 'utf8');
  else if (data !== null) data.copy(out, p);
  for (let k = 0; k < n; k++) out[p + k] = out[p + k]! ^ out[m + (k & 3)]!;
  return out;
}

/** Unmask in place (for tests and servers written on this module). */
export function unmask(payload: Buffer, mask: Buffer): void {
  for (let k = 0; k < payload.length; k++) payload[k] = payload[k]! ^ mask[k & 3]!;
}
