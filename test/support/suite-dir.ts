/** A temporary folder for one test file's reports, removed after the file. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';

/** Returns `path(name)` inside a folder made in `beforeAll` and removed after the file. */
export function suiteDir(prefix: string, beforeAll: (fn: () => () => void) => void): (name: string) => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    return () => rmSync(dir, { recursive: true, force: true });
  });
  return (name) => join(dir, name);
}

/** A JSON report written by `wsbench run --out`. */
export function readReport(path: string): Report {
  return JSON.parse(readFileSync(path, 'utf8')) as Report;
}
