/**
 * Benchmarks that measure through the real harness: `wsbench run ...` as a child
 * process (the CLI a user runs), its JSON report read back.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../src/report/schema.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'wsbench.js');

/**
 * Run `wsbench run ARGS --out FILE -q`; resolves to the report, rejects when it exits non-zero
 * (unless `anyExit`: a run whose checks failed still reports) or hangs. `bin`: another
 * checkout's CLI (support/baseline.ts); `onSpawn` gets the CLI's pid (support/proc-tree.ts).
 */
export function runWsbench(args: string[], timeoutMs = 90_000, { bin = BIN, anyExit = false, onSpawn }: { bin?: string; anyExit?: boolean; onSpawn?: (pid: number) => void } = {}): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'wsb-bench-'));
  const out = join(dir, 'r.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', ...args, '--out', out, '-q'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0 && !(anyExit && (code === 1 || code === 4))) throw new Error(`wsbench run ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
        resolve(JSON.parse(readFileSync(out, 'utf8')) as Report);
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
