import { describe, expect, it } from 'vitest';
import { renderCompare, type CompareRow } from '../../src/output/index.ts';

describe('renderCompare', () => {
  const rows: CompareRow[] = [
    { name: 'fanout.p99', base: 7_960, next: 9_450, deltaPct: 18.72, unit: 'us', regressed: true },
    { name: 'deliveries.rate', base: 19_200, next: 19_700, deltaPct: 2.6, unit: 'rate', regressed: false },
    { name: 'errors', base: 346, next: 12, deltaPct: -96.53, unit: 'count', regressed: false },
  ];

  it('shows both values in their unit, the delta and the verdict', () => {
    const out = renderCompare(rows, { baseLabel: 'main', nextLabel: 'pr-42' });
    expect(out).toMatch(/metric\s+│\s+main\s+│\s+pr-42\s+│\s+delta/);
    expect(out).toMatch(/fanout\.p99\s+│\s+7\.96ms\s+│\s+9\.45ms\s+│\s+\+18\.7%\s+│ REGRESSED/);
    expect(out).toMatch(/deliveries\.rate\s+│\s+19\.2k\/s\s+│\s+19\.7k\/s\s+│\s+\+2\.6%\s+│ ok/);
    expect(out).toMatch(/errors\s+│\s+346\s+│\s+12\s+│\s+-96\.5%/);
    expect(out.trimEnd().split('\n').at(-2)).toBe('1 of 3 compared values regressed.');
  });

  it('shows the intervals, a difference within noise and an unjudged percentile as such', () => {
    const out = renderCompare([
      { name: 'fanout.p50', base: 2_000, next: 2_600, deltaPct: 30, unit: 'us', regressed: false, verdict: 'noise', baseInterval: [1_500, 2_900], nextInterval: [2_100, 3_000] },
      { name: 'ack.p99', base: 9_000, next: 30_000, deltaPct: 233, unit: 'us', regressed: false, verdict: 'unjudged', why: '400 samples cannot support p99 (needs 1000 = 10/(1-q))' },
    ]);
    expect(out).toMatch(/fanout\.p50\s+│\s+2ms \(1\.5ms\.\.2\.9ms\)\s+│\s+2\.6ms \(2\.1ms\.\.3ms\)\s+│\s+\+30\.0%\s+│ within noise/);
    expect(out).toMatch(/ack\.p99 .* unjudged: 400 samples cannot support p99/);
    expect(out).toContain('No regression in 2 compared values (1 within noise, 1 unjudged).');
  });

  it('handles no rows and no regression', () => {
    expect(renderCompare([])).toContain('Nothing to compare');
    expect(renderCompare([rows[1]!])).toContain('No regression in 1 compared value.');
  });
});
