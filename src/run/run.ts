/**
 * One run, end to end: load the scenario -> start the topology -> fork workers ->
 * ramp, warm up, measure, cool down -> collect -> checks and gates -> report.
 * `prepareRun` validates; `RunCoordinator` drives the steps (one method each); the
 * collector (collector.ts), the report (build-report.ts), the checks (run-checks.ts)
 * and the exit code (exit-decision.ts) live apart. Returns the report and the exit
 * code; printing and files are the caller's (src/cli) business, through the `io`
 * callbacks.
 */
import type { LiveSink } from '../observe/live.ts';
import { metricsUrlOf, startScraper, type Scraper } from '../observe/scrape.ts';
import { isIP } from 'node:net';
import type { NodeReport, Report, TargetInfo, TimelineEvent } from '../report/schema.ts';
import type { CommonOptions, ScenarioDefinition } from '../scenario/types.ts';
import type { FromWorker, Phase, TokenSource } from '../workers/messages.ts';
import type { ProgressState } from '../output/types.ts';
import type { FaultAction, Topology } from '../topology/types.ts';
import { loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts';
import { applyAdapterOption } from '../scenario/adapter-file.ts';
import { resolveOptions } from '../scenario/options.ts';
import { clientProblem } from '../protocol/index.ts';
import { tlsClientOptionsOf } from '../protocol/tls-client.ts';
import { wireNotes } from './wire-notes.ts';
import { startTopology, parseFault, formatFault, probeTargets, canFreeze } from '../topology/index.ts';
import { countsByNode, countsByUrl, sharedNodeIdNotes, sharedNodeIds } from '../topology/node-identity.ts';
import { createWorkerPool, type WorkerPool } from '../workers/pool.ts';
import { clientsPerWorker, readFdLimit } from '../workers/limits.ts';
import { judgeLedger } from '../checks/judge-ledger.ts';
import { COUNTER, ERROR_COUNTER_PREFIX } from '../metrics/names.ts';
import { EXIT, harnessError, isWsbenchError, usageError, type ExitCode, type WsbenchError } from '../errors.ts';
import { DEV_SECRET } from '../protocol/jwt.ts';
import { TokenMinter } from '../workers/token-source.ts';
import { parseServerOptions } from '../../servers/core/options.ts';
import { decideExit } from './exit-decision.ts';
import { RunCollector } from './collector.ts';
import { buildReport, type ReportInput } from './build-report.ts';
import { runChecks } from './run-checks.ts';
import { conditionNotes } from '../workers/client-conditions.ts';
import { highestSeqs, shortfallNote, SETTLE_MAX_MS } from '../checks/settle.ts';

/**
 * Everything one run needs, as parsed from the command line (src/cli) or built by
 * `capacity` for a step. Durations and rates stay raw strings in `flags` and `sets`
 * until `prepareRun` parses them with the scenario's option specs.
 */
export interface RunRequest {
  /** Bundled scenario name or path to a scenario file. */
  scenario: string;
  /** Common options from CLI flags (camelCase, raw strings). */
  flags: Partial<Record<keyof CommonOptions, string>>;
  /** `--set KEY=VALUE` pairs. */
  sets: string[];
  /** Wire protocol: `ws` (wsbench/1 or a scenario's codec) or `socketio`. */
  protocol: 'ws' | 'socketio';
  /** External targets; empty = the bundled server. */
  targets: string[];
  /** `--server KEY=VALUE` pairs for the bundled server. */
  server: string[];
  /** Bundled nodes; undefined = the scenario's default (or 1). */
  nodes?: number;
  /** An existing Redis for several bundled nodes (`--redis`); undefined = start a redis-server. */
  redisUrl?: string;
  /** One token for every client (`--token`). */
  token?: string;
  /** Tokens from `--token-file`, used round robin by client index. */
  tokens?: string[];
  /** Mint HS256 tokens with this secret (`--secret`; default the bundled server's development secret). */
  secret?: string;
  /** Worker processes; undefined = decided from --clients. */
  workers?: number;
  /** `--fault` specs, `ACTION[:NODE]@TIME[+DURATION]`, times from the start of the warm-up. */
  faults: string[];
  /** Run only slice `index` of `count` of the clients (and so of the publishers and rates), for several machines. */
  shard?: { index: number; count: number };
  /** Wall-clock time (epoch ms) at which the ramp starts, so shards on several machines start together. */
  startAt?: number;
  /** How clients are spread over the targets: `round-robin` (default) or `weighted:3,1`. */
  spread?: string;
  /** Learn each client's node from the server's welcome (default true); false = by URL only. */
  nodeIdentity?: boolean;
  /** `--token-claims`: a JSON claims template for minted tokens (`{client}`, `{worker}` are replaced). */
  tokenClaims?: string;
  /** Lifetime of minted tokens, seconds (default 3600). */
  tokenTtlSec?: number;
  /** Go on with the reachable targets when some are down at start. */
  skipUnreachable?: boolean;
  /** Exit 4 when the generator was saturated. */
  refuseSaturated: boolean;
  /** `--strict`: an unverified check exits 1 (default: 0 with a loud note). */
  strict?: boolean;
  /**
   * `--scrape`: Prometheus endpoints of the target read once a second into the report
   * (`server.*` series and `server` summary). Default: the bundled nodes' /metrics; none
   * for external targets. An empty list turns scraping off.
   */
  scrape?: string[];
  /** `--scrape-series`: more series names to read from the scraped endpoints (summed over targets). */
  scrapeSeries?: string[];
  /** Gates and checks added by later layers (src/gates), evaluated on the finished report. */
  judge?: (report: Report) => Report['gates'];
}

/** How a run talks to its caller while it runs: progress about once a second, information lines, and Ctrl-C; the CLI prints, tests collect. */
export interface RunIO {
  /** The live state, about once a second (for the progress line). */
  progress(state: ProgressState): void;
  /** One line of information for the user (what the engine chose, faults, ...). */
  info(line: string): void;
  /** Resolves when the user asked to stop (Ctrl-C). */
  interrupted: Promise<void>;
  /** Live sinks (`--prometheus`, `--otlp`, `--live`): the run's state once a second, and once more when the report is final. */
  live?: LiveSink;
}

/** A finished run: its report (checks and gates judged), and the exit code `decideExit` gave it (130 when interrupted). */
export interface RunOutcome {
  /** The report as written to JSON (`wsbench.report/1`). */
  report: Report;
  /** 0 pass, 1 a check or gate failed (or, with `strict`, was unverified), 3 harness or target failure, 4 saturated with `refuseSaturated`, 130 interrupted. */
  exitCode: ExitCode;
}

/** Validate everything about a request that can be checked without starting anything. */
export async function prepareRun(req: RunRequest): Promise<{ path: string; def: ScenarioDefinition; options: Record<string, unknown> & CommonOptions; server: Record<string, string>; faults: Array<{ atMs: number; action: FaultAction; text: string }>; nodes: number }> {
  const path = resolveScenarioPath(req.scenario);
  const def = await loadScenarioFile(path);
  const { options, problems } = resolveOptions(def, req.flags as Record<string, string | undefined>, req.sets);
  if (options.adapter) await applyAdapterOption(def, options, req.protocol); // a bad module fails here, before any worker
  // Read-only facts for scenario code: where the run goes.
  options.targetKind = req.targets.length ? 'external' : 'bundled';
  options.protocol = req.protocol;
  const server: Record<string, string> = { ...(typeof def.server === 'function' ? def.server(options, req.protocol) : (def.server ?? {})) };
  for (const kv of req.server) {
    const eq = kv.indexOf('=');
    if (eq <= 0) problems.push(`--server "${kv}": expected KEY=VALUE, e.g. --server heartbeat-ms=0`);
    else server[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
  }
  if (!req.targets.length) {
    const { errors } = parseServerOptions(server);
    problems.push(...errors.map((e) => `--server ${e}`));
  }
  if (req.targets.length && req.server.length) problems.push('--server sets options of the bundled server and cannot be used with --target');
  const nodes = req.targets.length ? req.targets.length : (req.nodes ?? def.nodes ?? 1);
  if (req.targets.length && (req.nodes ?? 1) > 1) problems.push('--nodes starts bundled nodes and cannot be used with --target (give several --target URLs instead)');
  for (const t of req.targets) {
    let u: URL | undefined;
    try {
      u = new URL(t);
    } catch {
      problems.push(`--target "${t}" is not a URL (e.g. ws://127.0.0.1:8080/ws)`);
      continue;
    }
    const ok = req.protocol === 'ws' ? ['ws:', 'wss:'] : ['http:', 'https:', 'ws:', 'wss:'];
    if (!ok.includes(u.protocol)) problems.push(`--target "${t}": scheme ${u.protocol} is not usable with --protocol ${req.protocol} (use ${ok.join(' or ')})`);
  }
  if (req.shard && (!Number.isInteger(req.shard.index) || !Number.isInteger(req.shard.count) || req.shard.count < 1 || req.shard.index < 0 || req.shard.index >= req.shard.count)) {
    problems.push(`--shard ${req.shard.index}/${req.shard.count}: expected i/N with 0 <= i < N, e.g. --shard 0/4`);
  }
  if (req.spread !== undefined) {
    try {
      spreadCycle(req.spread, req.targets.length || nodes);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (req.tokenClaims !== undefined) {
    try {
      const c = JSON.parse(req.tokenClaims) as unknown;
      if (c === null || typeof c !== 'object' || Array.isArray(c)) problems.push('--token-claims must be a JSON object, e.g. \'{"sub":"user-{client}"}\'');
    } catch (e) {
      problems.push(`--token-claims is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (req.workers !== undefined && (!Number.isInteger(req.workers) || req.workers < 1)) problems.push(`--workers ${req.workers}: expected a whole number >= 1`);
  const wrongClient = clientProblem(req.protocol, options.client, options.binary, options.compression);
  if (wrongClient) problems.push(wrongClient);
  const faults: Array<{ atMs: number; action: FaultAction; text: string }> = [];
  const targetShape = { kind: req.targets.length ? ('external' as const) : ('bundled' as const), nodes };
  const scenarioFaults = typeof def.faults === 'function' ? def.faults(options, targetShape) : (def.faults ?? []);
  for (const text of [...scenarioFaults, ...req.faults]) {
    try {
      const f = parseFault(text);
      faults.push({ ...f, text });
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  // An external target can be paused only the way the user said (src/topology/freezer.ts).
  const freezable = req.targets.length > 0 && canFreeze(server);
  if (req.targets.length && faults.some((f) => f.action.kind !== 'drop-all' && !(freezable && f.action.kind === 'pause-node'))) problems.push('node and Redis faults need the bundled server; with --target only the scenario itself can drop connections (and pause-node needs --set freeze-pid=PID or pause-command/resume-command)');
  if (problems.length) {
    throw usageError('WSB_ERR_CONFIG', problems.length === 1 ? problems[0]! : `${problems.length} problems with the run's options`, 'fix the options above; `wsbench run --help` lists them', problems.length > 1 ? problems : undefined);
  }
  return { path, def, options, server, faults, nodes };
}

/** The options, server settings and faults of a validated request (see `prepareRun`). */
export type PreparedRun = Awaited<ReturnType<typeof prepareRun>>;

/** A harness failure (exit 3) with the report of what the run saw until then, for `--out`. */
export type FailedRunError = WsbenchError & { report?: Report };

/**
 * Run one scenario end to end: validate (`prepareRun`), start the topology, fork
 * the workers, drive the phases (ramp, warm-up, steady, cool-down, finish), close
 * the ledger, run the checks and the request's `judge`, and build the report.
 * Network failures during the run are counted in the report, never thrown.
 * @throws WsbenchError exit 2 for a configuration problem (before anything starts), exit 3
 * when the topology or the workers cannot start or no client reaches the target; an exit-3
 * error carries the report of what the run saw until then (`report`, status `failed` with
 * its `cause`), see `FailedRunError`
 */
export async function runScenario(request: RunRequest, io: RunIO): Promise<RunOutcome> {
  const prepared = await prepareRun(request);
  return new RunCoordinator(request, prepared, io).execute();
}

/** How the clients of this process are spread over worker processes. */
interface WorkerPlan {
  sliceFrom: number;
  sliceClients: number;
  workers: number;
  sourceAddresses: string[];
  /** Global client range [from, to) of worker i. */
  share(i: number): readonly [number, number];
}

/** Plan this process's slice of the clients (all, or shard i of N) over worker processes. */
function planWorkers(req: RunRequest, clients: number, urls: string[], note: (line: string) => void): WorkerPlan {
  // Each process holds at most clientsPerWorker() clients.
  const perWorker = clientsPerWorker(readFdLimit());
  const sliceFrom = req.shard ? Math.floor((clients * req.shard.index) / req.shard.count) : 0;
  const sliceTo = req.shard ? Math.floor((clients * (req.shard.index + 1)) / req.shard.count) : clients;
  const sliceClients = sliceTo - sliceFrom;
  if (req.shard) note(`shard ${req.shard.index}/${req.shard.count}: clients ${sliceFrom}..${sliceTo - 1} of ${clients} (publishers and rates follow the slice)`);
  const workers = Math.max(1, Math.min(sliceClients, req.workers ?? Math.ceil(sliceClients / perWorker)));
  const sourceAddresses = planSourceAddresses(clients, urls);
  note(`${clients} clients over ${workers} worker process${workers > 1 ? 'es' : ''} (at most ${perWorker} each by this machine's descriptor limit)${sourceAddresses.length ? `, from ${sourceAddresses.length} source addresses ${sourceAddresses[0]}..${sourceAddresses.at(-1)}` : ''}`);
  const share = (i: number) => [sliceFrom + Math.floor((sliceClients * i) / workers), sliceFrom + Math.floor((sliceClients * (i + 1)) / workers)] as const;
  return { sliceFrom, sliceClients, workers, sourceAddresses, share };
}

/** What the ramp achieved. */
interface RampResult {
  connected: number;
  joined: number;
  failed: number;
}

/**
 * One run's life: target -> workers -> ramp -> warm-up, steady, cool-down -> collect ->
 * report -> checks, gates and the exit code. Each step is a method; the state they share
 * (timeline, notes, interruption) lives here.
 */
class RunCoordinator {
  private req: RunRequest;
  private readonly startedAt = new Date();
  private readonly timeline: TimelineEvent[] = [];
  private readonly notes: string[] = [];
  // Timeline times count from the first second of the per-second series (set when it starts),
  // so fault markers and phase bands line up with the series in every rendering.
  private origin = Date.now();
  private topology: Topology | undefined;
  private unexpectedExit: string | undefined;
  private interrupted = false;
  private wake: (() => void) | undefined;
  private phase: Phase = 'ramp';
  private loadT0 = Date.now();

  constructor(
    request: RunRequest,
    private readonly prepared: PreparedRun,
    private readonly io: RunIO,
  ) {
    this.req = request;
  }

  private mark(kind: TimelineEvent['kind'], name: string, detail?: string): void {
    this.timeline.push({ atMs: Math.max(0, Date.now() - this.origin), kind, name, detail });
  }

  private note(line: string): void {
    this.notes.push(line);
    this.io.info(line);
  }

  async execute(): Promise<RunOutcome> {
    try {
      await this.chooseTargets();
      this.topology = await this.startTarget();
      try {
        return await this.drive(this.topology);
      } finally {
        await this.topology.stop();
      }
    } catch (e) {
      if (isWsbenchError(e) && e.exitCode === EXIT.harness && !(e as FailedRunError).report) (e as FailedRunError).report = this.failedReport(new RunCollector(0), e, undefined);
      throw e;
    }
  }

  /** With --skip-unreachable, go on with the targets that answer. */
  private async chooseTargets(): Promise<void> {
    const req = this.req;
    if (req.targets.length <= 1 || !req.skipUnreachable) return;
    const reachable: string[] = [];
    for (const url of req.targets) {
      try {
        await probeTargets([url]);
        reachable.push(url);
      } catch (e) {
        this.note(`skipping ${url}: ${(e as Error).message.replace(/^target unreachable: /, '')}`);
      }
    }
    if (!reachable.length) throw harnessError('WSB_ERR_TARGET_UNREACHABLE', `none of the ${req.targets.length} targets is reachable`, 'start the servers, or check the URLs');
    this.req = { ...req, targets: reachable };
  }

  private async startTarget(): Promise<Topology> {
    const { req } = this;
    const { server, nodes } = this.prepared;
    // Several runs may share one Redis (--redis URL): give this run's nodes their own key space.
    if (nodes > 1 && !req.targets.length && server['redis-prefix'] === undefined) server['redis-prefix'] = `wsb:${process.pid.toString(36)}${Date.now().toString(36)}:`;
    const topology = await startTopology({ protocol: req.protocol, targets: req.targets, nodes: req.targets.length || nodes, server, redisUrl: req.redisUrl, clients: this.prepared.options.clients });
    for (const line of topology.notes) this.note(line);
    topology.onUnexpectedExit((what, code, signal, stderr) => {
      const line = `${what} exited unexpectedly (${signal ?? `code ${code}`})`;
      this.unexpectedExit ??= line;
      const said = stderr ? `; its last stderr lines:\n${stderr}` : '';
      this.mark('note', 'target-exit', line + said);
      this.io.info(`! ${line}; clients keep trying to reconnect and the failures are counted${said}`);
    });
    return topology;
  }

  private async drive(topology: Topology): Promise<RunOutcome> {
    const { req, prepared } = this;
    if (prepared.def.probe) return this.probe(topology, prepared.def.probe);
    const urls = topology.target.urls;
    if (req.targets.length && !req.token && !req.tokens && !req.secret) this.note('no --token, --token-file or --secret: clients use development tokens signed with the reference server\'s default secret');
    const plan = planWorkers(req, prepared.options.clients, urls, (line) => this.note(line));
    for (const line of conditionNotes(prepared.options)) this.note(line);
    const collector = new RunCollector(plan.workers);
    const scrapeUrls = req.scrape ?? (req.targets.length ? [] : topology.nodes.map((n) => metricsUrlOf(n.url)));
    // https: a URL given with --scrape is checked as the clients check theirs (--insecure, --ca); a bundled
    // node (tls=on) is trusted as the topology trusts it, by the self-signed certificate it made itself.
    const scrapeTls = req.scrape ? tlsClientOptionsOf(prepared.options) : { insecure: true };
    const scraper = scrapeUrls.length ? startScraper(scrapeUrls, { extraSeries: req.scrapeSeries, tls: scrapeTls }) : undefined;
    const pool = createWorkerPool(
      plan.workers,
      (m) => collector.onMessage(m),
      (id, code, signal) => collector.onWorkerExit(id, code, signal),
    );
    this.watchInterrupt();
    this.origin = Date.now();
    const ticker = this.startProgress(collector, plan, scraper);
    const faultTimers: NodeJS.Timeout[] = [];
    try {
      await this.startWorkers(pool, collector, plan, topology);
      await this.waitForStartAt();
      const ramp = await this.ramp(pool, collector, plan, urls);
      this.scheduleFaults(faultTimers, topology);
      const window = await this.measure(pool);
      await this.collect(pool, collector, plan, scraper);
      clearInterval(ticker);
      return await this.finish(collector, plan, ramp, window, topology, scraper);
    } catch (e) {
      if (isWsbenchError(e) && e.exitCode === EXIT.harness) (e as FailedRunError).report = this.failedReport(collector, e, plan, topology);
      throw e;
    } finally {
      clearInterval(ticker);
      scraper?.stop();
      for (const t of faultTimers) clearTimeout(t);
      await pool.stop();
    }
  }

  /** A probe scenario: no workers or phases; its checks are the run's checks. */
  private async probe(topology: Topology, probe: NonNullable<ScenarioDefinition['probe']>): Promise<RunOutcome> {
    const { req, prepared } = this;
    this.origin = Date.now();
    this.mark('phase', 'probe');
    const start = Date.now();
    // The token client 0 would present (--token, the first of --token-file, or a minted development token).
    const token = new TokenMinter(tokenSource(req, topology, prepared.server), 0, 0).tokenFor(0);
    const checks = await probe({ urls: topology.target.urls, target: { kind: req.targets.length ? 'external' : 'bundled', protocol: req.protocol }, options: prepared.options, server: req.targets.length ? {} : prepared.server, token, info: (line) => this.io.info(line) });
    const end = Date.now();
    this.mark('phase', 'finish');
    const report = buildReport(new RunCollector(0), { ...this.reportFrame(undefined, topology.target), status: 'completed', measuredStart: start, measuredEnd: end, rampConnected: 0, rampFailed: 0, nodes: [], dropNodeSplit: true });
    report.checks = checks;
    report.gates = req.judge ? req.judge(report) : [];
    return { report, exitCode: decideExit(report, { refuseSaturated: req.refuseSaturated, strict: req.strict === true }) };
  }

  private watchInterrupt(): void {
    void this.io.interrupted.then(() => {
      this.interrupted = true;
      this.mark('note', 'interrupted', 'stopped by the user (Ctrl-C)');
      this.wake?.();
    });
  }

  /** Sleep that Ctrl-C cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.interrupted) return resolve();
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Once a second: close the second in the aggregator and tell the user where the run is. */
  private startProgress(collector: RunCollector, plan: WorkerPlan, scraper: Scraper | undefined): NodeJS.Timeout {
    const { options } = this.prepared;
    const def = this.prepared.def;
    const rampEstimateMs = Math.ceil((options.clients / options.ramp) * 1000);
    const totalMs = rampEstimateMs + options.warmup + options.duration + options.cooldown;
    return setInterval(() => {
      const connections = collector.connectedNow();
      const row = collector.agg.tick({ connections, ...scraper?.gauges() });
      const so = collector.agg.countersSoFar();
      this.io.progress({
        scenario: def.name,
        phase: this.phase,
        elapsedMs: Date.now() - this.loadT0,
        totalMs,
        clientsConnected: connections,
        clientsTarget: plan.sliceClients,
        sentPerSec: row.counters[COUNTER.messagesSent] ?? 0,
        receivedPerSec: row.counters[COUNTER.messagesReceived] ?? 0,
        fanoutP99Us: collector.agg.percentileSoFar('fanout', 99),
        errors: sumPrefix(so, ERROR_COUNTER_PREFIX),
      });
      this.showLive(collector, plan, this.phase);
    }, 1000);
  }

  /** Hand the live sinks the run as it is now. */
  private showLive(collector: RunCollector, plan: WorkerPlan, phase: string): void {
    this.io.live?.update({
      scenario: this.prepared.def.name,
      protocol: this.req.protocol,
      phase,
      clientsConnected: collector.connectedNow(),
      clientsTarget: plan.sliceClients,
      metrics: collector.agg,
      health: collector.latestHealth,
      timeline: this.timeline,
      elapsedMs: Date.now() - this.origin,
    });
  }

  private async startWorkers(pool: WorkerPool, collector: RunCollector, plan: WorkerPlan, topology: Topology): Promise<void> {
    const { req } = this;
    const { path, options, server } = this.prepared;
    const urls = topology.target.urls;
    const tokens = tokenSource(req, topology, server);
    const spread = spreadCycle(req.spread, urls.length, topology.urlNodes);
    for (let i = 0; i < plan.workers; i++) {
      const [fromClient, toClient] = plan.share(i);
      pool.send(i, { type: 'init', workerId: i, scenario: { kind: 'file', path }, options, protocol: req.protocol, fromClient, toClient, urls, tokens, sourceAddresses: plan.sourceAddresses, spread, nodeIdentity: req.nodeIdentity !== false, splitNodes: topology.nodes.length > 1 || req.targets.length > 0, urlNodes: topology.urlNodes });
    }
    const ready = await collector.waitFor('ready', 30_000);
    if (collector.fatal || ready.length < plan.workers) throw harnessError('WSB_ERR_WORKER', `worker processes did not start: ${collector.fatal ?? collector.workerDied ?? 'timed out after 30 s'}`);
  }

  /** With --start-at, wait for the agreed wall-clock time so shards start together. */
  private async waitForStartAt(): Promise<void> {
    const at = this.req.startAt;
    if (at === undefined) return;
    const wait = at - Date.now();
    if (wait > 0) {
      this.io.info(`waiting ${(wait / 1000).toFixed(1)} s for --start-at ${new Date(at).toISOString()}`);
      await this.sleep(wait);
    } else this.note(`--start-at ${new Date(at).toISOString()} had passed by ${(-wait / 1000).toFixed(1)} s when the workers were ready; started at once`);
  }

  /**
   * Connect and join every client. The ramp may take as long as it needs while connections
   * keep opening; it gives up only when no new connection has opened for a whole stall window.
   * @throws WsbenchError (harness) when no client connected at all
   */
  private async ramp(pool: WorkerPool, collector: RunCollector, plan: WorkerPlan, urls: string[]): Promise<RampResult> {
    const { options } = this.prepared;
    this.mark('phase', 'ramp');
    this.loadT0 = Date.now();
    pool.broadcast({ type: 'phase', phase: 'ramp' });
    const stallMs = options.requestTimeoutMs + 15_000;
    let stalled = false;
    const rampWait = collector.waitFor('ramp-done', 24 * 3_600_000);
    void (async () => {
      let last = -1;
      let since = Date.now();
      while (collector.waiting('ramp-done') && !this.interrupted) {
        await new Promise((r) => setTimeout(r, 1000));
        const now = collector.connectedNow();
        if (now !== last) [last, since] = [now, Date.now()];
        else if (Date.now() - since > stallMs) {
          stalled = true;
          collector.giveUp('ramp-done');
          return;
        }
      }
    })();
    const rampDone = (await Promise.race([rampWait, this.io.interrupted.then(() => [] as FromWorker[])])) as Array<Extract<FromWorker, { type: 'ramp-done' }>>;
    for (const m of rampDone) for (const [k, v] of Object.entries(m.errorExamples ?? {})) collector.errorExamples[k] ??= v;
    // Workers that did not finish their ramp count with what their last snapshot said.
    const reported = new Set(rampDone.map((m) => m.workerId));
    const connected = rampDone.reduce((a, m) => a + m.connected, 0) + collector.connected.reduce((a, n, i) => a + (reported.has(i) ? 0 : n), 0);
    const joined = connected - rampDone.reduce((a, m) => a + (m.connected - (m.joined ?? m.connected)), 0);
    if (stalled) this.note(`the ramp stalled: no new connection for ${Math.round(stallMs / 1000)} s with ${connected} of ${plan.sliceClients} connected; going on with those`);
    if (!this.interrupted && connected === 0) throw this.noClientConnected(rampDone, collector, urls, stalled ? `no connection opened within ${Math.round(stallMs / 1000)} s` : undefined);
    const failed = plan.sliceClients - connected;
    this.mark('phase', 'ramp-done', `${connected} connected, ${failed} failed`);
    return { connected, joined, failed };
  }

  /** The harness error when not one client connected: what the first client was told. */
  private noClientConnected(rampDone: Array<Extract<FromWorker, { type: 'ramp-done' }>>, collector: RunCollector, urls: string[], stalled: string | undefined): WsbenchError {
    const first = rampDone.find((m) => m.firstError)?.firstError ?? collector.fatal ?? collector.workerDied ?? stalled ?? 'no connection succeeded';
    if (/^http_(401|403)/.test(first)) {
      return harnessError('WSB_ERR_TOKEN_REFUSED', `the server refused every client's token: ${first}`, 'give the server\'s tokens with --token or --token-file, or its signing secret with --secret (and --token-claims for its claim names)');
    }
    if (/^no_welcome/.test(first)) {
      return harnessError('WSB_ERR_NO_WELCOME', `the server accepted every WebSocket but never sent the welcome frame the dialect waits for: ${first}`, 'a wsbench/1 server greets each connection with {"type":"welcome",...}; a custom dialect without a greeting sets `awaitsWelcome: false` in its adapter');
    }
    return harnessError(
      'WSB_ERR_TARGET_UNREACHABLE',
      `could not connect any client to ${urls.join(', ')}: ${first}`,
      this.req.targets.length ? 'check that the server is running and the URL, path and token are right' : 'the bundled server refused every client; the reason above is what the first client was told',
    );
  }

  /** Faults are timed from the start of the warm-up. */
  private scheduleFaults(timers: NodeJS.Timeout[], topology: Topology): void {
    for (const f of this.prepared.faults) {
      timers.push(
        setTimeout(() => {
          this.mark('fault', formatFault(f.action), f.text);
          this.io.info(`fault: ${f.text}`);
          topology.fault(f.action).catch((e: Error) => {
            this.mark('note', 'fault-failed', `${f.text}: ${e.message}`);
            this.io.info(`! fault ${f.text} failed: ${e.message}`);
          });
        }, f.atMs),
      );
    }
  }

  /** Warm-up, steady (measured), cool-down; returns the measured window (epoch ms). */
  private async measure(pool: WorkerPool): Promise<{ start: number; end: number }> {
    const { options } = this.prepared;
    let start = 0;
    let end = 0;
    for (const [p, ms] of [
      ['warmup', options.warmup],
      ['steady', options.duration],
      ['cooldown', options.cooldown],
    ] as const) {
      if (this.interrupted) break;
      this.phase = p;
      this.mark('phase', p);
      pool.broadcast({ type: 'phase', phase: p });
      if (p === 'steady') start = Date.now();
      await this.sleep(ms);
      if (p === 'steady') end = Date.now();
    }
    if (!end && start) end = Date.now();
    return { start, end };
  }

  /** Tell the workers to finish and wait for their ledgers and last snapshots. */
  private async collect(pool: WorkerPool, collector: RunCollector, plan: WorkerPlan, scraper: Scraper | undefined): Promise<void> {
    this.phase = 'finish';
    this.mark('phase', 'finish');
    // Both waiters first: a worker answers as soon as its own backlog settled.
    const finalsDone = collector.waitFor('final', 20_000 + SETTLE_MAX_MS);
    const maxima = collector.waitFor('room-max', SETTLE_MAX_MS + 2000);
    pool.broadcast({ type: 'phase', phase: 'finish' });
    // The highest seq any worker knows per room: every worker's receivers wait for it (src/checks/settle.ts).
    const roomMax = highestSeqs((await maxima).flatMap((m) => (m.type === 'room-max' ? [m.roomMax] : [])));
    pool.broadcast({ type: 'settle', roomMax });
    const finals = await finalsDone;
    if (finals.length < plan.workers) this.notes.push(`only ${finals.length} of ${plan.workers} workers reported their ledger: ${collector.fatal ?? collector.workerDied ?? 'timed out'}`);
    const short = shortfallNote(finals.flatMap((f) => (f.type === 'final' && f.settle ? [f.settle] : [])));
    if (short) this.notes.push(short);
    // Let the last snapshots (sent just before `final`) arrive.
    collector.agg.tick({ connections: 0, ...scraper?.gauges() });
  }

  /** Close the books, build the report, judge checks and gates, decide the exit code. */
  private async finish(collector: RunCollector, plan: WorkerPlan, ramp: RampResult, window: { start: number; end: number }, topology: Topology, scraper: Scraper | undefined): Promise<RunOutcome> {
    const { req, prepared } = this;
    const nodes = await topology.scrapeStats();
    const serverSide = scraper?.finish(window.start, window.end);
    if (serverSide?.failures) this.notes.push(`--scrape: ${serverSide.failures} of ${serverSide.failures + serverSide.scrapes} scrapes of the server's metrics failed (${(serverSide.errors ?? []).join('; ')})`);
    // The local/remote split needs two nodes; say so when the servers never told which node a client was on.
    const sharedIds = sharedNodeIds(collector.nodeClients, topology.urlNodes);
    this.notes.push(...sharedNodeIdNotes(sharedIds, topology.target.urls));
    const namedNodes = Object.keys(collector.nodeClients).filter((k) => !k.startsWith('url:'));
    const dropNodeSplit = topology.nodes.length === 1 && namedNodes.length < 2;
    if (dropNodeSplit && req.targets.length && namedNodes.length === 0) this.notes.push('node identity unknown: the server did not name its node (welcome `node` field), so there is no local/remote split');
    const ledger = judgeLedger({ tallies: collector.tallies.values(), windows: collector.tagWindows, logs: collector.publisherLogs, untagged: collector.agg.countersSoFar()[COUNTER.messagesUntagged] ?? 0 });
    this.notes.push(...ledger.notes);
    const status: Report['status'] = this.interrupted ? 'interrupted' : collector.fatal || collector.workerDied ? 'failed' : 'completed';
    if (collector.fatal) this.notes.push(`worker error: ${collector.fatal}`);
    if (collector.workerDied) this.notes.push(collector.workerDied);
    const report = buildReport(collector, {
      ...this.reportFrame(plan, topology.target),
      status,
      measuredStart: window.start,
      measuredEnd: window.end,
      rampConnected: ramp.connected,
      rampFailed: ramp.failed,
      nodes: nodeBreakdown(nodes, countsByNode(countsByUrl(collector.nodeClients, sharedIds), topology.urlNodes)),
      ledger,
      dropNodeSplit,
    });
    if (serverSide) report.server = serverSide;
    report.notes.push(...wireNotes(report.counters));
    report.checks = runChecks({ def: prepared.def, report, options: prepared.options, sliceClients: plan.sliceClients, rampConnected: ramp.connected, rampJoined: ramp.joined, ledger, unexpectedExit: this.unexpectedExit, examples: collector.examples });
    report.gates = req.judge ? req.judge(report) : [];
    this.showLive(collector, plan, 'done');
    return { report, exitCode: decideExit(report, { refuseSaturated: req.refuseSaturated, strict: req.strict === true }) };
  }

  /** The parts of the report every ending shares. */
  private reportFrame(plan: WorkerPlan | undefined, target: TargetInfo): Pick<ReportInput, 'scenario' | 'target' | 'startedAt' | 'timeline' | 'notes' | 'workerClients'> {
    const { req } = this;
    const { def, options, server, faults } = this.prepared;
    return {
      scenario: { name: def.name, description: def.description, options: { ...options, protocol: req.protocol, server, faults: faults.map((f) => f.text), ...(req.shard ? { shard: `${req.shard.index}/${req.shard.count}` } : {}) } },
      target,
      startedAt: this.startedAt,
      timeline: this.timeline,
      notes: this.notes,
      workerClients: plan ? Array.from({ length: plan.workers }, (_, i) => plan.share(i)[1] - plan.share(i)[0]) : [],
    };
  }

  /** The report of a run that failed (exit 3): what it saw until then, with the cause. */
  private failedReport(collector: RunCollector, e: WsbenchError, plan: WorkerPlan | undefined, topology?: Topology): Report {
    const target: TargetInfo = topology?.target ?? { kind: this.req.targets.length ? 'external' : 'bundled', protocol: this.req.protocol, nodes: this.req.targets.length || this.prepared.nodes, urls: this.req.targets };
    const connected = collector.connectedNow();
    this.mark('note', 'failed', e.message);
    return buildReport(collector, {
      ...this.reportFrame(plan, target),
      status: 'failed',
      cause: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
      measuredStart: 0,
      measuredEnd: 0,
      rampConnected: connected,
      rampFailed: (plan?.sliceClients ?? 0) - connected,
      nodes: [],
      dropNodeSplit: true,
    });
  }
}

function tokenSource(req: RunRequest, topology: Topology, server: Record<string, string>): TokenSource {
  if (req.token) return { mode: 'single', token: req.token };
  if (req.tokens?.length) return { mode: 'list', tokens: req.tokens };
  // With no token source, external servers get development tokens: the reference server's
  // default secret, so pointing wsbench at a `wsbench serve` works with no setup.
  const ttl = req.tokenTtlSec ?? 3600;
  if (req.targets.length) return { mode: 'mint', secret: req.secret ?? DEV_SECRET, expiresInSec: ttl, claims: req.tokenClaims };
  if (server.auth === 'off') return { mode: 'none' };
  return { mode: 'mint', secret: req.secret ?? server.secret ?? topology.secret ?? DEV_SECRET, expiresInSec: ttl, claims: req.tokenClaims };
}

/**
 * Past about 28,000 connections per (source, destination) the ephemeral ports run
 * out, and the kernel's port search slows past ~7,000 per source address
 * (LOOPBACK.md): past 7,000 clients per loopback target, spread them over
 * 127.R.x.y source addresses, 4,000 each, with a random second octet per run so
 * TIME_WAIT sockets of a previous run do not slow this one. `limits` defaults to
 * {@link sourceSpreadLimits}.
 */
export function planSourceAddresses(clients: number, urls: string[], limits = sourceSpreadLimits()): string[] {
  const perUrl = clients / Math.max(1, urls.length);
  const loopback = urls.every((u) => {
    const host = new URL(u).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'));
  });
  if (!loopback || perUrl <= limits.threshold) return [];
  const n = Math.ceil(clients / limits.perAddress);
  const octet = 2 + Math.floor(Math.random() * 250);
  return Array.from({ length: n }, (_, i) => `127.${octet}.${Math.floor(i / 250)}.${(i % 250) + 2}`);
}

/**
 * When source addresses are spread: past `threshold` clients per loopback target
 * (default 7000), `perAddress` clients per source address (default 4000). A test
 * hook, `WSBENCH_SOURCE_SPREAD=THRESHOLD:PER_ADDRESS` (e.g. `20:10`), lowers both so
 * a run of a few dozen clients exercises the spread (test/cli/run.test.ts).
 */
export function sourceSpreadLimits(env: NodeJS.ProcessEnv = process.env): { threshold: number; perAddress: number } {
  const m = /^(\d+):(\d+)$/.exec(env.WSBENCH_SOURCE_SPREAD ?? '');
  if (!m || Number(m[2]) < 1) return { threshold: 7000, perAddress: 4000 };
  return { threshold: Number(m[1]), perAddress: Number(m[2]) };
}

/**
 * `round-robin` -> [] (client i -> URL i mod n); `weighted:3,1` -> [0,0,0,1] (client i -> cycle[i mod 4]).
 * `urlNodes` (Topology.urlNodes): with one weight per node where nodes have several URLs (per-worker ports), every URL gets its node's weight.
 * @throws on a malformed spread or one that does not match the number of targets
 */
export function spreadCycle(spread: string | undefined, targets: number, urlNodes: readonly number[] = []): number[] {
  if (spread === undefined || spread === 'round-robin') return [];
  const m = /^weighted:(\d+(?:,\d+)*)$/.exec(spread.trim());
  if (!m) throw usageError('WSB_ERR_SPREAD', `--spread "${spread}": expected round-robin or weighted:W1,W2,... (one whole-number weight per target)`);
  let weights = m[1]!.split(',').map(Number);
  // One weight per bundled node whose workers each have a URL (ports=per-worker): each worker URL gets its node's weight.
  if (weights.length !== targets && weights.length === new Set(urlNodes).size) weights = urlNodes.map((n) => weights[n]!);
  if (weights.length !== targets) throw usageError('WSB_ERR_SPREAD', `--spread "${spread}" has ${weights.length} weights for ${targets} target${targets === 1 ? '' : 's'}`);
  if (weights.every((w) => w === 0)) throw usageError('WSB_ERR_SPREAD', `--spread "${spread}": at least one weight must be above 0`);
  return weights.flatMap((w, i) => new Array<number>(w).fill(i));
}

/**
 * Clients per node for the report, from `<url index>|<node name>` counts: each target keeps its
 * entry, renamed to the node its server announced when exactly one answered behind it; behind
 * a URL that several nodes answer (a load balancer), each becomes an entry of its own.
 */
export function nodeBreakdown(nodes: NodeReport[], counts: Record<string, number>): NodeReport[] {
  const out: NodeReport[] = [];
  nodes.forEach((n, i) => {
    const behind = Object.entries(counts)
      .filter(([k]) => k.startsWith(`${i}|`))
      .map(([k, v]) => ({ name: k.slice(k.indexOf('|') + 1), clients: v }));
    const named = behind.filter((x) => x.name);
    if (named.length <= 1) {
      const clients = behind.reduce((s, x) => s + x.clients, 0);
      const id = named[0] && (n.id.startsWith('t') || n.id === named[0].name) ? named[0].name : n.id;
      out.push({ ...n, id, clients });
    } else {
      for (const x of behind) out.push({ id: x.name || `${n.id}?`, url: n.url, clients: x.clients, learned: true, ...(x.name === n.id && n.stats ? { stats: n.stats } : {}) });
    }
  });
  return out;
}

function sumPrefix(c: Record<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith(prefix)) s += v;
  return s;
}
