/**
 * Node identity across `wsbench serve` processes: each picks its own id, so two of
 * them on one real redis-server pass redis-fanout with remote deliveries counted;
 * two that share an id are named in the report and judged by URL instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { defaultNodeId } from '../../src/cli/serve-command.ts';
import { NodeIdRegistry, countsByUrl, sharedNodeIds } from '../../src/topology/node-identity.ts';
import { runCli } from '../support/cli.ts';
import { redisSkipReason } from '../helpers/index.ts';
import { startRedisServer, type RedisServerHandle } from '../../src/topology/redis.ts';
import { startServe, stopServes } from './serve-nodes.ts';
import redisFanout from '../../scenarios/redis-fanout.ts';
import type { RunView } from '../../src/scenario/types.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-ident-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

async function fanout(urls: string[]): Promise<{ code: number | null; report: Report }> {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const targets = urls.flatMap((u) => ['--target', u]);
  const r = await runCli(['run', 'redis-fanout', '--quiet', '--clients', '60', '--rate', '60', '--warmup', '200ms', '--duration', '1s', '--cooldown', '300ms', '--out', out, ...targets], { timeoutMs: 60_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
}

describe('default node id of wsbench serve', () => {
  it('is host and pid, cleaned to what the server accepts', () => {
    expect(defaultNodeId('box.example', 4242)).toBe('box.example-4242');
    expect(defaultNodeId('weird host/name', 7)).toBe('weird-host-name-7');
    expect(defaultNodeId('h'.repeat(80), 123456).length).toBe(64);
  });
});

describe('node ids shared by several URLs', () => {
  it('a worker keys clients by name until one name comes from two URLs', () => {
    const reg = new NodeIdRegistry();
    expect(reg.claim('a', 0)).toBe('named');
    expect(reg.claim('a', 0)).toBe('named');
    expect(reg.claim('b', 1)).toBe('named');
    expect(reg.claim('a', 1)).toBe('shared-now');
    expect(reg.claim('b', 1)).toBe('shared');
    expect(reg.sharedId).toBe('a');
  });

  it('the report counts clients per URL for a shared id, and per name otherwise', () => {
    const counts = { '0|n0': 30, '1|n0': 30, '2|x': 5, '2|y': 5 };
    expect(sharedNodeIds(counts)).toEqual([{ id: 'n0', urls: [0, 1] }]);
    expect(countsByUrl(counts, sharedNodeIds(counts))).toEqual({ '0|': 30, '1|': 30, '2|x': 5, '2|y': 5 });
  });
});

describe('fanout.cross-node where it cannot know', () => {
  const view = (nodes: number, metrics: Record<string, unknown>) => ({ options: {}, metrics, counters: {}, target: { kind: 'external', nodes } }) as unknown as RunView;
  it('is unverified with one node, or when no client\'s node was known', () => {
    for (const [nodes, reason] of [
      [1, /only 1 node/],
      [2, /nodes were unknown/],
    ] as const) {
      const [c] = redisFanout.checks!(view(nodes, {})) as Array<{ passed: boolean; status?: string; reason?: string }>;
      expect(c).toMatchObject({ passed: false, status: 'unverified' });
      expect(c!.reason).toMatch(reason);
    }
  });
});

describe.skipIf(Boolean(redisSkipReason()))('two wsbench serve processes on one redis-server', () => {
  // Both pairs run at once (own key prefixes on one redis-server) to keep the suite short.
  let redis: RedisServerHandle | undefined;
  let distinct: Promise<{ pids: number[]; run: Awaited<ReturnType<typeof fanout>> }>;
  let shared: Promise<Awaited<ReturnType<typeof fanout>>>;
  beforeAll(async () => {
    redis = await startRedisServer();
    const url = redis.url;
    const pair = (args: string[]) => Promise.all([startServe(['--redis', url, ...args]), startServe(['--redis', url, ...args])]);
    distinct = pair(['--redis-prefix', 'distinct:']).then(async ([a, b]) => ({ pids: [a.pid, b.pid], run: await fanout([a.url, b.url]) }));
    shared = pair(['--redis-prefix', 'shared:', '--node-id', 'n0']).then(([a, b]) => fanout([a.url, b.url]));
    await Promise.allSettled([distinct, shared]);
  });
  afterAll(async () => {
    await stopServes();
    await redis?.stop();
  });

  it('pass redis-fanout through two --targets with remote deliveries counted', async () => {
    const { pids, run } = await distinct;
    const { code, report } = run;
    const cross = report.checks.find((c) => c.name === 'fanout.cross-node');
    expect(cross?.passed, cross?.detail).toBe(true);
    expect(code).toBe(0);
    expect(report.metrics['fanout.remote']!.count).toBeGreaterThan(0);
    expect(report.metrics['fanout.local']!.count).toBeGreaterThan(0);
    expect(report.ledger).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.nodes!.map((n) => n.id)).toEqual(pids.map((pid) => defaultNodeId(undefined, pid)));
    expect(report.notes.some((n) => n.includes('was reported by 2 target URLs'))).toBe(false);
  });

  it('sharing one node id: the report says so and judges local/remote by URL', async () => {
    const { code, report } = await shared;
    expect(report.notes.some((n) => n.includes('node id "n0" was reported by 2 target URLs'))).toBe(true);
    expect(report.checks.find((c) => c.name === 'fanout.cross-node')?.passed).toBe(true);
    expect(report.metrics['fanout.remote']!.count).toBeGreaterThan(0);
    expect(report.nodes!.map((n) => n.clients)).toEqual([30, 30]);
    expect(code).toBe(0);
  });
});
