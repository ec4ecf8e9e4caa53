import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addReceiver, closeLedger, closeWindow, createReceiverRoom, emptyTally, mergeTallies, onDelivery, onJoined, type RoomTally } from '../../src/checks/ledger.ts';
import { scanDelivery, nativeCodec } from '../../src/protocol/native.ts';
import { encodeTag } from '../../src/protocol/tag.ts';

describe('delivery ledger', () => {
  it('balances when every member sees every seq after its join once and in order', () => {
    const t = emptyTally('r');
    const a = createReceiverRoom('r');
    onJoined(a, 0);
    const b = createReceiverRoom('r');
    onJoined(b, 3);
    for (let s = 1; s <= 10; s++) onDelivery(a, s);
    for (let s = 4; s <= 10; s++) onDelivery(b, s);
    addReceiver(t, a);
    addReceiver(t, b);
    const l = closeLedger([t]);
    expect(l.total).toEqual({ expected: 17, delivered: 17, lost: 0, duplicated: 0, reordered: 0 });
  });

  it('counts lost, duplicated and reordered deliveries', () => {
    const r = createReceiverRoom('r');
    onJoined(r, 0);
    for (const s of [1, 2, 2, 4, 3, 6]) onDelivery(r, s);
    const t = emptyTally('r');
    addReceiver(t, r);
    // Someone else saw up to 8: this receiver lost 5, 7 and 8.
    mergeTallies(new Map(), []);
    const other = { ...emptyTally('r'), maxSeq: 8 };
    const m = new Map<string, RoomTally>();
    mergeTallies(m, [t, other]);
    const l = closeLedger(m.values());
    expect(l.total).toMatchObject({ expected: 8, delivered: 5, lost: 3, duplicated: 1, reordered: 1 });
  });

  it('a receiver that left stops expecting, and a fresh join opens a new window', () => {
    const r = createReceiverRoom('r');
    onJoined(r, 0);
    onDelivery(r, 1);
    onDelivery(r, 2);
    closeWindow(r); // left, then joined again at seq 5
    onJoined(r, 5);
    onDelivery(r, 6);
    const t = { ...emptyTally('r') };
    addReceiver(t, r);
    t.maxSeq = 6;
    expect(closeLedger([t]).total).toMatchObject({ expected: 3, delivered: 3, lost: 0 });
  });

  it('property: the books balance for any in-order delivery pattern with random joins', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 80 }), (joins, finalSeq) => {
        const t = emptyTally('r');
        let expected = 0;
        for (const j of joins) {
          const join = Math.min(j, finalSeq);
          const r = createReceiverRoom('r');
          onJoined(r, join);
          for (let s = join + 1; s <= finalSeq; s++) onDelivery(r, s);
          expected += finalSeq - join;
          addReceiver(t, r);
        }
        t.maxSeq = Math.max(t.maxSeq, finalSeq);
        const l = closeLedger([t]);
        return l.total.expected === expected && l.total.lost === 0 && l.total.delivered === expected;
      }),
    );
  });
});

describe('fast delivery scanner', () => {
  const out = { roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false };
  it('reads room, seq and tag from the reference server frame without parsing', () => {
    const tag = encodeTag(2, 17, 345, 123456789012);
    const frame = Buffer.from(`{"type":"message","room":"room-3","seq":42,"from":"user-17","payload":{"wsb":"${tag}","pad":"xxxx"}}`);
    expect(scanDelivery(frame, out)).toBe(true);
    expect(frame.toString('utf8', out.roomStart, out.roomEnd)).toBe('room-3');
    expect(out).toMatchObject({ seq: 42, node: 2, pub: 17, counter: 345, sendUs: 123456789012, replay: false });
  });
  it('works whatever the key order, and sees replays', () => {
    const frame = Buffer.from(`{"payload":{"pad":"","wsb":"0.1.2.3"},"seq": 7,"replay":true,"room":"a","type":"message"}`);
    expect(scanDelivery(frame, out)).toBe(true);
    expect(out).toMatchObject({ seq: 7, counter: 2, sendUs: 3, replay: true });
  });
  it('declines frames that are not tagged messages, so they go through decode', () => {
    for (const f of ['{"type":"ack","id":1,"room":"a","seq":3}', '{"type":"message","room":"a","seq":1,"payload":{"wsb":"1.2"}}', 'not json', '{"type":"message","room":"a\\"b","payload":{"wsb":"1.2.3.4"}}']) {
      expect(scanDelivery(Buffer.from(f), out)).toBe(false);
    }
  });
  it('the codec decodes every reply kind and rejects garbage', () => {
    expect(nativeCodec.decode('{"type":"joined","id":3,"room":"a","members":4,"seq":9}')).toEqual({ kind: 'joined', id: 3, room: 'a', members: 4, seq: 9 });
    expect(nativeCodec.decode('{"type":"error","code":"rate_limited","message":"slow down"}')).toMatchObject({ kind: 'error', code: 'rate_limited' });
    expect(nativeCodec.decode('{"type":"presence","room":"a"}')).toEqual({ kind: 'other', name: 'presence', data: { type: 'presence', room: 'a' } });
    expect(nativeCodec.decode('{nope')).toBeNull();
    expect(nativeCodec.decode('[1,2]')).toBeNull();
  });
});
