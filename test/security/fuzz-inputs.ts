/**
 * A seeded structural fuzzer for both flavours (docs/SECURITY.md "Tests"): JSON
 * frames built from the protocol's own shapes and then broken (wrong types,
 * missing and extra fields, deep nesting, odd numbers and strings, prototype
 * keys, truncation), Socket.IO packets around them, and raw RFC 6455 frames
 * that break the framing rules. Deterministic for a seed, so a failure replays;
 * its PRNG is the engine's own (src/executor/random.ts), and `npm run bench` drives the same generator.
 */
import { createRng } from '../../src/executor/random.ts';

/** The harness's own seeded PRNG (mulberry32, uniform in [0, 1)): one generator for the engine and the fuzzer. */
export function rng(seed: number): () => number {
  return createRng(seed);
}

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: R, max: number) => Math.floor(r() * max);

const ODD_STRINGS = ['', 'a', 'é', '漢字', '😀', '\u0000', '\u200b', '\ud800', '@user:x', '__proto__', 'constructor', 'x'.repeat(300), '%s%n', '\\', '"', '\u202e'];
const ODD_NUMBERS = [0, -1, 1.5, 1e308, -1e308, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER + 2, 1e-300];

/** A nested array or object `depth` levels deep, as JSON text (never built as a value: no recursion anywhere). */
export function deepJson(r: R, depth: number): string {
  const obj = r() < 0.5;
  return obj ? `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}` : `${'['.repeat(depth)}0${']'.repeat(depth)}`;
}

/** A random JSON value as text, at most `depth` levels, sometimes very deep. */
export function jsonValue(r: R, depth = 3): string {
  const k = r();
  if (k < 0.04) return deepJson(r, 20 + int(r, 9000));
  if (depth <= 0 || k < 0.45) {
    const s = r();
    if (s < 0.3) return JSON.stringify(pick(r, ODD_STRINGS));
    if (s < 0.55) return String(pick(r, ODD_NUMBERS));
    if (s < 0.7) return pick(r, ['true', 'false', 'null']);
    return JSON.stringify(Math.floor(r() * 1000));
  }
  const n = int(r, 4);
  if (k < 0.7) return `[${Array.from({ length: n }, () => jsonValue(r, depth - 1)).join(',')}]`;
  const keys = ['a', 'type', 'id', 'room', 'payload', '__proto__', 'constructor', 'toString'];
  return `{${Array.from({ length: n }, () => `${JSON.stringify(pick(r, keys))}:${jsonValue(r, depth - 1)}`).join(',')}}`;
}

/** A wsbench/1 client frame (text), valid-looking or broken. */
export function nativeFrame(r: R): string {
  const fields: string[] = [];
  const maybe = (p: number, f: () => string) => {
    if (r() < p) fields.push(f());
  };
  maybe(0.95, () => `"type":${r() < 0.85 ? JSON.stringify(pick(r, ['join', 'leave', 'publish', 'ping'])) : jsonValue(r, 1)}`);
  maybe(0.9, () => `"id":${r() < 0.8 ? String(int(r, 1000)) : jsonValue(r, 1)}`);
  maybe(0.85, () => `"room":${r() < 0.7 ? JSON.stringify(pick(r, ['a', 'b', 'c'])) : jsonValue(r, 1)}`);
  maybe(0.3, () => `"since":${r() < 0.6 ? String(int(r, 20)) : jsonValue(r, 1)}`);
  maybe(0.6, () => `"payload":${jsonValue(r)}`);
  maybe(0.2, () => `"echo":${jsonValue(r, 0)}`);
  maybe(0.1, () => `${JSON.stringify(pick(r, ['__proto__', 'constructor', 'x']))}:${jsonValue(r, 2)}`);
  let text = `{${fields.join(',')}}`;
  const m = r();
  if (m < 0.05) text = text.slice(0, int(r, text.length));
  else if (m < 0.08) text = jsonValue(r);
  return text;
}

const SIO_EVENTS = ['join-room', 'join-room', 'leave-room', 'message', 'message', 'message', 'typing', 'private-message', 'connected', 'unknown', ''];

/** A Socket.IO packet as the Engine.IO message data (`2[...]`, `21[...]` with an ack id, or junk). */
export function socketIoPacket(r: R): string {
  const m = r();
  if (m < 0.05) return pick(r, ['', '9', '2', '2[', '3', '41', '0{}', '5', '6', '2-1[]']);
  const ack = r() < 0.6 ? String(1 + int(r, 100000)) : '';
  const name = pick(r, SIO_EVENTS);
  const event = r() < 0.9 ? JSON.stringify(name) : jsonValue(r, 1);
  const room = () => (r() < 0.8 ? JSON.stringify(pick(r, ['a', 'b', 'c'])) : jsonValue(r, 1));
  const args: string[] = [];
  if (r() < 0.7) {
    // Shaped like the event's real arguments, so the handlers past validation get exercised too.
    if (name === 'join-room') args.push(room(), ...(r() < 0.3 ? [`{"since":${r() < 0.6 ? String(int(r, 20)) : jsonValue(r, 0)}}`] : []));
    else if (name === 'leave-room') args.push(room());
    else if (name === 'message' || name === 'typing') args.push(`{"roomId":${room()},"content":${jsonValue(r)}${r() < 0.2 ? `,"type":${jsonValue(r, 0)}` : ''}}`);
    else if (name === 'private-message') args.push(`{"targetUserId":${r() < 0.7 ? '"bob"' : jsonValue(r, 0)},"content":${jsonValue(r)}}`);
    else args.push(jsonValue(r));
  } else {
    for (let i = int(r, 3); i > 0; i--) args.push(jsonValue(r));
  }
  let text = `2${ack}[${[event, ...args].join(',')}]`;
  if (r() < 0.04) text = text.slice(0, int(r, text.length));
  return text;
}

/** Encode a client frame (RFC 6455 section 5.2), correct unless the caller breaks it. */
export function encodeFrame(opts: { fin?: boolean; rsv?: number; opcode: number; payload: Buffer; mask?: boolean; lengthLie?: number }): Buffer {
  const { fin = true, rsv = 0, opcode, payload, mask = true } = opts;
  const len = opts.lengthLie ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** One RFC 6455 violation (or a borderline-valid frame), as bytes to write after the upgrade. */
export function rawViolation(r: R): { name: string; bytes: Buffer } {
  const text = Buffer.from(nativeFrame(r));
  const k = int(r, 12);
  switch (k) {
    case 0:
      return { name: 'unmasked client frame', bytes: encodeFrame({ opcode: 1, payload: text, mask: false }) };
    case 1:
      return { name: 'reserved bits set', bytes: encodeFrame({ opcode: 1, payload: text, rsv: 1 + int(r, 7) }) };
    case 2:
      return { name: 'reserved opcode', bytes: encodeFrame({ opcode: pick(r, [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: text }) };
    case 3:
      return { name: 'fragmented control frame', bytes: encodeFrame({ opcode: 9, payload: Buffer.from('x'), fin: false }) };
    case 4:
      return { name: 'control frame over 125 bytes', bytes: encodeFrame({ opcode: pick(r, [8, 9, 10]), payload: Buffer.alloc(126 + int(r, 200), 0x61) }) };
    case 5:
      return { name: 'invalid UTF-8 text', bytes: encodeFrame({ opcode: 1, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }) };
    case 6: {
      const code = pick(r, [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535]);
      const p = Buffer.alloc(2);
      p.writeUInt16BE(code);
      return { name: `close with invalid code ${code}`, bytes: encodeFrame({ opcode: 8, payload: p }) };
    }
    case 7:
      return { name: 'continuation without a start', bytes: encodeFrame({ opcode: 0, payload: text }) };
    case 8:
      return { name: 'new data frame inside a fragmented message', bytes: Buffer.concat([encodeFrame({ opcode: 1, payload: text.subarray(0, 2), fin: false }), encodeFrame({ opcode: 1, payload: text })]) };
    case 9:
      return { name: 'length over max-payload', bytes: encodeFrame({ opcode: 1, payload: Buffer.alloc(16), lengthLie: 70000 + int(r, 1_000_000) }) };
    case 10:
      return { name: 'one-byte close payload', bytes: encodeFrame({ opcode: 8, payload: Buffer.from([3]) }) };
    default:
      return { name: 'truncated frame then silence', bytes: encodeFrame({ opcode: 1, payload: text }).subarray(0, 3) };
  }
}
