import { defineScenario } from '../src/index.ts';
import type { CheckResult } from '../src/index.ts';
import { canFreeze, freezerFrom } from '../src/topology/freezer.ts';
import { unverifiedCheck } from '../src/checks/outcome.ts';

/**
 * Heartbeat conformance: a share of clients turn into zombies (they stop answering
 * the server's pings: WebSocket pongs, or Engine.IO pongs for Socket.IO) and must be
 * evicted within the stated window (evictions in the warm-up count and are timed
 * like the rest); healthy clients must never be dropped; and when the server freezes,
 * clients must notice by their own timeout and start reconnecting.
 *
 * The stated policy comes from options, so an external server is judged by its own:
 *   wsbench run heartbeat --target wss://... --set heartbeat-ms=25000 --set slack=2s
 * wsbench freezes the bundled server itself (SIGSTOP); an external one only the way
 * the user says (`--set freeze-pid=PID`, or `--set pause-command=... --set resume-command=...`),
 * otherwise `heartbeat.frozen-server-noticed` is reported unverified with the reason.
 */
export default defineScenario({
  name: 'heartbeat',
  description: 'zombie clients evicted within (1x, 2x] heartbeat interval, healthy ones kept, a frozen server noticed',
  defaults: { clients: 200, rooms: 10, rate: 20, warmup: 1000, duration: 11_000, requestTimeoutMs: 3000, backoffCapMs: 1000 },
  options: {
    heartbeatMs: { type: 'duration', default: 1000, description: 'the server’s heartbeat interval (stated policy)', min: 1 },
    timeoutMs: { type: 'duration', default: 0, description: 'how long the server waits for a pong after a ping (0 = one interval, as wsbench/1)', min: 0 },
    slack: { type: 'duration', default: 500, description: 'tolerance added to the eviction window', min: 0 },
    zombies: { type: 'share', default: 0.1, description: 'share of clients that stop answering pings' },
    freeze: { type: 'bool', default: true, description: 'pause the server to check that clients notice (the bundled one by SIGSTOP; an external one by freeze-pid or the pause/resume commands)' },
    freezePid: { type: 'count', default: 0, description: 'external target: the server process to freeze with SIGSTOP/SIGCONT (same machine; 0 = none)' },
    pauseCommand: { type: 'string', default: '', description: 'external target: a shell command that freezes the server, e.g. "docker pause app"' },
    resumeCommand: { type: 'string', default: '', description: 'external target: the shell command that resumes it, e.g. "docker unpause app"' },
  },
  server: (o, protocol) => ({
    // The topology reads these for an external target; the bundled one it freezes itself.
    ...(o.targetKind === 'external' ? freezeSettings(o) : {}),
    'heartbeat-ms': String(o.heartbeatMs),
    // Engine.IO waits pingTimeout for a pong after each ping: one interval unless stated.
    ...(protocol === 'socketio' ? { 'ping-timeout-ms': String(Number(o.timeoutMs) || Number(o.heartbeatMs)) } : {}),
  }),
  derive: (o) => {
    const h = Number(o.heartbeatMs);
    const t = Number(o.timeoutMs) || h;
    // A client gives up after the server's whole window plus slack without a word from it.
    return { clientTimeoutMs: h + t + Number(o.slack) };
  },
  faults: (o, target) => {
    if (!o.freeze || (target.kind !== 'bundled' && !canFreeze(freezeSettings(o)))) return [];
    const h = Number(o.heartbeatMs);
    const t = Number(o.timeoutMs) || h;
    const freezeAt = o.warmup + h + t + Number(o.slack) + 1500;
    const freezeFor = o.clientTimeoutMs + h;
    return [`pause-node:0@${Math.round(freezeAt)}ms+${Math.round(freezeFor)}ms`];
  },
  validate: (o) => {
    const problems: string[] = [];
    try {
      freezerFrom(freezeSettings(o));
    } catch (e) {
      problems.push((e as Error).message);
    }
    const h = Number(o.heartbeatMs);
    const t = Number(o.timeoutMs) || h;
    const needed = o.warmup + 2 * (h + t) + Number(o.slack);
    if (o.duration + o.warmup < needed) problems.push(`duration ${o.duration} ms is too short to see an eviction: warm-up + duration must be at least ${needed} ms with heartbeat-ms ${h}`);
    if (o.freeze && o.duration + o.warmup < needed + o.clientTimeoutMs + h + 3000) {
      problems.push(`duration ${o.duration} ms is too short for the frozen-server check (needs about ${needed + o.clientTimeoutMs + h + 3000 - o.warmup} ms); raise --duration or --set freeze=false`);
    }
    return problems;
  },
  async loop(vu) {
    if (vu.random() < Number(vu.options.zombies)) {
      vu.stopHeartbeat();
      await vu.waitClosed(vu.options.duration + vu.options.warmup);
      return;
    }
    await vu.sleep(60_000);
  },
  checks(run): CheckResult[] {
    const o = run.options;
    const h = Number(o.heartbeatMs);
    const t = Number(o.timeoutMs) || h;
    const slack = Number(o.slack);
    const zombies = run.counters.zombies ?? 0;
    const evicted = run.counters.evictions ?? 0;
    const notEvicted = run.counters['zombies.not_evicted'] ?? 0;
    // Per client over the whole run (warm-up included), so every counted eviction is timed.
    const ev = run.observations['eviction.ms'];
    const out: CheckResult[] = [];
    if (zombies === 0) {
      // Nothing to evict: neither verdict can be known (small runs draw no zombie at 10%).
      const reason = `no zombie clients were created (raise --set zombies or --clients)`;
      out.push(unverifiedCheck('heartbeat.zombies-evicted', reason), unverifiedCheck('heartbeat.eviction-window', reason));
    } else {
      out.push({
        name: 'heartbeat.zombies-evicted',
        passed: evicted === zombies && notEvicted === 0,
        detail:
          notEvicted || evicted < zombies
            ? `${zombies - evicted} of ${zombies} zombies were never evicted: the server does not drop peers that stop answering pings`
            : `all ${zombies} zombies were evicted`,
        evidence: { zombies, evicted, notEvicted, examples: run.examples['zombie-not-evicted'] ?? [] },
      });
      out.push({
        name: 'heartbeat.eviction-window',
        passed: Boolean(ev) && ev!.min > h && ev!.max <= h + t + slack,
        detail: ev
          ? `${ev.count} evictions took ${Math.round(ev.min)}..${Math.round(ev.max)} ms after the last pong; expected more than ${h} ms and at most ${h + t + slack} ms (${h} + ${t} ms + ${slack} ms slack)`
          : `none of the ${zombies} zombies was evicted, so the window could not be met`,
        evidence: { expectedMinMs: h, expectedMaxMs: h + t + slack, ...(ev ? { evictions: ev.count, minMs: ev.min, meanMs: ev.mean, maxMs: ev.max, fastestClient: ev.minClient, slowestClient: ev.maxClient } : {}) },
      });
    }
    const healthyDropped = run.counters['healthy.dropped'] ?? 0;
    out.push({
      name: 'heartbeat.healthy-kept',
      passed: healthyDropped === 0,
      detail: healthyDropped === 0 ? `no healthy client was dropped by the server` : `${healthyDropped} healthy clients were dropped by the server`,
      evidence: { healthyDropped, examples: Object.entries(run.examples).filter(([k]) => k.startsWith('dropped:')) },
    });
    const froze = run.timeline.find((e) => e.kind === 'fault' && e.name.startsWith('pause-node'));
    const freezeFailed = run.timeline.find((e) => e.kind === 'note' && e.name === 'fault-failed' && String(e.detail ?? '').startsWith('pause-node'));
    if (!froze || freezeFailed) {
      out.push(unverifiedCheck('heartbeat.frozen-server-noticed', `the frozen-server phase was not run: ${frozenPhaseMissing(o, run.target.kind, freezeFailed?.detail)}`));
    } else {
      const detected = run.counters['errors.heartbeat_timeout'] ?? 0;
      const healthy = run.rampConnected - zombies;
      const detect = run.metrics.detect;
      const boundUs = (o.clientTimeoutMs + 500) * 1000; // the liveness sweep runs every 250 ms
      const attempts = run.counters['reconnect.attempts'] ?? 0;
      out.push({
        name: 'heartbeat.frozen-server-noticed',
        passed: detected >= healthy && healthy > 0 && Boolean(detect) && detect!.max <= boundUs && attempts > 0,
        detail: `${detected} of ${healthy} healthy clients noticed the frozen server by their own timeout (${o.clientTimeoutMs} ms)${detect ? `, after ${(detect.min / 1000).toFixed(0)}..${(detect.max / 1000).toFixed(0)} ms of silence` : ''}, then made ${attempts} reconnect attempts`,
        evidence: { healthy, detected, clientTimeoutMs: o.clientTimeoutMs, reconnectAttempts: attempts, ...(detect ? { maxSilenceMs: detect.max / 1000 } : {}) },
      });
    }
    return out;
  },
});

/** The freezer settings among the options, as server-option keys (src/topology/freezer.ts). */
function freezeSettings(o: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  if (Number(o.freezePid) > 0) out['freeze-pid'] = String(o.freezePid);
  if (o.pauseCommand) out['pause-command'] = String(o.pauseCommand);
  if (o.resumeCommand) out['resume-command'] = String(o.resumeCommand);
  return out;
}

/** Why the frozen-server phase did not run. */
function frozenPhaseMissing(o: Record<string, unknown>, kind: string, failure: unknown): string {
  if (failure !== undefined) return `freezing the server failed (${String(failure)})`;
  if (!o.freeze) return 'it was turned off (--set freeze=false)';
  if (kind !== 'bundled') return 'wsbench cannot freeze a server it did not start: give --set freeze-pid=PID (same machine), or --set pause-command=... with --set resume-command=...';
  return 'the server was never frozen (the run ended before the freeze)';
}
