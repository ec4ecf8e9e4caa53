/** The raw client's one-pass delivery scan gives exactly what `scanDelivery` gives. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScannedDelivery } from '../../src/protocol/native.ts';
import { scanDeliveryOracle as scanDelivery } from './scan-oracle.ts';
import { scanDeliveryRange } from '../../src/protocol/raw-scan.ts';

const fresh = (): ScannedDelivery => ({ roomStart: -9, roomEnd: -9, seq: -9, node: -9, pub: -9, counter: -9, sendUs: -9, replay: false });

/** Both scanners on `text`, the range one at an offset inside a larger buffer. */
function both(text: string) {
  const body = Buffer.from(text);
  const a = fresh();
  const okA = scanDelivery(body, a);
  const padded = Buffer.concat([Buffer.from('"wsb":"9.9.9.9" junk'), body, Buffer.from('"replay":true"seq":7')]);
  const start = 20;
  const b = fresh();
  const okB = scanDeliveryRange(padded, start, start + body.length, b);
  if (okB) {
    b.roomStart -= start;
    b.roomEnd -= start;
  }
  return { okA, okB, a, b };
}

const REAL = '{"type":"message","room":"room-3","seq":41,"from":"u","payload":{"wsb":"2.17.5.123456789","pad":"xxxx"}}';

describe('scanDeliveryRange', () => {
  it('reads a reference server delivery', () => {
    const { okA, okB, a, b } = both(REAL);
    expect(okA && okB).toBe(true);
    expect(b).toEqual(a);
    expect(b).toMatchObject({ seq: 41, node: 2, pub: 17, counter: 5, sendUs: 123456789, replay: false });
  });

  it.each([
    ['replay', REAL.replace('"seq":41', '"seq":41,"replay":true')],
    ['seq with spaces', REAL.replace('"seq":41', '"seq":   41')],
    ['no seq', REAL.replace('"seq":41,', '')],
    ['not a message', REAL.replace('message', 'joined')],
    ['no tag', REAL.replace('wsb', 'wsc')],
    ['short tag', REAL.replace('2.17.5.123456789', '2.17.5')],
    ['escaped room', REAL.replace('room-3', 'ro\\"om')],
    ['unterminated room', '{"type":"message","payload":{"wsb":"1.2.3.4"},"room":"abc'],
    ['keys inside strings', '{"pad":"\\"seq\\":5","type":"message","room":"r","payload":{"wsb":"1.2.3.4"}}'],
    ['empty', ''],
  ])('agrees with scanDelivery: %s', (_n, text) => {
    const { okA, okB, a, b } = both(text);
    expect(okB).toBe(okA);
    if (okA) expect(b).toEqual(a);
  });

  it('agrees with scanDelivery on generated frames', () => {
    const piece = fc.constantFrom('"type":"message"', '"type":"ack"', '"room":"', '"seq":', '"seq": ', '"wsb":"', '"replay":true', '"', '\\', '.', ',', ':', '{', '}', 'room-1', '12', '0', '7.', 'x', ' ', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const { okA, okB, a, b } = both(parts.join(''));
        expect(okB).toBe(okA);
        if (okA) expect(b).toEqual(a);
      }),
      { numRuns: 3000 },
    );
    // Around and inside a real delivery, so that most cases succeed.
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.array(piece, { maxLength: 6 }), fc.nat(REAL.length), (pre, mid, cut) => {
        const { okA, okB, a, b } = both(pre.join('') + REAL.slice(0, cut) + mid.join('') + REAL.slice(cut));
        expect(okB).toBe(okA);
        if (okA) expect(b).toEqual(a);
      }),
      { numRuns: 3000 },
    );
  });
});
