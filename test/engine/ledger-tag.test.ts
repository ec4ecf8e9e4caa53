import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closeTagLedger, createPublisherLog, logPublish, logRefused, onTagDelivery, openTagWindow, type PublisherLog, type TagWindow } from '../../src/checks/tag-ledger.ts';

/** A publisher that published `n` messages in room r, one every 10 us from t=1000. */
function publisher(pub: number, n: number, room = 'r'): PublisherLog {
  const log = createPublisherLog(pub, room);
  for (let i = 0; i < n; i++) logPublish(log, 1000 + i * 10);
  return log;
}
const sendUs = (c: number) => 1000 + c * 10;

function member(receiver: number, room = 'r', joinSentUs = 0, joinAckUs = 1): TagWindow {
  const w = openTagWindow(room, receiver, joinSentUs);
  w.joinAckUs = joinAckUs;
  return w;
}

function receive(w: TagWindow, pub: number, counters: number[]): void {
  for (const c of counters) onTagDelivery(w, pub, c, sendUs(c));
}

describe('tag ledger (no server seq)', () => {
  it('balances when every member gets every publish once and in order', () => {
    const a = member(1);
    const b = member(2);
    receive(a, 0, [0, 1, 2, 3, 4]);
    receive(b, 0, [0, 1, 2, 3, 4]);
    const l = closeTagLedger([a, b], [publisher(0, 5)]);
    expect(l.total).toEqual({ expected: 10, delivered: 10, lost: 0, duplicated: 0, reordered: 0, mode: 'tag', refused: 0, unjudged: 0 });
  });

  it('counts a gap inside the stream, a loss at the tail, a duplicate and a late arrival exactly, with examples', () => {
    const a = member(1);
    receive(a, 0, [0, 1, 3, 3, 2, 5, 6]); // 4 lost, 3 duplicated, 2 reordered, 7..9 lost at the tail
    const l = closeTagLedger([a], [publisher(0, 10)]);
    expect(l.total).toMatchObject({ expected: 10, delivered: 6, lost: 4, duplicated: 1, reordered: 1 });
    expect(l.receivers).toEqual([{ client: 1, room: 'r', expected: 10, delivered: 6, lost: 4, duplicated: 1, reordered: 1 }]);
    expect(l.examples).toEqual(
      expect.arrayContaining([
        { kind: 'lost', room: 'r', receiver: 1, publisher: 0, counter: 4 },
        { kind: 'duplicated', room: 'r', receiver: 1, publisher: 0, counter: 3 },
        { kind: 'reordered', room: 'r', receiver: 1, publisher: 0, counter: 2 },
      ]),
    );
  });

  it('a counter below the first arrival that comes late is reordered, a second copy of it duplicated', () => {
    const a = member(1);
    receive(a, 0, [1, 2, 0, 0]);
    expect(closeTagLedger([a], [publisher(0, 3)]).total).toMatchObject({ expected: 3, delivered: 3, lost: 0, duplicated: 1, reordered: 1 });
  });

  it('a receiver that got nothing loses every publish of its window', () => {
    expect(closeTagLedger([member(1)], [publisher(0, 7)]).total).toMatchObject({ expected: 7, delivered: 0, lost: 7 });
  });

  it('judges each publisher order apart: interleaved publishers are not reordered', () => {
    const a = member(1);
    for (let c = 0; c < 4; c++) {
      onTagDelivery(a, 0, c, sendUs(c));
      onTagDelivery(a, 5, c, sendUs(c) + 1);
    }
    const l = closeTagLedger([a], [publisher(0, 4), publisher(5, 4)]);
    expect(l.total).toMatchObject({ expected: 8, delivered: 8, lost: 0, reordered: 0 });
  });

  it('publishes that raced the join are unjudged; earlier ones are not expected', () => {
    // Join sent at counter 3's time, acknowledged at counter 5's: 3 and 4 raced it.
    const a = member(1, 'r', sendUs(3), sendUs(5));
    receive(a, 0, [4, 5, 6, 7]);
    const l = closeTagLedger([a], [publisher(0, 8)]);
    expect(l.total).toMatchObject({ expected: 3, delivered: 3, lost: 0, unjudged: 2 });
  });

  it('a window closed mid-run expects up to the last delivery from each publisher; the rest is unjudged', () => {
    const a = member(1);
    receive(a, 0, [0, 1, 3]);
    a.endUs = sendUs(6); // left while 4 and 5 were in flight
    const l = closeTagLedger([a], [publisher(0, 10)]);
    expect(l.total).toMatchObject({ expected: 4, delivered: 3, lost: 1, unjudged: 2 });
  });

  it('refused publishes nobody received are expected by nobody; one that arrived was not refused', () => {
    const log = publisher(0, 6);
    logRefused(log, 2);
    logRefused(log, 4);
    const a = member(1);
    const b = member(2);
    receive(a, 0, [0, 1, 3, 4, 5]); // 4 arrived: accepted after all
    receive(b, 0, [0, 1, 3, 5]); // so b lost it
    const l = closeTagLedger([a, b], [log]);
    expect(l.total).toMatchObject({ expected: 10, delivered: 9, lost: 1, refused: 1 });
    expect(l.examples).toContainEqual({ kind: 'lost', room: 'r', receiver: 2, publisher: 0, counter: 4 });
  });

  it('a server that does not echo a publisher its own publishes: the publisher expects only the others', () => {
    const p = member(0);
    const a = member(1);
    receive(a, 0, [0, 1, 2]);
    const l = closeTagLedger([p, a], [publisher(0, 3)]);
    expect(l.selfEcho).toBe(false);
    expect(l.total).toMatchObject({ expected: 3, delivered: 3, lost: 0 });
    // With echo, the publisher's own copies are expected like everyone's.
    const p2 = member(0);
    receive(p2, 0, [0, 1]);
    expect(closeTagLedger([p2, a], [publisher(0, 3)]).total).toMatchObject({ expected: 6, delivered: 5, lost: 1 });
    // With no delivery at all there is no evidence of a server without echo: everything is lost.
    expect(closeTagLedger([member(0), member(1)], [publisher(0, 3)]).total).toMatchObject({ expected: 6, delivered: 0, lost: 6 });
  });

  it('property: for any loss, duplication and shuffle pattern the counts are exact', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ keep: fc.boolean(), dup: fc.boolean(), swap: fc.boolean() }), { minLength: 1, maxLength: 60 }), (plan) => {
        const order: number[] = [];
        let lost = 0;
        let dups = 0;
        plan.forEach((p, c) => {
          if (!p.keep) {
            lost++;
            return;
          }
          order.push(c);
          if (p.dup) {
            order.push(c);
            dups++;
          }
        });
        // Swap adjacent distinct counters where the first is its first copy: each swap makes one late arrival.
        let reorders = 0;
        for (let i = 0; i + 1 < order.length; i += 2) {
          if (plan[order[i]!]!.swap && order[i]! < order[i + 1]! && order.indexOf(order[i]!) === i) {
            [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
            reorders++;
          }
        }
        const w = member(1);
        receive(w, 0, order);
        const l = closeTagLedger([w], [publisher(0, plan.length)]);
        expect(l.total.lost).toBe(lost);
        expect(l.total.delivered).toBe(plan.length - lost);
        expect(l.total.duplicated + l.total.reordered).toBe(dups + reorders);
      }),
    );
  });
});
