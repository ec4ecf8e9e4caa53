/**
 * A private redis-server for a run: ephemeral loopback port, no persistence,
 * its own temp dir; stoppable, restartable on the same port, pausable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { harnessError } from '../errors.ts';
import { atExit, killNow, signal, terminate, trackChild } from './children.ts';
import { REDIS_PORT_ATTEMPTS, REDIS_START_TIMEOUT_MS, RESTART_ATTEMPTS, STDERR_TAIL_LINES, STOP_GRACE_MS } from './defaults.ts';
import { eachLine, LineTail, shellQuote } from './lines.ts';
import { freePort } from './ports.ts';

/** How to start a private redis-server for a test or a multi-node run (all optional). */
export interface RedisServerOptions {
  /** Port to listen on (127.0.0.1 only). Default: a free ephemeral port, picked again if it is taken meanwhile. */
  port?: number;
  /** Called with every line redis-server logs. */
  log?: (line: string) => void;
  /** The redis-server binary. Default: `redis-server` found on PATH. */
  binary?: string;
}

/** A redis-server process wsbench started on 127.0.0.1: its URL and pid, and how to restart, pause or stop it. */
export interface RedisServerHandle {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Pid of the current redis-server process (changes on restart; undefined while it is down). */
  readonly pid: number | undefined;
  /** True while a redis-server process is running (also while paused). */
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 5 s), wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop, wait `downMs` milliseconds (default 0), start again on the same port and wait until it answers PING. */
  restart(downMs?: number): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Continue a paused server (SIGCONT). */
  resume(): void;
  /** Called when redis-server exits without having been asked to. */
  onUnexpectedExit(cb: (code: number | null, signal: string | null) => void): void;
}

const INSTALL_HINT =
  'install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), or pass `--redis URL` to use an existing one';

/** Absolute path of `redis-server` on `searchPath` (default: PATH), or undefined. */
export function findRedisServer(searchPath: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'redis-server');
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Start a redis-server of our own on 127.0.0.1 with persistence off
 * (`--save '' --appendonly no`) in a fresh temp dir, and resolve once it answers PING.
 *
 * @throws WsbenchError `WSB_ERR_REDIS_MISSING` (exit 3) when redis-server is not on PATH,
 *   `WSB_ERR_REDIS_START` (exit 3) when it exits or does not answer within 10 s
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = opts.binary ?? findRedisServer();
  if (binary === undefined) {
    throw harnessError('WSB_ERR_REDIS_MISSING', `redis-server was not found on PATH: ${INSTALL_HINT}`, INSTALL_HINT);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsbench-redis-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const unregister = atExit(removeDir);

  const log = opts.log ?? (() => {});
  let child: ChildProcess | undefined;
  let port = opts.port ?? 0;
  let expectingExit = false;
  let stopped: Promise<void> | undefined;
  const unexpected: Array<(code: number | null, signal: string | null) => void> = [];

  const watch = (c: ChildProcess) => {
    c.once('exit', (code, sig) => {
      if (child === c) child = undefined;
      if (!expectingExit) for (const cb of unexpected) cb(code, sig);
    });
  };

  const launch = async (fixedPort: boolean): Promise<void> => {
    const attempts = fixedPort ? RESTART_ATTEMPTS : REDIS_PORT_ATTEMPTS;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const p = fixedPort ? port : await freePort();
      try {
        const c = await spawnRedis(binary, p, dir, log);
        child = c;
        port = p;
        watch(c);
        return;
      } catch (e) {
        lastError = e;
        if (!(e instanceof PortInUse)) break;
        if (fixedPort) await sleep(200);
      }
    }
    const detail = lastError instanceof Error ? lastError.message : String(lastError);
    throw harnessError('WSB_ERR_REDIS_START', `redis-server did not start: ${detail}`, 'see the output above; pass `--redis URL` to use an existing Redis instead', lastError);
  };

  try {
    await launch(opts.port !== undefined);
  } catch (e) {
    unregister();
    removeDir();
    throw e;
  }

  const stopChild = async () => {
    const c = child;
    if (!c) return;
    expectingExit = true;
    try {
      await terminate(c, STOP_GRACE_MS);
    } finally {
      expectingExit = false;
    }
  };

  const handle: RedisServerHandle = {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined;
    },
    stop() {
      stopped ??= (async () => {
        expectingExit = true;
        const c = child;
        if (c) await terminate(c, STOP_GRACE_MS);
        unregister();
        removeDir();
      })();
      return stopped;
    },
    async restart(downMs = 0) {
      if (stopped) throw harnessError('WSB_ERR_REDIS_STOPPED', 'cannot restart a redis-server that was stopped');
      await stopChild();
      if (downMs > 0) await sleep(downMs);
      if (stopped) return;
      await launch(true);
      // stop() ran while we were starting: it could not see this process.
      if (stopped && child) await terminate(child, STOP_GRACE_MS);
    },
    pause() {
      if (child) signal(child, 'SIGSTOP');
    },
    resume() {
      if (child) signal(child, 'SIGCONT');
    },
    onUnexpectedExit(cb) {
      unexpected.push(cb);
    },
  };
  return handle;
}

class PortInUse extends Error {}

async function spawnRedis(binary: string, port: number, dir: string, log: (line: string) => void): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', ''];
  const command = shellQuote([binary, ...args]);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const tail = new LineTail(STDERR_TAIL_LINES);
  const onLine = (line: string) => {
    tail.push(line);
    log(line);
  };
  eachLine(child.stdout!, onLine);
  eachLine(child.stderr!, onLine);

  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`${spawnError.message}\n  command: ${command}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      // Let the last lines of output arrive before quoting them.
      await sleep(50);
      const text = tail.format();
      const msg = `it exited (${child.exitCode ?? child.signalCode}) before answering PING\n  command: ${command}\n  output:\n${text}`;
      if (/address already in use/i.test(text)) throw new PortInUse(msg);
      throw new Error(msg);
    }
    // Ask for the pid, not just a PONG: another server may already hold the port.
    if ((await redisPid(port, 500)) === child.pid) return child;
    await sleep(50);
  }
  await killNow(child);
  throw new Error(`it did not answer PING within ${REDIS_START_TIMEOUT_MS} ms\n  command: ${command}\n  output:\n${tail.format()}`);
}

/** The `process_id` a Redis at 127.0.0.1:`port` reports in `INFO server`, or undefined. Never throws. */
export function redisPid(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.startsWith('-')) return done(undefined);
      const m = /process_id:(\d+)\r\n/.exec(buf);
      if (m) done(Number(m[1]));
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}

/** True when a Redis at 127.0.0.1:`port` answers PING with PONG within `timeoutMs`. Never throws. */
export function ping(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
