/**
 * `wsbench capacity`: run one scenario at growing loads (geometric steps), judge
 * every step against the SLOs, bisect between the last good and the first bad
 * load, and say why the search stopped: an SLO breach (the server's capacity) or a
 * saturated generator (a lower bound only). Each step is a whole `runScenario`
 * run; its full report is embedded in the capacity result.
 */
import type { Report, TargetInfo } from '../report/schema.ts';
import type { Gate } from '../gates/index.ts';
import { formatSubject, validateGateMetrics } from '../gates/index.ts';
import { judgeGates } from './exit-decision.ts';
import { EXIT, WsbenchError, isWsbenchError, usageError } from '../errors.ts';
import { runScenario, type RunIO, type RunOutcome, type RunRequest } from './run.ts';
import { toolInfo } from './tool.ts';
import { createCapacitySearch, detectKnee, fitLine, judgeStep, planSteps, projectCapacity, type BadStep, type CapacityKnob, type Knee, type Projection, type SearchMove, type StepJudgement, type StepVerdict } from './capacity-plan.ts';
import { createCpuSampler, type CpuSampler, type CpuWindow } from './capacity-proc.ts';

export * from './capacity-plan.ts';

/** Schema id of the capacity report (`wsbench capacity --out`). */
export const CAPACITY_SCHEMA = 'wsbench.capacity/1' as const;

/** What `wsbench capacity` asks for. Loads are whole numbers of the varied knob. */
export interface CapacityRequest {
  /** The run request of every step (from the run flags); the knob and the duration are overridden per step. */
  base: RunRequest;
  knob: CapacityKnob;
  from: number;
  to: number;
  /** Geometric steps from `from` to `to` (default 4 when `factor` is absent). */
  steps?: number;
  /** Ratio between steps, instead of `steps`. */
  factor?: number;
  /** Bisections between the last good and the first bad load, default 2. */
  bisect: number;
  /** Measured (steady) phase of every step, in milliseconds. */
  stepDurationMs: number;
  slos: Gate[];
  /** Fraction of a node's capacity kept free in the projection, 0..1, default 0.3. */
  headroom: number;
  /** Project the nodes needed for this many clients. */
  targetClients?: number;
  /** Exit 4 when the search stopped on a saturated generator. */
  refuseSaturated: boolean;
  /** Whether the SLO metric names were checked against the known metrics already (bundled scenarios). */
  validateSloMetrics?: boolean;
}

/** Server-side figures of one step, from the nodes' /stats and /proc. */
export interface StepServer {
  nodes: number;
  /** Clients the harness attached to the nodes. */
  connections: number;
  /** Sum of the nodes' RSS at the end of the step (null when no node reported it). */
  rssBytes: number | null;
  /** Sum of the nodes' CPU over the steady phase, percent of one core (null when unknown). */
  cpuPercent: number | null;
  rssBytesPerConnection: number | null;
  /** CPU microseconds per delivery (cpuPercent / 100 x 1e6 / deliveries per second). */
  cpuUsPerDelivery: number | null;
  /** Percent of one core per 1000 connections. */
  cpuPercentPer1kConnections: number | null;
}

/** One step of the search, with its full report. */
export interface CapacityStep {
  index: number;
  kind: SearchMove['kind'];
  load: number;
  verdict: StepVerdict;
  sustainable: boolean;
  /** Why the step is not sustainable (absent when it is). */
  reason?: string;
  slos: StepJudgement['slos'];
  failedChecks: string[];
  messagesSentPerSec: number;
  deliveriesPerSec: number;
  fanoutP99Us: number | null;
  saturated: boolean;
  saturationReason?: string;
  server: StepServer;
  exitCode: number;
  /** The step's whole `wsbench.report/1` report, embedded. */
  report: Report;
}

/** Why the search stopped. */
export type StopKind = 'slo' | 'check' | 'saturated' | 'range-exhausted' | 'none-sustainable' | 'failed' | 'interrupted';

/** How the capacity search ended and what it found (loads in the knob's units). */
export interface CapacityOutcome {
  stop: StopKind;
  /** Largest load judged good, null when none. */
  sustainableLoad: number | null;
  /** Smallest load judged bad, null when none. */
  firstBadLoad: number | null;
  /** True when the sustainable load is only a lower bound (generator saturated, or range exhausted). */
  lowerBound: boolean;
  /** One or two sentences for humans. */
  message: string;
}

/** Server memory per connection over the steps (RSS of the bundled target; null where not measured). */
export interface CapacityResources {
  /** RSS growth per added connection, bytes, from a least-squares line over the steps (null with fewer than two steps). */
  marginalRssBytesPerConnection: number | null;
  /** RSS with no connection, bytes, from the same line. */
  baselineRssBytes: number | null;
  /** At the sustainable step. */
  atSustainable: StepServer | null;
  /** What could not be measured, and why. */
  missing: string[];
}

/** The capacity result (`wsbench.capacity/1`). Every step's full run report is embedded in `steps[].report`. */
export interface CapacityResult {
  schema: typeof CAPACITY_SCHEMA;
  tool: { name: string; version: string };
  scenario: { name: string; description?: string };
  target: TargetInfo | null;
  knob: CapacityKnob;
  /** The SLOs as written. */
  slos: string[];
  plan: { from: number; to: number; planned: number[]; bisect: number; stepDurationMs: number; factor?: number; steps?: number };
  startedAt: string;
  endedAt: string;
  steps: CapacityStep[];
  outcome: CapacityOutcome;
  /** Latency metric of the curve and the knee (`fanout` when the scenario has it). */
  curveMetric: string;
  knee: Knee | null;
  resources: CapacityResources;
  projection: (Projection & { basis: string }) | null;
  /** Why there is no projection, when there is none. */
  projectionNote?: string;
  notes: string[];
  exitCode: number;
}

/** Callbacks of a capacity search: the run's own, plus step boundaries. */
export interface CapacityIO extends RunIO {
  stepStart?(move: SearchMove, index: number): void;
  stepDone?(step: CapacityStep): void;
}

/** Runs one capacity step (default `runScenario`; tests pass a fake). */
export type StepRunner = (req: RunRequest, io: RunIO) => Promise<RunOutcome>;

/** Test seams: a fake step runner and CPU sampler. */
export interface CapacityDeps {
  runStep?: StepRunner;
  createSampler?: () => CpuSampler;
}

/** The request of one step: the base request with the knob at `load` and the step's duration. */
export function stepRequest(c: CapacityRequest, load: number): RunRequest {
  const flags = { ...c.base.flags, [c.knob]: String(load), duration: `${c.stepDurationMs}ms` };
  return { ...c.base, flags, refuseSaturated: false, judge: (r) => judgeGates(c.slos, [r]) };
}

/** Run the whole search. Usage errors throw (exit 2); harness failures end the search with exit 3. */
export async function runCapacity(c: CapacityRequest, io: CapacityIO, deps: CapacityDeps = {}): Promise<CapacityResult> {
  const runStep = deps.runStep ?? runScenario;
  const makeSampler = deps.createSampler ?? (() => createCpuSampler());
  const planned = planSteps({ from: c.from, to: c.to, steps: c.steps, factor: c.factor });
  const search = createCapacitySearch(planned, c.bisect);
  const startedAt = new Date().toISOString();
  const steps: CapacityStep[] = [];
  const notes: string[] = [];
  let failure: string | undefined;
  let interrupted = false;

  for (let move = search.next(); move; move = search.next()) {
    io.stepStart?.(move, steps.length);
    const sampler = makeSampler();
    let outcome: RunOutcome;
    try {
      outcome = await runStep(stepRequest(c, move.load), {
        progress: (s) => {
          if (s.phase === 'steady') sampler.tick();
          io.progress(s);
        },
        info: io.info,
        interrupted: io.interrupted,
      });
    } catch (e) {
      if (isWsbenchError(e) && e.exitCode === EXIT.harness) {
        failure = `${c.knob} = ${move.load}: ${e.message}`;
        break;
      }
      throw e;
    }
    const report = outcome.report;
    if (steps.length === 0 && report.status === 'completed') {
      const unknown = validateGateMetrics(c.slos, report);
      if (unknown.length) throw new WsbenchError(unknown[0]!.code, unknown.length === 1 ? unknown[0]!.message : `${unknown.length} SLOs name metrics this scenario does not measure`, { exitCode: EXIT.usage, hint: unknown[0]!.hint, problems: unknown.length > 1 ? unknown.map((u) => u.message) : [] });
    }
    const judgement = judgeStep(report, c.slos);
    if (outcome.exitCode === EXIT.interrupted) judgement.verdict = 'interrupted';
    const step = toStep(steps.length, move, outcome, judgement, sampler.window());
    steps.push(step);
    io.stepDone?.(step);
    search.record(move.load, judgement.verdict);
    if (judgement.verdict === 'failed') {
      failure = `${c.knob} = ${move.load}: ${judgement.reason}`;
      break;
    }
    if (judgement.verdict === 'interrupted') {
      interrupted = true;
      break;
    }
  }

  const outcome = decideOutcome(c, search.lastGood, search.firstBad, steps, failure, interrupted);
  const sustainable = outcome.sustainableLoad === null ? undefined : steps.find((s) => s.load === outcome.sustainableLoad && s.sustainable);
  const curveMetric = steps.some((s) => s.report.metrics.fanout) ? 'fanout' : (c.slos.map((g) => g.subject).find((s) => s.kind === 'metric')?.metric ?? 'fanout');
  const knee = detectKnee(steps.filter((s) => s.verdict !== 'saturated' && s.verdict !== 'failed').map((s) => ({ load: s.load, p99Us: s.report.metrics[curveMetric]?.p99 ?? null })));
  const resources = summarizeResources(steps, sustainable, c.base.targets.length > 0);
  const first = steps[0]?.report;
  const { projection, note: projectionNote } = project(c, sustainable, outcome.lowerBound);
  if (steps.some((s) => s.saturated)) notes.push('steps marked saturated were not judged on their latencies: the generator, not the server, may have been the bottleneck');
  if (c.base.targets.length === 0) notes.push('the bundled server and the load generator share this machine: their CPUs compete, so the capacity measured here is a floor for a dedicated server host');

  return {
    schema: CAPACITY_SCHEMA,
    tool: toolInfo(),
    scenario: { name: first?.scenario.name ?? c.base.scenario, ...(first?.scenario.description ? { description: first.scenario.description } : {}) },
    target: first?.target ?? null,
    knob: c.knob,
    slos: c.slos.map((g) => g.expr),
    plan: { from: c.from, to: c.to, planned, bisect: c.bisect, stepDurationMs: c.stepDurationMs, ...(c.factor !== undefined ? { factor: c.factor } : { steps: c.steps ?? 4 }) },
    startedAt,
    endedAt: new Date().toISOString(),
    steps,
    outcome,
    curveMetric,
    knee: knee ?? null,
    resources,
    projection,
    ...(projectionNote ? { projectionNote } : {}),
    notes,
    exitCode: exitCodeOf(outcome, c.refuseSaturated),
  };
}

function toStep(index: number, move: SearchMove, outcome: RunOutcome, j: StepJudgement, cpu: CpuWindow | undefined): CapacityStep {
  const r = outcome.report;
  return {
    index,
    kind: move.kind,
    load: move.load,
    verdict: j.verdict,
    sustainable: j.verdict === 'good',
    ...(j.reason ? { reason: j.reason } : {}),
    slos: j.slos,
    failedChecks: j.failedChecks,
    messagesSentPerSec: r.rates.messagesSentPerSec,
    deliveriesPerSec: r.rates.deliveriesPerSec,
    fanoutP99Us: r.metrics.fanout?.p99 ?? null,
    saturated: j.saturated,
    ...(j.saturationReason ? { saturationReason: j.saturationReason } : {}),
    server: serverFigures(r, cpu),
    exitCode: outcome.exitCode,
    report: r,
  };
}

/** Server RSS from the nodes' /stats, CPU from /proc samples matched by the pid in /stats. */
export function serverFigures(r: Report, cpu: CpuWindow | undefined): StepServer {
  const nodes = r.nodes ?? [];
  const connections = nodes.reduce((a, n) => a + (n.clients ?? 0), 0);
  const rss = nodes.map((n) => n.stats?.rssBytes);
  // Bundled nodes: /stats and /proc; otherwise (an external target) what its own metrics said (--scrape).
  const rssBytes = nodes.length && rss.every((v) => typeof v === 'number') ? (rss as number[]).reduce((a, b) => a + b, 0) : (r.server?.rssBytesEnd ?? null);
  const cpus = nodes.map((n) => (typeof n.stats?.pid === 'number' ? cpu?.cpuPercentByPid.get(n.stats.pid) : undefined));
  const cpuPercent = nodes.length && cpus.every((v) => typeof v === 'number') ? Math.round((cpus as number[]).reduce((a, b) => a + b, 0) * 10) / 10 : (r.server?.cpuPercentMean ?? null);
  const deliveries = r.rates.deliveriesPerSec;
  return {
    nodes: nodes.length,
    connections,
    rssBytes,
    cpuPercent,
    rssBytesPerConnection: rssBytes !== null && connections > 0 ? Math.round(rssBytes / connections) : null,
    cpuUsPerDelivery: cpuPercent !== null && deliveries > 0 ? Math.round(((cpuPercent / 100) * 1e6 * 100) / deliveries) / 100 : null,
    cpuPercentPer1kConnections: cpuPercent !== null && connections > 0 ? Math.round((cpuPercent / connections) * 1000 * 100) / 100 : null,
  };
}

const VERDICT_WORDS: Record<Exclude<StepVerdict, 'good'>, string> = {
  slo: 'SLO breached',
  check: 'check failed',
  saturated: 'generator saturated',
  failed: 'harness or target failed',
  interrupted: 'interrupted',
};

function decideOutcome(c: CapacityRequest, lastGood: number | undefined, firstBad: BadStep | undefined, steps: CapacityStep[], failure: string | undefined, interrupted: boolean): CapacityOutcome {
  const unit = c.knob === 'rate' ? 'publishes/s' : c.knob;
  const at = (load: number) => `${load} ${unit}`;
  const badStep = firstBad ? steps.find((s) => s.load === firstBad.load && !s.sustainable) : undefined;
  const base = { sustainableLoad: lastGood ?? null, firstBadLoad: firstBad?.load ?? null };
  if (interrupted) return { ...base, stop: 'interrupted', lowerBound: true, message: `interrupted after ${steps.length} step${steps.length === 1 ? '' : 's'}${lastGood !== undefined ? `; ${at(lastGood)} met the SLOs so far` : ''}` };
  if (failure) return { ...base, stop: 'failed', lowerBound: true, message: `the harness or the target failed at ${failure}` };
  if (lastGood === undefined) {
    if (!firstBad) return { ...base, stop: 'none-sustainable', lowerBound: false, message: 'no step ran' };
    if (firstBad.verdict === 'saturated') {
      return { ...base, stop: 'saturated', lowerBound: true, message: `no step met the SLOs on a healthy generator: generator saturated: ${badStep?.saturationReason ?? 'the load generator could not keep up'} already at the smallest load (${at(firstBad.load)}); nothing can be said about the server's capacity` };
    }
    return { ...base, stop: 'none-sustainable', lowerBound: false, message: `no step met the SLOs: even the smallest load (${at(firstBad.load)}) failed: ${badStep?.reason ?? VERDICT_WORDS[firstBad.verdict]}` };
  }
  if (!firstBad) {
    return { ...base, stop: 'range-exhausted', lowerBound: true, message: `every step up to --to ${at(c.to)} met the SLOs: the capacity is at least ${at(lastGood)} (a lower bound; raise --to to find the limit)` };
  }
  const why = badStep?.reason ?? VERDICT_WORDS[firstBad.verdict];
  if (firstBad.verdict === 'saturated') {
    return { ...base, stop: 'saturated', lowerBound: true, message: `largest sustainable load: ${at(lastGood)}, a LOWER BOUND on the server's capacity, not its capacity: ${why} at ${at(firstBad.load)} before any SLO broke (add generator machines with --shard, or --workers)` };
  }
  return { ...base, stop: firstBad.verdict === 'check' ? 'check' : 'slo', lowerBound: false, message: `largest sustainable load: ${at(lastGood)}; at ${at(firstBad.load)}: ${why}` };
}

/** 0 a sustainable load was found; 1 none; 3 harness failure; 4 saturated with --refuse-saturated; 130 interrupted. */
export function exitCodeOf(o: CapacityOutcome, refuseSaturated: boolean): number {
  if (o.stop === 'interrupted') return EXIT.interrupted;
  if (o.stop === 'failed') return EXIT.harness;
  if (o.stop === 'saturated' && refuseSaturated) return EXIT.saturated;
  return o.sustainableLoad === null ? EXIT.failed : EXIT.pass;
}

function summarizeResources(steps: CapacityStep[], sustainable: CapacityStep | undefined, external: boolean): CapacityResources {
  const missing: string[] = [];
  const usable = steps.filter((s) => s.verdict !== 'failed' && s.server.rssBytes !== null && s.server.connections > 0);
  const line = fitLine(usable.map((s) => [s.server.connections, s.server.rssBytes!]));
  if (external && !steps.some((s) => s.server.rssBytes !== null || s.server.cpuPercent !== null)) {
    missing.push('server RSS and CPU: an external target is not our process; give its Prometheus endpoint with --scrape URL (process_resident_memory_bytes, process_cpu_seconds_total)');
  } else if (!external) {
    if (!steps.some((s) => s.server.rssBytes !== null)) missing.push('server RSS: no node answered /stats with rssBytes');
    if (!steps.some((s) => s.server.cpuPercent !== null)) missing.push(process.platform === 'linux' ? 'server CPU: the node processes could not be sampled in /proc during the steady phase (steps shorter than ~2 s get one sample only)' : 'server CPU: /stats has no CPU time and /proc exists only on Linux');
  }
  if (!external) missing.push('server RSS is read once, after the clients of a step disconnected: it is the peak-ish resident size (V8 rarely returns memory), not a live per-second figure');
  return {
    marginalRssBytesPerConnection: line ? Math.round(line.slope) : null,
    baselineRssBytes: line ? Math.round(line.intercept) : null,
    atSustainable: sustainable?.server ?? null,
    missing,
  };
}

function project(c: CapacityRequest, sustainable: CapacityStep | undefined, lowerBound: boolean): { projection: CapacityResult['projection']; note?: string } {
  if (c.targetClients === undefined) return { projection: null };
  if (!sustainable) return { projection: null, note: 'no sustainable load was found, so there is nothing to project from' };
  const r = sustainable.report;
  const nodes = Math.max(1, r.target.nodes);
  const clients = Number(r.scenario.options.clients);
  if (!(clients > 0)) return { projection: null, note: 'the sustainable step has no clients to project from' };
  const basis =
    c.knob === 'clients'
      ? `${clients} clients on ${nodes} node${nodes === 1 ? '' : 's'} met the SLOs (largest sustainable load)`
      : `${clients} clients on ${nodes} node${nodes === 1 ? '' : 's'} met the SLOs at ${c.knob} = ${sustainable.load}; only --vary clients measures how many clients a node can hold, so this is the clients per node that was proven, not the most a node can hold`;
  return {
    projection: {
      ...projectCapacity({
        clientsPerNode: clients / nodes,
        headroom: c.headroom,
        targetClients: c.targetClients,
        publishesPerClientPerSec: r.rates.messagesSentPerSec / clients,
        deliveriesPerClientPerSec: r.rates.deliveriesPerSec / clients,
      }),
      basis: lowerBound ? `${basis}; that load is a lower bound, so the node count is an upper bound` : basis,
    },
  };
}

/** The subjects of the SLOs, as written (for messages). */
export function sloSubjects(slos: Gate[]): string[] {
  return slos.map((g) => formatSubject(g.subject));
}

/** Check capacity flags that do not need the scenario; every problem at once. */
export function validateCapacityPlan(p: { from: number; to: number; steps?: number; factor?: number; bisect: number; headroom: number }): void {
  const problems: string[] = [];
  if (!(p.from >= 1)) problems.push(`--from ${p.from}: expected a whole number >= 1`);
  if (!(p.to >= 1)) problems.push(`--to ${p.to}: expected a whole number >= 1`);
  if (p.from > p.to) problems.push(`--from ${p.from} is larger than --to ${p.to}: the search grows the load from --from up to --to`);
  if (p.steps !== undefined && p.factor !== undefined) problems.push('give either --steps or --factor, not both');
  if (p.steps !== undefined && !(Number.isInteger(p.steps) && p.steps >= 2)) problems.push(`--steps ${p.steps}: expected a whole number >= 2`);
  if (p.factor !== undefined && !(p.factor > 1)) problems.push(`--factor ${p.factor}: expected a number > 1, e.g. 2`);
  if (!(Number.isInteger(p.bisect) && p.bisect >= 0)) problems.push(`--bisect ${p.bisect}: expected a whole number >= 0`);
  if (!(p.headroom >= 0 && p.headroom < 1)) problems.push(`--headroom: expected a share from 0% to below 100%`);
  if (problems.length) throw usageError('WSB_ERR_CAPACITY', problems.length === 1 ? problems[0]! : `${problems.length} problems with the capacity options`, '`wsbench capacity --help` lists them', problems.length > 1 ? problems : undefined);
}
