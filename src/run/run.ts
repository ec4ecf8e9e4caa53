/**
 * One run, end to end: load the scenario -> start the topology -> fork workers ->
 * ramp, warm up, measure, cool down -> collect -> checks and gates -> report.
 * Returns the report and the exit code; printing and files are the caller's
 * (src/cli) business, through the `io` callbacks.
 */
import os from 'node:os';
import { isIP } from 'node:net';
import type { CheckResult, NodeReport, Report, TimelineEvent, WorkerHealth } from '../report/schema.ts';
import { REPORT_SCHEMA } from '../report/schema.ts';
import type { CommonOptions, ObservationSummary, ScenarioDefinition } from '../scenario/types.ts';
import type { Observation } from '../workers/runtime.ts';
import type { FromWorker, Phase, TokenSource } from '../workers/messages.ts';
import type { HealthSample } from '../metrics/types.ts';
import type { ProgressState } from '../output/types.ts';
import type { FaultAction, Topology } from '../topology/types.ts';
import { createAggregator, judgeSaturation, peakRatePerSec, summarizeWorkerHealth } from '../metrics/index.ts';
import { loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts';
import { resolveOptions } from '../scenario/options.ts';
import { startTopology, parseFault, formatFault, probeTargets, canFreeze } from '../topology/index.ts';
import { createWorkerPool } from '../workers/pool.ts';
import { clientsPerWorker, readFdLimit } from '../workers/limits.ts';
import { countsByUrl, sharedNodeIdNotes, sharedNodeIds } from '../topology/node-identity.ts';
import { closeLedger, mergeTallies, type RoomTally } from '../checks/ledger.ts';
import { builtinChecks } from '../checks/builtin.ts';
import { EXIT, harnessError, usageError, type ExitCode } from '../errors.ts';
import { DEV_SECRET } from '../protocol/jwt.ts';
import { parseServerOptions } from '../../servers/core/options.ts';
import { toolInfo, gitSha } from './tool.ts';

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
  /** Gates and checks added by later layers (src/gates), evaluated on the finished report. */
  judge?: (report: Report) => Report['gates'];
}

/** How a run talks to its caller while it runs; the CLI prints, tests collect. */
export interface RunIO {
  /** The live state, about once a second (for the progress line). */
  progress(state: ProgressState): void;
  /** One line of information for the user (what the engine chose, faults, ...). */
  info(line: string): void;
  /** Resolves when the user asked to stop (Ctrl-C). */
  interrupted: Promise<void>;
}

/** A finished run: its report, and the exit code it earned (130 when interrupted). */
export interface RunOutcome {
  /** The report as written to JSON (`wsbench.report/1`). */
  report: Report;
  /** 0 pass, 1 a check failed, 3 harness or target failure, 4 saturated with `refuseSaturated`, 130 interrupted. */
  exitCode: ExitCode | 130;
}

/** Validate everything about a request that can be checked without starting anything. */
export async function prepareRun(req: RunRequest): Promise<{ path: string; def: ScenarioDefinition; options: Record<string, unknown> & CommonOptions; server: Record<string, string>; faults: Array<{ atMs: number; action: FaultAction; text: string }>; nodes: number }> {
  const path = resolveScenarioPath(req.scenario);
  const def = await loadScenarioFile(path);
  const { options, problems } = resolveOptions(def, req.flags as Record<string, string | undefined>, req.sets);
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

/**
 * Run one scenario end to end: validate (`prepareRun`), start the topology, fork
 * the workers, drive the phases (ramp, warm-up, steady, cool-down, finish), close
 * the ledger, run the checks and the request's `judge`, and build the report.
 * Network failures during the run are counted in the report, never thrown.
 * @throws WsbenchError exit 2 for a configuration problem (before anything starts), exit 3 when the topology or the workers cannot start or no client reaches the target
 */
export async function runScenario(request: RunRequest, io: RunIO): Promise<RunOutcome> {
  let req = request;
  const prepared = await prepareRun(req);
  const { path, def, options, server, faults, nodes: nodeCount } = prepared;
  const startedAt = new Date();
  const t0 = Date.now();
  const timeline: TimelineEvent[] = [];
  const notes: string[] = [];
  // Timeline times count from the first second of the per-second series (set when it starts),
  // so fault markers and phase bands line up with the series in every rendering.
  let origin = t0;
  const mark = (kind: TimelineEvent['kind'], name: string, detail?: string) => timeline.push({ atMs: Math.max(0, Date.now() - origin), kind, name, detail });
  const note = (line: string) => {
    notes.push(line);
    io.info(line);
  };

  // 1. Target.
  if (req.targets.length > 1 && req.skipUnreachable) {
    const reachable: string[] = [];
    for (const url of req.targets) {
      try {
        await probeTargets([url]);
        reachable.push(url);
      } catch (e) {
        note(`skipping ${url}: ${(e as Error).message.replace(/^target unreachable: /, '')}`);
      }
    }
    if (!reachable.length) throw harnessError('WSB_ERR_TARGET_UNREACHABLE', `none of the ${req.targets.length} targets is reachable`, 'start the servers, or check the URLs');
    req = { ...req, targets: reachable };
  }
  // Several runs may share one Redis (--redis URL): give this run's nodes their own key space.
  if (nodeCount > 1 && !req.targets.length && server['redis-prefix'] === undefined) server['redis-prefix'] = `wsb:${process.pid.toString(36)}${Date.now().toString(36)}:`;
  const topology: Topology = await startTopology({ protocol: req.protocol, targets: req.targets, nodes: req.targets.length || nodeCount, server, redisUrl: req.redisUrl, clients: options.clients });
  for (const line of topology.notes) note(line);
  let unexpectedExit: string | undefined;
  topology.onUnexpectedExit((what, code, signal, stderr) => {
    const line = `${what} exited unexpectedly (${signal ?? `code ${code}`})`;
    unexpectedExit ??= line;
    const said = stderr ? `; its last stderr lines:\n${stderr}` : '';
    mark('note', 'target-exit', line + said);
    io.info(`! ${line}; clients keep trying to reconnect and the failures are counted${said}`);
  });

  try {
    return await drive();
  } finally {
    await topology.stop();
  }

  async function drive(): Promise<RunOutcome> {
    const urls = topology.target.urls;
    const tokens = tokenSource(req, topology, server);
    if (req.targets.length && !req.token && !req.tokens && !req.secret) note('no --token, --token-file or --secret: clients use development tokens signed with the reference server\'s default secret');

    // 2. Workers: each process holds at most clientsPerWorker() clients.
    const perWorker = clientsPerWorker(readFdLimit());
    // This process's slice of the clients: all of them, or shard i of N.
    const sliceFrom = req.shard ? Math.floor((options.clients * req.shard.index) / req.shard.count) : 0;
    const sliceTo = req.shard ? Math.floor((options.clients * (req.shard.index + 1)) / req.shard.count) : options.clients;
    const sliceClients = sliceTo - sliceFrom;
    if (req.shard) note(`shard ${req.shard.index}/${req.shard.count}: clients ${sliceFrom}..${sliceTo - 1} of ${options.clients} (publishers and rates follow the slice)`);
    const workers = Math.max(1, Math.min(sliceClients, req.workers ?? Math.ceil(sliceClients / perWorker)));
    const sourceAddresses = planSourceAddresses(options.clients, urls);
    note(`${options.clients} clients over ${workers} worker process${workers > 1 ? 'es' : ''} (at most ${perWorker} each by this machine's descriptor limit)${sourceAddresses.length ? `, from ${sourceAddresses.length} source addresses ${sourceAddresses[0]}..${sourceAddresses.at(-1)}` : ''}`);

    const agg = createAggregator();
    const connected = new Array<number>(workers).fill(0);
    const healthSamples: HealthSample[][] = Array.from({ length: workers }, () => []);
    const waiters = new Map<string, { need: number; got: FromWorker[]; resolve: (m: FromWorker[]) => void }>();
    const tallies = new Map<string, RoomTally>();
    const nodeClients: Record<string, number> = {};
    const spread = spreadCycle(req.spread, urls.length);
    const examples: Record<string, number[]> = {};
    const observations = new Map<string, Observation>();
    let fatal: string | undefined;
    let workerDied: string | undefined;

    const waitFor = (type: FromWorker['type'], timeoutMs: number) =>
      new Promise<FromWorker[]>((resolve) => {
        const w = { need: workers, got: [] as FromWorker[], resolve };
        waiters.set(type, w);
        setTimeout(() => {
          if (waiters.get(type) === w) {
            waiters.delete(type);
            resolve(w.got);
          }
        }, timeoutMs).unref();
      });

    const onMessage = (m: FromWorker) => {
      switch (m.type) {
        case 'snapshot':
          agg.add(m.metrics, { measured: m.measured });
          connected[m.workerId] = m.status.connected;
          if (m.phase === 'steady') healthSamples[m.workerId]!.push(m.health);
          break;
        case 'final':
          mergeTallies(tallies, m.tallies);
          for (const [k, n] of Object.entries(m.nodeClients)) nodeClients[k] = (nodeClients[k] ?? 0) + n;
          for (const [k, v] of Object.entries(m.examples)) (examples[k] ??= []).push(...v.slice(0, 5 - (examples[k]?.length ?? 0)));
          for (const [k, o] of Object.entries(m.observations)) mergeObservation(observations, k, o);
          break;
        case 'fatal':
          fatal ??= m.message;
          break;
      }
      const w = waiters.get(m.type);
      if (w) {
        w.got.push(m);
        if (w.got.length >= w.need) {
          waiters.delete(m.type);
          w.resolve(w.got);
        }
      }
      if (m.type === 'fatal') for (const w2 of waiters.values()) w2.resolve(w2.got);
    };
    const pool = createWorkerPool(workers, onMessage, (id, code, signal) => {
      workerDied ??= `worker ${id} exited (${signal ?? `code ${code}`})`;
      for (const w of waiters.values()) w.resolve(w.got);
    });

    let interrupted = false;
    let wake: (() => void) | undefined;
    void io.interrupted.then(() => {
      interrupted = true;
      mark('note', 'interrupted', 'stopped by the user (Ctrl-C)');
      wake?.();
    });
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        if (interrupted) return resolve();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });

    let phase: Phase = 'ramp';
    let loadT0 = Date.now();
    const rampEstimateMs = Math.ceil((options.clients / options.ramp) * 1000);
    const clientsTarget = sliceClients;
    const totalMs = rampEstimateMs + options.warmup + options.duration + options.cooldown;
    origin = Date.now();
    const ticker = setInterval(() => {
      const connections = connected.reduce((a, b) => a + b, 0);
      const row = agg.tick({ connections });
      const so = agg.countersSoFar();
      io.progress({
        scenario: def.name,
        phase,
        elapsedMs: Date.now() - loadT0,
        totalMs,
        clientsConnected: connections,
        clientsTarget,
        sentPerSec: row.counters['messages.sent'] ?? 0,
        receivedPerSec: row.counters['messages.received'] ?? 0,
        fanoutP99Us: agg.percentileSoFar('fanout', 99),
        errors: sumPrefix(so, 'errors.'),
      });
    }, 1000);

    const faultTimers: NodeJS.Timeout[] = [];
    let measuredStart = 0;
    let measuredEnd = 0;
    try {
      // 3. Start the workers.
      const share = (i: number) => [sliceFrom + Math.floor((sliceClients * i) / workers), sliceFrom + Math.floor((sliceClients * (i + 1)) / workers)] as const;
      for (let i = 0; i < workers; i++) {
        const [fromClient, toClient] = share(i);
        pool.send(i, { type: 'init', workerId: i, scenario: { kind: 'file', path }, options, protocol: req.protocol, fromClient, toClient, urls, tokens, sourceAddresses, spread, nodeIdentity: req.nodeIdentity !== false, splitNodes: urls.length > 1 || req.targets.length > 0 });
      }
      const ready = await waitFor('ready', 30_000);
      if (fatal || ready.length < workers) throw harnessError('WSB_ERR_WORKER', `worker processes did not start: ${fatal ?? workerDied ?? 'timed out after 30 s'}`);

      // 4. Ramp.
      if (req.startAt !== undefined) {
        const wait = req.startAt - Date.now();
        if (wait > 0) {
          io.info(`waiting ${(wait / 1000).toFixed(1)} s for --start-at ${new Date(req.startAt).toISOString()}`);
          await sleep(wait);
        } else note(`--start-at ${new Date(req.startAt).toISOString()} had passed by ${(-wait / 1000).toFixed(1)} s when the workers were ready; started at once`);
      }
      mark('phase', 'ramp');
      loadT0 = Date.now();
      pool.broadcast({ type: 'phase', phase: 'ramp' });
      // The ramp may take as long as it needs while connections keep opening; it gives up
      // only when no new connection has opened for a whole stall window.
      const stallMs = options.requestTimeoutMs + 15_000;
      let stalled = false;
      const rampWait = waitFor('ramp-done', 24 * 3_600_000);
      const watchdog = (async () => {
        let last = -1;
        let since = Date.now();
        while (waiters.has('ramp-done') && !interrupted) {
          await new Promise((r) => setTimeout(r, 1000));
          const now = connected.reduce((a, b) => a + b, 0);
          if (now !== last) [last, since] = [now, Date.now()];
          else if (Date.now() - since > stallMs) {
            stalled = true;
            const w = waiters.get('ramp-done');
            waiters.delete('ramp-done');
            w?.resolve(w.got);
            return;
          }
        }
      })();
      const rampDone = (await Promise.race([rampWait, io.interrupted.then(() => [] as FromWorker[])])) as Array<Extract<FromWorker, { type: 'ramp-done' }>>;
      void watchdog;
      // Workers that did not finish their ramp count with what their last snapshot said.
      const reported = new Set(rampDone.map((m) => m.workerId));
      const rampConnected = rampDone.reduce((a, m) => a + m.connected, 0) + connected.reduce((a, n, i) => a + (reported.has(i) ? 0 : n), 0);
      if (stalled) note(`the ramp stalled: no new connection for ${Math.round(stallMs / 1000)} s with ${rampConnected} of ${sliceClients} connected; going on with those`);
      if (!interrupted && rampConnected === 0) {
        const first = rampDone.find((m) => m.firstError)?.firstError ?? fatal ?? workerDied ?? (stalled ? `no connection opened within ${Math.round(stallMs / 1000)} s` : 'no connection succeeded');
        const refused = /^http_(401|403)/.test(first);
        throw harnessError(
          refused ? 'WSB_ERR_TOKEN_REFUSED' : 'WSB_ERR_TARGET_UNREACHABLE',
          refused ? `the server refused every client's token: ${first}` : `could not connect any client to ${urls.join(', ')}: ${first}`,
          refused
            ? 'give the server\'s tokens with --token or --token-file, or its signing secret with --secret (and --token-claims for its claim names)'
            : req.targets.length
              ? 'check that the server is running and the URL, path and token are right'
              : 'the bundled server refused every client; the reason above is what the first client was told',
        );
      }
      const rampFailed = sliceClients - rampConnected;
      mark('phase', 'ramp-done', `${rampConnected} connected, ${rampFailed} failed`);

      // 5. Warm-up, steady (measured), cool-down. Faults are timed from the start of the warm-up.
      for (const f of faults) {
        faultTimers.push(
          setTimeout(() => {
            mark('fault', formatFault(f.action), f.text);
            io.info(`fault: ${f.text}`);
            topology.fault(f.action).catch((e: Error) => {
              mark('note', 'fault-failed', `${f.text}: ${e.message}`);
              io.info(`! fault ${f.text} failed: ${e.message}`);
            });
          }, f.atMs),
        );
      }
      for (const [p, ms] of [
        ['warmup', options.warmup],
        ['steady', options.duration],
        ['cooldown', options.cooldown],
      ] as const) {
        if (interrupted) break;
        phase = p;
        mark('phase', p);
        pool.broadcast({ type: 'phase', phase: p });
        if (p === 'steady') measuredStart = Date.now();
        await sleep(ms);
        if (p === 'steady') measuredEnd = Date.now();
      }
      if (!measuredEnd && measuredStart) measuredEnd = Date.now();

      // 6. Collect.
      phase = 'finish';
      mark('phase', 'finish');
      pool.broadcast({ type: 'phase', phase: 'finish' });
      const finals = await waitFor('final', 20_000);
      if (finals.length < workers) notes.push(`only ${finals.length} of ${workers} workers reported their ledger: ${fatal ?? workerDied ?? 'timed out'}`);
      // Let the last snapshots (sent just before `final`) arrive.
      clearInterval(ticker);
      agg.tick({ connections: 0 });
      const nodes = await topology.scrapeStats();
      const totals = agg.totals();
      // The local/remote split needs two nodes; say so when the servers never told which node a client was on.
      const sharedIds = sharedNodeIds(nodeClients);
      for (const line of sharedNodeIdNotes(sharedIds, urls)) notes.push(line);
      const namedNodes = Object.keys(nodeClients).filter((k) => !k.startsWith('url:'));
      if (urls.length === 1 && namedNodes.length < 2) {
        delete totals.metrics['fanout.local'];
        delete totals.metrics['fanout.remote'];
        if (req.targets.length && namedNodes.length === 0) notes.push('node identity unknown: the server did not name its node (welcome `node` field), so there is no local/remote split');
      }
      const ledger = closeLedger(tallies.values());
      if (!ledger.exact) notes.push('some deliveries carried no sequence number, so losses could not be proven either way (ledger counts deliveries only)');
      const measuredMs = Math.max(1, measuredEnd - measuredStart);
      // Whole-run counts for the report; measured-window counts for the rates.
      const counters = agg.countersSoFar();
      const measuredCounters = totals.counters;
      const workerHealth: WorkerHealth[] = healthSamples.map((s, i) => {
        const [a, b] = share(i);
        return summarizeWorkerHealth(i, b - a, s);
      });
      const verdict = judgeSaturation(workerHealth);
      const generatorHealth = {
        processes: workers,
        saturated: verdict.saturated,
        reason: verdict.reason,
        eventLoopDelayP99Us: Math.max(0, ...workerHealth.map((w) => w.eventLoopDelayP99Us)),
        cpuPercent: Math.max(0, ...workerHealth.map((w) => w.cpuPercent)),
        rssBytesPeak: Math.max(0, ...workerHealth.map((w) => w.rssBytesPeak)),
        workers: workerHealth.map(({ id, clients, eventLoopDelayP99Us, cpuPercent, rssBytesPeak }) => ({ id, clients, eventLoopDelayP99Us, cpuPercent, rssBytesPeak })),
      };
      const status: Report['status'] = interrupted ? 'interrupted' : fatal || workerDied ? 'failed' : 'completed';
      if (fatal) notes.push(`worker error: ${fatal}`);
      if (workerDied) notes.push(workerDied);
      const rates = {
        messagesSentPerSec: round1(((measuredCounters['messages.sent'] ?? 0) * 1000) / measuredMs),
        deliveriesPerSec: round1(((measuredCounters['messages.received'] ?? 0) * 1000) / measuredMs),
        connectsPerSec: round1((rampConnected * 1000) / Math.max(1, timeline.find((e) => e.name === 'ramp-done')!.atMs - timeline.find((e) => e.name === 'ramp')!.atMs)),
      };
      const endedAt = new Date();
      const report: Report = {
        schema: REPORT_SCHEMA,
        tool: toolInfo(),
        ...(gitSha() ? { git: { sha: gitSha()! } } : {}),
        machine: { hostname: os.hostname(), platform: process.platform, arch: process.arch, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemBytes: os.totalmem(), node: process.version },
        scenario: { name: def.name, description: def.description, options: { ...options, protocol: req.protocol, server, faults: faults.map((f) => f.text), ...(req.shard ? { shard: `${req.shard.index}/${req.shard.count}` } : {}) } },
        target: topology.target,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
        durationMs: endedAt.getTime() - startedAt.getTime(),
        measuredMs,
        status,
        timeline,
        metrics: totals.metrics,
        counters: { ...counters, 'clients.connected.ramp': rampConnected, 'clients.failed.ramp': rampFailed },
        rates,
        ledger: ledger.total,
        rooms: ledger.rooms.slice(0, 50),
        checks: [],
        gates: [],
        generator: generatorHealth,
        series: agg.series(),
        nodes: nodeBreakdown(nodes, countsByUrl(nodeClients, sharedIds)),
        ...(observations.size ? { observations: summarizeObservations(observations) } : {}),
        notes,
      };
      const checks: CheckResult[] = builtinChecks({ report, options: { ...options, clients: sliceClients }, rampConnected, ledgerExact: ledger.exact, unexpectedExit, examples, published: def.publish !== false && options.rate > 0 });
      if (def.checks) {
        try {
          checks.push(
            ...def.checks({
              options,
              metrics: report.metrics,
              counters: report.counters,
              ledger: report.ledger,
              rooms: ledger.rooms,
              rates,
              durationMs: measuredMs,
              observations: report.observations ?? {},
              examples,
              target: report.target,
              rampConnected,
              series: report.series,
              timeline: report.timeline,
              peakRatePerSec: (metric, windowMs) => (report.metrics[metric] ? peakRatePerSec(report.metrics[metric]!.hdr, windowMs * 1000) : 0),
            }),
          );
        } catch (e) {
          checks.push({ name: 'scenario.checks', passed: false, detail: `the scenario's checks threw: ${(e as Error).message}` });
        }
      }
      report.checks = checks;
      report.gates = req.judge ? req.judge(report) : [];
      let exitCode: ExitCode | 130 = EXIT.pass;
      if (checks.some((c) => !c.passed) || report.gates.some((g) => !g.passed)) exitCode = EXIT.failed;
      if (req.refuseSaturated && generatorHealth.saturated) exitCode = EXIT.saturated;
      if (status === 'failed') exitCode = EXIT.harness;
      if (interrupted) exitCode = 130;
      return { report, exitCode };
    } finally {
      clearInterval(ticker);
      for (const t of faultTimers) clearTimeout(t);
      await pool.stop();
    }
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
 * TIME_WAIT sockets of a previous run do not slow this one.
 */
export function planSourceAddresses(clients: number, urls: string[]): string[] {
  const perUrl = clients / Math.max(1, urls.length);
  const loopback = urls.every((u) => {
    const host = new URL(u).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'));
  });
  if (!loopback || perUrl <= 7000) return [];
  const n = Math.ceil(clients / 4000);
  const octet = 2 + Math.floor(Math.random() * 250);
  return Array.from({ length: n }, (_, i) => `127.${octet}.${Math.floor(i / 250)}.${(i % 250) + 2}`);
}

function mergeObservation(into: Map<string, Observation>, key: string, o: Observation): void {
  const cur = into.get(key);
  if (!cur) return void into.set(key, { ...o });
  cur.count += o.count;
  cur.sum += o.sum;
  if (o.min < cur.min) [cur.min, cur.minClient] = [o.min, o.minClient];
  if (o.max > cur.max) [cur.max, cur.maxClient] = [o.max, o.maxClient];
}

function summarizeObservations(m: Map<string, Observation>): Record<string, ObservationSummary> {
  const out: Record<string, ObservationSummary> = {};
  for (const [k, o] of m) out[k] = { count: o.count, min: o.min, max: o.max, mean: o.count ? o.sum / o.count : 0, minClient: o.minClient, maxClient: o.maxClient };
  return out;
}

/**
 * `round-robin` -> [] (client i -> URL i mod n); `weighted:3,1` -> [0,0,0,1] (client i -> cycle[i mod 4]).
 * @throws on a malformed spread or one that does not match the number of targets
 */
export function spreadCycle(spread: string | undefined, targets: number): number[] {
  if (spread === undefined || spread === 'round-robin') return [];
  const m = /^weighted:(\d+(?:,\d+)*)$/.exec(spread.trim());
  if (!m) throw usageError('WSB_ERR_SPREAD', `--spread "${spread}": expected round-robin or weighted:W1,W2,... (one whole-number weight per target)`);
  const weights = m[1]!.split(',').map(Number);
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

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

