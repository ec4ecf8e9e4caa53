/**
 * vitest global setup: compile dist/ (scripts/build.mjs) before any test file runs,
 * so the tests that start the real `wsbench` command (bin/wsbench.js runs dist/)
 * test the current sources, also under `npx vitest run one.test.ts`. The build
 * writes only changed files (well under a second when nothing changed).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function buildDist(): void {
  const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--quiet'], { stdio: 'inherit' });
}
