import { defineScenario } from '../src/index.ts';
import type { CheckResult } from '../src/index.ts';
import { unverifiedCheck } from '../src/checks/outcome.ts';

/**
 * Multi-node fan-out through Redis: three reference nodes share one redis-server
 * (started by wsbench unless --redis is given), clients are spread round robin
 * over the nodes, and every room has a publisher on every node. Checks: every
 * delivery exactly once and in seq order per room across nodes, and messages
 * really cross nodes. Metrics `fanout.local` (same node) and `fanout.remote`
 * (through Redis) show the cost of the hop; per-node /stats land in the report.
 *
 * Against your own deployment: `--target ws://node-a/ws --target ws://node-b/ws ...`.
 * Nodes are told apart by the id each names in its welcome; when two URLs name the
 * same id the run notes it and tells them apart by URL. With one node, or no way to
 * tell, `fanout.cross-node` is unverified.
 */
export default defineScenario({
  name: 'redis-fanout',
  description: 'three nodes on one Redis, publishers on every node; exactly-once in order across nodes, local vs remote fan-out',
  nodes: 3,
  defaults: { clients: 600, rooms: 10, publishers: 3, rate: 150, duration: 15_000 },
  validate: (o) => (o.publishers < 1 ? ['redis-fanout needs at least one publisher per room (--publishers)'] : []),
  checks(run): CheckResult[] {
    if (run.target.nodes < 2) {
      return [unverifiedCheck('fanout.cross-node', `only ${run.target.nodes} node: cross-node fan-out needs --nodes 2 or more (or several --target URLs)`)];
    }
    const local = run.metrics['fanout.local'];
    const remote = run.metrics['fanout.remote'];
    if (!local && !remote) {
      return [unverifiedCheck('fanout.cross-node', 'no delivery could be told local or remote: the clients\' nodes were unknown (see the notes)')];
    }
    const ok = Boolean(local?.count) && Boolean(remote?.count);
    return [
      {
        name: 'fanout.cross-node',
        passed: ok,
        detail: ok
          ? `messages crossed nodes: ${remote!.count} remote deliveries (p99 ${(remote!.p99 / 1000).toFixed(1)} ms) and ${local!.count} local ones (p99 ${(local!.p99 / 1000).toFixed(1)} ms)`
          : `no ${local?.count ? 'remote' : 'local'} deliveries were seen: the nodes do not share their rooms`,
        evidence: { localDeliveries: local?.count ?? 0, remoteDeliveries: remote?.count ?? 0, ...(local && remote ? { localP99Ms: local.p99 / 1000, remoteP99Ms: remote.p99 / 1000 } : {}) },
      },
    ];
  },
});
