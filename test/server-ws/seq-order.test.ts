/** The seq reorder buffer every flavour delivers through (servers/core/seq-order.ts). */
import { describe, it, expect } from 'vitest';
import { fillHoles, SeqOrder } from '../../servers/core/seq-order.ts';

function order(next: number) {
  const out: string[] = [];
  return { o: new SeqOrder<string>(next, (item, seq) => out.push(`${seq}:${item}`)), out };
}

describe('SeqOrder', () => {
  it('delivers in seq order, holds what is early, refuses what is late or held twice', () => {
    const { o, out } = order(1);
    expect(o.offer(2, 'b')).toBe(true);
    expect(out).toEqual([]);
    expect(o.offer(2, 'b again')).toBe(false);
    expect(o.offer(1, 'a')).toBe(true);
    expect(out).toEqual(['1:a', '2:b']);
    expect(o.offer(1, 'late')).toBe(false);
    expect(o.next).toBe(3);
  });

  it('at 0 it only holds; restart returns what is below the new start, in order', () => {
    const { o, out } = order(0);
    for (const s of [7, 3, 5, 6]) o.offer(s, `m${s}`);
    expect(out).toEqual([]);
    expect(o.restart(6)).toEqual([
      [3, 'm3'],
      [5, 'm5'],
    ]);
    o.drain();
    expect(out).toEqual(['6:m6', '7:m7']);
  });

  it('skip reports the missing seqs and delivers what waited behind them', () => {
    const { o, out } = order(1);
    o.offer(4, 'd');
    expect(o.lowestHeld()).toBe(4);
    const gaps: number[][] = [];
    o.skip(3, (from, to) => gaps.push([from, to]));
    expect(gaps).toEqual([[1, 3]]);
    expect(out).toEqual(['4:d']);
    o.skip(2, () => gaps.push([0, 0]));
    expect(gaps).toHaveLength(1);
  });
});

describe('fillHoles', () => {
  const entry = (seq: number) => ({ seq, text: `r${seq}` });

  it('delivers what the retention holds below the bound and reports every other hole', async () => {
    const { o, out } = order(1);
    o.offer(6, 'live6');
    o.offer(9, 'live9');
    const gaps: number[][] = [];
    const res = await fillHoles(o, 7, {
      read: async (after) => [entry(2), entry(4), entry(8)].filter((e) => e.seq > after),
      item: (e) => e.text,
      gap: (from, to) => gaps.push([from, to]),
      current: () => true,
      onReadError: () => {},
    });
    expect(res).toEqual({ filled: 2, gapped: 4 });
    // 7 is missing below the bound and reported; 8 is retained but above the bound, left for a later round.
    expect(gaps).toEqual([[1, 1], [3, 3], [5, 5], [7, 7]]);
    expect(out).toEqual(['2:r2', '4:r4', '6:live6']);
    expect(o.next).toBe(8);
  });

  it('a failed read reports the holes; an order dropped meanwhile is left alone', async () => {
    const { o, out } = order(1);
    o.offer(3, 'live3');
    const gaps: number[][] = [];
    const errors: string[] = [];
    const deps = {
      read: async (): Promise<Array<{ seq: number; text: string }>> => {
        throw new Error('redis away');
      },
      item: (e: { text: string }) => e.text,
      gap: (from: number, to: number) => gaps.push([from, to]),
      current: () => true,
      onReadError: (e: Error) => errors.push(e.message),
    };
    expect(await fillHoles(o, 2, { ...deps, current: () => false })).toEqual({ filled: 0, gapped: 0 });
    expect(gaps).toEqual([]);
    expect(await fillHoles(o, 2, deps)).toEqual({ filled: 0, gapped: 2 });
    expect(gaps).toEqual([[1, 2]]);
    expect(errors).toEqual(['redis away', 'redis away']);
    expect(out).toEqual(['3:live3']);
  });
});
