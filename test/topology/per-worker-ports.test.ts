/**
 * `--server ports=per-worker`: each cluster worker of a bundled node accepts on a
 * port of its own and the topology hands the workers' URLs to the harness as
 * URLs of the same node. Clients spread over the workers, node identity stays
 * one node, and rooms spanning both workers balance their books.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { startTopology, type Topology } from '../../src/topology/index.ts';
import { countsByNode, NodeIdRegistry, sharedNodeIds } from '../../src/topology/node-identity.ts';
import { httpGet } from '../../src/topology/http.ts';
import { runCli } from '../support/cli.ts';
import { spreadCycle } from '../../src/run/run.ts';
import { childPids, openClient, REAL_NODE } from '../helpers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-ports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface WorkerStats {
  pid: number;
  url?: string;
  connectionsOpened: number;
}

describe('node identity with several URLs of one node', () => {
  it('an id seen on two URLs of the same node stays named; on two nodes it is shared', () => {
    const one = new NodeIdRegistry([0, 0, 1]);
    expect(one.claim('n0', 0)).toBe('named');
    expect(one.claim('n0', 1)).toBe('named');
    expect(one.claim('n0', 2)).toBe('shared-now');
    expect(new NodeIdRegistry().claim('n0', 0)).toBe('named');
  });

  it('counts of the URLs of one node add up to that node', () => {
    const counts = { '0|n0': 3, '1|n0': 4, '2|n1': 5 };
    expect(sharedNodeIds(counts, [0, 0, 1])).toEqual([]);
    expect(sharedNodeIds(counts).map((s) => s.id)).toEqual(['n0']);
    expect(countsByNode(counts, [0, 0, 1])).toEqual({ '0|n0': 7, '1|n1': 5 });
  });

  it('--spread with a weight per node gives each of its worker URLs that weight', () => {
    expect(spreadCycle('weighted:1,2', 4, [0, 0, 1, 1])).toEqual([0, 1, 2, 2, 3, 3]);
    expect(spreadCycle('weighted:1,0,0,1', 4, [0, 0, 1, 1])).toEqual([0, 3]);
    expect(() => spreadCycle('weighted:1,2,3', 4, [0, 0, 1, 1])).toThrow(/3 weights for 4 targets/);
  });
});

describe('bundled node with ports=per-worker', () => {
  const topologies: Topology[] = [];
  afterEach(async () => {
    await Promise.allSettled(topologies.splice(0).map((t) => t.stop()));
  });

  it('a two-worker node is two URLs of node 0; both serve, and a restart keeps their ports', async () => {
    const topo = await startTopology({ protocol: 'ws', serverEntry: REAL_NODE, server: { workers: '2' } });
    topologies.push(topo);
    const node = topo.nodes[0]!;
    expect(topo.target.urls).toHaveLength(2);
    expect(new Set(topo.target.urls.map((u) => new URL(u).port)).size).toBe(2);
    expect(topo.target.urls).not.toContain(node.url);
    expect(topo.urlNodes).toEqual([0, 0]);
    // Each worker's own port and the shared port take connections.
    for (const url of [...topo.target.urls, node.url]) (await openClient(url, node.token)).close();
    const stats = JSON.parse((await httpGet(`http://${new URL(node.url).host}/stats`, 5000)).body) as { workerUrls: string[]; workers: WorkerStats[] };
    expect(stats.workerUrls).toEqual(topo.target.urls);
    expect(stats.workers.map((w) => w.url).sort()).toEqual([...topo.target.urls].sort());
    const before = [...topo.target.urls];
    await topo.fault({ kind: 'restart-node', node: 0 });
    expect((topo.nodes[0] as unknown as { workerUrls: string[] }).workerUrls).toEqual(before);
    (await openClient(before[1]!, node.token)).close();
  }, 60_000);

  it('ports=shared keeps one URL per node', async () => {
    // This file runs in a process shared with other files (vitest `light` project, isolate: false):
    // what must be gone after stop() is what this topology started, not every child of the process.
    const earlier = new Set(childPids() ?? []);
    const topo = await startTopology({ protocol: 'ws', serverEntry: REAL_NODE, server: { workers: '2', ports: 'shared' } });
    topologies.push(topo);
    expect(topo.target.urls).toEqual([topo.nodes[0]!.url]);
    await topo.stop();
    expect((childPids() ?? []).filter((pid) => !earlier.has(pid))).toEqual([]);
  }, 60_000);
});

describe('end to end: 200 clients over two workers, rooms spanning both', () => {
  it('spreads connections over both workers, one node in the report, every room balanced', async () => {
    const out = join(dir, 'ports.json');
    // 5 rooms over 2 URLs: client i joins room i mod 5 and URL i mod 2, so every room has members on both workers.
    const res = await runCli(
      ['run', 'broadcast', '--clients', '200', '--rooms', '5', '--rate', '100', '--server', 'workers=2', '--warmup', '300ms', '--duration', '2s', '--cooldown', '500ms', '--quiet', '--out', out],
      { timeoutMs: 120_000 },
    );
    expect(res.stderr).not.toMatch(/wsbench failed/);
    const r = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(r.target.urls).toHaveLength(2);
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes?.[0]).toMatchObject({ id: 'n0', clients: 200 });
    const workers = (r.nodes?.[0]?.stats as { workers: WorkerStats[] }).workers;
    expect(workers).toHaveLength(2);
    // Round robin over the two URLs: a hundred each (reconnects could only add).
    for (const w of workers) expect(w.connectionsOpened).toBeGreaterThanOrEqual(100);
    expect(r.notes.join('\n')).not.toMatch(/reported by \d+ target URLs/);
    expect(r.ledger.mode).toBe('seq');
    expect(r.ledger.expected).toBeGreaterThan(0);
    expect([r.ledger.delivered, r.ledger.lost]).toEqual([r.ledger.expected, 0]);
    for (const room of r.rooms ?? []) expect([room.room, room.delivered, room.lost, room.duplicated]).toEqual([room.room, room.expected, 0, 0]);
  }, 130_000);
});
