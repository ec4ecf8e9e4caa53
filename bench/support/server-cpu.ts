/**
 * CPU time one bundled ws-flavour server process spends per connection (TCP accept,
 * HTTP upgrade with a token, welcome, one join), measured from /proc/PID/stat while
 * bare sockets open `conns` connections: the client side is as cheap as a Node client
 * gets, so the figure is the server's own and the machine's load changes it little
 * (CPU time, not wall time). Used by bench/accept.bench.ts and by hand:
 *
 *   npx tsx bench/support/server-cpu.ts [conns] [server script] [-- extra server flags]
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../dist/servers/main.js', import.meta.url));
/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SEC = 100;
/** The bundled server's default secret (servers/core/jwt.ts DEV_SECRET). */
const DEV_SECRET = 'wsbench-dev-secret-do-not-use-in-production';

/** utime + stime of `pid`, in milliseconds (10 ms resolution). */
export function procCpuMs(pid: number): number {
  const t = procTimes(pid);
  return t.userMs + t.sysMs;
}

/** utime and stime of `pid`, in milliseconds (10 ms resolution). */
export function procTimes(pid: number): { userMs: number; sysMs: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { userMs: (Number(fields[11]) * 1000) / TICKS_PER_SEC, sysMs: (Number(fields[12]) * 1000) / TICKS_PER_SEC };
}

/** An HS256 token for `sub` (one user per connection, so the per-identity cap never refuses). */
function token(sub: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 3600 }))}`;
  return `${input}.${createHmac('sha256', DEV_SECRET).update(input).digest('base64url')}`;
}

/** A masked client text frame (zero mask: the payload goes as is). */
function textFrame(text: string): Buffer {
  const p = Buffer.from(text);
  if (p.length > 125) throw new Error('textFrame: payload over 125 bytes');
  return Buffer.concat([Buffer.from([0x81, 0x80 | p.length, 0, 0, 0, 0]), p]);
}

export interface ServerCpu {
  /** Server CPU microseconds per connection (accept, upgrade, welcome, join). */
  usPerConn: number;
  /** Share of it spent in the kernel (system time). */
  sysShare: number;
  /** Connections per second of the whole measurement (wall clock). */
  connsPerSec: number;
}

/**
 * Start `node SCRIPT --workers 1 --port 0 --die-with-parent ...extra`, open `conns` connections
 * with bare sockets (`concurrency` at a time), each: upgrade with a Bearer token, wait for the
 * welcome, join `room-(i % 100)` (unless `join` is false), wait for `joined`; all stay open until the end. Returns the
 * server's CPU per connection. Everything is closed and the server stopped, also on failure.
 */
export async function serverCpuPerConnection(conns: number, opts: { script?: string; extra?: string[]; concurrency?: number; join?: boolean } = {}): Promise<ServerCpu> {
  const join = opts.join ?? true;
  // WSB_SERVER_NODE_ARGS: node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = process.env.WSB_SERVER_NODE_ARGS ? process.env.WSB_SERVER_NODE_ARGS.split(' ') : [];
  const child = spawn(process.execPath, [...nodeArgs, opts.script ?? SERVER, '--workers', '1', '--port', '0', '--die-with-parent', ...(opts.extra ?? [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sockets: net.Socket[] = [];
  try {
    const url = await new Promise<URL>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl > 0) resolve(new URL(out.slice(0, nl).trim()));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready`)));
    });
    const port = Number(url.port);
    // Tokens minted before the measurement: their cost is the client's, not the server's.
    const requests = Array.from(
      { length: conns },
      (_, i) =>
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token(`u${i}`)}\r\n\r\n`,
    );
    const joins = Array.from({ length: 100 }, (_, r) => textFrame(`{"type":"join","id":1,"room":"room-${r}"}`));
    const one = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
        sockets.push(s);
        let stage = 0;
        const timer = setTimeout(() => reject(new Error(`connection ${i}: no joined after 30 s`)), 30_000);
        s.once('error', reject);
        s.on('data', (d: Buffer) => {
          if (stage === 0) {
            if (d.indexOf(' 101 ') < 0) return reject(new Error(`connection ${i}: ${d.toString('latin1', 0, 200)}`));
            stage = 1;
            if (d.indexOf('"welcome"') < 0) return;
          }
          if (stage === 1 && d.indexOf('"welcome"') >= 0) {
            stage = 2;
            if (!join) {
              clearTimeout(timer);
              return resolve();
            }
            s.write(joins[i % 100]!);
            return;
          }
          if (stage === 2 && d.indexOf('"joined"') >= 0) {
            stage = 3;
            clearTimeout(timer);
            resolve();
          }
        });
        s.write(requests[i]!);
      });
    const before = procTimes(child.pid!);
    const t0 = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < conns) await one(next++);
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 50 }, lane));
    const ms = performance.now() - t0;
    const after = procTimes(child.pid!);
    const userMs = after.userMs - before.userMs;
    const sysMs = after.sysMs - before.sysMs;
    return { usPerConn: ((userMs + sysMs) * 1000) / conns, sysShare: sysMs / (userMs + sysMs), connsPerSec: (conns / ms) * 1000 };
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dash = process.argv.indexOf('--');
  const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
  const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
  // WSB_SERVER_CPU_NO_JOIN=1: stop at the welcome (the join's share is the difference).
  const r = await serverCpuPerConnection(Number(args[0] ?? 5000), { script: args[1], extra, join: process.env.WSB_SERVER_CPU_NO_JOIN !== '1' });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
