/** servers/main.ts as a child process: first lines, signals, bad flags, cluster mode. */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, spawnMain, getJson, until } from './helpers.ts';

afterEach(cleanup);

const URL_RE = /^ws:\/\/127\.0\.0\.1:(\d+)\/ws$/;

describe('servers/main.ts', () => {
  it('prints the URL then the token; SIGUSR2 drops all with 1012; SIGTERM drains with 1001 and exits 0', async () => {
    const m = spawnMain(['--port', '0', '--heartbeat-ms=5000', '--presence']);
    const [url, tokenLine] = await m.firstLines(2);
    expect(url).toMatch(URL_RE);
    expect(tokenLine).toMatch(/^token: [\w-]+\.[\w-]+\.[\w-]+$/);
    const token = tokenLine!.slice('token: '.length);
    const a = await Client.open(url!, { token });
    expect(a.welcome).toMatchObject({ user: 'dev', heartbeatMs: 5000 });
    m.child.kill('SIGUSR2');
    expect((await a.closed).code).toBe(1012);
    const b = await Client.open(url!, { token });
    await b.join('r');
    m.child.kill('SIGTERM');
    expect(await b.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await m.exited).toEqual({ code: 0, signal: null });
    expect(m.lines).toHaveLength(2);
  });

  it('exits 2 naming every bad flag', async () => {
    const m = spawnMain(['--port', 'abc', '--rate=-5', '--colour', 'red']);
    expect((await m.exited).code).toBe(2);
    const err = m.stderr.join('\n');
    expect(err).toMatch(/port: "abc"/);
    expect(err).toMatch(/rate: "-5"/);
    expect(err).toMatch(/unknown option "colour"/);
    expect(m.lines).toEqual([]);
  });

  it('--die-with-parent: exits when stdin reaches EOF; auth off prints "token: (auth off)"', async () => {
    const m = spawnMain(['--die-with-parent', '--auth', 'off'], 'pipe');
    const [, tokenLine] = await m.firstLines(2);
    expect(tokenLine).toBe('token: (auth off)');
    m.child.stdin!.end();
    expect((await m.exited).code).toBe(0);
  });

  it('--workers 2: members on different processes get each other messages in seq order; /stats aggregates', async () => {
    const m = spawnMain(['--workers', '2', '--rate', '0']);
    const [url, tokenLine] = await m.firstLines(2);
    const token = tokenLine!.slice('token: '.length);
    const port = Number(URL_RE.exec(url!)![1]);
    const byPid = new Map<number, Client>();
    for (let i = 0; i < 12 && byPid.size < 2; i++) {
      const c = await Client.open(url!, { token });
      if (!byPid.has(c.welcome.pid)) byPid.set(c.welcome.pid, c);
    }
    expect(byPid.size).toBe(2);
    const [a, b] = [...byPid.values()] as [Client, Client];
    await a.join('room');
    await b.join('room');
    for (let i = 0; i < 30; i++) (i % 2 ? a : b).send({ type: 'publish', id: i, room: 'room', payload: i });
    for (const c of [a, b]) {
      await until(() => c.frames.filter((f) => f.type === 'message').length === 30, 10_000, '30 messages');
      expect(c.frames.filter((f) => f.type === 'message').map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    // Resume through the other worker: retention lives in the primary.
    const c = await Client.open(url!, { token });
    await c.request({ type: 'join', id: 'r', room: 'room', since: 25 });
    await until(() => c.frames.filter((f) => f.type === 'message').length === 5);
    expect(c.frames.filter((f) => f.type === 'message').map((f) => f.seq)).toEqual([26, 27, 28, 29, 30]);
    const { body } = await getJson(port, '/stats');
    expect(body.workers).toHaveLength(2);
    expect(body.connections).toBeGreaterThanOrEqual(3);
    expect(body.deliveries).toBeGreaterThanOrEqual(60);
    m.child.kill('SIGTERM');
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect((await m.exited).code).toBe(0);
  });
});
