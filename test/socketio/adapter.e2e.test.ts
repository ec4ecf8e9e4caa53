/**
 * The harness's Socket.IO adapter end to end: `wsbench run ... --protocol socketio`
 * as a child process against the bundled Socket.IO flavour and against tiny
 * misbehaving Socket.IO servers written here.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'wsbench.js');
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(closers.splice(0).map((f) => f()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: any;
  ms: number;
}

function wsbench(args: string[], timeoutMs = 40_000): Promise<CliResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wsb-sio-'));
  dirs.push(dir);
  const out = join(dir, 'report.json');
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, 'run', ...args, '--out', out, '-q'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wsbench ${args.join(' ')} did not end within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': stdout and stderr are drained by then.
    child.on('close', (code) => {
      clearTimeout(timer);
      let report: any;
      try {
        report = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        report = undefined;
      }
      resolve({ code, stdout, stderr, report, ms: Date.now() - t0 });
    });
  });
}

/** A tiny Socket.IO server on 127.0.0.1:0; `setup` adds its behaviour. */
async function tinyServer(setup: (io: Server) => void): Promise<{ url: string; port: number }> {
  const http: HttpServer = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  setup(io);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  closers.push(async () => {
    io.disconnectSockets(true);
    await io.close();
  });
  const port = (http.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/socket.io`, port };
}

const SHORT = ['--duration', '1s', '--warmup', '300ms', '--cooldown', '500ms'];

describe('wsbench run --protocol socketio', () => {
  it('broadcast against the bundled Socket.IO flavour: exit 0, exact ledger; the same counters through socket.io-client', async () => {
    // The lean client (default) and socket.io-client side by side: both exact, the same counters by name.
    const [r, lib] = await Promise.all([
      wsbench(['broadcast', '--protocol', 'socketio', '--clients', '100', ...SHORT]),
      wsbench(['broadcast', '--protocol', 'socketio', '--set', 'client=socket.io-client', '--clients', '100', ...SHORT]),
    ]);
    expect(lib.code, lib.stderr).toBe(0);
    expect(lib.report.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, delivered: lib.report.ledger.expected });
    expect(Object.keys(r.report.counters).sort()).toEqual(Object.keys(lib.report.counters).sort());
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.target.protocol).toBe('socketio');
    expect(r.report.target.urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/socket\.io$/);
    const { expected, delivered, lost, duplicated, reordered } = r.report.ledger;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBe(expected);
    expect({ lost, duplicated, reordered }).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(r.report.nodes[0].stats).toMatchObject({ bus: 'local', connectionsOpened: 100 });
    expect(r.report.nodes[0].stats.deliveries).toBeGreaterThanOrEqual(delivered);
  }, 45_000);

  it('joins against the bundled Socket.IO flavour: exit 0, every client joined', async () => {
    const r = await wsbench(['joins', '--protocol', 'socketio', '--clients', '100', ...SHORT]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.target.protocol).toBe('socketio');
    expect(r.report.counters['clients.connected.ramp']).toBe(100);
    expect(r.report.metrics.join.count).toBeGreaterThanOrEqual(100);
    expect(r.report.ledger.lost).toBe(0);
  }, 45_000);

  it('a server that never acks: ack timeouts are counted as errors and the run ends', async () => {
    const { url } = await tinyServer((io) =>
      io.on('connection', (s) => {
        s.on('join-room', (room: string, ack: (r: unknown) => void) => {
          void s.join(room);
          ack({ success: true, room: { id: room }, members: 1, seq: 0 });
        });
        s.on('message', () => {});
      }),
    );
    // Nothing was delivered, so delivery cannot be judged: unverified, which --strict turns into exit 1.
    const r = await wsbench(['broadcast', '--protocol', 'socketio', '--target', url, '--clients', '10', '--duration', '1s', '--warmup', '200ms', '--cooldown', '300ms', '--set', 'requestTimeoutMs=400ms', '--strict']);
    expect(r.report, r.stderr).toBeDefined();
    expect(r.report.counters['errors.ack_timeout']).toBeGreaterThan(0);
    expect(r.report.counters['messages.received'] ?? 0).toBe(0);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000);
  }, 45_000);

  it('--set sio-names: a server with its own event and field names, driven with an exact ledger', async () => {
    // The chat vocabulary renamed: subscribe/send/event, channel/body/offset. The default names get no answer.
    const { url } = await tinyServer((io) => {
      const seqs = new Map<string, number>();
      io.on('connection', (s) => {
        s.on('subscribe', (room: string, ack: (r: unknown) => void) => {
          void s.join(room);
          ack({ members: io.sockets.adapter.rooms.get(room)?.size ?? 1, seq: seqs.get(room) ?? 0 });
        });
        s.on('send', (m: { channel: string; body: unknown }, ack: (r: unknown) => void) => {
          const seq = (seqs.get(m.channel) ?? 0) + 1;
          seqs.set(m.channel, seq);
          ack({ seq });
          io.to(m.channel).emit('event', { channel: m.channel, body: m.body, offset: seq });
        });
      });
    });
    const names = 'join=subscribe,publish=send,message=event,room=channel,content=body,seq=offset';
    const r = await wsbench(['broadcast', '--protocol', 'socketio', '--target', url, '--clients', '20', '--rooms', '2', '--rate', '40', ...SHORT, '--set', `sio-names=${names}`]);
    expect(r.code, r.stderr).toBe(0);
    const { expected, delivered, lost, duplicated, reordered } = r.report.ledger;
    expect(expected).toBeGreaterThan(100);
    expect(delivered).toBe(expected);
    expect({ lost, duplicated, reordered }).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
  }, 45_000);

  it('a wrong path and a refused handshake: exit 3 with a message saying what happened', async () => {
    const { port } = await tinyServer((io) => io.on('connection', () => {}));
    const [wrong, refused] = await Promise.all([
      wsbench(['broadcast', '--protocol', 'socketio', '--target', `http://127.0.0.1:${port}/nope`, '--clients', '3', '--duration', '500ms']),
      wsbench(['broadcast', '--protocol', 'socketio', '--token', 'not.a.jwt', '--clients', '3', '--duration', '500ms']),
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/could not connect any client to http:\/\/127\.0\.0\.1:\d+\/nope: connect_failed: .*path \/nope/);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/handshake_refused_unauthorized_malformed_token\w*: the server refused the handshake: unauthorized: malformed token/);
  }, 45_000);
});

describe('a Socket.IO 2.x server (Engine.IO v3)', () => {
  it('is named as such, exit 3', async () => {
    // What an Engine.IO v3 server answers to a v4 handshake.
    const http = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"code":5,"message":"Unsupported protocol version"}');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => http.close(() => r())));
    const port = (http.address() as { port: number }).port;
    const r = await wsbench(['broadcast', '--protocol', 'socketio', '--target', `http://127.0.0.1:${port}`, '--set', 'transports=polling', '--clients', '2', '--duration', '500ms']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/Socket\.IO 2\.x server \(Engine\.IO v3\)/);
  }, 45_000);
});
