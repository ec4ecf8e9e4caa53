import { describe, expect, it } from 'vitest';
import { isWsbenchError, type WsbenchError } from '../../src/errors.ts';
import { formatFault, parseDuration, parseFault } from '../../src/topology/index.ts';

function thrown(fn: () => unknown): WsbenchError {
  try {
    fn();
  } catch (e) {
    if (isWsbenchError(e)) return e;
    throw e;
  }
  throw new Error('expected a WsbenchError, nothing was thrown');
}

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['4s', 4000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    [' 10s ', 10_000],
    ['0', 0],
    ['0s', 0],
    ['0.5ms', 0.5],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['10x', /unknown unit "x"/],
    ['10sec', /unknown unit "sec"/],
    ['30', /has no unit/],
    ['1.5', /has no unit/],
    ['', /empty/],
    ['   ', /empty/],
    ['-5s', /negative/],
    ['s', /cannot read "s"/],
    ['5 s', /cannot read/],
    ['1m 30s', /cannot read/],
    ['abc', /cannot read/],
    ['10S', /unknown unit "S"/],
  ])('rejects %j', (text, why) => {
    const e = thrown(() => parseDuration(text));
    expect(e.code).toBe('WSB_ERR_DURATION');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`"${text}"`);
    expect(e.message).toMatch(why);
    expect(e.hint).toMatch(/250ms/);
  });

  it('names what the duration is for', () => {
    expect(thrown(() => parseDuration('7y', 'ramp-up')).message).toMatch(/^invalid ramp-up "7y"/);
  });
});

describe('parseFault', () => {
  it.each([
    ['kill-node:1@4s', { atMs: 4000, action: { kind: 'kill-node', node: 1 } }],
    ['kill-node@4s', { atMs: 4000, action: { kind: 'kill-node', node: 0 } }],
    ['kill-node:n2@500ms', { atMs: 500, action: { kind: 'kill-node', node: 2 } }],
    ['restart-node:1@4s', { atMs: 4000, action: { kind: 'restart-node', node: 1 } }],
    ['restart-node:1@4s+2s', { atMs: 4000, action: { kind: 'restart-node', node: 1, durationMs: 2000 } }],
    ['pause-node:0@3s+2s', { atMs: 3000, action: { kind: 'pause-node', node: 0, durationMs: 2000 } }],
    ['restart-redis@5s+1s', { atMs: 5000, action: { kind: 'restart-redis', durationMs: 1000 } }],
    ['restart-redis@1m', { atMs: 60_000, action: { kind: 'restart-redis' } }],
    ['drop-all@5s', { atMs: 5000, action: { kind: 'drop-all' } }],
    ['drop-all:1@0', { atMs: 0, action: { kind: 'drop-all', node: 1 } }],
    [' pause-node:1@1.5s+250ms ', { atMs: 1500, action: { kind: 'pause-node', node: 1, durationMs: 250 } }],
  ])('%s', (text, expected) => {
    expect(parseFault(text)).toEqual(expected);
  });

  it.each([
    ['kill-node:1', /missing "@TIME"/, undefined],
    ['explode:1@4s', /unknown action "explode"/, 'explode'],
    ['kill-node:x@4s', /bad target ":x"/, ':x'],
    ['kill-node:-1@4s', /bad target ":-1"/, ':-1'],
    ['kill-node:1@4x', /bad time "4x": unknown unit "x"/, '4x'],
    ['kill-node:1@4', /bad time "4": .*no unit/, '"4"'],
    ['kill-node:1@4s+2s', /kill-node takes no duration/, undefined],
    ['pause-node:0@3s', /pause-node needs a duration/, undefined],
    ['pause-node:0@3s+2q', /bad duration "\+2q"/, '+2q'],
    ['restart-redis:1@5s', /restart-redis takes no target/, ':1'],
    ['drop-all@5s+1s', /drop-all takes no duration/, undefined],
    ['drop-all@1s@2s', /more than one "@"/, undefined],
    ['', /empty/, undefined],
  ])('rejects %j', (text, why, part) => {
    const e = thrown(() => parseFault(text));
    expect(e.code).toBe('WSB_ERR_FAULT');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`"${text}"`);
    expect(e.message).toMatch(why);
    if (part !== undefined) expect(e.message).toContain(part);
    // The accepted forms come with every error.
    expect(e.hint).toContain('kill-node[:N]@TIME');
    expect(e.hint).toContain('pause-node[:N]@TIME+DURATION');
    expect(e.hint).toContain('restart-redis@TIME[+DOWN]');
  });

  it('formatFault writes back what parseFault reads', () => {
    for (const text of ['kill-node:1@4s', 'restart-node:1@4s+2s', 'pause-node:0@3s+250ms', 'restart-redis@5s+1s', 'drop-all@5s', 'drop-all:1@0ms']) {
      const { atMs, action } = parseFault(text);
      expect(parseFault(formatFault(action, atMs))).toEqual({ atMs, action });
    }
  });
});
