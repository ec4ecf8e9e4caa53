/** Runs the real CLI as a child process and captures everything. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/wsbench.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { timeoutMs?: number; onSpawn?: (pid: number) => void; onStderr?: (soFar: string) => void; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wsbench ${args.join(' ')} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 90_000);
    // 'exit' can come before the last of stdout and stderr is read (seen on a loaded machine: an
    // empty stdout from a run that printed its table): resolve at 'close', when both pipes are
    // drained, or 2 s after 'exit' should a grandchild still hold them.
    let closed = false;
    child.on('close', () => (closed = true));
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      const done = () => resolve({ code, signal, stdout, stderr });
      if (closed) return done();
      const grace = setTimeout(done, 2000);
      child.once('close', () => {
        clearTimeout(grace);
        done();
      });
    });
    opts.onSpawn?.(child.pid!);
  });
}

/**
 * Fast settings for test runs: short phases. One measured second holds enough samples
 * for every assertion made on these runs (counts, exact ledgers, percentiles' order).
 */
export const QUICK = ['--warmup', '300ms', '--cooldown', '500ms', '--duration', '1s'];
