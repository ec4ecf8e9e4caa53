import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WsbenchError } from '../../src/errors.ts';
import { readJsonReport, writeJsonReport } from '../../src/output/index.ts';
import { makeReport } from '../fixtures/reports.ts';

describe('JSON report', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wsbench-json-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through a new folder, pretty, leaving no temp file', async () => {
    const report = makeReport();
    const path = join(dir, 'nested', 'deeper', 'run.json');
    await writeJsonReport(path, report);
    expect(await readJsonReport(path)).toEqual(report);
    const text = await readFile(path, 'utf8');
    expect(text.startsWith('{\n  "schema": "wsbench.report/1"')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(await readdir(join(dir, 'nested', 'deeper'))).toEqual(['run.json']);
    await writeJsonReport(path, { ...report, status: 'interrupted' });
    expect((await readJsonReport(path)).status).toBe('interrupted');
  });

  let n = 0;
  async function refusal(content: string | undefined): Promise<WsbenchError> {
    const path = join(dir, `r${n++}.json`);
    if (content !== undefined) await writeFile(path, content);
    const err = await readJsonReport(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsbenchError);
    const e = err as WsbenchError;
    expect(e.code).toBe('WSB_ERR_REPORT');
    expect(e.exitCode).toBe(2);
    expect(e.hint).toBeTruthy();
    return e;
  }

  it('refuses another schema, no schema, bad JSON, a missing file, an incomplete report', async () => {
    expect((await refusal(JSON.stringify({ ...makeReport(), schema: 'wsbench.report/2' }))).message).toMatch(/schema "wsbench.report\/2".*reads "wsbench.report\/1"/);
    expect((await refusal(JSON.stringify({ hello: 1 }))).message).toContain('no "schema" field');
    expect((await refusal('[1,2]')).message).toContain('expected a JSON object');
    expect((await refusal('{"schema": "wsbench.rep')).message).toContain('not valid JSON');
    expect((await refusal(undefined)).message).toContain('no such file');
    const { series: _series, ...partial } = makeReport();
    expect((await refusal(JSON.stringify(partial))).message).toContain('missing series');
  });
});
