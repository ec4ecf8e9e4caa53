/**
 * CPU time the cluster primary of a bundled node spends per accepted connection:
 * a load-independent measure of the single accepting process (CPU seconds, not
 * wall time, so the noisy machine changes it little).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { procCpuMs as cpuMs } from './server-cpu.ts';

const SERVER = fileURLToPath(new URL('../../dist/servers/main.js', import.meta.url));

/** Open one WebSocket to `url` and resolve once it is open (rejects on error or after 30 s). */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error(`no open after 30 s: ${url}`)), 30_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Start `node dist/servers/main.js --workers 2 --ports PORTS --auth off`, open
 * `conns` connections (`concurrency` at a time; round robin over the workers'
 * own URLs with per-worker ports), and return the primary's CPU microseconds per
 * connection. Everything it opened is closed and the server stopped, also on failure.
 */
export async function primaryCpuPerConnection(ports: 'shared' | 'per-worker', conns: number, concurrency = 100): Promise<number> {
  const child = spawn(process.execPath, [SERVER, '--workers', '2', '--ports', ports, '--auth', 'off', '--port', '0', '--die-with-parent'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sockets: WebSocket[] = [];
  try {
    const lines = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      const want = ports === 'per-worker' ? 3 : 2;
      child.stdout!.on('data', (d) => {
        out += d;
        const got = out.split('\n').filter(Boolean);
        if (got.length >= want) resolve(got);
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready`)));
    });
    const urls = ports === 'per-worker' ? lines[2]!.replace(/^workers:\s*/, '').split(' ') : [lines[0]!];
    const before = cpuMs(child.pid!);
    let next = 0;
    const lane = async () => {
      while (next < conns) {
        const i = next++;
        sockets.push(await open(urls[i % urls.length]!));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return ((cpuMs(child.pid!) - before) * 1000) / conns;
  } finally {
    for (const s of sockets) s.terminate();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}
