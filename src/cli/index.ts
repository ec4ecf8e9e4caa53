/**
 * The command line: argument parsing, help and exit codes only. Every command
 * hands over to src/run or src/output at once.
 */
import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { EXIT, isWsbenchError } from '../errors.ts';
import { toolInfo } from '../run/tool.ts';
import { runCommand, type RunFlags } from './run-command.ts';
import { addLoadShapeOptions, addTargetOptions, collect } from './load-options.ts';
import { listCommand } from './list-command.ts';
import { serveCommand, addServerOptions } from './serve-command.ts';
import { reportCommand, compareCommand, mergeCommand } from './report-commands.ts';
import { addCapacityCommand } from './capacity-command.ts';
import { processIO, type CliIO } from './io.ts';

/** A command's streams and exit-code sink (see {@link runCli}). */
export type { CliIO } from './io.ts';

/**
 * The `wsbench` program. Commands write to `cli`'s streams and report their exit
 * code to its sink (default: the process's), so tests can run them in-process.
 * Commander throws instead of exiting (`exitOverride`); {@link runCli} maps that.
 */
export function buildProgram(cli: CliIO = processIO()): Command {
  const program = new Command('wsbench')
    .description('Load-testing and conformance harness for realtime WebSocket and Socket.IO servers')
    .version(toolInfo().version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortOptions: false })
    .configureOutput({ writeOut: (s) => cli.stdout.write(s), writeErr: (s) => cli.stderr.write(s) })
    .exitOverride();

  const run = program
    .command('run')
    .argument('<scenario>', 'a bundled scenario name (see `wsbench list`) or a path to a .ts/.js scenario file')
    .description('run a scenario against the bundled reference server or your own (--target)');
  addTargetOptions(addLoadShapeOptions(run))
    .option('--duration <time>', 'measured steady phase, e.g. 20s, 2m (default 20s)')
    .option('--fault <spec>', 'inject a fault: ACTION[:NODE]@TIME[+DURATION], e.g. drop-all@5s (repeatable)', collect, [])
    .option('--shard <i/N>', 'run slice i of N of the clients and rates (one per machine); merge the reports with `wsbench merge`')
    .option('--start-at <time>', 'start the ramp at this wall-clock time (ISO 8601), so shards on several machines start together')
    .option('--out <file>', 'JSON report path (default reports/<scenario>-<timestamp>.json)')
    .option('--json', 'print the JSON report on stdout (progress and table go to stderr)')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--junit <file>', 'also write JUnit XML (one testcase per check and gate)')
    .option('--summary-md <file>', 'also write a Markdown summary (for CI job pages)')
    .option('--gate <expr>', 'a pass/fail gate, e.g. "fanout.p99 < 50ms" (repeatable)', collect, [])
    .option('--gates <file>', 'gates from a file, one per line')
    .option('--baseline <file>', 'a saved report to compare against (for `regress` gates)')
    .option('--repeat <k>', 'run K trials and judge the gates on their median', '1')
    .option('--refuse-saturated', 'exit 4 when the generator itself was saturated')
    .option('--prometheus <[host:]port>', 'serve the running test\'s metrics for Prometheus at /metrics (loopback unless a host is given; 0 = a free port)')
    .option('--live [port]', 'serve a local page with the run\'s charts updating every second (default port 0: a free one; the URL is printed)')
    .option('--otlp <url>', 'push the running test\'s metrics to an OpenTelemetry collector (OTLP over HTTP, JSON), e.g. http://127.0.0.1:4318')
    .option('--otlp-interval <time>', 'how often --otlp pushes (default 5s)')
    .option('--strict', 'exit 1 when a check could not be verified (default: exit 0 with a loud note)')
    .option('-q, --quiet', 'no progress line, no table (exit code and files only)')
    .action((scenario: string, f: RunFlags) => runCommand(scenario, f, cli));

  addCapacityCommand(program, cli);

  program.command('list').description('list the bundled scenarios').action(() => listCommand(cli));

  addServerOptions(program.command('serve').description('start the bundled reference server in the foreground (prints its URL and a development token)')).action((opts: Record<string, string | boolean | undefined>) => serveCommand(opts, cli));

  program
    .command('report')
    .argument('<run.json>', 'a JSON report written by `wsbench run`')
    .description('re-render a saved report: console table, and HTML/JUnit/Markdown files')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--junit <file>', 'write JUnit XML')
    .option('--summary-md <file>', 'write a Markdown summary')
    .option('--strict', 'exit 1 when a check of the run could not be verified')
    .action((file: string, opts: Parameters<typeof reportCommand>[1]) => reportCommand(file, opts, cli));

  program
    .command('compare')
    .argument('<base.json>', 'the baseline report')
    .argument('<new.json>', 'the report to compare')
    .description('side-by-side table with deltas; exit 1 when a latency regressed more than --max-regression')
    .option('--max-regression <pct>', 'largest allowed regression of any latency percentile, e.g. 10%', '10%')
    .action((base: string, next: string, opts: Parameters<typeof compareCommand>[2]) => compareCommand(base, next, opts, cli));

  program
    .command('merge')
    .argument('<reports...>', 'reports of the shards of one run (`--shard i/N`)')
    .description('merge shard reports exactly (HDR histograms add) into one')
    .requiredOption('--out <file>', 'where to write the merged report')
    .option('--strict', 'exit 1 when a check of the merged run could not be verified')
    .action((files: string[], opts: Parameters<typeof mergeCommand>[1]) => mergeCommand(files, opts, cli));

  return program;
}

/** Print a WsbenchError (or anything) the way users should see it, and return the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.pass;
    return EXIT.usage;
  }
  if (isWsbenchError(e)) {
    stderr.write(`${pc.red('error')}: ${e.message}\n`);
    for (const p of e.problems) stderr.write(`  - ${p}\n`);
    if (e.hint) stderr.write(`${pc.dim('hint')}: ${e.hint}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  stderr.write(`${pc.red('wsbench failed')} (this is a bug in wsbench; please report it): ${err?.stack ?? String(e)}\n`);
  return EXIT.harness;
}

/**
 * Run the CLI on `argv` (as `process.argv`: node and script first) with `cli`'s
 * streams, and return the exit code: the one the command reported, or the
 * error's (usage 2, harness 3) after printing it to `cli.stderr`.
 */
export async function runCli(argv: string[], cli: CliIO = processIO()): Promise<number> {
  let exitCode: number = EXIT.pass;
  const sink: CliIO = { ...cli, setExitCode: (code) => (exitCode = code) };
  try {
    await buildProgram(sink).parseAsync(argv);
    return exitCode;
  } catch (e) {
    return reportError(e, cli.stderr);
  }
}

/** The `wsbench` binary: runs the CLI on the process's streams and sets `process.exitCode`. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv);
}
