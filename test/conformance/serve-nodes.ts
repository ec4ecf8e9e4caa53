/** `wsbench serve` and gallery servers as real child processes, for tests that drive them as external targets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from '../support/cli.ts';
import { killPid, waitForPidGone } from '../helpers/index.ts';

export interface ServeProcess {
  url: string;
  pid: number;
  child: ChildProcess;
}

/**
 * Start `wsbench serve --port 0 ARGS` and resolve with the URL it prints. The
 * caller stops it with stopServe() (afterAll/afterEach), also when a test fails.
 */
export function startServe(args: string[], timeoutMs = 20_000): Promise<ServeProcess> {
  return startUrlPrinter([BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], timeoutMs);
}

/**
 * Start `node ARGV` (a server that prints its URL on stdout line 1, e.g. a gallery
 * server run with `--import tsx`) and resolve with that URL. Stopped by stopServes().
 */
export function startUrlPrinter(argv: string[], timeoutMs = 20_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  started.add(pid);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} printed no URL within ${timeoutMs} ms\n${err}`)), timeoutMs);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve({ url: line.trim(), pid, child });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}\n${err}`));
    });
  });
}

const started = new Set<number>();

/** SIGKILL every process startServe()/startUrlPrinter() started (resumed first, were it frozen) and wait until they are gone. */
export async function stopServes(): Promise<void> {
  const pids = [...started];
  started.clear();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
    killPid(pid);
  }
  await Promise.all(pids.map((pid) => waitForPidGone(pid).catch(() => {})));
}
