/**
 * permessage-deflate (RFC 7692) for the raw client: the offer, the check of the server's
 * answer, and one connection's compressor and decompressor.
 *
 * Messages are (de)compressed synchronously, in order, on the receive path: a delivery
 * is inflated and scanned in the same call as with no compression. With context takeover
 * the LZ77 window (the last 2^bits bytes of the message stream, the state takeover keeps)
 * is carried from message to message as the preset dictionary of the next one: a window
 * per connection and direction, which is the memory cost takeover has in every
 * implementation. Without takeover nothing is kept between messages.
 */
import zlib from 'node:zlib';

/** What the client offers (`--set compression=on|no-takeover`, `--set compression-bits`). */
export interface DeflateOffer {
  /** Ask both sides to reset their context after every message. */
  noContextTakeover: boolean;
  /** Largest LZ77 window, as a power of two (9..15), asked of both sides; 15 = no limit asked. */
  maxWindowBits: number;
}

/** What was agreed for one connection (the server's answer to the offer). */
export interface DeflateAgreement {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** Window bits of the server's compressor (8..15). */
  serverMaxWindowBits: number;
  /** Window bits of the client's compressor (9..15: zlib has no raw window of 8). */
  clientMaxWindowBits: number;
}

/** The offer from run options: undefined when `compression` is off. */
export function deflateOfferOf(options: Readonly<Record<string, unknown>>): DeflateOffer | undefined {
  const mode = String(options.compression ?? 'off');
  if (mode === 'off') return undefined;
  const bits = Number(options.compressionBits ?? 15);
  return { noContextTakeover: mode === 'no-takeover', maxWindowBits: bits >= 9 && bits <= 15 ? bits : 15 };
}

/** The `Sec-WebSocket-Extensions` request header value of an offer. */
export function offerHeader(o: DeflateOffer): string {
  let h = 'permessage-deflate; client_max_window_bits';
  if (o.maxWindowBits < 15) h += `=${o.maxWindowBits}; server_max_window_bits=${o.maxWindowBits}`;
  if (o.noContextTakeover) h += '; client_no_context_takeover; server_no_context_takeover';
  return h;
}

/**
 * Check the server's `Sec-WebSocket-Extensions` answer against the offer (RFC 7692 7.1):
 * the agreement, or a string saying what is wrong (the client then fails the connection).
 */
export function acceptAnswer(header: string, offer: DeflateOffer): DeflateAgreement | string {
  const exts = header.split(',').map((e) => e.trim()).filter(Boolean);
  if (exts.length !== 1) return `the server answered ${exts.length} extensions; permessage-deflate alone was offered`;
  const [name, ...params] = exts[0]!.split(';').map((p) => p.trim());
  if (name !== 'permessage-deflate') return `the server answered extension "${name}", which was not offered`;
  const a: DeflateAgreement = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const seen = new Set<string>();
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = (eq < 0 ? p : p.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (seen.has(key)) return `permessage-deflate parameter ${key} given twice`;
    seen.add(key);
    if (key === 'server_no_context_takeover' || key === 'client_no_context_takeover') {
      if (value !== undefined) return `${key} takes no value`;
      if (key === 'server_no_context_takeover') a.serverNoContextTakeover = true;
      else a.clientNoContextTakeover = true;
    } else if (key === 'server_max_window_bits' || key === 'client_max_window_bits') {
      const bits = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(bits >= 8 && bits <= 15)) return `${key}=${value ?? ''} is not a window size 8..15`;
      if (key === 'server_max_window_bits') {
        if (bits > offer.maxWindowBits) return `server_max_window_bits=${bits} is above the ${offer.maxWindowBits} offered`;
        a.serverMaxWindowBits = bits;
      } else a.clientMaxWindowBits = bits;
    } else return `unknown permessage-deflate parameter ${key}`;
  }
  if (offer.noContextTakeover && !a.serverNoContextTakeover) return 'server_no_context_takeover was asked for but not agreed';
  if (offer.maxWindowBits < 15 && a.serverMaxWindowBits > offer.maxWindowBits) return 'server_max_window_bits was asked for but not agreed';
  if (offer.maxWindowBits < 15) a.clientMaxWindowBits = Math.min(a.clientMaxWindowBits, offer.maxWindowBits);
  if (a.clientMaxWindowBits < 9) return 'client_max_window_bits=8: zlib cannot compress with a window of 8 bits';
  if (offer.noContextTakeover) a.clientNoContextTakeover = true;
  return a;
}

/** The agreement as one line for a report, e.g. `permessage-deflate; server_no_context_takeover; client_max_window_bits=15`. */
export function describeAgreement(a: DeflateAgreement): string {
  const parts = ['permessage-deflate'];
  if (a.serverNoContextTakeover) parts.push('server_no_context_takeover');
  if (a.clientNoContextTakeover) parts.push('client_no_context_takeover');
  parts.push(`server_max_window_bits=${a.serverMaxWindowBits}`, `client_max_window_bits=${a.clientMaxWindowBits}`);
  return parts.join('; ');
}

/** The 4 bytes a sync flush ends with; stripped by the sender, put back by the receiver (RFC 7692 7.2.1/7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const SYNC = zlib.constants.Z_SYNC_FLUSH;
const EMPTY = Buffer.alloc(0);

/** Compressor and decompressor of one connection, as agreed. */
export class DeflateSession {
  /** Last bytes of the received (inflated) message stream, when the server keeps its context; else null. */
  private readonly inWindow: SlidingWindow | null;
  /** Last bytes of the sent message stream, when the client keeps its context; else null. */
  private readonly outWindow: SlidingWindow | null;
  private readonly inBits: number;
  private readonly outBits: number;
  /** Bytes on the wire and bytes after inflating, of every message received compressed. */
  wireIn = 0;
  plainIn = 0;

  constructor(
    readonly agreement: DeflateAgreement,
    private readonly maxMessageBytes: number,
  ) {
    // zlib has no raw window of 8 bits: a window of 9 inflates any stream written with 8
    // (acceptAnswer refuses to compress with 8).
    this.inBits = Math.max(9, agreement.serverMaxWindowBits);
    this.outBits = agreement.clientMaxWindowBits;
    this.inWindow = agreement.serverNoContextTakeover ? null : new SlidingWindow(1 << this.inBits);
    this.outWindow = agreement.clientNoContextTakeover ? null : new SlidingWindow(1 << this.outBits);
  }

  /**
   * Inflate one message (`buf[start, end)`, the payload of its frames without the tail).
   * Throws a zlib error on a corrupt stream, a RangeError past `maxMessageBytes`.
   */
  inflate(buf: Buffer, start: number, end: number): Buffer {
    const input = Buffer.allocUnsafe(end - start + 4);
    buf.copy(input, 0, start, end);
    TAIL.copy(input, end - start);
    const dictionary = this.inWindow?.view();
    const out = zlib.inflateRawSync(input, {
      finishFlush: SYNC,
      windowBits: this.inBits,
      maxOutputLength: this.maxMessageBytes,
      ...(dictionary ? { dictionary } : {}),
    });
    this.wireIn += end - start;
    this.plainIn += out.length;
    this.inWindow?.push(out);
    return out;
  }

  /** Deflate one outgoing message; the result has no sync-flush tail. */
  deflate(data: Buffer): Buffer {
    const dictionary = this.outWindow?.view();
    const out = zlib.deflateRawSync(data, {
      finishFlush: SYNC,
      windowBits: this.outBits,
      ...(dictionary ? { dictionary } : {}),
    });
    this.outWindow?.push(data);
    return out.length >= 4 && out.subarray(out.length - 4).equals(TAIL) ? out.subarray(0, out.length - 4) : out;
  }
}

/**
 * The last `size` bytes of a message stream, in a buffer of twice that (allocated at the
 * first message): a message is appended, and the tail moved to the front only when the
 * buffer is full, so keeping the window costs about one copy of each message.
 */
export class SlidingWindow {
  private buf: Buffer = EMPTY;
  private end = 0;

  constructor(readonly size: number) {}

  /** The window (a view, valid until the next push), or undefined before the first message. */
  view(): Buffer | undefined {
    return this.end === 0 ? undefined : this.buf.subarray(Math.max(0, this.end - this.size), this.end);
  }

  push(data: Buffer): void {
    const n = data.length;
    if (n === 0) return;
    if (this.buf.length === 0) this.buf = Buffer.allocUnsafe(2 * this.size);
    if (n >= this.size) {
      data.copy(this.buf, 0, n - this.size);
      this.end = this.size;
      return;
    }
    if (this.end + n > this.buf.length) {
      const keep = Math.min(this.end, this.size);
      this.buf.copy(this.buf, 0, this.end - keep, this.end);
      this.end = keep;
    }
    data.copy(this.buf, this.end);
    this.end += n;
  }
}
