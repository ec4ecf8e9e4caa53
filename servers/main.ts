/**
 * The reference server's entry point.
 *
 * Standalone: `node --import tsx servers/main.ts --port 0 --heartbeat-ms 5000 ...`
 * (flags are the option keys of SERVER_OPTION_SPECS; `--key value`,
 * `--key=value`, bare `--presence` for booleans). When ready, stdout line 1 is
 * the URL and line 2 `token: <JWT>` (or `token: (auth off)`); with
 * `--ports per-worker` line 3 `workers: <url> <url> ...` (each cluster worker's
 * own URL, in worker order); nothing else goes to stdout. Exit codes: 0 after a drain on SIGTERM/SIGINT, 2 bad flags or an
 * unavailable feature, 3 the server could not start.
 *
 * In-process: `startServer(options)` (used by `wsbench serve`).
 */
import cluster, { type Worker } from 'node:cluster';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVER_OPTION_SPECS, parseServerOptions, type ServerOptions } from './core/options.ts';
import { signToken } from './core/jwt.ts';
import { isServerConfigError } from './core/errors.ts';
import { createClusterHub, type ToPrimary } from './core/cluster.ts';
import { createReferenceServer } from './ws/server.ts';
import { startLeak } from './core/leak.ts';
import { createBus } from './core/bus-factory.ts';
import { retentionLimitsOf } from './core/room-log.ts';
import { startSocketIoServer } from './socketio/start.ts';
import { capYoungGeneration } from './core/young-gen.ts';

export { SERVER_OPTION_SPECS, parseServerOptions } from './core/options.ts';
export type { ServerOptions } from './core/options.ts';

/** A running reference server (or cluster primary). */
export interface StartedServer {
  /** `ws://HOST:PORT/ws`. */
  url: string;
  /**
   * With `ports: 'per-worker'` (cluster only): each worker's own URL, in worker
   * order; `url` (the shared port) keeps serving too. Undefined otherwise.
   */
  workerUrls?: string[];
  /** A development token (sub `dev`, 24 h, every room) signed with the secret in force; undefined with auth off. */
  token?: string;
  /** Close every connection with 1001 and stop (waits up to drainTimeoutMs). Idempotent. */
  stop(): Promise<void>;
}

/** How `startServer` runs in this process (signal handlers, diagnostics). */
export interface StartOptions {
  /**
   * Install process handlers (default true): SIGTERM/SIGINT stop and exit 0,
   * SIGUSR2 closes every connection with 1012, and with `dieWithParent` stdin
   * EOF stops and exits 0. Removed again by stop().
   */
  signals?: boolean;
  /** Diagnostics (default stderr). */
  log?: (line: string) => void;
}

const WORKER_READY_TIMEOUT_MS = 30_000;

/**
 * Start the reference server in this process (workers = 1) or as a Node
 * cluster of `workers` processes sharing the port. Throws a ServerConfigError
 * for an unavailable feature (the Socket.IO flavour's checks in socketio/start.ts).
 */
export async function startServer(options: ServerOptions, startOpts: StartOptions = {}): Promise<StartedServer> {
  const log = startOpts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // The memory budgets hold only with a young generation that does not grow (servers/core/young-gen.ts).
  if (options.inflightBytes > 0) capYoungGeneration();
  const token = options.auth ? signToken({ sub: 'dev' }, options.secret, { expiresInSec: 24 * 3600 }) : undefined;

  let url: string;
  let workerUrls: string[] | undefined;
  let stopImpl: () => Promise<void>;
  let dropAll: (code?: number) => void;

  if (options.protocol === 'socketio') {
    ({ url, stop: stopImpl, dropAll } = await startSocketIoServer(options, log));
  } else if (options.workers <= 1) {
    const bus = await createBus(options, 'single', { log });
    const server = await createReferenceServer(options, { log, bus }).catch(async (err) => {
      await bus.close();
      throw err;
    });
    url = server.url;
    stopImpl = () => server.close().finally(() => bus.close());
    dropAll = (code) => server.dropAll(code);
  } else {
    ({ url, workerUrls, stop: stopImpl, dropAll } = await startCluster(options, log));
  }

  const stopLeak = startLeak(options.leakKibPerSec);
  const handlers: Array<[string, (...a: unknown[]) => void]> = [];
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      stopLeak();
      for (const [ev, h] of handlers) {
        if (ev === 'stdin-end') process.stdin.off('end', h);
        else process.off(ev, h);
      }
      await stopImpl();
    })();
    return stopped;
  };

  if (startOpts.signals !== false) {
    const exitAfterStop = () => {
      stop().then(
        () => process.exit(0),
        (err) => {
          log(`wsbench server: stop failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
    };
    const onUsr2 = () => dropAll(1012);
    handlers.push(['SIGTERM', exitAfterStop], ['SIGINT', exitAfterStop], ['SIGUSR2', onUsr2]);
    process.on('SIGTERM', exitAfterStop);
    process.on('SIGINT', exitAfterStop);
    process.on('SIGUSR2', onUsr2);
    if (options.dieWithParent) {
      handlers.push(['stdin-end', exitAfterStop]);
      process.stdin.on('end', exitAfterStop);
      process.stdin.resume();
    }
  }
  return { url, workerUrls, token, stop };
}

async function startCluster(options: ServerOptions, log: (l: string) => void) {
  if (!cluster.isPrimary) throw new Error('startServer with workers > 1 must run in a cluster primary');
  cluster.setupPrimary({
    // The worker as this file runs: compiled (no loader) or from the sources through tsx.
    exec: fileURLToPath(new URL(`./ws/worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
    execArgv: import.meta.url.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [],
    args: [],
    // Workers write nothing to stdout; whatever they print goes to our stderr.
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  } as Parameters<typeof cluster.setupPrimary>[0]);
  const perWorker = options.ports === 'per-worker';
  const hub = createClusterHub({ retention: retentionLimitsOf(options), node: options.nodeId, perWorker });
  const workers: Worker[] = [];
  let stopping = false;
  const env = { WSBENCH_SERVER_OPTIONS: JSON.stringify({ ...options, workers: 1, dieWithParent: false }) };

  const readies: Promise<{ url: string; ownUrl?: string }>[] = [];
  for (let i = 0; i < options.workers; i++) {
    const w = cluster.fork({ ...env, WSBENCH_WORKER_INDEX: String(i) });
    workers.push(w);
    hub.attach(w);
    readies.push(
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker ${i} not ready after ${WORKER_READY_TIMEOUT_MS} ms`)), WORKER_READY_TIMEOUT_MS);
        w.on('message', (m: ToPrimary) => {
          if (m && m.wsb === 1 && m.op === 'ready') {
            clearTimeout(timer);
            resolve({ url: m.url, ownUrl: m.ownUrl });
          }
        });
        w.once('exit', (code, signal) => {
          clearTimeout(timer);
          hub.detach(w);
          if (!stopping) log(`wsbench server: worker ${w.process.pid} exited (code ${code}, signal ${signal})`);
          reject(new Error(`worker ${i} exited before it was ready (code ${code}, signal ${signal})`));
        });
      }),
    );
  }
  const killAll = () => {
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
  };
  let ready: { url: string; ownUrl?: string }[];
  try {
    ready = await Promise.all(readies);
  } catch (err) {
    stopping = true;
    killAll();
    hub.close();
    throw err;
  }
  // Workers that exit later still reject their (already settled) ready promise: harmless.
  for (const r of readies) r.catch(() => {});

  const stop = async () => {
    stopping = true;
    const exited = workers.filter((w) => !w.isDead()).map((w) => new Promise<void>((r) => w.once('exit', () => r())));
    hub.broadcast({ wsb: 1, op: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exited), new Promise<void>((r) => (timer = setTimeout(r, options.drainTimeoutMs + 3000)))]);
    clearTimeout(timer);
    killAll();
    hub.close();
  };
  return { url: ready[0]!.url, workerUrls: perWorker ? ready.map((r) => r.ownUrl ?? r.url) : undefined, stop, dropAll: (code?: number) => hub.broadcast({ wsb: 1, op: 'drop-all', code }) };
}

/** Turn argv into raw option strings (keys without dashes). Bare boolean flags mean true. */
export function parseServerArgs(argv: string[]): { raw: Record<string, string>; errors: string[]; help: boolean } {
  const raw: Record<string, string> = {};
  const errors: string[] = [];
  let help = false;
  const boolWords = /^(true|false|on|off|yes|no|1|0)$/i;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (!a.startsWith('--') || a === '--') {
      errors.push(`unexpected argument ${JSON.stringify(a)}; flags look like --key value or --key=value`);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if (eq !== -1) {
      raw[key] = a.slice(eq + 1);
      continue;
    }
    const spec = SERVER_OPTION_SPECS.find((s) => s.key === key);
    const next = argv[i + 1];
    if (spec?.type === 'bool') {
      if (next !== undefined && boolWords.test(next)) {
        raw[key] = next;
        i++;
      } else raw[key] = 'true';
    } else if (next === undefined || next.startsWith('--')) {
      errors.push(`${key}: missing value${spec ? ` (${spec.description})` : ''}`);
    } else {
      raw[key] = next;
      i++;
    }
  }
  return { raw, errors, help };
}

/** The `--help` text of servers/main.ts: one line per option of SERVER_OPTION_SPECS. */
export function usage(): string {
  const lines = SERVER_OPTION_SPECS.map((s) => {
    const v = s.type === 'bool' ? '' : s.type === 'enum' ? ` <${s.values?.join('|')}>` : s.type === 'onoff' ? ' <on|off>' : s.type === 'int' ? ' <n>' : ' <value>';
    return `  --${s.key}${v}`.padEnd(34) + s.description;
  });
  return `Usage: node --import tsx servers/main.ts [flags]\n\nStarts the wsbench reference server; prints its URL and a development token.\n\n${lines.join('\n')}\n`;
}

/** CLI main; returns the exit code on failure (success keeps running until a signal). */
export async function main(argv: string[]): Promise<number | undefined> {
  const { raw, errors: argErrors, help } = parseServerArgs(argv);
  if (help) {
    process.stdout.write(usage());
    return 0;
  }
  const { options, errors } = parseServerOptions(raw);
  const problems = [...argErrors, ...errors];
  if (problems.length) {
    process.stderr.write(`wsbench server: bad flags:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun with --help for the list of flags.\n`);
    return 2;
  }
  try {
    const started = await startServer(options);
    process.stdout.write(`${started.url}\ntoken: ${started.token ?? '(auth off)'}\n${started.workerUrls ? `workers: ${started.workerUrls.join(' ')}\n` : ''}`);
    return undefined;
  } catch (err) {
    if (isServerConfigError(err)) {
      process.stderr.write(`wsbench server: ${err.problems.join('\n')}\n`);
      return 2;
    }
    process.stderr.write(`wsbench server: could not start: ${(err as Error).message}\n`);
    return 3;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly && cluster.isPrimary) {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
}
