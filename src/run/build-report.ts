/**
 * The report of a run, built from what the coordinator collected: a function of its
 * inputs (plus the clock and the machine), with no checks or gates yet (those are
 * judged on the finished report).
 */
import os from 'node:os';
import type { GeneratorHealth, Ledger, NodeReport, Report, RunCause, TargetInfo, TimelineEvent, WorkerHealth } from '../report/schema.ts';
import type { HealthSample } from '../metrics/types.ts';
import type { RunCollector } from './collector.ts';
import type { JudgedLedger } from '../checks/judge-ledger.ts';
import { REPORT_SCHEMA } from '../report/schema.ts';
import { judgeSaturation, summarizeWorkerHealth } from '../metrics/index.ts';
import { METRIC } from '../metrics/names.ts';
import { toolInfo, gitSha } from './tool.ts';

/** Everything `buildReport` needs about the run besides what the collector holds. */
export interface ReportInput {
  scenario: Report['scenario'];
  target: TargetInfo;
  startedAt: Date;
  status: Report['status'];
  timeline: TimelineEvent[];
  notes: string[];
  /** The measured (steady) window, epoch ms (0 when it never started). */
  measuredStart: number;
  measuredEnd: number;
  rampConnected: number;
  rampFailed: number;
  /** Clients per worker, in worker order. */
  workerClients: number[];
  /** `/stats` of each node at the end, or [] when the run never got that far. */
  nodes: NodeReport[];
  /** Undefined when the run ended before the books could close. */
  ledger?: JudgedLedger;
  /** Why the run failed, when it did. */
  cause?: RunCause;
  /** With one URL and fewer than two named nodes there is no local/remote split. */
  dropNodeSplit: boolean;
}

const EMPTY_LEDGER: Ledger = { expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 };

/** Build the report (checks and gates empty) from the collector and the run's facts. */
export function buildReport(c: RunCollector, i: ReportInput): Report {
  const totals = c.agg.totals();
  if (i.dropNodeSplit) {
    delete totals.metrics['fanout.local'];
    delete totals.metrics['fanout.remote'];
  }
  const measuredMs = Math.max(1, i.measuredEnd - i.measuredStart);
  const endedAt = new Date();
  const sha = gitSha();
  const errorExamples = Object.keys(c.errorExamples).length ? { errorExamples: { ...c.errorExamples } } : {};
  const observations = c.observationSummaries();
  return {
    schema: REPORT_SCHEMA,
    tool: toolInfo(),
    ...(sha ? { git: { sha } } : {}),
    machine: { hostname: os.hostname(), platform: process.platform, arch: process.arch, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemBytes: os.totalmem(), node: process.version },
    scenario: i.scenario,
    target: i.target,
    startedAt: i.startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - i.startedAt.getTime(),
    measuredMs,
    status: i.status,
    ...(i.cause ? { cause: i.cause } : {}),
    timeline: i.timeline,
    metrics: totals.metrics,
    // Whole-run counts for the report; measured-window counts for the rates.
    counters: { ...c.agg.countersSoFar(), 'clients.connected.ramp': i.rampConnected, 'clients.failed.ramp': i.rampFailed },
    rates: ratesOf(totals.counters, measuredMs, i.rampConnected, i.timeline, totals.metrics),
    ...errorExamples,
    ledger: i.ledger?.total ?? { ...EMPTY_LEDGER },
    rooms: (i.ledger?.rooms ?? []).slice(0, 50),
    checks: [],
    gates: [],
    generator: generatorHealthOf(c.healthSamples, i.workerClients),
    series: c.agg.series(),
    nodes: i.nodes,
    ...(observations ? { observations } : {}),
    notes: i.notes,
  };
}

function ratesOf(measured: Record<string, number>, measuredMs: number, rampConnected: number, timeline: TimelineEvent[], metrics: Report['metrics']): Report['rates'] {
  const at = (name: string) => timeline.find((e) => e.name === name)?.atMs;
  const rampMs = Math.max(1, (at('ramp-done') ?? 0) - (at('ramp') ?? 0));
  return {
    messagesSentPerSec: round1(((measured['messages.sent'] ?? 0) * 1000) / measuredMs),
    deliveriesPerSec: round1(((measured['messages.received'] ?? 0) * 1000) / measuredMs),
    connectsPerSec: at('ramp-done') === undefined ? 0 : round1((rampConnected * 1000) / rampMs),
    acksPerSec: round1(((metrics[METRIC.ack]?.count ?? 0) * 1000) / measuredMs),
    roundTripsPerSec: round1(((metrics[METRIC.rtt]?.count ?? 0) * 1000) / measuredMs),
  };
}

/** The generator's health over the steady phase: per worker, and the worst of them. */
export function generatorHealthOf(samples: HealthSample[][], workerClients: number[]): GeneratorHealth {
  const workerHealth: WorkerHealth[] = samples.map((s, i) => summarizeWorkerHealth(i, workerClients[i] ?? 0, s));
  const verdict = judgeSaturation(workerHealth);
  return {
    processes: samples.length,
    saturated: verdict.saturated,
    reason: verdict.reason,
    eventLoopDelayP99Us: Math.max(0, ...workerHealth.map((w) => w.eventLoopDelayP99Us)),
    cpuPercent: Math.max(0, ...workerHealth.map((w) => w.cpuPercent)),
    rssBytesPeak: Math.max(0, ...workerHealth.map((w) => w.rssBytesPeak)),
    cpuSeconds: Math.round(samples.flat().reduce((a, s) => a + (s.processCpuUs ?? 0), 0) / 1000) / 1000,
    workers: workerHealth.map(({ id, clients, eventLoopDelayP99Us, cpuPercent, rssBytesPeak }) => ({ id, clients, eventLoopDelayP99Us, cpuPercent, rssBytesPeak })),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
