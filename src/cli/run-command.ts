/** `wsbench run <scenario>`: flags -> RunRequest -> runScenario -> outputs -> exit code. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import pc from 'picocolors';
import type { Report } from '../report/schema.ts';
import type { CommonOptions } from '../scenario/types.ts';
import { runScenario, prepareRun, type RunRequest, type RunOutcome, type RunIO, type FailedRunError } from '../run/run.ts';
import { expandVariants, summarizeVariant, type Variant } from '../run/variants.ts';
import { loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts';
import { createProgressPrinter, renderTable, writeJsonReport, readJsonReport, renderHtml, renderJunit, renderMarkdown, renderVariants } from '../output/index.ts';
import { parseGates, parseGatesFile, validateGateMetricNames, GATE_METRIC_CODE } from '../gates/index.ts';
import { judgeTrials, worstExit } from '../run/exit-decision.ts';
import type { Gate } from '../gates/index.ts';
import { EXIT, usageError } from '../errors.ts';
import { parseDuration, parseWholeNumber, type Parsed } from '../units/index.ts';
import { watchInterrupt } from './interrupt.ts';
import { startPrometheusExporter } from '../observe/prometheus.ts';
import { otlpEndpoint, startOtlpExporter } from '../observe/otlp.ts';
import { parseListen } from '../observe/listen.ts';
import { startLivePage } from '../observe/live-page.ts';
import { combineSinks, type LiveSink } from '../observe/live.ts';
import { readTokenFile } from './token-file.ts';
import { processIO, type CliIO } from './io.ts';
import { ProblemList } from './problems.ts';

/** `run`'s flags as commander hands them over: raw strings, parsed by {@link collectRequest}. */
export interface RunFlags {
  clients?: string;
  rooms?: string;
  duration?: string;
  warmup?: string;
  cooldown?: string;
  ramp?: string;
  rate?: string;
  payloadBytes?: string;
  publishers?: string;
  seed?: string;
  protocol: 'ws' | 'socketio';
  target: string[];
  token?: string;
  tokenFile?: string;
  secret?: string;
  tokenClaims?: string;
  tokenTtl?: string;
  spread?: string;
  nodeIdentity?: 'server' | 'url';
  skipUnreachable?: boolean;
  server: string[];
  nodes?: string;
  redis?: string;
  fault: string[];
  set: string[];
  workers?: string;
  shard?: string;
  startAt?: string;
  out?: string;
  json?: boolean;
  html?: string;
  junit?: string;
  summaryMd?: string;
  gate: string[];
  gates?: string;
  baseline?: string;
  repeat: string;
  refuseSaturated?: boolean;
  prometheus?: string;
  otlp?: string;
  otlpInterval?: string;
  live?: string | boolean;
  scrape?: string[];
  scrapeSeries?: string[];
  /** `--strict`: an unverified check exits 1. */
  strict?: boolean;
  quiet?: boolean;
}

const COMMON_FLAGS: Array<keyof CommonOptions & keyof RunFlags> = ['clients', 'rooms', 'duration', 'warmup', 'cooldown', 'ramp', 'rate', 'payloadBytes', 'publishers', 'seed'];

/** `--token-ttl`: a duration (bare number: seconds) of at least 1 s, in whole seconds. */
function parseTtl(text: string): Parsed<number> {
  const d = parseDuration(text, 'seconds');
  if (!d.ok) return d;
  return d.value < 1000 ? { ok: false, error: `"${text}" must be at least 1s` } : { ok: true, value: Math.round(d.value / 1000) };
}

function parseShard(text: string): Parsed<{ index: number; count: number }> {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return { ok: false, error: `"${text}": expected i/N, e.g. --shard 0/4 for the first of four shards` };
  return { ok: true, value: { index: Number(m[1]), count: Number(m[2]) } };
}

function parseStartAt(text: string): Parsed<number> {
  const t = Date.parse(text);
  return Number.isFinite(t) ? { ok: true, value: t } : { ok: false, error: `"${text}": expected an ISO 8601 time, e.g. 2026-01-31T12:00:00Z` };
}

const atLeastOne = (text: string) => parseWholeNumber(text, 1);

/** What the CLI needs parsed before a run: the request, the gates, the baseline, the trials. */
export interface BuiltRequest {
  req: RunRequest;
  gates: Gate[];
  baseline?: Report;
  /** Trials per variant (`--repeat`, default 1). */
  repeat: number;
}

/** Read the gates of `--gate` and `--gates FILE`; every problem goes to `problems`. */
function readGates(f: RunFlags, problems: ProblemList): Gate[] {
  const { gates, errors } = parseGates(f.gate);
  if (f.gates) {
    let text: string | undefined;
    try {
      text = readFileSync(f.gates, 'utf8');
    } catch (e) {
      problems.add(usageError('WSB_ERR_GATES_FILE', `cannot read --gates ${f.gates}: ${(e as Error).message}`));
    }
    if (text !== undefined) {
      const fromFile = parseGatesFile(text);
      gates.push(...fromFile.gates);
      errors.push(...fromFile.errors);
    }
  }
  if (errors.length) problems.add(usageError('WSB_ERR_GATE_SYNTAX', errors.length === 1 ? errors[0]!.message : `${errors.length} gates could not be read`, 'gates read like "fanout.p99 < 50ms" or "errors.rate < 0.1%"', errors.length > 1 ? errors.map((e) => e.message) : undefined));
  // A metric no run can have is refused before the run; run-dependent ones are judged on the report.
  const impossible = validateGateMetricNames(gates);
  if (impossible.length) problems.add(usageError(GATE_METRIC_CODE, impossible.length === 1 ? impossible[0]!.message : `${impossible.length} gates name metrics wsbench never measures`, impossible[0]!.hint, impossible.length > 1 ? impossible.map((e) => e.message) : undefined));
  return gates;
}

async function readBaseline(scenario: string, f: RunFlags, gates: Gate[], problems: ProblemList): Promise<Report | undefined> {
  const baseline = f.baseline ? await problems.attempt(() => readJsonReport(f.baseline!)) : undefined;
  if (baseline && baseline.scenario.name !== scenario && !scenario.endsWith(`${baseline.scenario.name}.ts`)) {
    // The full compatibility check runs on the finished report; refuse an obvious mismatch before starting.
    problems.add(usageError('WSB_ERR_BASELINE', `--baseline ${f.baseline} is a report of scenario "${baseline.scenario.name}", not "${scenario}"`, 'compare runs of the same scenario'));
  }
  if (gates.some((g) => g.regress) && !f.baseline) problems.add(usageError('WSB_ERR_BASELINE', 'a `regress` gate needs --baseline FILE (a saved report)'));
  return baseline;
}

/** Parse every flag of `run`, collecting each problem in `problems` instead of stopping at the first. */
export async function collectRequest(scenario: string, f: RunFlags, problems: ProblemList): Promise<BuiltRequest> {
  const flags: RunRequest['flags'] = {};
  for (const k of COMMON_FLAGS) if (f[k] !== undefined) flags[k] = f[k] as string;
  const gates = readGates(f, problems);
  const baseline = await readBaseline(scenario, f, gates, problems);
  const req: RunRequest = {
    scenario,
    flags,
    sets: f.set,
    protocol: f.protocol,
    targets: f.target,
    server: f.server,
    nodes: problems.flag('--nodes', f.nodes, atLeastOne),
    redisUrl: f.redis,
    token: f.token,
    tokens: f.tokenFile ? await problems.attempt(() => readTokenFile(f.tokenFile!)) : undefined,
    secret: f.secret,
    workers: problems.flag('--workers', f.workers, atLeastOne),
    faults: f.fault,
    refuseSaturated: f.refuseSaturated === true,
    strict: f.strict === true,
    tokenClaims: f.tokenClaims,
    tokenTtlSec: problems.flag('--token-ttl', f.tokenTtl, parseTtl),
    spread: f.spread,
    nodeIdentity: f.nodeIdentity !== 'url',
    skipUnreachable: f.skipUnreachable === true,
    shard: problems.flag('--shard', f.shard, parseShard),
    startAt: problems.flag('--start-at', f.startAt, parseStartAt),
    scrape: scrapeUrls(f.scrape ?? [], problems),
    scrapeSeries: f.scrapeSeries?.length ? f.scrapeSeries : undefined,
  };
  return { req, gates, baseline, repeat: problems.flag('--repeat', f.repeat, atLeastOne) ?? 1 };
}

/** Everything the CLI needs parsed before a run; throws one usage error listing every flag problem. */
export async function buildRequest(scenario: string, f: RunFlags): Promise<BuiltRequest> {
  const problems = new ProblemList();
  const built = await collectRequest(scenario, f, problems);
  problems.throwIfAny('run');
  return built;
}

/** `wsbench run`: writes to `cli`'s streams and reports the exit code to its sink. */
export async function runCommand(scenario: string, f: RunFlags, cli: CliIO = processIO()): Promise<void> {
  const problems = new ProblemList();
  const { req, gates, baseline, repeat } = await collectRequest(scenario, f, problems);
  const def = await loadScenarioFile(resolveScenarioPath(scenario));
  const variants = expandVariants(def, req.sets);
  const err = cli.stderr;
  // Every flag and configuration problem of every variant is reported at once, before anything starts.
  for (const v of variants) {
    const prepared = await problems.attempt(() => prepareRun({ ...req, sets: v.sets }));
    if (prepared && req.tokens && req.tokens.length < prepared.options.clients) {
      err.write(`${pc.yellow('note')}: --token-file has ${req.tokens.length} tokens for ${prepared.options.clients} clients; tokens are reused round robin\n`);
    }
  }
  const otlpIntervalMs = problems.flag('--otlp-interval', f.otlpInterval, atLeast100ms) ?? 5000;
  // The live sinks' addresses, checked with everything else (they start only once all is well).
  if (f.prometheus !== undefined) await problems.attempt(() => parseListen(f.prometheus!, '--prometheus'));
  if (typeof f.live === 'string') await problems.attempt(() => parseListen(f.live as string, '--live'));
  if (f.otlp !== undefined) await problems.attempt(() => otlpEndpoint(f.otlp!));
  problems.throwIfAny('run');
  const printer = createProgressPrinter(err, { tty: Boolean(err.isTTY) && !f.quiet, quiet: f.quiet });
  const live = await startLiveSinks(f, err, def.name, otlpIntervalMs);
  const { interrupted, dispose } = watchInterrupt('writing a partial report', err);
  const io: RunIO = {
    progress: (s) => printer.update(s),
    info: (line) => {
      if (!f.quiet) {
        printer.clear();
        err.write(`${pc.dim('•')} ${line}\n`);
      }
    },
    interrupted,
    live,
  };
  const finished: Array<{ variant: Variant; report: Report; exitCode: number }> = [];
  try {
    for (const variant of variants) {
      if (variant.label && !f.quiet) err.write(`${pc.bold(`variant ${variant.label}`)}\n`);
      const outcomes: RunOutcome[] = [];
      for (let trial = 0; trial < repeat; trial++) {
        if (repeat > 1 && !f.quiet) err.write(`${pc.bold(`trial ${trial + 1}/${repeat}`)}\n`);
        let outcome: RunOutcome;
        try {
          outcome = await runScenario({ ...req, sets: variant.sets }, io);
        } catch (e) {
          // A harness failure (exit 3) still leaves its report, with the status and the cause.
          const failed = (e as FailedRunError).report;
          if (failed) {
            printer.done();
            await writeOutputs(cli, f, failed, [{ report: failed, exitCode: EXIT.harness }], variant, variants.length > 1 && variant !== variants.at(-1));
          }
          throw e;
        }
        printer.done();
        outcomes.push(outcome);
        if (outcome.exitCode === EXIT.interrupted) break;
      }
      const judged = judgeTrials(
        outcomes.map((o) => o.report),
        gates,
        { refuseSaturated: req.refuseSaturated, strict: f.strict === true },
        baseline && { report: baseline, path: f.baseline },
      );
      finished.push({ variant, ...judged });
      if (variants.length > 1) judged.report.notes.push(`variant ${variant.label} (${variants.indexOf(variant) + 1} of ${variants.length})`);
      await writeOutputs(cli, f, judged.report, outcomes, variant, variants.length > 1 && variant !== variants.at(-1));
      if (judged.exitCode === EXIT.interrupted) break;
    }
  } finally {
    dispose();
    await live?.close();
  }
  const last = finished.at(-1)!;
  if (finished.length > 1) {
    last.report.variants = finished.map((x) => summarizeVariant(x.variant.label, x.report));
    await writeJsonReport(reportPath(f, last.report, last.variant, false), last.report);
    // The last variant's page again, now with every variant's figures (its traffic charts).
    if (f.html) writeFileSync(f.html, renderHtml(last.report));
    if (!f.quiet) (f.json ? err : cli.stdout).write(`${renderVariants(last.report, { color: Boolean(cli.stdout.isTTY) })}\n`);
  }
  // The worst outcome decides.
  cli.setExitCode(worstExit(finished.map((x) => x.exitCode)));
}

function reportPath(f: RunFlags, report: Report, variant: Variant, suffixed: boolean): string {
  const base = f.out ?? `reports/${report.scenario.name}-${report.startedAt.replace(/[:.]/g, '-')}.json`;
  if (!suffixed || !variant.label) return base;
  return base.replace(/(\.json)?$/, `.${variant.label.replace(/[^A-Za-z0-9_.-]+/g, '-')}.json`);
}

/** Write the report files and print the table of one variant (earlier variants get suffixed file names). */
async function writeOutputs(cli: CliIO, f: RunFlags, report: Report, outcomes: RunOutcome[], variant: Variant, suffixed: boolean): Promise<void> {
  const err = cli.stderr;
  const results = f.json ? err : cli.stdout;
  const outPath = reportPath(f, report, variant, suffixed);
  await writeJsonReport(outPath, report);
  const writeText = (path: string | undefined, text: () => string) => {
    if (!path) return;
    const p = suffixed && variant.label ? path.replace(/(\.[a-z]+)?$/, `.${variant.label.replace(/[^A-Za-z0-9_.-]+/g, '-')}$1`) : path;
    mkdirSync(dirname(p) || '.', { recursive: true });
    writeFileSync(p, text());
    return p;
  };
  const html = writeText(f.html, () => renderHtml(outcomes.length > 1 ? outcomes.map((o) => o.report) : report));
  const junit = writeText(f.junit, () => renderJunit(report));
  const md = writeText(f.summaryMd, () => renderMarkdown(report));
  if (f.json) cli.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!f.quiet) {
    results.write(`${renderTable(report, { color: Boolean(results.isTTY) })}\n`);
    const files = [outPath, html, junit, md].filter(Boolean).map((p) => relative(process.cwd(), p!) || p);
    err.write(`${pc.dim('report')}: ${files.join(', ')}\n`);
    if (outcomes.length > 1) err.write(`${pc.dim('trials')}: ${outcomes.length}; gates judged on the median\n`);
  }
}

/** `--scrape URL` (repeatable) or `--scrape off`; none given: the run's default (bundled nodes). */
function scrapeUrls(values: string[], problems: ProblemList): string[] | undefined {
  if (!values.length) return undefined;
  if (values.length === 1 && values[0] === 'off') return [];
  for (const v of values) {
    let u: URL | undefined;
    try {
      u = new URL(v);
    } catch {
      // reported below
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) problems.add(usageError('WSB_ERR_FLAG', `--scrape "${v}" is not an http(s) URL`, 'give the server\'s Prometheus endpoint, e.g. --scrape http://127.0.0.1:8080/metrics, or --scrape off'));
  }
  return values;
}

/** `--live`, `--otlp` and `--prometheus`: the live sinks of this run, started before it (a taken port fails here, before anything starts). */
async function startLiveSinks(f: RunFlags, err: NodeJS.WritableStream, scenarioName: string, otlpIntervalMs: number): Promise<LiveSink | undefined> {
  const sinks: LiveSink[] = [];
  const say = (line: string) => {
    if (!f.quiet) err.write(`${pc.dim('•')} ${line}\n`);
  };
  if (f.live !== undefined && f.live !== false) {
    const page = await startLivePage(f.live === true ? '0' : f.live, `wsbench: ${scenarioName}`);
    sinks.push(page);
    // Said even with --quiet: the user asked for a page and needs its address.
    err.write(`${pc.dim('•')} live charts at ${page.url}\n`);
  }
  if (f.otlp !== undefined) {
    const otlp = startOtlpExporter(f.otlp, { intervalMs: otlpIntervalMs, onError: (m) => err.write(`${pc.yellow('note')}: ${m}\n`) });
    sinks.push(otlp);
    say(`OpenTelemetry metrics pushed to ${otlp.url} every ${otlpIntervalMs / 1000} s`);
  }
  if (f.prometheus !== undefined) {
    const prom = await startPrometheusExporter(f.prometheus);
    sinks.push(prom);
    say(`Prometheus metrics at ${prom.url}`);
  }
  return combineSinks(sinks);
}

function atLeast100ms(text: string): Parsed<number> {
  const d = parseDuration(text, 'seconds');
  return d.ok && d.value < 100 ? { ok: false, error: `"${text}" is too short; at least 100ms` } : d;
}
