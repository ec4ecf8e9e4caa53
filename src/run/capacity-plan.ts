/**
 * Capacity search as pure functions: which loads to try (geometric steps), how to
 * judge one step's report against the SLOs, where to bisect, where the knee is,
 * and what a target size needs. No sockets, no clock: src/run/capacity.ts wires
 * these to real runs, the tests feed them fake reports.
 */
import { checkStatus } from '../checks/outcome.ts';
import type { GateResult, Report } from '../report/schema.ts';
import type { Gate } from '../gates/index.ts';
import { judgeGates } from './exit-decision.ts';

/** The knob a capacity search varies; the others stay at their run values. */
export type CapacityKnob = 'clients' | 'rate' | 'rooms';

/**
 * How a step ended. `good`: every SLO and check passed on a healthy generator.
 * `slo`: an SLO was breached. `check`: a built-in or scenario check failed (lost
 * messages, clients that could not connect). `saturated`: the load generator was
 * saturated, so the step says nothing reliable about the server. `failed`: the
 * harness or the target failed (exit 3). `interrupted`: Ctrl-C.
 */
export type StepVerdict = 'good' | 'slo' | 'check' | 'saturated' | 'failed' | 'interrupted';

/** Inputs of {@link planSteps}: either `steps` (count) or `factor` (ratio between steps). */
export interface StepPlanInput {
  from: number;
  to: number;
  /** Number of geometric steps from `from` to `to`, both included (>= 2 unless from == to). */
  steps?: number;
  /** Ratio between consecutive steps (> 1); the last step is `to`. */
  factor?: number;
}

/**
 * The loads to run, ascending, whole numbers, no duplicates, `from` and `to` included.
 * Geometric, because a server's cost usually grows with the logarithm of the load
 * that reveals it: 50, 100, 200 finds a knee faster than 50, 100, 150.
 */
export function planSteps(p: StepPlanInput): number[] {
  const { from, to } = p;
  if (!(from >= 1) || !(to >= from)) throw new RangeError(`planSteps: need 1 <= from <= to, got ${from}..${to}`);
  if (from === to) return [from];
  const out: number[] = [];
  if (p.factor !== undefined) {
    if (!(p.factor > 1)) throw new RangeError(`planSteps: factor must be > 1, got ${p.factor}`);
    for (let x = from; x < to; x *= p.factor) out.push(Math.round(x));
    out.push(to);
  } else {
    const k = p.steps ?? 4;
    if (!Number.isInteger(k) || k < 2) throw new RangeError(`planSteps: steps must be a whole number >= 2, got ${k}`);
    for (let i = 0; i < k; i++) out.push(i === k - 1 ? to : Math.round(from * (to / from) ** (i / (k - 1))));
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/**
 * The load halfway (geometrically) between a good and a bad load, or undefined when
 * no whole number lies strictly between them.
 */
export function bisectLoad(good: number, bad: number): number | undefined {
  if (!(bad - good > 1)) return undefined;
  const geo = Math.round(Math.sqrt(good * bad));
  if (geo > good && geo < bad) return geo;
  const mid = Math.floor((good + bad) / 2);
  return mid > good && mid < bad ? mid : undefined;
}

/** A step's verdict with the evidence behind it. */
export interface StepJudgement {
  verdict: StepVerdict;
  /** Every SLO with its measured value, as gates report them. */
  slos: GateResult[];
  /** Names of the checks that failed. */
  failedChecks: string[];
  saturated: boolean;
  saturationReason?: string;
  /** One sentence: why the step is not sustainable (absent when good). */
  reason?: string;
}

/**
 * Judge one step. Saturation wins over an SLO breach: when the generator could not
 * keep up, a late delivery may be the generator's own queueing, so the breach
 * cannot be charged to the server.
 */
export function judgeStep(report: Report, slos: Gate[]): StepJudgement {
  const results = report.gates.length === slos.length && slos.every((g, i) => report.gates[i]?.expr === g.expr) ? report.gates : judgeGates(slos, [report]);
  const failedChecks = report.checks.filter((c) => checkStatus(c) === 'failed').map((c) => c.name);
  const g = report.generator;
  const base = { slos: results, failedChecks, saturated: g.saturated, ...(g.saturated ? { saturationReason: g.reason ?? 'the load generator could not keep up' } : {}) };
  if (report.status === 'interrupted') return { ...base, verdict: 'interrupted', reason: 'interrupted by the user' };
  if (report.status === 'failed') return { ...base, verdict: 'failed', reason: report.notes.at(-1) ?? 'the harness or the target failed' };
  if (g.saturated) return { ...base, verdict: 'saturated', reason: `generator saturated: ${base.saturationReason}` };
  const breached = results.filter((r) => !r.passed);
  if (breached.length) return { ...base, verdict: 'slo', reason: `SLO breached: ${breached.map((r) => r.detail ?? r.expr).join('; ')}` };
  if (failedChecks.length) return { ...base, verdict: 'check', reason: `check failed: ${failedChecks.join(', ')}` };
  return { ...base, verdict: 'good' };
}

/** The next load to run and why. */
export interface SearchMove {
  load: number;
  kind: 'step' | 'bisect';
}

/** A bad step: the load and its verdict. */
export interface BadStep {
  load: number;
  verdict: Exclude<StepVerdict, 'good'>;
}

/**
 * The search: the planned steps in order until the first bad one, then up to
 * `bisect` bisections between the last good and the first bad load.
 */
export interface CapacitySearch {
  /** The next load to run, or undefined when the search is over. */
  next(): SearchMove | undefined;
  /** Record the verdict of the load returned by the last `next()`. */
  record(load: number, verdict: StepVerdict): void;
  /** Largest load judged good so far. */
  readonly lastGood: number | undefined;
  /** Smallest load judged bad so far (the bound of the bisection). */
  readonly firstBad: BadStep | undefined;
}

/** Create a capacity search over `planned` loads (ascending) with up to `bisect` (default 2) bisections. */
export function createCapacitySearch(planned: number[], bisect = 2): CapacitySearch {
  let i = 0;
  let left = bisect;
  let lastGood: number | undefined;
  let firstBad: BadStep | undefined;
  let stopped = false;
  return {
    next() {
      if (stopped) return undefined;
      if (!firstBad) {
        if (i < planned.length) return { load: planned[i++]!, kind: 'step' };
        return undefined;
      }
      if (lastGood === undefined || left <= 0) return undefined;
      const mid = bisectLoad(lastGood, firstBad.load);
      if (mid === undefined) return undefined;
      left--;
      return { load: mid, kind: 'bisect' };
    },
    record(load, verdict) {
      if (verdict === 'failed' || verdict === 'interrupted') {
        stopped = true;
        return;
      }
      if (verdict === 'good') {
        if (lastGood === undefined || load > lastGood) lastGood = load;
      } else if (!firstBad || load < firstBad.load) {
        firstBad = { load, verdict };
      }
    },
    get lastGood() {
      return lastGood;
    },
    get firstBad() {
      return firstBad;
    },
  };
}

/** One point of the capacity curve. */
export interface CurvePoint {
  load: number;
  /** Fan-out p99 (or the headline latency) in microseconds; null when the step had none. */
  p99Us: number | null;
}

/** Where p99 starts growing much faster than load. */
export interface Knee {
  /** The last load before the fast growth. */
  load: number;
  /** The next measured load, where p99 had already grown. */
  nextLoad: number;
  /** d ln(p99) / d ln(load) over [load, nextLoad]: 1 = p99 grows as fast as load. */
  slope: number;
}

/**
 * Knee detection on the log-log curve: the first segment whose elasticity
 * d ln(p99) / d ln(load) is at least `slope` (default 2: a 10% load increase costs
 * 20% or more p99) and whose p99 rose by at least `minRiseUs` (default 1000 us, so
 * jitter of sub-millisecond latencies is not a knee). Returns undefined when the
 * curve has no such segment (the knee is beyond the range, or there is none).
 */
export function detectKnee(points: CurvePoint[], opts: { slope?: number; minRiseUs?: number } = {}): Knee | undefined {
  const threshold = opts.slope ?? 2;
  const minRise = opts.minRiseUs ?? 1000;
  const pts = points.filter((p): p is { load: number; p99Us: number } => p.p99Us !== null && p.p99Us > 0 && p.load > 0).sort((a, b) => a.load - b.load);
  for (let k = 1; k < pts.length; k++) {
    const a = pts[k - 1]!;
    const b = pts[k]!;
    if (b.load === a.load) continue;
    const slope = Math.log(b.p99Us / a.p99Us) / Math.log(b.load / a.load);
    if (slope >= threshold && b.p99Us - a.p99Us >= minRise) return { load: a.load, nextLoad: b.load, slope: Math.round(slope * 100) / 100 };
  }
  return undefined;
}

/** Inputs of {@link projectCapacity}. */
export interface ProjectionInput {
  /** Clients one node held within the SLOs (sustainable clients / nodes of the test). */
  clientsPerNode: number;
  /** Fraction of that capacity kept free, 0..1 (default 0.3). */
  headroom: number;
  targetClients: number;
  /** Publishes per second per client at the sustainable step (rate / clients). */
  publishesPerClientPerSec: number;
  /** Deliveries per second per client at the sustainable step. */
  deliveriesPerClientPerSec: number;
}

/** What a target size needs. */
export interface Projection {
  targetClients: number;
  headroom: number;
  clientsPerNode: number;
  /** clientsPerNode x (1 - headroom). */
  usableClientsPerNode: number;
  /** ceil(targetClients / usableClientsPerNode), at least 1. */
  nodes: number;
  /** targetClients x publishes per client per second. */
  publishesPerSec: number;
  /** targetClients x deliveries per client per second. */
  deliveriesPerSec: number;
  /** publishesPerSec x nodes: every publish goes to Redis once and comes out once per subscribed node. */
  busMessagesPerSec: number;
  /** The formulas, in words, with the numbers filled in. */
  formulas: string[];
}

/**
 * Nodes needed for `targetClients` with `headroom` kept free on every node, and the
 * Redis bus load at that size (bus messages/s = publishes/s x nodes, assuming every
 * node has members in every room, which is the worst case of a room-sharded bus).
 * Per-client activity (publishes and deliveries per client per second) is assumed to
 * stay what it was at the sustainable step.
 */
export function projectCapacity(p: ProjectionInput): Projection {
  if (!(p.clientsPerNode > 0)) throw new RangeError('projectCapacity: clientsPerNode must be > 0');
  if (!(p.headroom >= 0 && p.headroom < 1)) throw new RangeError('projectCapacity: headroom must be in [0, 1)');
  const usable = p.clientsPerNode * (1 - p.headroom);
  const nodes = Math.max(1, Math.ceil(p.targetClients / usable - 1e-9));
  const publishesPerSec = round1(p.targetClients * p.publishesPerClientPerSec);
  const deliveriesPerSec = round1(p.targetClients * p.deliveriesPerClientPerSec);
  const busMessagesPerSec = round1(publishesPerSec * nodes);
  const pct = Math.round(p.headroom * 100);
  return {
    targetClients: p.targetClients,
    headroom: p.headroom,
    clientsPerNode: p.clientsPerNode,
    usableClientsPerNode: round1(usable),
    nodes,
    publishesPerSec,
    deliveriesPerSec,
    busMessagesPerSec,
    formulas: [
      `usable clients per node = ${round1(p.clientsPerNode)} x (1 - ${pct}%) = ${round1(usable)}`,
      `nodes = ceil(${p.targetClients} / ${round1(usable)}) = ${nodes}`,
      `publishes/s = ${p.targetClients} clients x ${round4(p.publishesPerClientPerSec)}/s per client = ${publishesPerSec}`,
      `bus messages/s = publishes/s x nodes = ${publishesPerSec} x ${nodes} = ${busMessagesPerSec}`,
    ],
  };
}

/** Least-squares line y = intercept + slope x; undefined with fewer than two distinct x. */
export function fitLine(points: Array<[number, number]>): { slope: number; intercept: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
