import { describe, expect, it } from 'vitest';
import { createProgressPrinter, renderProgressLine, type ProgressState } from '../../src/output/index.ts';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

const state: ProgressState = {
  scenario: 'broadcast',
  phase: 'steady',
  elapsedMs: 12_400,
  totalMs: 30_000,
  clientsConnected: 1000,
  clientsTarget: 1000,
  sentPerSec: 200,
  receivedPerSec: 19_800,
  fanoutP99Us: 7_960,
  errors: 3,
};

describe('renderProgressLine', () => {
  it('on a TTY: coloured, every field when wide enough', () => {
    const line = renderProgressLine(state, { tty: true, width: 120 });
    expect(line).toMatch(ANSI);
    const plain = line.replace(ANSI, '');
    expect(plain).toBe('[steady]  12s/30s  41%  conn 1k/1k  sent 200/s  recv 19.8k/s  fanout p99 7.96ms  err 3  broadcast');
    expect(line).not.toContain('\n');
  });

  it('on a TTY: fits the width by dropping the least important fields', () => {
    for (const width of [80, 60, 40, 20, 12]) {
      const plain = renderProgressLine(state, { tty: true, width }).replace(ANSI, '');
      expect(plain.length, `width ${width}`).toBeLessThan(width);
      expect(plain).toContain('[steady]'.slice(0, width - 1));
    }
    const narrow = renderProgressLine(state, { tty: true, width: 60, color: false });
    expect(narrow).not.toMatch(ANSI);
    expect(narrow).toContain('conn 1k/1k');
    expect(narrow).not.toContain('broadcast');
  });

  it('off a TTY: one plain timestamped line with every field', () => {
    const line = renderProgressLine(state, { tty: false, nowMs: Date.UTC(2025, 0, 15, 10, 0, 12) });
    expect(line).toBe(
      '2025-01-15T10:00:12.000Z broadcast phase=steady elapsed=12s/30s connected=1000/1000 sent/s=200 deliveries/s=19800 fanout.p99=7.96ms errors=3',
    );
    expect(renderProgressLine({ ...state, fanoutP99Us: 0 }, { tty: false })).toContain('fanout.p99=-');
  });
});

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { out: string } {
  const s = { out: '', isTTY, columns: 100, write(chunk: string) { s.out += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { out: string };
}

describe('createProgressPrinter', () => {
  it('rewrites one line in place on a TTY and ends it on done()', () => {
    const stream = fakeStream(true);
    const p = createProgressPrinter(stream, { color: false });
    p.update(state);
    p.update({ ...state, elapsedMs: 13_400 });
    p.done();
    expect(stream.out.split('\r')).toHaveLength(3);
    expect(stream.out.match(/\x1b\[K/g)).toHaveLength(2);
    expect(stream.out.endsWith('\x1b[K\n')).toBe(true);
    expect(stream.out).toContain('13s/30s');
  });

  it('clear() erases the line for a note and the next update draws it again', () => {
    const stream = fakeStream(true);
    const p = createProgressPrinter(stream, { color: false });
    p.update(state);
    p.clear();
    stream.write('a note\n');
    p.update({ ...state, elapsedMs: 13_400 });
    expect(stream.out).toMatch(/\r\x1b\[Ka note\n\r.*13s\/30s/);
  });

  it('prints at most every 5 s off a TTY, and the last state on done()', () => {
    const stream = fakeStream(false);
    let now = 0;
    const p = createProgressPrinter(stream, { now: () => now });
    for (let s = 0; s < 12; s++) {
      now = s * 1000;
      p.update({ ...state, elapsedMs: now });
    }
    p.done();
    const lines = stream.out.trimEnd().split('\n');
    expect(lines.map((l) => /elapsed=(\d+)s/.exec(l)![1])).toEqual(['0', '5', '10', '11']);
    expect(stream.out).not.toContain('\r');
  });

  it('prints nothing when quiet', () => {
    const stream = fakeStream(true);
    const p = createProgressPrinter(stream, { quiet: true });
    p.update(state);
    p.done();
    expect(stream.out).toBe('');
  });
});
