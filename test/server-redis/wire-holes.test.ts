/** The Redis bus's pure parts: the channel codec and the hole tracker (no Redis). */
import { describe, it, expect, afterEach } from 'vitest';
import { decodeBusMessage, encodeBusMessage, wireHeader } from '../../servers/core/redis-wire.ts';
import { HoleTracker } from '../../servers/core/hole-tracker.ts';

describe('redis wire format', () => {
  it('round-trips messages and presence, rooms with spaces and any character', () => {
    for (const room of ['r', 'a b c', '7 7', 'ü\u00a0x']) {
      const m = { kind: 'message' as const, room, seq: 42, text: '{"type":"message"}', origin: 'redis-n1-1' };
      expect(decodeBusMessage(encodeBusMessage(m))).toEqual(m);
      const p = { kind: 'presence' as const, room, text: '{"type":"presence"}', origin: 'o' };
      expect(decodeBusMessage(encodeBusMessage(p))).toEqual(p);
    }
  });
  it('the script header decodes like encode (m + seq + header + text)', () => {
    expect(decodeBusMessage(`m7${wireHeader('o', 'r 1')}T`)).toEqual({ kind: 'message', room: 'r 1', seq: 7, text: 'T', origin: 'o' });
  });
  it('refuses what is not in the format', () => {
    for (const bad of ['', 'm', 'x1 o 1 rT', 'mX o 1 rT', 'm1 o']) expect(decodeBusMessage(bad)).toBeNull();
  });
});

describe('HoleTracker', () => {
  let tracker: HoleTracker | undefined;
  afterEach(() => tracker?.clear());

  const make = (waitMs = 20, maxRooms?: number) => {
    const filled: Array<[string, number[]]> = [];
    let outOfOrder = 0;
    tracker = new HoleTracker({ fill: (room, missing) => filled.push([room, missing]), outOfOrder: () => outOfOrder++, waitMs, maxRooms, maxMissing: 5 });
    return { t: tracker, filled, ooo: () => outOfOrder };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('the first seq of a room opens no hole; a later jump does, handed to fill after the wait', async () => {
    const { t, filled } = make();
    t.seen('r', 10, true);
    t.seen('r', 13, true);
    expect(filled).toEqual([]);
    await sleep(100);
    expect(filled).toEqual([['r', [11, 12]]]);
  });
  it('a late arrival closes its hole and counts out of order only from the channel', async () => {
    const { t, filled, ooo } = make();
    t.known('r', 0);
    t.seen('r', 3, true);
    t.seen('r', 1, true);
    t.seen('r', 2, false);
    expect(ooo()).toBe(1);
    await sleep(100);
    expect(filled).toEqual([]);
  });
  it('remembers at most maxMissing seqs of one jump', async () => {
    const { t, filled } = make();
    t.known('r', 0);
    t.seen('r', 100, false);
    await sleep(100);
    expect(filled).toEqual([['r', [95, 96, 97, 98, 99]]]);
  });
  it('knownPoints and floors; the oldest room is forgotten beyond maxRooms', () => {
    const { t } = make(20, 2);
    t.seen('a', 4, false);
    t.known('b', 0);
    expect(t.knownPoints()).toEqual([['a', 4], ['b', 0]]);
    expect(t.floors()).toEqual([['a', 4]]);
    t.known('c', 9);
    expect(t.size).toBe(2);
    expect(t.knownPoints().map(([r]) => r)).toEqual(['b', 'c']);
  });
});
