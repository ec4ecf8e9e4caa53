import { defineScenario } from '../src/index.ts';
import type { CheckResult } from '../src/index.ts';
import { LIMIT_FORMS, describeLimit, parseLimitModel, roundFigure, type LimitModel } from '../src/scenario/limit-model.ts';
import { DEFAULT_LIMIT_CODE_PATTERN, limitCodeMatcher, limitCodesProblem } from '../src/scenario/limit-codes.ts';

/**
 * Rate-limit conformance: compliant clients send at a fraction of the limit while
 * abusive ones send above it, at the same time. A good server leaves the compliant
 * ones alone, holds the abusive ones to its stated limit (within 10%), caps its error
 * frames (at most one per connection per second) and closes persistent abusers with
 * 1008 in time.
 *
 * The stated limit is `--set limit=`: a token bucket (`bucket:20/s,burst:40`, the
 * default being `--rate` per second with `--set burst`) or a fixed window
 * (`window:100/60s`, with `,close` when the server closes at the first refusal).
 * Error frames count as "rate limited" when their code matches `--set limit-codes`
 * (default: the common spellings, e.g. rate_limited, rate_limit_exceeded,
 * "Rate limit exceeded"); an adapter can decode its dialect's refusal to such a code.
 */
export default defineScenario({
  name: 'rate-limit',
  description: 'compliant and abusive clients at once: limit held within 10%, errors capped, abusers closed with 1008',
  defaults: { clients: 100, rooms: 100, rate: 100, warmup: 500, duration: 8000, reconnect: false, requestTimeoutMs: 3000 },
  publish: false,
  options: {
    limit: { type: 'string', default: '', description: `the server's stated limit: ${LIMIT_FORMS}; empty = a bucket of --rate per second and burst` },
    burst: { type: 'count', default: 200, description: 'token-bucket capacity of the server (stated policy)', min: 1 },
    abuse: { type: 'count', default: 0, description: 'token bucket: dropped frames within 10 s before the server closes with 1008 (0 = 2 x burst)' },
    abusive: { type: 'share', default: 0.2, description: 'share of clients that send above the limit' },
    abuseFactor: { type: 'number', default: 3, description: 'abusive clients send at this multiple of the limit', min: 1.2, max: 100 },
    compliantFraction: { type: 'share', default: 0.5, description: 'compliant clients send at this fraction of the limit' },
    tolerance: { type: 'share', default: 0.1, description: 'allowed deviation of the accepted rate (or window count) from the limit' },
    closeSlack: { type: 'duration', default: 2000, description: 'tolerance added to the expected time to close an abuser', min: 0 },
    limitCodes: { type: 'string', default: '', description: `error codes that mean "rate limited": a comma-separated list or a /regex/ (default /${DEFAULT_LIMIT_CODE_PATTERN}/i)` },
  },
  server: (o) => {
    const m = limitOf(o);
    // The bundled server has a token bucket only: a window is approximated by its mean rate.
    if (m.kind === 'window') return { rate: String(Math.max(1, Math.round((m.count * 1000) / m.windowMs))), burst: String(m.count) };
    return { rate: String(Math.max(1, Math.round(m.perSec))), burst: String(m.burst), ...(Number(o.abuse) > 0 ? { abuse: String(o.abuse) } : {}) };
  },
  derive: (o) => ({ rooms: o.clients }),
  validate: (o) => {
    const problems: string[] = [];
    const parsed = parseLimitModel(String(o.limit), { perSec: o.rate, burst: Number(o.burst) });
    if (!parsed.ok) return [parsed.error];
    const codes = limitCodesProblem(String(o.limitCodes));
    if (codes) problems.push(codes);
    if (parsed.value.kind === 'bucket' && o.rate <= 0 && String(o.limit) === '') problems.push('--rate is the stated limit in this scenario and must be above 0');
    const need = expectedCloseMs(o) + Number(o.closeSlack) + 500;
    if (o.duration < need) problems.push(`duration ${o.duration} ms is too short: abusers are expected to be ${parsed.value.kind === 'window' ? 'past the window count' : 'closed'} after about ${Math.round(expectedCloseMs(o))} ms; use at least --duration ${Math.ceil(need / 1000)}s`);
    return problems;
  },
  async loop(vu) {
    const o = vu.options;
    const model = limitOf(o);
    const abusive = vu.random() < Number(o.abusive);
    const perSec = sendRate(model, o, abusive);
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
      if (model.kind === 'bucket') {
        vu.observe('abusive.acceptedPerSec', refillRate(acceptedAt, startUs, endUs, model.burst / (perSec - model.perSec)) ?? (acked - Math.min(model.burst, acked)) / secs);
      } else {
        const windows = windowCounts(acceptedAt, startUs, model.windowMs);
        vu.observe('abusive.firstWindowAccepted', windows[0] ?? 0);
        vu.observe('abusive.windowMaxAccepted', Math.max(0, ...windows));
      }
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
    const model = limitOf(o);
    const obs = run.observations;
    const out: CheckResult[] = [];
    const compliant = run.counters['ratelimit.compliant'] ?? 0;
    const abusive = run.counters['ratelimit.abusive'] ?? 0;
    const cl = obs['compliant.rateLimited'];
    const compliantClosed = run.counters['ratelimit.compliant.closed'] ?? 0;
    out.push({
      name: 'rate-limit.compliant-unaffected',
      passed: compliant > 0 && (cl?.max ?? 0) === 0 && compliantClosed === 0,
      detail: `${compliant} compliant clients at ${Math.round(Number(o.compliantFraction) * 100)}% of the limit: ${cl?.max ? `client ${cl.maxClient} got ${cl.max} rate-limit errors` : 'none got a rate-limit error'}${compliantClosed ? `, ${compliantClosed} were closed` : ''}`,
      evidence: { compliant, maxRateLimited: cl?.max ?? 0, closed: compliantClosed },
    });
    out.push(model.kind === 'bucket' ? bucketRateCheck(model, run.observations, o, abusive) : windowCountCheck(model, run.observations, o, abusive));
    out.push(errorCapCheck(run.counters, obs['abusive.errorExcess'], o));
    if (model.kind === 'bucket' || model.closeOnRefusal) {
      const closed = run.counters['ratelimit.abusive.closed1008'] ?? 0;
      const after = obs['abusive.closedAfterMs'];
      const boundMs = expectedCloseMs(o) + Number(o.closeSlack);
      out.push({
        name: 'rate-limit.abusers-closed',
        passed: abusive > 0 && closed === abusive && Boolean(after) && after!.max <= boundMs,
        detail: `${closed} of ${abusive} abusive clients were ${o.protocol === 'socketio' ? 'disconnected by the server' : 'closed with 1008'}${after ? ` after ${Math.round(after.min)}..${Math.round(after.max)} ms` : ''}; expected all within ${Math.round(boundMs)} ms`,
        evidence: { abusive, closed1008: closed, expectedWithinMs: Math.round(boundMs), ...(after ? { slowestMs: after.max, slowestClient: after.maxClient } : {}) },
      });
    }
    return out;
  },
});

type Options = Record<string, unknown> & { rate: number; protocol?: unknown };
type Observations = Record<string, { min: number; max: number; mean: number; minClient: number; maxClient: number } | undefined>;

/**
 * The stated limit of a run. An unparsable one reads as the default bucket here:
 * validate() reports it, and the run stops before anything is judged.
 */
function limitOf(o: Options): LimitModel {
  const fallback = { perSec: o.rate, burst: Number(o.burst) };
  const parsed = parseLimitModel(String(o.limit ?? ''), fallback);
  return parsed.ok ? parsed.value : { kind: 'bucket', ...fallback };
}

/**
 * Frames per second a client sends. Against a window, abusers pass its count within
 * a few seconds however long the window (a run rarely lasts a whole minute).
 */
function sendRate(model: LimitModel, o: Options, abusive: boolean): number {
  if (model.kind === 'bucket') return model.perSec * (abusive ? Number(o.abuseFactor) : Number(o.compliantFraction));
  const windowSec = model.windowMs / 1000;
  return abusive ? (Number(o.abuseFactor) * model.count) / Math.min(windowSec, 4) : (Number(o.compliantFraction) * model.count) / windowSec;
}

function bucketRateCheck(model: Extract<LimitModel, { kind: 'bucket' }>, obs: Observations, o: Options, abusive: number): CheckResult {
  const acc = obs['abusive.acceptedPerSec'];
  const tol = Number(o.tolerance);
  const lo = model.perSec * (1 - tol);
  const hi = model.perSec * (1 + tol);
  return {
    name: 'rate-limit.accepted-rate',
    passed: Boolean(acc) && acc!.min >= lo && acc!.max <= hi,
    detail: acc
      ? `abusive clients sending ${Number(o.abuseFactor)}x the limit had ${roundFigure(acc.min)}..${roundFigure(acc.max)} frames/s accepted beyond the burst; the stated limit is ${describeLimit(model)} ±${Math.round(tol * 100)}% (${roundFigure(lo)}..${roundFigure(hi)}/s)`
      : 'no abusive client finished a measurement',
    evidence: acc ? { limitPerSec: model.perSec, minPerSec: acc.min, maxPerSec: acc.max, meanPerSec: acc.mean, lowestClient: acc.minClient, highestClient: acc.maxClient } : { abusive },
  };
}

/** A fixed window: each abuser's first window holds about the count, and no window more than it. */
function windowCountCheck(model: Extract<LimitModel, { kind: 'window' }>, obs: Observations, o: Options, abusive: number): CheckResult {
  const first = obs['abusive.firstWindowAccepted'];
  const most = obs['abusive.windowMaxAccepted'];
  const tol = Number(o.tolerance);
  const lo = Math.floor(model.count * (1 - tol));
  const hi = Math.ceil(model.count * (1 + tol));
  return {
    name: 'rate-limit.accepted-rate',
    passed: Boolean(first && most) && first!.min >= lo && most!.max <= hi,
    detail:
      first && most
        ? `abusive clients had ${first.min}..${first.max} frames accepted in their first window and at most ${most.max} in any window; the stated limit is ${describeLimit(model)} ±${Math.round(tol * 100)}% (${lo}..${hi} per window)`
        : 'no abusive client finished a measurement',
    evidence: first && most ? { limitPerWindow: model.count, windowMs: model.windowMs, firstWindowMin: first.min, firstWindowMax: first.max, anyWindowMax: most.max, lowestClient: first.minClient, highestClient: most.maxClient } : { abusive },
  };
}

/** At most one rate-limit error frame per connection per second, and at least one. */
function errorCapCheck(counters: Record<string, number>, ex: Observations[string], o: Options): CheckResult {
  const isLimit = limitCodeMatcher(String(o.limitCodes ?? ''));
  const codes = Object.entries(counters).filter(([k]) => k.startsWith('errors.')).map(([k, n]) => [k.slice('errors.'.length), n] as const);
  const limited = codes.filter(([c]) => isLimit(c)).reduce((s, [, n]) => s + n, 0);
  const matching = String(o.limitCodes ?? '') || `/${DEFAULT_LIMIT_CODE_PATTERN}/i`;
  if (o.protocol === 'socketio') {
    // Socket.IO answers every dropped event's ack with an error (a reply, not an unsolicited frame).
    return { name: 'rate-limit.error-frames-capped', passed: limited > 0, detail: `Socket.IO acks each dropped event with an error, so there is no unsolicited error frame to cap; checked that dropped events were answered with a code matching ${matching}`, evidence: { rateLimitedAcks: limited } };
  }
  const others = codes.filter(([c]) => !isLimit(c)).map(([c, n]) => `${c} (${n})`);
  return {
    name: 'rate-limit.error-frames-capped',
    passed: Boolean(ex) && ex!.max <= 0 && limited > 0,
    detail: !ex
      ? 'no abusive client finished a measurement'
      : limited === 0
        ? `abusive clients got no error frame whose code matches ${matching}: the server does not tell clients their frames were dropped${others.length ? `, or says it another way: other error codes seen: ${others.join(', ')} (set --set limit-codes=CODE)` : ''}`
        : ex.max <= 0
          ? 'at most one rate-limit error per connection per second'
          : `client ${ex.maxClient} got ${ex.max} more rate-limit errors than one per second allows`,
    evidence: { rateLimitedErrors: limited, worstExcess: ex?.max, worstClient: ex?.maxClient, ...(others.length ? { otherErrors: others } : {}) },
  };
}

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

/** Accepted frames per window, windows counted from the client's first frame (by send time). */
function windowCounts(acceptedAt: number[], startUs: number, windowMs: number): number[] {
  const counts: number[] = [];
  for (const t of acceptedAt) {
    const i = Math.max(0, Math.floor((t - startUs) / (windowMs * 1000)));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return Array.from(counts, (n) => n ?? 0);
}

/**
 * When an abuser should be closed. A bucket: it empties, then drops accumulate past the
 * threshold. A window: the frame after the count has been sent.
 */
function expectedCloseMs(o: Options): number {
  const model = limitOf(o);
  const send = sendRate(model, o, true);
  if (model.kind === 'window') return ((model.count + 1) / send) * 1000;
  const abuse = Number(o.abuse) > 0 ? Number(o.abuse) : 2 * model.burst;
  return ((model.burst + abuse) / (send - model.perSec)) * 1000;
}
