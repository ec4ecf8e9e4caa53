import { defineScenario } from '../src/index.ts';
import type { CheckResult } from '../src/index.ts';

/**
 * Rate-limit conformance: compliant clients send at a fraction of the limit while
 * abusive ones send above it, at the same time. A good server leaves the compliant
 * ones alone, holds the abusive ones to the limit (within 10%), caps its error
 * frames (at most one `rate_limited` per connection per second) and closes
 * persistent abusers with 1008 in time.
 *
 * In this scenario `--rate` is the server's stated limit (frames per second per
 * connection), e.g. `--set rate=100/60s` or `--rate 50`; `burst` and `abuse` state
 * the bucket size and the abuse threshold (dropped frames within 10 s).
 */
export default defineScenario({
  name: 'rate-limit',
  description: 'compliant and abusive clients at once: limit held within 10%, errors capped, abusers closed with 1008',
  defaults: { clients: 100, rooms: 100, rate: 100, warmup: 500, duration: 8000, reconnect: false, requestTimeoutMs: 3000 },
  publish: false,
  options: {
    burst: { type: 'count', default: 200, description: 'token-bucket capacity of the server (stated policy)', min: 1 },
    abuse: { type: 'count', default: 0, description: 'dropped frames within 10 s before the server closes with 1008 (0 = 2 x burst)' },
    abusive: { type: 'share', default: 0.2, description: 'share of clients that send above the limit' },
    abuseFactor: { type: 'number', default: 3, description: 'abusive clients send at this multiple of the limit', min: 1.2, max: 100 },
    compliantFraction: { type: 'share', default: 0.5, description: 'compliant clients send at this fraction of the limit' },
    tolerance: { type: 'share', default: 0.1, description: 'allowed deviation of the accepted rate from the limit' },
    closeSlack: { type: 'duration', default: 2000, description: 'tolerance added to the expected time to close an abuser', min: 0 },
  },
  server: (o) => ({ rate: String(Math.max(1, Math.round(o.rate))), burst: String(o.burst), ...(Number(o.abuse) > 0 ? { abuse: String(o.abuse) } : {}) }),
  derive: (o) => ({ rooms: o.clients }),
  validate: (o) => {
    const problems: string[] = [];
    if (o.rate <= 0) problems.push('--rate is the stated limit in this scenario and must be above 0');
    const need = expectedCloseMs(o) + Number(o.closeSlack) + 500;
    if (o.duration < need) problems.push(`duration ${o.duration} ms is too short: abusers are expected to be closed after about ${Math.round(expectedCloseMs(o))} ms; use at least --duration ${Math.ceil(need / 1000)}s`);
    return problems;
  },
  async loop(vu) {
    const o = vu.options;
    const abusive = vu.random() < Number(o.abusive);
    const perSec = abusive ? o.rate * Number(o.abuseFactor) : o.rate * Number(o.compliantFraction);
    const room = vu.rooms[0]!;
    const startUs = vu.nowUs();
    const startAcked = vu.stats.acked;
    const startLimited = vu.stats.rateLimited;
    const tickMs = 50;
    let owed = 0;
    // Send times of the frames the server accepted (acked), whenever their ack arrived.
    const acceptedAt: number[] = [];
    while (vu.running && vu.connected) {
      owed += (perSec * tickMs) / 1000;
      while (owed >= 1) {
        const sentUs = vu.nowUs();
        void vu.publish(room, { ack: false }).then((lat) => lat !== null && acceptedAt.push(sentUs));
        owed--;
      }
      await vu.sleep(tickMs);
    }
    await vu.sleep(300); // late acks of frames sent before the close
    const endUs = vu.lastClose && !vu.connected ? vu.lastClose.atUs : vu.nowUs();
    const secs = Math.max(0.001, (endUs - startUs) / 1e6);
    const acked = vu.stats.acked - startAcked;
    const limited = vu.stats.rateLimited - startLimited;
    if (abusive) {
      vu.count('ratelimit.abusive');
      vu.observe('abusive.acceptedPerSec', refillRate(acceptedAt, startUs, endUs, Number(o.burst) / (perSec - o.rate)) ?? (acked - Math.min(Number(o.burst), acked)) / secs);
      vu.observe('abusive.errorExcess', limited - (Math.ceil(secs) + 1));
      if (vu.lastClose && !vu.connected) {
        vu.observe('abusive.closedAfterMs', (vu.lastClose.atUs - startUs) / 1000);
        // wsbench/1 closes abusers with 1008; Socket.IO disconnects them from the server side.
        if (vu.lastClose.code === 1008 || vu.lastClose.code === 'io_server_disconnect') vu.count('ratelimit.abusive.closed1008');
      }
    } else {
      vu.count('ratelimit.compliant');
      vu.observe('compliant.rateLimited', limited);
      if (!vu.connected) vu.count('ratelimit.compliant.closed');
    }
    await vu.sleep(60_000);
  },
  checks(run): CheckResult[] {
    const o = run.options;
    const obs = run.observations;
    const out: CheckResult[] = [];
    const compliant = run.counters['ratelimit.compliant'] ?? 0;
    const abusive = run.counters['ratelimit.abusive'] ?? 0;
    const cl = obs['compliant.rateLimited'];
    const compliantClosed = run.counters['ratelimit.compliant.closed'] ?? 0;
    out.push({
      name: 'rate-limit.compliant-unaffected',
      passed: compliant > 0 && (cl?.max ?? 0) === 0 && compliantClosed === 0,
      detail: `${compliant} compliant clients at ${Math.round(Number(o.compliantFraction) * 100)}% of the limit: ${cl?.max ? `client ${cl.maxClient} got ${cl.max} rate_limited errors` : 'none got a rate_limited error'}${compliantClosed ? `, ${compliantClosed} were closed` : ''}`,
      evidence: { compliant, maxRateLimited: cl?.max ?? 0, closed: compliantClosed },
    });
    const acc = obs['abusive.acceptedPerSec'];
    const tol = Number(o.tolerance);
    const lo = o.rate * (1 - tol);
    const hi = o.rate * (1 + tol);
    out.push({
      name: 'rate-limit.accepted-rate',
      passed: Boolean(acc) && acc!.min >= lo && acc!.max <= hi,
      detail: acc
        ? `abusive clients sending ${Number(o.abuseFactor)}x the limit had ${acc.min.toFixed(1)}..${acc.max.toFixed(1)} frames/s accepted beyond the burst; the stated limit is ${o.rate}/s ±${Math.round(tol * 100)}% (${lo.toFixed(1)}..${hi.toFixed(1)})`
        : 'no abusive client finished a measurement',
      evidence: acc ? { limitPerSec: o.rate, minPerSec: acc.min, maxPerSec: acc.max, meanPerSec: acc.mean, lowestClient: acc.minClient, highestClient: acc.maxClient } : { abusive },
    });
    const ex = obs['abusive.errorExcess'];
    if (o.protocol === 'socketio') {
      // Socket.IO answers every dropped event's ack with rate_limited (a reply, not an unsolicited frame).
      out.push({ name: 'rate-limit.error-frames-capped', passed: (run.counters['errors.rate_limited'] ?? 0) > 0, detail: 'Socket.IO acks each dropped event with rate_limited, so there is no unsolicited error frame to cap; checked that dropped events were answered', evidence: { rateLimitedAcks: run.counters['errors.rate_limited'] ?? 0 } });
    } else out.push({
      name: 'rate-limit.error-frames-capped',
      passed: Boolean(ex) && ex!.max <= 0 && (run.counters['errors.rate_limited'] ?? 0) > 0,
      detail: !ex
        ? 'no abusive client finished a measurement'
        : (run.counters['errors.rate_limited'] ?? 0) === 0
          ? 'abusive clients got no rate_limited error frame at all: the server does not tell clients their frames were dropped'
          : ex.max <= 0
            ? 'at most one rate_limited error per connection per second'
            : `client ${ex.maxClient} got ${ex.max} more rate_limited errors than one per second allows`,
      evidence: { rateLimitedErrors: run.counters['errors.rate_limited'] ?? 0, worstExcess: ex?.max, worstClient: ex?.maxClient },
    });
    const closed = run.counters['ratelimit.abusive.closed1008'] ?? 0;
    const after = obs['abusive.closedAfterMs'];
    const boundMs = expectedCloseMs(o) + Number(o.closeSlack);
    out.push({
      name: 'rate-limit.abusers-closed',
      passed: abusive > 0 && closed === abusive && Boolean(after) && after!.max <= boundMs,
      detail: `${closed} of ${abusive} abusive clients were ${o.protocol === 'socketio' ? 'disconnected by the server' : 'closed with 1008'}${after ? ` after ${Math.round(after.min)}..${Math.round(after.max)} ms` : ''}; expected all within ${Math.round(boundMs)} ms`,
      evidence: { abusive, closed1008: closed, expectedWithinMs: Math.round(boundMs), ...(after ? { slowestMs: after.max, slowestClient: after.maxClient } : {}) },
    });
    return out;
  },
});

/**
 * Frames per second accepted while the bucket refills: frames sent from a little after
 * the burst is spent until half a second before the end that the server acked, per second
 * of that window. Counting by send time keeps slow acks from skewing it. Undefined when the
 * window is too short to measure.
 */
function refillRate(acceptedAt: number[], startUs: number, endUs: number, burstSec: number): number | undefined {
  const from = startUs + Math.max(0.3, burstSec * 1.25) * 1e6;
  const to = endUs - 0.5e6;
  if (to - from < 0.8e6) return undefined;
  const n = acceptedAt.filter((t) => t >= from && t < to).length;
  return (n * 1e6) / (to - from);
}

/** When an abuser should be closed: the bucket empties, then drops accumulate past the threshold. */
function expectedCloseMs(o: Record<string, unknown> & { rate: number }): number {
  const burst = Number(o.burst);
  const abuse = Number(o.abuse) > 0 ? Number(o.abuse) : 2 * burst;
  const send = o.rate * Number(o.abuseFactor);
  const excess = send - o.rate;
  return ((burst + abuse) / excess) * 1000;
}
