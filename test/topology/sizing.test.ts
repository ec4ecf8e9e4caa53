import { describe, expect, it } from 'vitest';
import { isWsbenchError } from '../../src/errors.ts';
import { planServerWorkers } from '../../src/topology/sizing.ts';
import { startTopology } from '../../src/topology/index.ts';
import { REAL_NODE, childPids, waitUntil } from '../helpers/index.ts';

function refusal(f: () => unknown): { code: string; message: string; hint?: string } {
  try {
    f();
  } catch (e) {
    if (isWsbenchError(e)) return { code: e.code, message: e.message, hint: e.hint };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('planServerWorkers', () => {
  it('leaves a node that fits its descriptor limit alone', () => {
    expect(planServerWorkers({ clients: 15_000, nodes: 1, fdLimit: 20_000, protocol: 'ws' })).toEqual({});
  });

  it('gives one node enough cluster workers for 20,000 clients at a 20,000-descriptor limit', () => {
    const plan = planServerWorkers({ clients: 20_000, nodes: 1, fdLimit: 20_000, protocol: 'ws' });
    expect(plan.workers).toBe(2);
    expect(plan.note).toMatch(/2 cluster workers per node \(20000 clients per node, at most 15000/);
  });

  it('sizes each node by its share of the clients', () => {
    expect(planServerWorkers({ clients: 50_000, nodes: 2, fdLimit: 20_000, protocol: 'ws' }).workers).toBe(2);
    expect(planServerWorkers({ clients: 10_000, nodes: 1, fdLimit: 1024, protocol: 'ws' }).workers).toBe(14);
  });

  it('keeps workers the user chose when they are enough', () => {
    expect(planServerWorkers({ clients: 20_000, nodes: 1, fdLimit: 20_000, protocol: 'ws', workers: '4' })).toEqual({});
  });

  it('refuses too few workers, naming the number needed', () => {
    const e = refusal(() => planServerWorkers({ clients: 40_000, nodes: 1, fdLimit: 20_000, protocol: 'ws', workers: '2' }));
    expect(e.code).toBe('WSB_ERR_SERVER_SIZE');
    expect(e.hint).toContain('--server workers=3');
  });

  it('refuses a Socket.IO node that cannot hold its share, naming the nodes needed', () => {
    const e = refusal(() => planServerWorkers({ clients: 20_000, nodes: 1, fdLimit: 20_000, protocol: 'socketio' }));
    expect(e.code).toBe('WSB_ERR_SERVER_SIZE');
    expect(e.hint).toContain('--nodes 2');
  });

  it('refuses more workers than the server accepts', () => {
    const e = refusal(() => planServerWorkers({ clients: 100_000, nodes: 1, fdLimit: 1024, protocol: 'ws' }));
    expect(e.message).toMatch(/more than its 64/);
  });
});

describe('a bundled node sized by startTopology', () => {
  it('runs the planned cluster workers and says so in the notes', async () => {
    // 1000 clients at a 1024-descriptor limit: at most 768 per process, so 2 workers.
    const topo = await startTopology({ protocol: 'ws', serverEntry: REAL_NODE, clients: 1000, fdLimit: 1024 });
    try {
      expect(topo.notes.join('\n')).toMatch(/bundled server: 2 cluster workers per node/);
      const pid = topo.nodes[0]!.pid!;
      await waitUntil(() => (childPids(pid) ?? []).length === 2, 20_000, 'two cluster workers');
    } finally {
      await topo.stop();
    }
  });

  it('refuses before starting anything when a Socket.IO node cannot hold its share', async () => {
    const e = await startTopology({ protocol: 'socketio', serverEntry: REAL_NODE, clients: 2000, fdLimit: 1024 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isWsbenchError(e) && e.code).toBe('WSB_ERR_SERVER_SIZE');
  });
});
