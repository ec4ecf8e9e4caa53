/** servers/main.ts nodes as child processes sharing a Redis: a node killed mid-stream, /stats, workers. */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, getJson, spawnMain, until, type MainProcess } from '../server-ws/helpers.ts';
import { cleanup, messages, seqsOf } from './helpers.ts';

afterEach(cleanup);

async function startMain(redisUrl: string, nodeId: string, extra: string[] = []): Promise<{ m: MainProcess; url: string; token: string; port: number }> {
  const m = spawnMain(['--redis', redisUrl, '--node-id', nodeId, '--rate', '0', '--heartbeat-ms', '0', '--drain-timeout-ms', '300', ...extra]);
  const [url, tokenLine] = await m.firstLines(2);
  return { m, url: url!, token: tokenLine!.slice('token: '.length), port: Number(new URL(url!.replace('ws:', 'http:')).port) };
}

describe.skipIf(redisSkipReason())('nodes as processes', () => {
  it('SIGKILL of one node mid-stream: the others keep delivering, nothing accepted is lost for their members', async () => {
    const redis = await startRedisForTest();
    const nodes = await Promise.all(['n0', 'n1', 'n2'].map((id) => startMain(redis.url, id)));
    const open = (i: number) => Client.open(nodes[i]!.url, { token: nodes[i]!.token });
    const pubs = await Promise.all([0, 1, 2].map(open));
    const survivors = await Promise.all([open(0), open(2)]);
    const doomed = await open(1);
    for (const c of [...pubs, ...survivors, doomed]) await c.join('s');
    expect(survivors[0]!.welcome.node).toBe('n0');

    const acked = new Set<number>();
    const stream = async (p: Client, k: number) => {
      for (let i = 0; i < 60; i++) {
        if (p.ws.readyState !== 1) return;
        p.send({ type: 'publish', id: `${k}-${i}`, room: 's', payload: i, echo: false });
        const reply = await Promise.race([p.next((f) => f.id === `${k}-${i}`, 5000).catch(() => null), p.closed.then(() => null)]);
        if (reply?.type === 'ack') acked.add(reply.seq);
        if (k !== 1 && i === 20) nodes[1]!.m.child.kill('SIGKILL');
      }
    };
    await Promise.all(pubs.map((p, k) => stream(p, k)));
    expect((await nodes[1]!.m.exited).signal).toBe('SIGKILL');
    expect((await doomed.closed).code).toBe(1006);
    const sorted = [...acked].sort((x, y) => x - y);
    expect(sorted.length).toBeGreaterThanOrEqual(120);
    for (const s of survivors) {
      await until(() => sorted.every((q) => seqsOf(s).includes(q)), 8000, 'every accepted message on the survivors');
      const got = seqsOf(s);
      // In order, each once; a seq allocated by the killed node but never retained may be a gap, never an accepted one.
      expect(got).toEqual([...got].sort((x, y) => x - y));
      expect(new Set(got).size).toBe(got.length);
      for (const g of s.frames.filter((f) => f.type === 'gap')) for (let q = g.from; q <= g.to; q++) expect(acked.has(q)).toBe(false);
    }
    const { body } = await getJson(nodes[0]!.port, '/stats');
    expect(body).toMatchObject({ bus: 'redis', node: 'n0', busStats: { redisStatus: 'ready', publishFailed: 0 } });
    expect(body.busStats.received).toBeGreaterThan(60);
    for (const i of [0, 2]) {
      nodes[i]!.m.child.kill('SIGTERM');
      expect((await nodes[i]!.m.exited).code).toBe(0);
    }
  });

  it('--workers 2 --redis: every worker talks to Redis; a node without workers sees their messages', async () => {
    const redis = await startRedisForTest();
    const [w, single] = await Promise.all([startMain(redis.url, 'w0', ['--workers', '2']), startMain(redis.url, 'n1')]);
    const byPid = new Map<number, Client>();
    for (let i = 0; i < 12 && byPid.size < 2; i++) {
      const c = await Client.open(w.url, { token: w.token });
      if (!byPid.has(c.welcome.pid)) byPid.set(c.welcome.pid, c);
    }
    expect(byPid.size).toBe(2);
    const other = await Client.open(single.url, { token: single.token });
    const all = [...byPid.values(), other];
    for (const c of all) await c.join('x');
    for (let i = 0; i < 30; i++) all[i % 3]!.send({ type: 'publish', id: i, room: 'x', payload: i });
    for (const c of all) {
      await until(() => messages(c).length === 30, 8000, '30 messages');
      expect(seqsOf(c)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    const { body } = await getJson(w.port, '/stats');
    expect(body.workers.map((s: { bus: string }) => s.bus)).toEqual(['redis', 'redis']);
    w.m.child.kill('SIGTERM');
    single.m.child.kill('SIGTERM');
    expect((await w.m.exited).code).toBe(0);
    expect((await single.m.exited).code).toBe(0);
  });
});
