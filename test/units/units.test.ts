import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { durationProblem, formatDuration, parseBool, parseBytes, parseCount, parseDuration, parseRate, parseShare, parseWholeNumber, type Parsed } from '../../src/units/index.ts';

const value = <T>(r: Parsed<T>): T => {
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 } as const;
const part = fc.record({ n: fc.integer({ min: 0, max: 10_000 }), unit: fc.constantFrom<keyof typeof UNIT_MS>('h', 'm', 's', 'ms', 'us') });

describe('durations', () => {
  it('combined parts add up, in any order', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map((p) => `${p.n}${p.unit}`).join('');
        const expected = parts.reduce((sum, p) => sum + p.n * UNIT_MS[p.unit], 0);
        expect(value(parseDuration(text))).toBeCloseTo(expected, 6);
      }),
      { numRuns: 300 },
    );
  });

  it('formatDuration writes what parseDuration reads back exactly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 10 * 3_600_000 }), fc.integer({ min: 1, max: 999 }).map((us) => us / 1000)), (ms) => {
        const text = formatDuration(ms);
        expect(text).not.toMatch(/\s/);
        expect(value(parseDuration(text))).toBeCloseTo(ms, 9);
      }),
      { numRuns: 300 },
    );
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(1500)).toBe('1.5s');
  });

  it('a bare number means what the caller says, and is refused where it would be ambiguous', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
        expect(value(parseDuration(String(n), 'seconds'))).toBe(n * 1000);
        expect(value(parseDuration(String(n), 'milliseconds'))).toBe(n);
        expect(value(parseDuration(String(n), 'microseconds'))).toBeCloseTo(n / 1000, 9);
        expect(parseDuration(String(n)).ok).toBe(false);
        expect(durationProblem(String(n))).toMatch(/has no unit/);
      }),
      { numRuns: 100 },
    );
    expect(value(parseDuration('0'))).toBe(0);
  });

  it('rejects negatives, unknown units and spaces inside, naming the text and the accepted forms', () => {
    for (const [text, why] of [['-5s', /negative/], ['10sec', /unknown unit "sec"/], ['1m 30s', /cannot read/], ['', /empty/]] as const) {
      const r = parseDuration(text, 'seconds');
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toMatch(why);
        expect(r.error).toContain(`"${text}" is not a duration`);
        expect(r.error).toMatch(/1m30s/);
      }
    }
  });
});

describe('rates, sizes, shares, counts', () => {
  it('N/window is N per window, in events per second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), part.filter((p) => p.n > 0), (n, w) => {
        const perSec = (n * 1000) / (w.n * UNIT_MS[w.unit]);
        expect(value(parseRate(`${n}/${w.n}${w.unit}`))).toBeCloseTo(perSec, 6);
        expect(value(parseRate(`${n}/${w.unit}`))).toBeCloseTo((n * 1000) / UNIT_MS[w.unit], 6);
        expect(value(parseRate(String(n)))).toBe(n);
      }),
      { numRuns: 200 },
    );
    expect(parseRate('5/0s')).toEqual({ ok: false, error: '"5/0s" has a zero time window' });
    expect(parseRate('fast').ok).toBe(false);
  });

  it('sizes: k and m suffixes are powers of 1024, any case', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(['', 1], ['b', 1], ['k', 1024], ['KiB', 1024], ['kb', 1024], ['M', 1024 ** 2], ['MiB', 1024 ** 2]), (n, [unit, scale]) => {
        expect(value(parseBytes(`${n}${unit}`))).toBe(n * (scale as number));
      }),
      { numRuns: 200 },
    );
    expect(parseBytes('4GiB').ok).toBe(false);
  });

  it('shares: n% is n/100 whatever a bare number means; outside 0..100% is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }).map((x) => x / 100), (pct) => {
        expect(value(parseShare(`${pct}%`))).toBeCloseTo(pct / 100, 12);
        expect(value(parseShare(`${pct}`, 'percent'))).toBeCloseTo(pct / 100, 12);
        if (pct <= 1) expect(value(parseShare(`${pct}`))).toBe(pct);
        else expect(parseShare(`${pct}`).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
    expect(parseShare('130%')).toEqual({ ok: false, error: '"130%" is outside 0%..100%' });
  });

  it('counts take k and M; whole numbers have a minimum; switches read on/off', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        expect(value(parseCount(String(n)))).toBe(n);
        expect(value(parseCount(`${n}k`))).toBe(n * 1000);
        expect(value(parseCount(`${n}M`))).toBe(n * 1_000_000);
        expect(parseWholeNumber(String(n), 1).ok).toBe(n >= 1);
      }),
      { numRuns: 200 },
    );
    expect(parseCount('1.0005k').ok).toBe(false);
    expect(parseWholeNumber('2.5').ok).toBe(false);
    expect([parseBool('on'), parseBool('No'), parseBool('maybe').ok]).toEqual([{ ok: true, value: true }, { ok: true, value: false }, false]);
  });
});

describe('the grammar in --set and scenario defaults', async () => {
  const { COMMON_OPTION_SPECS, parseOptionValue } = await import('../../src/scenario/options.ts');
  const read = (key: keyof typeof COMMON_OPTION_SPECS, text: string) => parseOptionValue(key, COMMON_OPTION_SPECS[key], text);

  it('a bare duration is seconds, or milliseconds for a *Ms option; combined forms work; whole ms', () => {
    expect(read('warmup', '2')).toEqual({ ok: true, value: 2000 });
    expect(read('warmup', '1m30s')).toEqual({ ok: true, value: 90_000 });
    expect(read('backoffBaseMs', '250')).toEqual({ ok: true, value: 250 });
    expect(read('backoffBaseMs', '1s')).toEqual({ ok: true, value: 1000 });
    expect(read('requestTimeoutMs', '1500us')).toEqual({ ok: true, value: 2 });
    expect(read('rate', '100/1m')).toMatchObject({ ok: true });
    expect(read('payloadBytes', '4KiB')).toEqual({ ok: true, value: 4096 });
    expect(read('warmup', '2 s')).toMatchObject({ ok: false });
  });
});
