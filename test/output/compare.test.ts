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
    expect(out.trimEnd().split('\n').at(-1)).toBe('1 of 3 compared values regressed.');
  });

  it('handles no rows and no regression', () => {
    expect(renderCompare([])).toContain('Nothing to compare');
    expect(renderCompare([rows[1]!])).toContain('No regression in 1 compared value.');
  });
});
