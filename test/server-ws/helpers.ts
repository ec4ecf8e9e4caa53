/** Test helpers: real servers on 127.0.0.1:0 and real `ws` clients, all closed in afterEach. */
import WebSocket, { type ClientOptions } from 'ws';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createReferenceServer, type ReferenceServer, type ServerDeps } from '../../servers/ws/server.ts';
import { signToken, DEV_SECRET, type TokenClaims } from '../../servers/core/jwt.ts';
import type { ServerOptions } from '../../servers/core/options.ts';

export type Frame = Record<string, any>;

export const MAIN = fileURLToPath(new URL('../../servers/main.ts', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const servers: ReferenceServer[] = [];
const clients: Client[] = [];
const children: ChildProcess[] = [];

/** Close everything the test started (call from afterEach). */
export async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const ch of children.splice(0)) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close({ drainTimeoutMs: 200 })));
}

export async function startTestServer(opts: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ReferenceServer> {
  const s = await createReferenceServer({ heartbeatMs: 0, ...opts }, { log: () => {}, ...deps });
  servers.push(s);
  return s;
}

export function token(claims: Partial<TokenClaims> = {}, opts: { expiresInSec?: number; secret?: string } = {}): string {
  return signToken({ sub: 'alice', ...claims }, opts.secret ?? DEV_SECRET, opts);
}

export class Client {
  readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  welcome!: Frame;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(d.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
    this.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  }

  static async open(url: string, opts: { claims?: Partial<TokenClaims>; token?: string | null; ws?: ClientOptions } = {}): Promise<Client> {
    const t = opts.token === null ? undefined : (opts.token ?? token(opts.claims));
    const ws = new WebSocket(t ? `${url}?token=${t}` : url, opts.ws);
    const c = new Client(ws);
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    c.welcome = await c.next((f) => f.type === 'welcome');
    return c;
  }

  send(obj: unknown): void {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** The first not-yet-taken frame matching `pred` (removed from `frames`). */
  async next(pred: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i !== -1) return this.frames.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame in ${timeoutMs} ms; have ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Send a request and wait for the reply with the same id. */
  async request(obj: Frame, timeoutMs = 3000): Promise<Frame> {
    this.send(obj);
    return this.next((f) => f.id === obj.id && f.type !== 'message', timeoutMs);
  }

  async join(room: string, extra: Frame = {}): Promise<Frame> {
    return this.request({ type: 'join', id: `j-${room}-${Math.random()}`, room, ...extra });
  }
}

/** Resolve with the HTTP status of a refused upgrade (rejects if the upgrade succeeds). */
export function upgradeStatus(url: string, opts: ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('upgrade unexpectedly succeeded'));
    });
    ws.on('error', () => {});
  });
}

export async function getJson(port: number, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface MainProcess {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Resolves with the first `n` stdout lines. */
  firstLines(n: number, timeoutMs?: number): Promise<string[]>;
}

/** Spawn servers/main.ts with `args` (killed in cleanup if still running). */
export function spawnMain(args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return {
    child,
    lines,
    stderr,
    exited,
    async firstLines(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < n) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`main.ts printed ${JSON.stringify(lines)}; stderr ${stderr.join('\n')}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 100);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return lines.slice(0, n);
    },
  };
}
