/** `wsbench run <scenario>`: flags -> RunRequest -> runScenario -> outputs -> exit code. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import pc from 'picocolors';
import type { Report } from '../report/schema.ts';
import type { CommonOptions } from '../scenario/types.ts';
import { runScenario, prepareRun, type RunRequest, type RunOutcome } from '../run/run.ts';
import { createProgressPrinter, renderTable, writeJsonReport, readJsonReport, renderHtml, renderJunit, renderMarkdown } from '../output/index.ts';
import { parseGates, parseGatesFile, evaluateGates, checkBaselineCompatible, validateGateMetrics } from '../gates/index.ts';
import type { Gate } from '../gates/index.ts';
import { EXIT, usageError } from '../errors.ts';
import { readTokenFile } from './index.ts';

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
  server: string[];
  nodes: string;
  redis?: string;
  fault: string[];
  set: string[];
  workers?: string;
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
  quiet?: boolean;
}

const COMMON_FLAGS: Array<keyof CommonOptions & keyof RunFlags> = ['clients', 'rooms', 'duration', 'warmup', 'cooldown', 'ramp', 'rate', 'payloadBytes', 'publishers', 'seed'];

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw usageError('WSB_ERR_FLAG', `${flag} "${text}": expected a whole number >= ${min}`);
  return n;
}

/** Everything the CLI needs parsed before a run: the request, the gates, the baseline. */
export async function buildRequest(scenario: string, f: RunFlags): Promise<{ req: RunRequest; gates: Gate[]; baseline?: Report; repeat: number }> {
  const flags: RunRequest['flags'] = {};
  for (const k of COMMON_FLAGS) if (f[k] !== undefined) flags[k] = f[k] as string;
  const { gates, errors } = parseGates(f.gate);
  if (f.gates) {
    let text: string;
    try {
      text = readFileSync(f.gates, 'utf8');
    } catch (e) {
      throw usageError('WSB_ERR_GATES_FILE', `cannot read --gates ${f.gates}: ${(e as Error).message}`);
    }
    const fromFile = parseGatesFile(text);
    gates.push(...fromFile.gates);
    errors.push(...fromFile.errors);
  }
  if (errors.length) throw usageError('WSB_ERR_GATE_SYNTAX', errors.length === 1 ? errors[0]!.message : `${errors.length} gates could not be read`, 'gates read like "fanout.p99 < 50ms" or "errors.rate < 0.1%"', errors.length > 1 ? errors.map((e) => e.message) : undefined);
  const baseline = f.baseline ? await readJsonReport(f.baseline) : undefined;
  if (baseline && baseline.scenario.name !== scenario && !scenario.endsWith(`${baseline.scenario.name}.ts`)) {
    // The full compatibility check runs on the finished report; refuse an obvious mismatch before starting.
    throw usageError('WSB_ERR_BASELINE', `--baseline ${f.baseline} is a report of scenario "${baseline.scenario.name}", not "${scenario}"`, 'compare runs of the same scenario');
  }
  if (gates.some((g) => g.regress) && !baseline) throw usageError('WSB_ERR_BASELINE', 'a `regress` gate needs --baseline FILE (a saved report)');
  const req: RunRequest = {
    scenario,
    flags,
    sets: f.set,
    protocol: f.protocol,
    targets: f.target,
    server: f.server,
    nodes: wholeNumber('--nodes', f.nodes, 1),
    redisUrl: f.redis,
    token: f.token,
    tokens: f.tokenFile ? readTokenFile(f.tokenFile) : undefined,
    secret: f.secret,
    workers: f.workers === undefined ? undefined : wholeNumber('--workers', f.workers, 1),
    faults: f.fault,
    refuseSaturated: f.refuseSaturated === true,
  };
  return { req, gates, baseline, repeat: wholeNumber('--repeat', f.repeat, 1) };
}

export async function runCommand(scenario: string, f: RunFlags): Promise<void> {
  const { req, gates, baseline, repeat } = await buildRequest(scenario, f);
  // Every configuration problem is reported before anything starts.
  const prepared = await prepareRun(req);
  if (req.tokens && req.tokens.length < prepared.options.clients) {
    process.stderr.write(`${pc.yellow('note')}: --token-file has ${req.tokens.length} tokens for ${prepared.options.clients} clients; tokens are reused round robin\n`);
  }
  const err = process.stderr;
  const tty = Boolean(err.isTTY) && !f.quiet;
  const printer = createProgressPrinter(err, { tty, quiet: f.quiet });
  let interruptResolve!: () => void;
  const interrupted = new Promise<void>((r) => (interruptResolve = r));
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints === 1) {
      err.write(`\n${pc.yellow('interrupted')}: stopping cleanly and writing a partial report (Ctrl-C again to abort at once)\n`);
      interruptResolve();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  const outcomes: RunOutcome[] = [];
  try {
    for (let trial = 0; trial < repeat; trial++) {
      if (repeat > 1 && !f.quiet) err.write(`${pc.bold(`trial ${trial + 1}/${repeat}`)}\n`);
      const outcome = await runScenario(req, {
        progress: (s) => printer.update(s),
        info: (line) => {
          if (!f.quiet) {
            printer.done();
            err.write(`${pc.dim('•')} ${line}\n`);
          }
        },
        interrupted,
      });
      printer.done();
      outcomes.push(outcome);
      if (outcome.exitCode === 130) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const last = outcomes.at(-1)!;
  const report = last.report;
  if (gates.length) {
    const unknown = validateGateMetrics(gates, report);
    const incompatible = baseline ? checkBaselineCompatible(baseline, report) : [];
    if (incompatible.length) throw usageError('WSB_ERR_BASELINE', `--baseline ${f.baseline} cannot be compared with this run`, 'use a baseline saved from the same scenario and schema', incompatible);
    report.gates = unknown.length
      ? unknown.map((e) => ({ expr: e.message, passed: false, actual: null, detail: e.hint }))
      : evaluateGates(
          gates,
          outcomes.map((o) => o.report),
          baseline,
        );
  }
  let exitCode: number = last.exitCode;
  if (exitCode === EXIT.pass || exitCode === EXIT.failed) {
    const anyFailed = report.checks.some((c) => !c.passed) || report.gates.some((g) => !g.passed);
    exitCode = anyFailed ? EXIT.failed : EXIT.pass;
    if (req.refuseSaturated && outcomes.some((o) => o.report.generator.saturated)) exitCode = EXIT.saturated;
  }

  const outPath = f.out ?? `reports/${report.scenario.name}-${report.startedAt.replace(/[:.]/g, '-')}.json`;
  await writeJsonReport(outPath, report);
  const writeText = (path: string | undefined, text: () => string) => {
    if (!path) return;
    mkdirSync(dirname(path) || '.', { recursive: true });
    writeFileSync(path, text());
  };
  writeText(f.html, () => renderHtml(outcomes.length > 1 ? outcomes.map((o) => o.report) : report));
  writeText(f.junit, () => renderJunit(report));
  writeText(f.summaryMd, () => renderMarkdown(report));
  if (f.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!f.quiet) {
    const table = renderTable(report, { color: Boolean((f.json ? err : process.stdout).isTTY) });
    (f.json ? err : process.stdout).write(`${table}\n`);
    const files = [outPath, f.html, f.junit, f.summaryMd].filter(Boolean).map((p) => relative(process.cwd(), p!) || p);
    err.write(`${pc.dim('report')}: ${files.join(', ')}\n`);
    if (repeat > 1) err.write(`${pc.dim('trials')}: ${outcomes.length}; gates judged on the median\n`);
  }
  process.exitCode = exitCode;
}
