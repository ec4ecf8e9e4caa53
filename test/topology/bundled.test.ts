import { afterEach, describe, expect, it } from 'vitest';
import { isWsbenchError, type WsbenchError } from '../../src/errors.ts';
import { httpGet } from '../../src/topology/http.ts';
import { startTopology, type Topology, type TopologySpec } from '../../src/topology/index.ts';
import { ping, startRedisServer } from '../../src/topology/redis.ts';
import {
  childPids,
  FAKE_NODE,
  REAL_NODE,
  killPid,
  openClient,
  pidAlive,
  realServerExists,
  redisSkipReason,
  waitForPidGone,
  waitUntil,
  withTimeout,
  type TestClient,
} from '../helpers/index.ts';

async function rejection(p: Promise<unknown>): Promise<WsbenchError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isWsbenchError(e)) throw new Error(`expected a WsbenchError, got ${String(e)}`);
  return e;
}

async function healthz(url: string, timeoutMs = 1000): Promise<number | string> {
  const u = new URL(url);
  try {
    return (await httpGet(`http://${u.host}/healthz`, timeoutMs)).status;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The suite, run against the stand-in node and, once it exists, the real servers/main.ts. */
function bundledSuite(label: string, entry: string) {
  describe(`bundled topology (${label})`, () => {
    const topologies: Topology[] = [];
    const clients: TestClient[] = [];
    /** Other things a test started (a redis-server of its own), stopped before the leak check. */
    const others: Array<{ stop(): Promise<void> }> = [];

    /** Start a topology that afterEach stops, whatever happens in the test. */
    async function start(spec: Partial<TopologySpec> = {}): Promise<Topology> {
      const logs: string[] = [];
      const topo = await startTopology({ protocol: 'ws', serverEntry: entry, log: (l) => logs.push(l), ...spec });
      topologies.push(topo);
      return topo;
    }

    /**
     * Like start(), but while the real server says a feature is "not available
     * yet" (it refuses the flag with exit 2), the test is skipped with that reason.
     */
    async function startOrSkip(skip: (note?: string) => never, spec: Partial<TopologySpec>): Promise<Topology> {
      try {
        return await start(spec);
      } catch (e) {
        if (entry === REAL_NODE && isWsbenchError(e) && /not available yet/.test(e.message)) skip(e.message);
        throw e;
      }
    }

    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await Promise.allSettled(topologies.splice(0).map((t) => t.stop()));
      await Promise.allSettled(others.splice(0).map((o) => o.stop()));
      // Nothing a test started may outlive it: any child still here is a leak (killed, then reported).
      const left = childPids() ?? [];
      for (const pid of left) killPid(pid);
      expect(left).toEqual([]);
    });

    it('starts one node, answers /healthz, and stop() leaves no process', async () => {
      const topo = await start();
      expect(topo.target.kind).toBe('bundled');
      expect(topo.target.nodes).toBe(1);
      expect(topo.nodes).toHaveLength(1);
      const [node] = topo.nodes;
      expect(node!.id).toBe('n0');
      expect(node!.alive).toBe(true);
      expect(node!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
      expect(topo.target.urls).toEqual([node!.url]);
      expect(topo.redis).toBeUndefined();
      const pid = node!.pid!;
      expect(pidAlive(pid)).toBe(true);
      expect(await healthz(node!.url)).toBe(200);

      await topo.stop();
      await topo.stop();
      expect(pidAlive(pid)).toBe(false);
      expect(node!.alive).toBe(false);
      expect(await healthz(node!.url, 500)).not.toBe(200);
    });

    it('scrapeStats returns each node\'s /stats and never throws', async () => {
      const topo = await start();
      const [report] = await topo.scrapeStats();
      expect(report!.id).toBe('n0');
      expect(report!.url).toBe(topo.nodes[0]!.url);
      expect(typeof report!.stats).toBe('object');
      await topo.fault({ kind: 'kill-node', node: 0 });
      expect(await topo.scrapeStats()).toEqual([{ id: 'n0', url: topo.nodes[0]!.url }]);
    });

    it('drop-all makes a connected client see close code 1012', async () => {
      const topo = await start();
      const node = topo.nodes[0]!;
      const client = await openClient(node.url, node.token);
      clients.push(client);
      await topo.fault({ kind: 'drop-all' });
      const { code } = await withTimeout(client.closed, 5000, 'close after drop-all');
      expect(code).toBe(1012);
      expect(node.alive).toBe(true);
      // The node keeps serving.
      const again = await openClient(node.url, node.token);
      clients.push(again);
    });

    it('a node killed from outside fires onUnexpectedExit; a kill-node fault does not', async () => {
      const topo = await start({ nodes: 1 });
      const seen: Array<[string, number | null, string | null]> = [];
      topo.onUnexpectedExit((what, code, sig) => seen.push([what, code, sig]));

      await topo.fault({ kind: 'kill-node', node: 0 });
      expect(topo.nodes[0]!.alive).toBe(false);
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toEqual([]);

      await topo.fault({ kind: 'restart-node', node: 0 });
      const pid = topo.nodes[0]!.pid!;
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => seen.length > 0, 5000, 'onUnexpectedExit');
      expect(seen).toEqual([['node n0', null, 'SIGKILL']]);
      expect(topo.nodes[0]!.alive).toBe(false);
    });

    it('restart-node comes back on the same port after the downtime', async () => {
      const topo = await start();
      const node = topo.nodes[0]!;
      const { url } = node;
      const oldPid = node.pid!;
      const client = await openClient(url, node.token);
      clients.push(client);
      const seen: string[] = [];
      topo.onUnexpectedExit((what) => seen.push(what));

      const t0 = Date.now();
      const restarting = topo.fault({ kind: 'restart-node', node: 0, durationMs: 300 });
      const { code } = await withTimeout(client.closed, 8000, 'close on graceful stop');
      expect(code).toBe(1001);
      await restarting;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(pidAlive(oldPid)).toBe(false);
      expect(node.pid).not.toBe(oldPid);
      expect(node.url).toBe(url);
      expect(node.alive).toBe(true);
      expect(await healthz(url)).toBe(200);
      clients.push(await openClient(url, node.token));
      expect(seen).toEqual([]);
    });

    it('pause-node stops answering /healthz, then resumes', async () => {
      const topo = await start();
      const { url } = topo.nodes[0]!;
      const pausing = topo.fault({ kind: 'pause-node', node: 0, durationMs: 1500 });
      await new Promise((r) => setTimeout(r, 100));
      expect(await healthz(url, 500)).toMatch(/no answer/);
      await pausing;
      expect(await healthz(url, 2000)).toBe(200);
      expect(topo.nodes[0]!.alive).toBe(true);
    });

    it('pause-node freezes the whole node, cluster workers included (--workers 2)', async () => {
      const topo = await start({ server: { workers: '2' } });
      const node = topo.nodes[0]!;
      const client = await openClient(node.url, node.token);
      clients.push(client);
      const pausing = topo.fault({ kind: 'pause-node', node: 0, durationMs: 1500 });
      await new Promise((r) => setTimeout(r, 100));
      // New connections get no upgrade answer, whichever process would take them.
      await expect(openClient(node.url, node.token, 600)).rejects.toThrow(/did not finish/);
      await pausing;
      clients.push(await openClient(node.url, node.token));
      await topo.stop();
      expect(childPids() ?? []).toEqual([]);
    });

    it('stop() during a pause still ends the node', async () => {
      const topo = await start();
      const pid = topo.nodes[0]!.pid!;
      const pausing = topo.fault({ kind: 'pause-node', node: 0, durationMs: 10_000 });
      await new Promise((r) => setTimeout(r, 100));
      await withTimeout(topo.stop(), 8000, 'stop of a paused node');
      expect(pidAlive(pid)).toBe(false);
      await withTimeout(pausing, 11_000, 'pause fault');
    });

    it('faults on a node that does not exist are usage errors', async () => {
      const topo = await start();
      const e = await rejection(topo.fault({ kind: 'kill-node', node: 3 }));
      expect(e.code).toBe('WSB_ERR_FAULT');
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/no node 3/);
      const r = await rejection(topo.fault({ kind: 'restart-redis' }));
      expect(r.message).toMatch(/no Redis/);
    });

    it('options the server refuses (exit 2) are a usage error with its message', async () => {
      const e = await rejection(start({ server: { 'heartbeat-ms': 'soon' } }));
      expect(e.code).toBe('WSB_ERR_SERVER_OPTIONS');
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/heartbeat-ms/);
      expect(e.hint).toContain(entry);
    });

    describe.skipIf(redisSkipReason())('several nodes', () => {
      it('share a private redis-server; restart-redis keeps its port; stop() ends everything', async ({ skip }) => {
        const topo = await startOrSkip(skip, { nodes: 2 });
        expect(topo.nodes.map((n) => n.id)).toEqual(['n0', 'n1']);
        expect(new Set(topo.nodes.map((n) => n.url)).size).toBe(2);
        const redis = topo.redis!;
        expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
        const port = Number(new URL(redis.url).port);
        expect(await ping(port, 1000)).toBe(true);
        for (const n of topo.nodes) expect(await healthz(n.url)).toBe(200);
        const stats = await topo.scrapeStats();
        expect(stats.map((s) => [s.id, typeof s.stats])).toEqual([
          ['n0', 'object'],
          ['n1', 'object'],
        ]);

        const seen: string[] = [];
        topo.onUnexpectedExit((what) => seen.push(what));
        const oldRedisPid = redis.pid!;
        await topo.fault({ kind: 'restart-redis', durationMs: 200 });
        expect(topo.redis!.url).toBe(redis.url);
        expect(topo.redis!.pid).not.toBe(oldRedisPid);
        expect(await ping(port, 1000)).toBe(true);
        expect(seen).toEqual([]);

        const all = [...topo.nodes.map((n) => n.pid!), topo.redis!.pid!];
        await topo.stop();
        for (const pid of all) await waitForPidGone(pid, 2000);
      });

      it('an external redisUrl starts no redis-server and refuses restart-redis', async ({ skip }) => {
        const redis = await startRedisServer();
        others.push(redis);
        const topo = await startOrSkip(skip, { nodes: 2, redisUrl: redis.url });
        expect(topo.redis).toEqual({ url: redis.url });
        const e = await rejection(topo.fault({ kind: 'restart-redis' }));
        expect(e.message).toMatch(/not started by wsbench/);
      });
    });
  });
}

bundledSuite('stand-in node', FAKE_NODE);
if (realServerExists()) bundledSuite('servers/main.ts', REAL_NODE);
else describe.skip('bundled topology (servers/main.ts does not exist yet)', () => void it('runs once it exists'));

describe('bundled topology start failures (stand-in node)', () => {
  afterEach(async () => {
    // Nothing may be left running after a failed start.
    const left = childPids();
    for (const pid of left ?? []) killPid(pid);
    expect(left ?? []).toEqual([]);
  });

  const spec = (mode: string, extra: Partial<TopologySpec> = {}): TopologySpec => ({
    protocol: 'ws',
    serverEntry: FAKE_NODE,
    server: { 'fake-mode': mode },
    ...extra,
  });

  it('a node that exits before it is ready: harness error with the command and its stderr', async () => {
    const e = await rejection(startTopology(spec('crash')));
    expect(e.code).toBe('WSB_ERR_NODE_START');
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/exited with code 1/);
    expect(e.message).toContain('something broke on purpose');
    expect(e.message).toContain(`${FAKE_NODE} --node-id n0 --port 0`);
    expect(e.message).toContain('--die-with-parent');
  });

  it('a node that never prints its URL times out, and is killed', async () => {
    const e = await rejection(startTopology(spec('silent', { startTimeoutMs: 3000 })));
    expect(e.code).toBe('WSB_ERR_NODE_START');
    expect(e.message).toMatch(/printed no URL within 3 s/);
    expect(e.message).toContain('fake node n0 listening');
    const pid = Number(/\(pid (\d+)\)/.exec(e.message)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(pidAlive(pid)).toBe(false);
  });

  it('a node whose /healthz stays 503 times out with the last answer', async () => {
    const e = await rejection(startTopology(spec('degraded', { startTimeoutMs: 3000 })));
    expect(e.code).toBe('WSB_ERR_NODE_START');
    expect(e.message).toMatch(/did not answer 200 within 3 s \(last: HTTP 503/);
  });

  it.skipIf(redisSkipReason())('when nodes fail, the redis-server started for them is stopped too', async () => {
    const logs: string[] = [];
    const e = await rejection(startTopology({ ...spec('crash', { nodes: 3 }), log: (l) => logs.push(l) }));
    expect(e.code).toBe('WSB_ERR_NODE_START');
    // The redis-server did start (it logged), and afterEach checks it is gone.
    expect(logs.some((l) => l.startsWith('[redis] '))).toBe(true);
  });

  it('a missing server entry is a harness error', async () => {
    const e = await rejection(startTopology({ protocol: 'ws', serverEntry: '/nonexistent/main.ts' }));
    expect(e.code).toBe('WSB_ERR_SERVER_MISSING');
    expect(e.exitCode).toBe(3);
  });

  it('a bad port is a usage error before anything starts', async () => {
    const e = await rejection(startTopology({ protocol: 'ws', serverEntry: FAKE_NODE, server: { port: 'eighty' } }));
    expect(e.exitCode).toBe(2);
  });
});
