/**
 * Merging the reports of the shards of one run (`--shard i/N` on several machines):
 * histograms add exactly (HDR snapshots), counters and ledgers add, series add
 * second by second, the generator is saturated when any shard was. Tag-mode ledgers
 * (servers without seq) cannot be closed between shards: the merged delivery check
 * says unverified (src/checks/merge-ledger.ts).
 */
import type { Report } from '../report/schema.ts';
import { mergeEncoded, summarize } from '../metrics/index.ts';
import { usageError } from '../errors.ts';
import { mergedDeliveryCheck } from '../checks/merge-ledger.ts';

/**
 * The shards' ledgers added, except `epochs`: every shard saw the same rooms' sequences
 * begin again, so the merged count is the largest, not the sum.
 */
function mergedLedger(reports: Report[], add: (maps: Array<Record<string, number>>) => Record<string, number>): Report['ledger'] {
  const sum = add(reports.map(({ ledger: { mode: _mode, epochs: _epochs, ...counts } }) => counts as Record<string, number>)) as unknown as Report['ledger'];
  const epochs = Math.max(0, ...reports.map((r) => r.ledger.epochs ?? 0));
  const mode = reports[0]!.ledger.mode;
  return { ...sum, ...(mode ? { mode } : {}), ...(epochs > 0 ? { epochs } : {}) };
}

/**
 * One report from the shards' reports of one run (same scenario); throws WSB_ERR_MERGE when there is nothing to merge or the scenarios differ.
 */
export function mergeReports(reports: Report[]): Report {
  if (reports.length === 0) throw usageError('WSB_ERR_MERGE', 'nothing to merge');
  const names = new Set(reports.map((r) => r.scenario.name));
  if (names.size > 1) throw usageError('WSB_ERR_MERGE', `the reports are of different scenarios (${[...names].join(', ')})`, 'merge only the shards of one run');
  const first = reports[0]!;
  const metricNames = new Set(reports.flatMap((r) => Object.keys(r.metrics)));
  const metrics: Report['metrics'] = {};
  for (const name of metricNames) {
    const hdrs = reports.map((r) => r.metrics[name]?.hdr).filter((h): h is string => Boolean(h));
    if (hdrs.length) metrics[name] = summarize(mergeEncoded(hdrs));
  }
  const add = (maps: Array<Record<string, number>>) => {
    const out: Record<string, number> = {};
    for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const series: Report['series'] = {};
  for (const r of reports) {
    for (const [k, arr] of Object.entries(r.series)) {
      // Percentile series cannot be added; keep the worst shard's value per second.
      const worst = /\.p\d+$/.test(k);
      const cur = (series[k] ??= []);
      arr.forEach((v, i) => (cur[i] = cur[i] === undefined ? v : worst ? Math.max(cur[i]!, v) : cur[i]! + v));
    }
  }
  const startedAt = reports.map((r) => r.startedAt).sort()[0]!;
  const endedAt = reports.map((r) => r.endedAt).sort().at(-1)!;
  const sumRates = (k: keyof Report['rates']) => reports.reduce((a, r) => a + (r.rates[k] ?? 0), 0);
  return {
    ...first,
    startedAt,
    endedAt,
    durationMs: Date.parse(endedAt) - Date.parse(startedAt),
    status: reports.every((r) => r.status === 'completed') ? 'completed' : reports.some((r) => r.status === 'failed') ? 'failed' : 'interrupted',
    timeline: reports.flatMap((r, i) => r.timeline.map((e) => ({ ...e, detail: `shard ${i}${e.detail ? `: ${e.detail}` : ''}` }))).sort((a, b) => a.atMs - b.atMs),
    metrics,
    counters: add(reports.map((r) => r.counters)),
    rates: { messagesSentPerSec: sumRates('messagesSentPerSec'), deliveriesPerSec: sumRates('deliveriesPerSec'), connectsPerSec: sumRates('connectsPerSec'), acksPerSec: sumRates('acksPerSec'), roundTripsPerSec: sumRates('roundTripsPerSec') },
    ledger: mergedLedger(reports, add),
    rooms: undefined,
    checks: [...reports.flatMap((r, i) => r.checks.map((c) => ({ ...c, name: `shard${i}.${c.name}` }))), ...[mergedDeliveryCheck(reports)].filter((c) => c !== undefined)],
    gates: [],
    generator: {
      processes: reports.reduce((a, r) => a + r.generator.processes, 0),
      saturated: reports.some((r) => r.generator.saturated),
      reason: reports.find((r) => r.generator.saturated)?.generator.reason,
      eventLoopDelayP99Us: Math.max(...reports.map((r) => r.generator.eventLoopDelayP99Us)),
      cpuPercent: Math.max(...reports.map((r) => r.generator.cpuPercent)),
      rssBytesPeak: Math.max(...reports.map((r) => r.generator.rssBytesPeak)),
      cpuSeconds: reports.reduce((a, r) => a + (r.generator.cpuSeconds ?? 0), 0),
      workers: reports.flatMap((r) => r.generator.workers),
    },
    series,
    notes: [`merged from ${reports.length} shard reports`, ...reports.flatMap((r) => r.notes)],
  };
}
