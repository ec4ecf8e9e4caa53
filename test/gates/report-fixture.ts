import { createRecorder, summarize } from '../../src/metrics/index.ts';
import { REPORT_SCHEMA, type MetricSummary, type Report } from '../../src/report/schema.ts';

/** A metric summary built from raw samples with the real recorder. */
export function metricOf(samples: number[]): MetricSummary {
  const r = createRecorder();
  for (const v of samples) r.record('m', v);
  const hdr = r.snapshot().histograms.m ?? '';
  r.close();
  return summarize(hdr);
}

/** `n` samples spread evenly over [lo, hi] microseconds. */
export function spread(lo: number, hi: number, n = 1000): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(lo + ((hi - lo) * i) / (n - 1)));
}

export function makeReport(over: Partial<Report> = {}): Report {
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'wsbench', version: '0.1.0' },
    machine: { hostname: 'h', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'cpu', totalMemBytes: 1, node: 'v20' },
    scenario: { name: 'broadcast', options: { clients: 100 } },
    target: { kind: 'bundled', protocol: 'ws', nodes: 1, urls: ['ws://127.0.0.1:1'] },
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:00:10.000Z',
    durationMs: 10_000,
    status: 'completed',
    timeline: [],
    metrics: { fanout: metricOf(spread(1000, 40_000)), connect: metricOf(spread(100, 900)) },
    counters: { 'messages.sent': 10_000, 'connections.opened': 100, 'errors.timeout': 5, 'close.1008': 2 },
    rates: { messagesSentPerSec: 1000, deliveriesPerSec: 100_000, connectsPerSec: 10 },
    ledger: { expected: 1000, delivered: 1000, lost: 0, duplicated: 0, reordered: 0 },
    checks: [],
    gates: [],
    generator: { processes: 1, saturated: false, eventLoopDelayP99Us: 2000, cpuPercent: 40, rssBytesPeak: 1e8, workers: [] },
    series: {},
    notes: [],
    ...over,
  };
}
