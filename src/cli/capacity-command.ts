/** `wsbench capacity <scenario>`: flags -> CapacityRequest -> runCapacity -> outputs -> exit code. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { Option, type Command } from 'commander';
import pc from 'picocolors';
import { prepareRun } from '../run/run.ts';
import { runCapacity, stepRequest, validateCapacityPlan, type CapacityKnob, type CapacityRequest } from '../run/capacity.ts';
import { createProgressPrinter } from '../output/index.ts';
import { renderCapacityHtml, renderCapacityTable } from '../output/capacity.ts';
import { parseGates, validateGateMetricNames, type Gate } from '../gates/index.ts';
import { usageError, EXIT } from '../errors.ts';
import { parseCount, parseDuration, parseShare, parseWholeNumber, type Parsed } from '../units/index.ts';
import { processIO, type CliIO } from './io.ts';
import { isKnownCounterName } from '../metrics/names.ts';
import { collectRequest, type RunFlags } from './run-command.ts';
import { ProblemList } from './problems.ts';
import { addLoadShapeOptions, addTargetOptions, collect } from './load-options.ts';
import { watchInterrupt } from './interrupt.ts';

/** Everything of `run`'s flags that shapes and targets load, plus the search's own. */
export type CapacityFlags = Omit<RunFlags, 'duration' | 'fault' | 'gate' | 'gates' | 'baseline' | 'repeat' | 'junit' | 'summaryMd' | 'shard' | 'startAt'> & {
  slo: string[];
  vary: CapacityKnob;
  from?: string;
  to?: string;
  steps?: string;
  factor?: string;
  bisect: string;
  stepDuration: string;
  headroom: string;
  targetClients?: string;
};

/** Register `capacity` on the program; the command writes to `cli`. */
export function addCapacityCommand(program: Command, cli: CliIO = processIO()): Command {
  const cmd = program.command('capacity');
  return addTargetOptions(addLoadShapeOptions(cmd))
    .argument('<scenario>', 'a bundled scenario name (see `wsbench list`) or a path to a .ts/.js scenario file')
    .description('find the largest load that meets the SLOs: geometric steps, then bisection; says whether an SLO or the generator gave out')
    .option('--slo <expr>', 'a service-level objective, gate grammar, e.g. "fanout.p99 < 100ms" (repeatable, at least one)', collect, [])
    .addOption(new Option('--vary <knob>', 'the load knob to grow').choices(['clients', 'rate', 'rooms']).default('clients'))
    .option('--from <n>', 'smallest load (clients, publishes/s or rooms)')
    .option('--to <n>', 'largest load')
    .option('--steps <k>', 'geometric steps from --from to --to, both included (default 4)')
    .option('--factor <f>', 'ratio between steps instead of --steps, e.g. 2')
    .option('--bisect <n>', 'bisections between the last good and the first bad step', '2')
    .option('--step-duration <time>', 'measured steady phase of every step', '10s')
    .option('--headroom <share>', 'capacity kept free on every node in the projection', '30%')
    .option('--target-clients <n>', 'project the nodes needed for this many clients')
    .option('--out <file>', 'capacity JSON path (default reports/capacity-<scenario>-<timestamp>.json)')
    .option('--json', 'print the capacity JSON on stdout (progress and table go to stderr)')
    .option('--html <file>', 'also write a self-contained HTML page with the capacity curve')
    .option('--refuse-saturated', 'exit 4 when the generator saturated before any SLO broke')
    .option('-q, --quiet', 'no progress line, no table (exit code and files only)')
    .action((scenario: string, f: CapacityFlags) => capacityCommand(scenario, f, cli));
}

const plainNumber = (t: string): Parsed<number> => (Number.isFinite(Number(t)) && t.trim() !== '' ? { ok: true, value: Number(t) } : { ok: false, error: `"${t}" is not a number` });
const wholeNumber = (t: string): Parsed<number> => parseWholeNumber(t, 0);
const stepDuration = (t: string): Parsed<number> => parseDuration(t, 'seconds');

/** Parse and check every capacity flag and every run flag; throws one usage error listing every problem. */
export async function buildCapacityRequest(scenario: string, f: CapacityFlags): Promise<CapacityRequest> {
  const problems = new ProblemList();
  const say = (message: string) => problems.add(usageError('WSB_ERR_CAPACITY', message, '`wsbench capacity --help` lists the flags; SLOs read like "fanout.p99 < 100ms"'));
  if (f.from === undefined) say('--from N is required: the smallest load to try');
  if (f.to === undefined) say('--to N is required: the largest load to try');
  const from = problems.flag('--from', f.from, parseCount);
  const to = problems.flag('--to', f.to, parseCount);
  const steps = problems.flag('--steps', f.steps, wholeNumber);
  const factor = problems.flag('--factor', f.factor, plainNumber);
  const bisect = problems.flag('--bisect', f.bisect, wholeNumber);
  const stepDurationMs = problems.flag('--step-duration', f.stepDuration, stepDuration);
  const headroom = problems.flag('--headroom', f.headroom, parseShare);
  const targetClients = problems.flag('--target-clients', f.targetClients, parseCount);
  if (stepDurationMs !== undefined && stepDurationMs < 500) say(`--step-duration ${f.stepDuration}: a step needs at least 500ms of measurement`);
  if (f[f.vary] !== undefined) say(`--${f.vary} ${f[f.vary]}: ${f.vary} is the varied knob; its values come from --from and --to`);
  if (!f.slo.length) say('give at least one --slo, e.g. --slo "fanout.p99 < 100ms"');

  const { gates, errors } = parseGates(f.slo);
  for (const e of errors) problems.add(e);
  for (const g of gates) if (g.regress) say(`--slo "${g.expr}": a regress gate compares with a baseline; capacity SLOs are absolute thresholds`);
  const custom = /[\\/]|\.(c|m)?[jt]s$/.test(scenario) || existsSync(scenario);
  if (!custom) for (const m of unknownMetrics(gates)) say(m);
  if (from !== undefined && to !== undefined && bisect !== undefined && headroom !== undefined) {
    await problems.attempt(() => validateCapacityPlan({ from, to, steps, factor, bisect, headroom }));
  }
  // The varied knob is set per step; everything else is a run's flags, checked here too.
  const runFlags: RunFlags = { ...f, fault: [], gate: [], repeat: '1' };
  const { req } = await collectRequest(scenario, runFlags, problems);
  problems.throwIfAny('capacity');

  const request: CapacityRequest = {
    base: req,
    knob: f.vary,
    from: from!,
    to: to!,
    ...(factor !== undefined ? { factor } : { steps: steps ?? 4 }),
    bisect: bisect!,
    stepDurationMs: stepDurationMs!,
    slos: gates,
    headroom: headroom!,
    ...(targetClients !== undefined ? { targetClients } : {}),
    refuseSaturated: f.refuseSaturated === true,
  };
  // Every scenario-option problem, at the smallest and the largest load, before anything starts.
  await prepareRun(stepRequest(request, request.from));
  await prepareRun(stepRequest(request, request.to));
  return request;
}

function unknownMetrics(gates: Gate[]): string[] {
  const out: string[] = validateGateMetricNames(gates).map((e) => `--slo: ${e.message}`);
  for (const g of gates) {
    if (g.subject.kind === 'counter' && !isKnownCounterName(g.subject.name)) out.push(`--slo "${g.expr}": "${g.subject.name}" is neither a metric with a statistic (e.g. fanout.p99) nor a known counter`);
  }
  return out;
}

/** `wsbench capacity`: writes to `cli`'s streams and reports the exit code to its sink. */
export async function capacityCommand(scenario: string, f: CapacityFlags, cli: CliIO = processIO()): Promise<void> {
  const request = await buildCapacityRequest(scenario, f);
  const err = cli.stderr;
  const tty = Boolean(err.isTTY) && !f.quiet;
  const printer = createProgressPrinter(err, { tty, quiet: f.quiet });
  const { interrupted, dispose } = watchInterrupt('writing a partial result after the current step', err);
  const say = (line: string) => {
    if (f.quiet) return;
    printer.clear();
    err.write(`${line}\n`);
  };
  let result;
  try {
    result = await runCapacity(request, {
      progress: (s) => printer.update(s),
      info: (line) => say(`${pc.dim('•')} ${line}`),
      interrupted,
      stepStart: (move, i) => say(pc.bold(`step ${i + 1}${move.kind === 'bisect' ? ' (bisect)' : ''}: ${request.knob} = ${move.load}`)),
      stepDone: (s) => say(`  -> ${s.sustainable ? pc.green('sustainable') : pc.red(s.reason ?? s.verdict)}`),
    });
  } finally {
    printer.done();
    dispose();
  }
  const outPath = f.out ?? `reports/capacity-${result.scenario.name}-${result.startedAt.replace(/[:.]/g, '-')}.json`;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(path) || '.', { recursive: true });
    writeFileSync(path, text);
  };
  write(outPath, `${JSON.stringify(result, null, 2)}\n`);
  if (f.html) write(f.html, renderCapacityHtml(result));
  if (f.json) cli.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!f.quiet) {
    const stream = f.json ? err : cli.stdout;
    stream.write(`${renderCapacityTable(result, { color: Boolean(stream.isTTY) })}\n`);
    err.write(`${pc.dim('capacity')}: ${[outPath, f.html].filter(Boolean).map((p) => relative(process.cwd(), p!) || p).join(', ')}\n`);
  } else if (result.exitCode !== EXIT.pass) {
    err.write(`${result.outcome.message}\n`);
  }
  cli.setExitCode(result.exitCode);
}
