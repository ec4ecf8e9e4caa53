import { describe, expect, it } from 'vitest';
import { formatDuration, renderTable } from '../../src/output/index.ts';
import { makeReport } from '../fixtures/reports.ts';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

describe('renderTable', () => {
  const report = makeReport();
  const out = renderTable(report);

  it('has the header, every metric with its percentiles, and no colour by default', () => {
    expect(out).not.toMatch(ANSI);
    expect(out).toContain('broadcast');
    expect(out).toContain('bundled ws, 3 nodes');
    expect(out).toContain('completed');
    expect(out).toContain('2 processes');
    for (const [name, m] of Object.entries(report.metrics)) {
      const row = out.split('\n').find((l) => l.includes(` ${name} `))!;
      expect(row, name).toBeDefined();
      for (const v of [m.p50, m.p90, m.p99, m.p999, m.max]) expect(row).toContain(formatDuration(v));
    }
  });

  it('shows throughput, counters, the ledger, checks and gates with PASS/FAIL', () => {
    expect(out).toContain('19.2k/s');
    expect(out).toContain('ECONNRESET');
    expect(out).toMatch(/1006\s+│\s+333/);
    expect(out).toContain(report.ledger.expected.toLocaleString('en-US'));
    const check = (name: string) => out.split('\n').find((l) => l.includes(name))!;
    expect(check('delivery.exactly-once-in-order')).toContain('PASS');
    expect(check('eviction.window')).toContain('FAIL');
    expect(check('fanout.p99 < 50ms')).toContain('PASS');
    expect(check('errors.rate < 0.1%')).toMatch(/FAIL.*0\.57%/);
    expect(out).toContain('FAIL (1 check failed, 1 gate failed)');
  });

  it('shows generator health, notes and the per-node breakdown', () => {
    expect(out).toContain('not saturated');
    expect(out).toContain('8.9ms');
    expect(out).toContain('187MiB');
    expect(out).toContain('worker threads');
    for (const id of ['node-1', 'node-2', 'node-3']) expect(out).toContain(id);
    expect(out).toContain('218,600');
    const single = renderTable(makeReport({ nodes: [report.nodes![0]!] }));
    expect(single).not.toContain('Nodes');
  });

  it('says loudly when the generator was saturated, and colours on request', () => {
    const saturated = makeReport({ generator: { ...report.generator, saturated: true, reason: 'event-loop p99 212ms over 50ms' } });
    const text = renderTable(saturated, { color: true });
    expect(text).toMatch(ANSI);
    const plain = text.replace(ANSI, '');
    expect(plain.match(/GENERATOR SATURATED: event-loop p99 212ms over 50ms/g)).toHaveLength(2);
    expect(plain).toContain('SATURATED: event-loop p99 212ms');
  });

  it('tolerates an empty report', () => {
    const empty = makeReport({ metrics: {}, counters: {}, checks: [], gates: [], notes: [], nodes: undefined, rooms: undefined, series: {} });
    const text = renderTable(empty);
    expect(text).toContain('broadcast');
    expect(text).not.toContain('Latency');
  });
});
