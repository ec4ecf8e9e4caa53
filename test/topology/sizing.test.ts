import { describe, expect, it } from 'vitest';
import { isWsbenchError } from '../../src/errors.ts';
import { planServerWorkers } from '../../src/topology/sizing.ts';

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
