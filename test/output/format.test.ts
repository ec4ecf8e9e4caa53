import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDeltaPct, formatDuration, formatRate } from '../../src/output/index.ts';

describe('formatDuration', () => {
  it('picks us, ms, s, minutes', () => {
    expect(formatDuration(0)).toBe('0us');
    expect(formatDuration(850)).toBe('850us');
    expect(formatDuration(999.7)).toBe('1ms');
    expect(formatDuration(1_234)).toBe('1.23ms');
    expect(formatDuration(45_100)).toBe('45.1ms');
    expect(formatDuration(2_100_000)).toBe('2.1s');
    expect(formatDuration(125_000_000)).toBe('2m05s');
    expect(formatDuration(Number.NaN)).toBe('n/a');
  });
});

describe('formatCount and formatRate', () => {
  it('groups digits exactly by default, compacts on request', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234_567, { compact: true })).toBe('1.23M');
    expect(formatCount(999_960, { compact: true })).toBe('1M');
    expect(formatCount(12.5)).toBe('12.5');
    expect(formatRate(19_173.8)).toBe('19.2k/s');
    expect(formatRate(44.43)).toBe('44.4/s');
  });

  it('formats bytes and deltas', () => {
    expect(formatBytes(187 * 1024 ** 2)).toBe('187MiB');
    expect(formatDeltaPct(12.34)).toBe('+12.3%');
    expect(formatDeltaPct(-4.06)).toBe('-4.1%');
    expect(formatDeltaPct(0.01)).toBe('0%');
  });
});
