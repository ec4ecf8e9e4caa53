/** `wsbench report`, `wsbench compare`, `wsbench merge`: everything rendered from saved JSON reports. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readJsonReport, renderTable, renderHtml, renderJunit, renderMarkdown, renderCompare, writeJsonReport } from '../output/index.ts';
import { compareReports, checkBaselineCompatible } from '../gates/index.ts';
import { mergeReports } from '../run/merge.ts';
import { parseShare } from '../scenario/units.ts';
import { EXIT, usageError } from '../errors.ts';

function writeText(path: string | undefined, text: () => string): void {
  if (!path) return;
  mkdirSync(dirname(path) || '.', { recursive: true });
  writeFileSync(path, text());
  process.stderr.write(`wrote ${path}\n`);
}

export async function reportCommand(file: string, opts: { html?: string; junit?: string; summaryMd?: string }): Promise<void> {
  const report = await readJsonReport(file);
  process.stdout.write(`${renderTable(report, { color: Boolean(process.stdout.isTTY) })}\n`);
  writeText(opts.html, () => renderHtml(report));
  writeText(opts.junit, () => renderJunit(report));
  writeText(opts.summaryMd, () => renderMarkdown(report));
}

export async function compareCommand(baseFile: string, nextFile: string, opts: { maxRegression: string }): Promise<void> {
  const limit = parseShare(opts.maxRegression.endsWith('%') ? opts.maxRegression : `${opts.maxRegression}%`);
  if (!limit.ok) throw usageError('WSB_ERR_FLAG', `--max-regression ${opts.maxRegression}: ${limit.error}`);
  const base = await readJsonReport(baseFile);
  const next = await readJsonReport(nextFile);
  const problems = checkBaselineCompatible(base, next);
  if (problems.length) throw usageError('WSB_ERR_BASELINE', `${baseFile} and ${nextFile} cannot be compared`, 'compare reports of the same scenario and schema', problems);
  const rows = compareReports(base, next, { thresholdPct: limit.value * 100 });
  process.stdout.write(`${renderCompare(rows, { baseLabel: baseFile, nextLabel: nextFile })}\n`);
  for (const [file, r] of [[baseFile, base], [nextFile, next]] as const) {
    if (r.generator?.saturated) process.stdout.write(`Warning: ${file}'s generator was saturated (${r.generator.reason ?? 'see its report'}); its latencies measure the generator as much as the server.\n`);
  }
  process.exitCode = rows.some((r) => r.regression) ? EXIT.failed : EXIT.pass;
}

export async function mergeCommand(files: string[], opts: { out: string }): Promise<void> {
  const reports = await Promise.all(files.map((f) => readJsonReport(f)));
  const merged = mergeReports(reports);
  await writeJsonReport(opts.out, merged);
  process.stdout.write(`${renderTable(merged, { color: Boolean(process.stdout.isTTY) })}\n`);
  process.stderr.write(`merged ${files.length} reports into ${opts.out}\n`);
}
