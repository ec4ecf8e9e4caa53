/** The raw client's reply scan (pong, ack) gives exactly what the wsbench/1 codec's decode gives, or nothing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeCodec } from '../../src/protocol/native.ts';
import { scanReplyRange } from '../../src/protocol/raw-scan.ts';

/** The scan on `text` placed inside a larger buffer (it must read only its range). */
function scan(text: string) {
  const body = Buffer.from(text);
  const padded = Buffer.concat([Buffer.from('{"type":"pong","id":1}'), body, Buffer.from('}"seq":7}')]);
  return scanReplyRange(padded, 22, 22 + body.length);
}

const PONG = '{"type":"pong","id":42}';
const ACK = '{"type":"ack","id":7,"room":"room-3","seq":19}';

describe('scanReplyRange', () => {
  it('reads the reference server pong and ack as decode does', () => {
    expect(scan(PONG)).toEqual({ kind: 'pong', id: 42 });
    expect(scan(PONG)).toEqual(nativeCodec.decode(PONG));
    expect(scan(ACK)).toEqual({ kind: 'ack', id: 7, seq: 19 });
    expect(scan(ACK)).toEqual(nativeCodec.decode(ACK));
  });

  it.each([
    ['pong with a payload', '{"type":"pong","id":1,"payload":{"a":1}}'],
    ['leading zero', '{"type":"pong","id":01}'],
    ['negative id', '{"type":"pong","id":-1}'],
    ['fractional id', '{"type":"pong","id":1.5}'],
    ['exponent', '{"type":"pong","id":1e3}'],
    ['string id', '{"type":"pong","id":"1"}'],
    ['trailing bytes', '{"type":"pong","id":1} '],
    ['unterminated', '{"type":"pong","id":1'],
    ['ack without seq', '{"type":"ack","id":1,"room":"r"}'],
    ['ack with an escaped room', '{"type":"ack","id":1,"room":"a\\",\\"seq\\":5","seq":2}'],
    ['ack with a control character in the room', '{"type":"ack","id":1,"room":"a\u0001","seq":2}'],
    ['ack with fields reordered', '{"type":"ack","room":"r","id":1,"seq":2}'],
    ['ack with one more field', '{"type":"ack","id":1,"room":"r","seq":2,"x":1}'],
    ['spaces', '{"type": "pong", "id": 1}'],
    ['a delivery', '{"type":"message","room":"r","seq":1,"payload":{"wsb":"1.2.3.4"}}'],
    ['empty', ''],
  ])('leaves anything else to decode: %s', (_n, text) => {
    expect(scan(text)).toBeNull();
  });

  it('never disagrees with decode on generated frames', () => {
    const piece = fc.constantFrom('{"type":"pong","id":', '{"type":"ack","id":', ',"room":"', ',"seq":', '"', '\\', '}', '0', '1', '12', '-', '.', 'e', ' ', 'r', ',', ':', '\u0001', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        const got = scan(text);
        if (got !== null) expect(got).toEqual(nativeCodec.decode(text));
      }),
      { numRuns: 5000 },
    );
  });
});
