/**
 * The package runs compiled JavaScript (dist/, scripts/build.mjs) and still loads
 * users' TypeScript scenario files: the real `wsbench` command from a directory
 * that has no tsx (nor anything else) installed, a user's .ts scenario importing
 * 'wsbench' through the package's export map, and `wsbench list` into a closed pipe.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { loaderArgs, PACKAGE_ROOT, packageModule } from '../../src/package-paths.ts';
import { BIN, QUICK } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-compiled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `node bin/wsbench.js ARGS` with `cwd`; exit code and output. */
function wsbench(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    // 'close', not 'exit': stdout and stderr are drained by then.
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('compiled wsbench', () => {
  it('the build wrote dist/ and the sources know where their compiled twins are', () => {
    const compiled = readdirSync(join(PACKAGE_ROOT, 'dist', 'scenarios'));
    expect(compiled).toContain('broadcast.js');
    // From the sources (as here), children get tsx as an absolute file URL, never a bare name the cwd must resolve.
    expect(loaderArgs()).toEqual(['--import', expect.stringMatching(/^file:\/\/\/.*tsx/)]);
    expect(packageModule('servers/main.ts')).toBe(join(PACKAGE_ROOT, 'servers', 'main.ts'));
  });

  it('`wsbench run broadcast` works from a directory where nothing is installed (no tsx to resolve from the cwd)', async () => {
    const cwd = join(dir, 'empty');
    mkdirSync(cwd);
    const r = await wsbench(['run', 'broadcast', '--clients', '20', '--rooms', '2', '--rate', '20', ...QUICK, '--quiet', '--out', 'r.json'], cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(cwd, 'r.json'), 'utf8')) as Report;
    expect(report.ledger.delivered).toBeGreaterThan(0);
    expect(report.ledger.delivered).toBe(report.ledger.expected);
  });

  it("a user's .ts scenario importing 'wsbench' loads in the CLI and in the workers, and gets the compiled API", async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(PACKAGE_ROOT, join(project, 'node_modules', 'wsbench'), 'dir');
    writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
    // Each process that loads the file records where 'wsbench' resolved to.
    writeFileSync(
      join(project, 'my-scenario.ts'),
      `import { writeFileSync } from 'node:fs';
import { defineScenario, type ScenarioDefinition } from 'wsbench';
writeFileSync(${JSON.stringify(project)} + '/resolved-' + process.pid, import.meta.resolve('wsbench'));
const def: ScenarioDefinition = defineScenario({ name: 'mine', description: 'a user scenario in TypeScript', defaults: { clients: 6, rooms: 1, rate: 10 } });
export default def;
`,
    );
    const r = await wsbench(['run', './my-scenario.ts', ...QUICK, '--quiet', '--out', 'r.json'], project);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(project, 'r.json'), 'utf8')) as Report;
    expect(report.scenario.name).toBe('mine');
    expect(report.ledger.delivered).toBe(report.ledger.expected);
    const records = readdirSync(project).filter((f) => f.startsWith('resolved-'));
    // The coordinator and at least one generator worker, in different processes.
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const f of records) expect(readFileSync(join(project, f), 'utf8')).toMatch(/\/dist\/src\/index\.js(\?|$)/);
  });

  it('`wsbench list` into a pipe closed early ends quietly (no EPIPE)', () => {
    // `true` exits without reading: every write of `list` meets a closed pipe.
    const out = execFileSync('bash', ['-c', `"${process.execPath}" "${BIN}" list | true; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('status=0');
  });
});
