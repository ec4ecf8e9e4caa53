/** `wsbench report`, `wsbench compare`, `wsbench merge`: everything rendered from saved JSON reports. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readJsonReport, renderTable, renderHtml, renderJunit, renderMarkdown, renderCompare, writeJsonReport } from '../output/index.ts';
import { compareReports, checkBaselineCompatible } from '../gates/index.ts';
import { mergeReports } from '../run/merge.ts';
import { parseShare } from '../units/index.ts';
import { EXIT, usageError } from '../errors.ts';
import { processIO, type CliIO } from './io.ts';
import { decideExit } from '../run/exit-decision.ts';

function writeText(cli: CliIO, path: string | undefined, text: () => string): void {
  if (!path) return;
  mkdirSync(dirname(path) || '.', { recursive: true });
  writeFileSync(path, text());
  cli.stderr.write(`wrote ${path}\n`);
}

/** `wsbench report`: the console table of a saved report, and the files asked for; exits with the saved run's verdict (the same decision as `run`). */
export async function reportCommand(file: string, opts: { html?: string; junit?: string; summaryMd?: string; strict?: boolean }, cli: CliIO = processIO()): Promise<void> {
  const report = await readJsonReport(file);
  cli.stdout.write(`${renderTable(report, { color: Boolean(cli.stdout.isTTY) })}\n`);
  writeText(cli, opts.html, () => renderHtml(report));
  writeText(cli, opts.junit, () => renderJunit(report));
  writeText(cli, opts.summaryMd, () => renderMarkdown(report));
  cli.setExitCode(decideExit(report, { refuseSaturated: false, strict: opts.strict === true }));
}

/** `wsbench compare`: deltas of two reports; exit 1 when a latency percentile regressed more than `--max-regression` (a bare number is a percentage). */
export async function compareCommand(baseFile: string, nextFile: string, opts: { maxRegression: string }, cli: CliIO = processIO()): Promise<void> {
  const limit = parseShare(opts.maxRegression, 'percent');
  if (!limit.ok) throw usageError('WSB_ERR_FLAG', `--max-regression ${opts.maxRegression}: ${limit.error}`);
  const base = await readJsonReport(baseFile);
  const next = await readJsonReport(nextFile);
  const problems = checkBaselineCompatible(base, next);
  if (problems.length) throw usageError('WSB_ERR_BASELINE', `${baseFile} and ${nextFile} cannot be compared`, 'compare reports of the same scenario and schema', problems);
  const rows = compareReports(base, next, { thresholdPct: limit.value * 100 });
  cli.stdout.write(`${renderCompare(rows, { baseLabel: baseFile, nextLabel: nextFile })}\n`);
  for (const [file, r] of [[baseFile, base], [nextFile, next]] as const) {
    if (r.generator?.saturated) cli.stdout.write(`Warning: ${file}'s generator was saturated (${r.generator.reason ?? 'see its report'}); its latencies measure the generator as much as the server.\n`);
  }
  cli.setExitCode(rows.some((r) => r.regression) ? EXIT.failed : EXIT.pass);
}

/**
 * `wsbench merge`: the shard reports of one run merged exactly into `--out`; exits with
 * the merged run's verdict as `report` does (a failed check of any shard or of the merge
 * exits 1; an unverified one with `--strict`).
 */
export async function mergeCommand(files: string[], opts: { out: string; strict?: boolean }, cli: CliIO = processIO()): Promise<void> {
  const reports = await Promise.all(files.map((f) => readJsonReport(f)));
  const merged = mergeReports(reports);
  await writeJsonReport(opts.out, merged);
  cli.stdout.write(`${renderTable(merged, { color: Boolean(cli.stdout.isTTY) })}\n`);
  cli.stderr.write(`merged ${files.length} reports into ${opts.out}\n`);
  cli.setExitCode(decideExit(merged, { refuseSaturated: false, strict: opts.strict === true }));
}
