/**
 * The JSON report on disk: the source of truth every other output can be
 * re-rendered from (`wsbench report`, `compare`, `merge`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WsbenchError, EXIT } from '../errors.ts';
import { REPORT_SCHEMA, type Report } from '../report/schema.ts';

/** Error code of every problem reading a report. */
export const REPORT_ERROR_CODE = 'WSB_ERR_REPORT';

function reportError(message: string, hint: string, cause?: unknown): WsbenchError {
  return new WsbenchError(REPORT_ERROR_CODE, message, { hint, cause, exitCode: EXIT.usage });
}

/**
 * Write `report` to `path` as pretty JSON (2-space indent, trailing newline),
 * creating missing folders. Atomic: written to a temporary file beside the
 * target, then renamed over it, so a reader never sees half a report.
 */
export async function writeJsonReport(path: string, report: Report): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Read a report written by `writeJsonReport` (or merged, or by another version
 * that kept the schema). Throws a `WsbenchError` (code `WSB_ERR_REPORT`, exit 2)
 * when the file is missing, is not JSON, or is not a `wsbench.report/1` report.
 */
export async function readJsonReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw reportError(
      `Cannot read report ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'Pass the path of a JSON report written by `wsbench run` (by default under reports/).',
      err,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw reportError(`Report ${path} is not valid JSON: ${(err as Error).message}`, 'The file may be truncated or not a wsbench report.', err);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw reportError(`Report ${path} is not a wsbench report: expected a JSON object`, 'Pass a JSON report written by `wsbench run`.');
  }
  const schema = (data as { schema?: unknown }).schema;
  if (schema !== REPORT_SCHEMA) {
    const found = schema === undefined ? 'no "schema" field' : `schema ${JSON.stringify(schema)}`;
    throw reportError(
      `Report ${path} has ${found}; this wsbench reads "${REPORT_SCHEMA}"`,
      typeof schema === 'string' && schema.startsWith('wsbench.report/')
        ? 'The report was written by another wsbench version: read it with that version, or re-run the scenario.'
        : 'Pass a JSON report written by `wsbench run`.',
    );
  }
  const missing = ['scenario', 'metrics', 'counters', 'ledger', 'checks', 'gates', 'generator', 'series'].filter(
    (k) => (data as Record<string, unknown>)[k] === undefined,
  );
  if (missing.length > 0) {
    throw reportError(
      `Report ${path} is incomplete: missing ${missing.join(', ')}`,
      'The file may have been edited by hand or cut short; re-run the scenario.',
    );
  }
  return data as Report;
}
