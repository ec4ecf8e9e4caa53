/** `wsbench serve` as a real child process, for tests that drive it as an external target. */
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
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  started.add(pid);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`wsbench serve printed no URL within ${timeoutMs} ms\n${err}`)), timeoutMs);
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
      reject(new Error(`wsbench serve exited with ${code}\n${err}`));
    });
  });
}

const started = new Set<number>();

/** SIGKILL every serve process startServe() started and wait until they are gone. */
export async function stopServes(): Promise<void> {
  const pids = [...started];
  started.clear();
  for (const pid of pids) killPid(pid);
  await Promise.all(pids.map((pid) => waitForPidGone(pid).catch(() => {})));
}
