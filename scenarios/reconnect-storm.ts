import { defineScenario } from '../src/index.ts';
import type { CheckResult } from '../src/index.ts';

/**
 * Reconnection storm: clients are connected and subscribed while publishers run;
 * then every connection drops at once (the server closes all with 1012, restarts,
 * or — against an external server — the clients drop their own connections as a
 * network blip would). Clients come back with exponential backoff and the stated
 * jitter and resume with `since`. Checks: all back within the bound, and nothing
 * published during the outage lost or duplicated (the ledger).
 *
 * Compare jitter policies side by side in one run: `--set jitter=none,full`.
 */
export default defineScenario({
  name: 'reconnect-storm',
  description: 'drop every connection at once; clients return with backoff and jitter, resume, lose nothing',
  defaults: { clients: 500, rooms: 10, rate: 50, warmup: 500, duration: 10_000, backoffBaseMs: 1000, backoffCapMs: 4000, jitter: 'full', requestTimeoutMs: 5000 },
  options: {
    stormAt: { type: 'duration', default: 2000, description: 'when the connections drop, after the start of the warm-up', min: 0 },
    method: { type: 'string', default: 'auto', values: ['auto', 'drop-all', 'restart', 'client'], description: 'how: the server closes all (1012), every bundled node restarts (use --nodes 2 or more: one node keeps its rooms in memory), or clients drop their own connections; auto = drop-all on the bundled server, client otherwise' },
    downMs: { type: 'duration', default: 500, description: 'with method=restart, how long the server stays down', min: 0 },
    recoverWithin: { type: 'duration', default: 10_000, description: 'every client must be back (rejoined) within this time of its drop', min: 1 },
  },
  faults: (o, target) => {
    const at = Math.round(Number(o.stormAt));
    if (target.kind !== 'bundled') return [];
    if (o.method === 'auto' || o.method === 'drop-all') return [`drop-all@${at}ms`];
    // Every node at once, so that every client drops (the all-back check counts them all).
    if (o.method === 'restart') return Array.from({ length: target.nodes }, (_, i) => `restart-node:${i}@${at}ms+${Math.round(Number(o.downMs))}ms`);
    return [];
  },
  validate: (o) => {
    const problems: string[] = [];
    if (Number(o.stormAt) >= o.warmup + o.duration) problems.push(`storm-at ${o.stormAt} ms is after the end of the run (warm-up + duration = ${o.warmup + o.duration} ms)`);
    if (!o.reconnect) problems.push('reconnect-storm needs --set reconnect=true');
    return problems;
  },
  async loop(vu) {
    const o = vu.options;
    const clientDrop = o.method === 'client' || (o.method === 'auto' && o.targetKind === 'external');
    if (!clientDrop) return vu.sleep(60_000);
    await vu.sleep(Number(o.stormAt));
    vu.dropConnection();
    await vu.sleep(60_000);
  },
  checks(run): CheckResult[] {
    const o = run.options;
    const rec = run.metrics.reconnect;
    const back = run.counters.reconnects ?? 0;
    const dropped = run.rampConnected;
    const boundUs = Number(o.recoverWithin) * 1000;
    const attempts = run.observations['reconnect.attempts'];
    const out: CheckResult[] = [];
    if (o.method === 'restart' && run.target.kind === 'bundled' && run.target.nodes === 1) out.push(inMemoryRestart(run.ledger));
    return [
      ...out,
      {
        name: 'reconnect.all-back',
        passed: back >= dropped && dropped > 0 && Boolean(rec) && rec!.max <= boundUs,
        detail: `${back} of ${dropped} clients rejoined after the storm${rec ? `, the last after ${(rec.max / 1e6).toFixed(2)} s (p50 ${(rec.p50 / 1e6).toFixed(2)} s)` : ''}; the bound is ${(boundUs / 1e6).toFixed(1)} s with ${o.jitter} jitter`,
        evidence: {
          dropped,
          rejoined: back,
          jitter: o.jitter,
          herdPeakPerSec: run.peakRatePerSec('reconnect', 100),
          ...(rec ? { recoveryP50Ms: rec.p50 / 1000, recoveryP99Ms: rec.p99 / 1000, recoveryMaxMs: rec.max / 1000 } : {}),
          ...(attempts ? { attemptsMean: +attempts.mean.toFixed(2), attemptsMax: attempts.max, mostAttemptsClient: attempts.maxClient } : {}),
        },
      },
    ];
  },
});

/**
 * One bundled node keeps its rooms in memory: restarted, it starts every room's seq
 * again at 1 and has nothing to replay, so clients resuming with `since` get a new
 * sequence the ledger reads as duplicates and reordering. Said plainly beside the
 * delivery check; with --nodes 2 or more the rooms live in Redis and survive.
 */
function inMemoryRestart(ledger: { duplicated: number; reordered: number }): CheckResult {
  const reason = 'the only bundled node was restarted and keeps its rooms in memory: room seqs started again at 1 and nothing could be replayed, so delivery across the restart cannot be judged (duplicated and reordered counts in the ledger are that new sequence); run with --nodes 2 so rooms live in Redis';
  return { name: 'reconnect.restart-judgeable', passed: false, status: 'unverified', reason, detail: reason, evidence: { nodes: 1, duplicated: ledger.duplicated, reordered: ledger.reordered } };
}
