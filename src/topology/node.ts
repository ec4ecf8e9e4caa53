/**
 * One bundled reference node as a child process: `node dist/servers/main.js ...` (compiled),
 * or `node --import tsx servers/main.ts ...` from the sources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PACKAGE_ROOT as ROOT, packageModule, tsxLoaderUrl } from '../package-paths.ts';
import { harnessError, usageError, type WsbenchError } from '../errors.ts';
import { killNow, signal, terminate, trackChild } from './children.ts';
import {
  HEALTH_POLL_INTERVAL_MS,
  HEALTH_REQUEST_TIMEOUT_MS,
  NODE_HEALTHY_TIMEOUT_MS,
  NODE_START_TIMEOUT_MS,
  STDERR_TAIL_LINES,
  STOP_GRACE_MS,
} from './defaults.ts';
import { httpBase, httpGet } from './http.ts';
import { eachLine, LineTail, shellQuote } from './lines.ts';
import type { NodeHandle, Protocol } from './types.ts';

/** Root of this package (the folder holding package.json). */
export const PACKAGE_ROOT = ROOT;

/** Entry point of the bundled reference server (compiled when wsbench runs compiled). */
export const SERVER_MAIN = packageModule('servers/main.ts');

/** Server option keys the topology sets itself; the same keys in `TopologySpec.server` are ignored or checked. */
export const RESERVED_SERVER_KEYS = ['node-id', 'redis', 'die-with-parent', 'protocol'] as const;

/** Node options for `entry`: tsx (from this package, not the cwd) for a .ts file, nothing for JavaScript. */
function entryLoaderArgs(entry: string): string[] {
  return /\.[mc]?ts$/.test(entry) ? ['--import', tsxLoaderUrl()] : [];
}

/** How to start one bundled reference node (`index`: node id in the topology). */
export interface BundledNodeOptions {
  index: number;
  protocol: Protocol;
  /** Server options (flag names without dashes -> raw values), passed through as `--key value`. */
  server: Record<string, string>;
  redisUrl?: string;
  /** Server entry point, default {@link SERVER_MAIN}. */
  entry?: string;
  /** Time for the URL, then again for /healthz, in milliseconds (default 15000 each). */
  startTimeoutMs?: number;
  log: (line: string) => void;
  /** Called when the node exits without having been asked to (after it was ready). */
  /** `stderr`: its last stderr lines, indented (what it said before dying). */
  onUnexpectedExit: (code: number | null, signal: string | null, stderr: string) => void;
}

type State = 'down' | 'starting' | 'running' | 'stopping';

/** A bundled node. Implements the public {@link NodeHandle}; the rest is for the topology. */
export class BundledNode implements NodeHandle {
  readonly id: string;
  readonly index: number;
  url = '';
  /** The token the node printed on stdout line 2 (minted with its secret), when it printed one. */
  token?: string;
  /** Port the node listens on, 0 before the first start. */
  port = 0;
  /**
   * With `--server ports=per-worker`: each cluster worker's own URL, as the node
   * printed them on stdout line 3 (`workers: URL URL ...`); empty otherwise.
   */
  workerUrls: string[] = [];
  paused = false;
  private child?: ChildProcess;
  private state: State = 'down';

  constructor(private readonly opts: BundledNodeOptions) {
    this.index = opts.index;
    this.id = `n${opts.index}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.state === 'running' || this.state === 'stopping';
  }

  /** The argv (after the node binary) for a start on `port`. */
  args(port: number): string[] {
    const { server, protocol, redisUrl } = this.opts;
    const entry = this.opts.entry ?? SERVER_MAIN;
    const args = [
      ...entryLoaderArgs(entry), entry,
      '--node-id', this.id,
      '--port', String(port),
      '--protocol', protocol,
    ];
    if (server.host === undefined) args.push('--host', '127.0.0.1');
    for (const [rawKey, value] of Object.entries(server)) {
      const key = rawKey.replace(/^-+/, '');
      if (key === 'port' || (RESERVED_SERVER_KEYS as readonly string[]).includes(key)) continue;
      args.push(`--${key}`, value);
    }
    if (redisUrl !== undefined) args.push('--redis', redisUrl);
    // A restart (same port) keeps the workers' own ports too, so their clients find them again.
    if (port !== 0 && this.workerUrls.length > 0) args.push('--worker-ports', this.workerUrls.map((u) => new URL(u).port).join(','));
    args.push('--die-with-parent');
    return args;
  }

  /** The whole command line for a start on `port`, quoted for a shell. */
  command(port: number): string {
    return shellQuote([process.execPath, ...this.args(port)]);
  }

  /**
   * Spawn the node on `port` (0 = ephemeral), wait for its URL on stdout line 1
   * (15 s), then until `/healthz` answers 200 (15 s).
   *
   * @throws usage error `WSB_ERR_SERVER_OPTIONS` when the node exits with code 2 (bad flags);
   *   harness error `WSB_ERR_NODE_START` when it exits or times out otherwise
   */
  async start(port = 0): Promise<void> {
    if (this.state !== 'down') throw harnessError('WSB_ERR_NODE_STATE', `node ${this.id} is already running`);
    this.state = 'starting';
    this.paused = false;
    const command = this.command(port);
    const urlTimeoutMs = this.opts.startTimeoutMs ?? NODE_START_TIMEOUT_MS;
    const healthyTimeoutMs = this.opts.startTimeoutMs ?? NODE_HEALTHY_TIMEOUT_MS;
    // Its own process group, so pause and kill reach cluster workers (--workers N) too.
    const child = spawn(process.execPath, this.args(port), { cwd: PACKAGE_ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    trackChild(child, { group: true });
    this.child = child;
    // stdin stays open and unused: the node exits on its EOF (--die-with-parent), i.e. when we die.
    child.stdin!.on('error', () => {});
    const tail = new LineTail(STDERR_TAIL_LINES);
    eachLine(child.stderr!, (line) => {
      tail.push(line);
      this.opts.log(`[${this.id}] ${line}`);
    });

    let lineNo = 0;
    let onUrl: ((url: string) => void) | undefined;
    eachLine(child.stdout!, (line) => {
      lineNo++;
      if (lineNo === 1) onUrl?.(line.trim());
      else if (lineNo === 2 && /^token:/i.test(line)) this.token = line.replace(/^token:\s*/i, '').trim();
      else if (lineNo === 3 && /^workers:/i.test(line)) this.workerUrls = line.replace(/^workers:\s*/i, '').trim().split(/\s+/);
      else this.opts.log(`[${this.id}] ${line}`);
    });

    let spawnError: Error | undefined;
    let exited = false;
    let onExitDuringStart: (() => void) | undefined;
    child.once('error', (e) => {
      spawnError = e;
      onExitDuringStart?.();
    });
    child.once('exit', (code, sig) => {
      exited = true;
      onExitDuringStart?.();
      const wasRunning = this.state === 'running';
      if (this.child === child) {
        this.child = undefined;
        this.state = 'down';
        this.paused = false;
      }
      // Let the last stderr lines arrive before quoting them.
      if (wasRunning) setTimeout(() => this.opts.onUnexpectedExit(code, sig, tail.format('    ')), 50);
    });

    const fail = async (why: string): Promise<WsbenchError> => {
      await killNow(child);
      // Let the last stderr lines arrive before quoting them.
      await sleep(50);
      if (child.exitCode === 2) {
        return usageError(
          'WSB_ERR_SERVER_OPTIONS',
          `the bundled server refused its options: ${tail.format('').split('\n').filter((l) => l.trim() !== '').slice(-5).join(' / ')}`,
          `check the server options; the command was: ${command}`,
        );
      }
      return harnessError(
        'WSB_ERR_NODE_START',
        `node ${this.id} (pid ${child.pid ?? 'none'}) did not start: ${why}\n  command: ${command}\n  stderr (last lines):\n${tail.format('    ')}`,
        'run the command above by hand to see what the server says',
        spawnError,
      );
    };
    const exitReason = () =>
      spawnError ? `could not spawn it (${spawnError.message})` : `it exited with ${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode} before it was ready`;

    try {
      // Line 1: the URL.
      const url = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), urlTimeoutMs);
        onUrl = (u) => {
          clearTimeout(timer);
          resolve(u);
        };
        onExitDuringStart = () => {
          clearTimeout(timer);
          resolve(undefined);
        };
        if (exited || spawnError) onExitDuringStart();
      });
      onUrl = undefined;
      onExitDuringStart = undefined;
      if (url === undefined) {
        throw await fail(exited || spawnError ? exitReason() : `it printed no URL within ${urlTimeoutMs / 1000} s`);
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw await fail(`its first line of output is not a URL: "${url}"`);
      }
      this.url = url;
      this.port = Number(parsed.port) || (parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 443 : 80);

      // Then /healthz until 200.
      const healthz = `${httpBase(loopback(url))}/healthz`;
      const deadline = Date.now() + healthyTimeoutMs;
      let last = 'no answer yet';
      for (;;) {
        if (exited || spawnError) throw await fail(exitReason());
        try {
          const res = await httpGet(healthz, HEALTH_REQUEST_TIMEOUT_MS);
          if (res.status === 200) break;
          last = `HTTP ${res.status} ${res.body.slice(0, 200)}`;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() > deadline) {
          throw await fail(`${healthz} did not answer 200 within ${healthyTimeoutMs / 1000} s (last: ${last})`);
        }
        await sleep(HEALTH_POLL_INTERVAL_MS);
      }
      if (exited) throw await fail(exitReason());
      this.state = 'running';
    } catch (e) {
      if (this.child === child) {
        this.child = undefined;
        this.state = 'down';
      }
      throw e;
    }
  }

  /** SIGTERM (graceful drain), SIGKILL after `graceMs` (default 5 s); resolves once it has exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.state = 'stopping';
    await terminate(child, graceMs);
  }

  /** SIGKILL; resolves once it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.state = 'stopping';
    await killNow(child);
  }

  /** Send a signal to the running node (SIGSTOP, SIGCONT, SIGUSR2); false when it is not running. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.child || this.state !== 'running') return false;
    const ok = signal(this.child, sig);
    if (ok && sig === 'SIGSTOP') this.paused = true;
    if (ok && sig === 'SIGCONT') this.paused = false;
    return ok;
  }

  /** `http://127.0.0.1:PORT`: where /healthz, /stats and /metrics live. */
  get httpUrl(): string {
    return httpBase(loopback(this.url));
  }
}

/** The URL with a wildcard listen address (0.0.0.0, ::) replaced by 127.0.0.1, for connecting. */
function loopback(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = '127.0.0.1';
  return u.toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
