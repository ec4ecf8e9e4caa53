/** Byte fixtures for the raw client's frame reader and writer: no socket. */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { clientFrame, FrameReader, isUtf8Range, OP_CLOSE, OP_PING, OP_TEXT, unmask, type ViolationKind } from '../../src/protocol/raw-frame.ts';

class Recording extends FrameReader {
  messages: Array<{ opcode: number; text: string }> = [];
  controls: Array<{ opcode: number; data: Buffer }> = [];
  violations: Array<{ code: number; kind: ViolationKind; message: string }> = [];
  protected onMessage(opcode: number, buf: Buffer, start: number, end: number): void {
    this.messages.push({ opcode, text: buf.toString('utf8', start, end) });
  }
  protected onControl(opcode: number, data: Buffer): void {
    this.controls.push({ opcode, data: Buffer.from(data) });
  }
  protected onViolation(code: number, kind: ViolationKind, message: string): void {
    this.violations.push({ code, kind, message });
  }
  feed(...chunks: Buffer[]): this {
    for (const c of chunks) this.readFrames(c, 0, c.length);
    return this;
  }
}

/** An unmasked server frame. */
function frame(b0: number, payload: Buffer | string, b1extra = 0): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = p.length;
  const head = n < 126 ? Buffer.from([b0, n | b1extra]) : n < 65536 ? Buffer.from([b0, 126 | b1extra, n >> 8, n & 255]) : Buffer.concat([Buffer.from([b0, 127 | b1extra]), u64(n)]);
  return Buffer.concat([head, p]);
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

describe('FrameReader', () => {
  it('reads a text frame, a 16-bit and a 64-bit length', () => {
    const big = 'y'.repeat(70_000);
    const r = new Recording().feed(Buffer.concat([frame(0x81, 'hello'), frame(0x81, 'x'.repeat(300)), frame(0x81, big)]));
    expect(r.messages.map((m) => m.text.length)).toEqual([5, 300, 70_000]);
    expect(r.violations).toEqual([]);
  });

  it('reassembles frames split at every byte boundary', () => {
    const bytes = Buffer.concat([frame(0x81, 'abc'), frame(0x89, 'p'), frame(0x81, 'z'.repeat(200))]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = new Recording().feed(bytes.subarray(0, cut), bytes.subarray(cut));
      expect(r.messages.map((m) => m.text)).toEqual(['abc', 'z'.repeat(200)]);
      expect(r.controls.map((c) => c.opcode)).toEqual([OP_PING]);
    }
    const r = new Recording();
    for (const b of bytes) r.feed(Buffer.from([b]));
    expect(r.messages).toHaveLength(2);
  });

  it('joins a fragmented message with a ping between fragments', () => {
    const r = new Recording().feed(Buffer.concat([frame(0x01, 'hel'), frame(0x89, ''), frame(0x00, 'lo '), frame(0x80, 'world')]));
    expect(r.messages).toEqual([{ opcode: OP_TEXT, text: 'hello world' }]);
    expect(r.controls).toHaveLength(1);
  });

  it('accepts a UTF-8 character split across fragments', () => {
    const euro = Buffer.from('€');
    const r = new Recording().feed(frame(0x01, euro.subarray(0, 1)), frame(0x80, euro.subarray(1)));
    expect(r.messages[0]!.text).toBe('€');
  });

  it.each([
    ['reserved bits', frame(0xc1, 'x'), 1002, 'protocol'],
    ['unknown data opcode', frame(0x83, 'x'), 1002, 'protocol'],
    ['unknown control opcode', frame(0x8b, ''), 1002, 'protocol'],
    ['a masked server frame', Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x79]), 1002, 'protocol'],
    ['a fragmented control frame', frame(0x09, ''), 1002, 'protocol'],
    ['a control frame over 125 bytes', frame(0x89, 'p'.repeat(126)), 1002, 'protocol'],
    ['a continuation without a start', frame(0x80, 'x'), 1002, 'protocol'],
    ['a new message inside a fragmented one', Buffer.concat([frame(0x01, 'a'), frame(0x81, 'b')]), 1002, 'protocol'],
    ['invalid UTF-8', frame(0x81, Buffer.from([0x68, 0xc3, 0x28])), 1007, 'bad_frame'],
    ['invalid UTF-8 across fragments', Buffer.concat([frame(0x01, Buffer.from([0xe2, 0x82])), frame(0x80, Buffer.from([0x41]))]), 1007, 'bad_frame'],
    ['an oversize length (header only)', Buffer.concat([Buffer.from([0x82, 127]), u64(2 ** 40)]), 1009, 'protocol'],
  ])('reports %s once, then ignores the rest', (_name, bytes, code, kind) => {
    const r = new Recording().feed(bytes as Buffer, frame(0x81, 'after'));
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({ code, kind });
    expect(r.messages.map((m) => m.text)).not.toContain('after');
  });

  it('hands a close frame over as a control frame', () => {
    const r = new Recording().feed(frame(0x88, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])));
    expect(r.controls[0]!.opcode).toBe(OP_CLOSE);
    expect(r.controls[0]!.data.readUInt16BE(0)).toBe(1000);
  });
});

describe('clientFrame', () => {
  it('masks with a fresh key per frame and round-trips', () => {
    const keys = new Set<string>();
    for (const n of [0, 5, 125, 126, 300, 65_535, 65_536]) {
      const text = 'é'.repeat(Math.floor(n / 2)) + (n % 2 ? 'a' : '');
      const f = clientFrame(OP_TEXT, text, null);
      expect(f[0]).toBe(0x81);
      expect(f[1]! & 0x80).toBe(0x80);
      const len7 = f[1]! & 0x7f;
      const head = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      const len = len7 === 126 ? f.readUInt16BE(2) : len7 === 127 ? Number(f.readBigUInt64BE(2)) : len7;
      expect(len).toBe(Buffer.byteLength(text));
      const mask = f.subarray(head, head + 4);
      keys.add(mask.toString('hex'));
      const payload = Buffer.from(f.subarray(head + 4));
      unmask(payload, mask);
      expect(payload.toString('utf8')).toBe(text);
    }
    expect(keys.size).toBe(7);
  });

  it('frames binary control payloads (pong, close)', () => {
    const f = clientFrame(OP_CLOSE, null, Buffer.from([0x03, 0xea]));
    expect(f.length).toBe(2 + 4 + 2);
    const p = Buffer.from(f.subarray(6));
    unmask(p, f.subarray(2, 6));
    expect(p.readUInt16BE(0)).toBe(1002);
  });
});

describe('isUtf8Range', () => {
  it('agrees with buffer.isUtf8 on ranges of mixed bytes', () => {
    const b = Buffer.concat([Buffer.from('ascii € ok '), Buffer.from([0xc3, 0x28]), Buffer.from(' tail')]);
    for (let s = 0; s < b.length; s++) for (let e = s; e <= b.length; e++) expect(isUtf8Range(b, s, e)).toBe(isUtf8(b.subarray(s, e)));
  });
});
