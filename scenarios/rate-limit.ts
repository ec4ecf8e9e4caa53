import { defineScenario } from '../src/index.ts';
import type { CheckResult, VirtualClient } from '../src/index.ts';
import { LIMIT_FORMS, bracketBucketRate, closeDueUs, describeLimit, parseLimitModel, roundFigure, type LimitModel, type RateBracket, type SentFrame } from '../src/scenario/limit-model.ts';
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
    closeSlack: { type: 'duration', default: 2000, description: 'longest wait for the close after an abuser sent the frame that passed the abuse threshold', min: 0 },
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
    const startLimited = vu.stats.rateLimited;
    const tickMs = 50;
    let owed = 0;
    // Every frame in send order, with when its ack was seen (null: refused, or not handled yet).
    const frames: SentFrame[] = [];
    while (vu.running && vu.connected) {
      owed += (perSec * tickMs) / 1000;
      while (owed >= 1) {
        const f: SentFrame = { sentUs: vu.nowUs(), ackUs: null };
        frames.push(f);
        void vu.publish(room, { ack: false }).then((lat) => lat !== null && (f.ackUs = vu.nowUs()));
        owed--;
      }
      await vu.sleep(tickMs);
    }
    await vu.sleep(300); // late acks of frames sent before the close
    const closed = vu.lastClose && !vu.connected ? vu.lastClose : undefined;
    const endUs = closed ? closed.atUs : vu.nowUs();
    const secs = Math.max(0.001, (endUs - startUs) / 1e6);
    const limited = vu.stats.rateLimited - startLimited;
    if (abusive) {
      vu.count('ratelimit.abusive');
      observeSending(vu, frames, startUs, endUs);
      if (model.kind === 'bucket') observeBucket(vu, bracketBucketRate(frames, model.burst));
      else {
        const windows = windowCounts(frames, startUs, model.windowMs);
        vu.observe('abusive.firstWindowAccepted', windows[0] ?? 0);
        vu.observe('abusive.windowMaxAccepted', Math.max(0, ...windows));
      }
      vu.observe('abusive.errorExcess', limited - (Math.ceil(secs) + 1));
      if (closed) {
        vu.observe('abusive.closedAfterMs', (closed.atUs - startUs) / 1000);
        const dueUs = closeDueUs(frames, abuseThreshold(model, o));
        // Closed before the threshold frame was even sent: sooner than the policy requires, which is in time.
        vu.observe('abusive.closeLagMs', dueUs === undefined ? 0 : Math.max(0, (closed.atUs - dueUs) / 1000));
        // wsbench/1 closes abusers with 1008; Socket.IO disconnects them from the server side.
        if (closed.code === 1008 || closed.code === 'io_server_disconnect') vu.count('ratelimit.abusive.closed1008');
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
    out.push(model.kind === 'bucket' ? bucketRateCheck(model, run.observations, run.counters, o, abusive) : windowCountCheck(model, run.observations, o, abusive));
    out.push(errorCapCheck(run.counters, obs['abusive.errorExcess'], o));
    if (model.kind === 'bucket' || model.closeOnRefusal) out.push(closedCheck(run.counters, obs, o, abusive));
    return out;
  },
});

type Options = Record<string, unknown> & { rate: number; protocol?: unknown };
type Observations = Record<string, { count: number; min: number; max: number; mean: number; minClient: number; maxClient: number } | undefined>;

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

/**
 * Each abuser's refill rate, bracketed by its own send and ack times (bracketBucketRate):
 * failed when some abuser's whole bracket lies outside the limit ±tolerance (certainly off),
 * passed when every bracket lies inside it, unverified when a bracket straddles an edge
 * (the server or the client was too slow to tell).
 */
function bucketRateCheck(model: Extract<LimitModel, { kind: 'bucket' }>, obs: Observations, counters: Record<string, number>, o: Options, abusive: number): CheckResult {
  const name = 'rate-limit.accepted-rate';
  const acc = obs['abusive.acceptedPerSec'];
  const low = obs['abusive.acceptedPerSecLow'];
  const high = obs['abusive.acceptedPerSecHigh'];
  const tol = Number(o.tolerance);
  const lo = model.perSec * (1 - tol);
  const hi = model.perSec * (1 + tol);
  const unmeasured = counters['ratelimit.rate.unmeasured'] ?? 0;
  const band = `the stated limit is ${describeLimit(model)} ±${Math.round(tol * 100)}% (${roundFigure(lo)}..${roundFigure(hi)}/s)`;
  if (!acc || !low) return { name, passed: false, status: 'unverified', reason: 'no abusive client finished a measurement', detail: `no abusive client finished a measurement; ${band}`, evidence: { abusive, unmeasured } };
  const sent = obs['abusive.sentPerSec'];
  const evidence = {
    limitPerSec: model.perSec,
    minPerSec: acc.min,
    maxPerSec: acc.max,
    meanPerSec: acc.mean,
    lowestClient: acc.minClient,
    highestClient: acc.maxClient,
    // The brackets: the true rate of every abuser is at least its low and at most its high bound.
    highestLowBoundPerSec: low.max,
    highestLowBoundClient: low.maxClient,
    ...(high ? { lowestHighBoundPerSec: high.min, lowestHighBoundClient: high.minClient, highestHighBoundPerSec: high.max } : {}),
    bracketed: { refill: counters['ratelimit.rate.refill'] ?? 0, whole: counters['ratelimit.rate.whole'] ?? 0, unmeasured },
    worstSpanUncertaintyMs: obs['abusive.spanUncertaintyMs']?.max,
    ...(sent ? { sentPerSecMin: sent.min, sentPerSecMax: sent.max } : {}),
  };
  const seen = `abusive clients sending ${Number(o.abuseFactor)}x the limit had ${roundFigure(acc.min)}..${roundFigure(acc.max)} frames/s accepted beyond the burst`;
  if (low.max > hi) return { name, passed: false, status: 'failed', detail: `${seen}; client ${low.maxClient} had at least ${roundFigure(low.max)}/s accepted; ${band}`, evidence };
  if (high && high.min < lo) return { name, passed: false, status: 'failed', detail: `${seen}; client ${high.minClient} had at most ${roundFigure(high.min)}/s accepted; ${band}`, evidence };
  const within = low.min >= lo && Boolean(high) && high!.count === low.count && high!.max <= hi && unmeasured === 0;
  if (within) return { name, passed: true, status: 'passed', detail: `${seen} (each bracketed by its send and ack times within ${roundFigure(low.min)}..${roundFigure(high!.max)}/s); ${band}`, evidence };
  const reason = unmeasured
    ? `${unmeasured} abusive clients could not be measured (too short a span between acks)`
    : `send-to-ack times of up to ${Math.round(obs['abusive.spanUncertaintyMs']?.max ?? 0)} ms (a slow server or client) leave some abuser's rate between ${roundFigure(low.min)} and ${high ? `${roundFigure(high.max)}/s` : 'unbounded (the server hardly refused anything)'}`;
  return { name, passed: false, status: 'unverified', reason, detail: `${seen}, but ${reason}: cannot tell whether that is within ${band}`, evidence };
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

/** Accepted frames per window, windows counted from the client's first frame (by send time). */
function windowCounts(frames: readonly SentFrame[], startUs: number, windowMs: number): number[] {
  const counts: number[] = [];
  for (const f of frames) {
    if (f.ackUs === null) continue;
    const i = Math.max(0, Math.floor((f.sentUs - startUs) / (windowMs * 1000)));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return Array.from(counts, (n) => n ?? 0);
}

/** The rate an abuser really sent at (a loaded client sends less than asked), frames per second. */
function observeSending(vu: VirtualClient, frames: readonly SentFrame[], startUs: number, endUs: number): void {
  if (endUs > startUs) vu.observe('abusive.sentPerSec', (frames.length * 1e6) / (endUs - startUs));
}

/** One abuser's bracketed refill rate (see bracketBucketRate): the figure, its bounds and how it was taken. */
function observeBucket(vu: VirtualClient, b: RateBracket | undefined): void {
  if (!b) return vu.count('ratelimit.rate.unmeasured');
  vu.observe('abusive.acceptedPerSec', b.perSec);
  vu.observe('abusive.acceptedPerSecLow', b.lowPerSec);
  if (b.highPerSec !== undefined) vu.observe('abusive.acceptedPerSecHigh', b.highPerSec);
  vu.observe('abusive.spanUncertaintyMs', (b.maxSpanUs - b.minSpanUs) / 1000);
  vu.count(`ratelimit.rate.${b.basis}`);
}

/** Refused frames before the server must close: the bucket's abuse threshold, none for a window that closes at the first refusal. */
function abuseThreshold(model: LimitModel, o: Options): number {
  if (model.kind === 'window') return 0;
  return Number(o.abuse) > 0 ? Number(o.abuse) : 2 * model.burst;
}

/**
 * Every abuser closed (1008, or a Socket.IO server-side disconnect), each within
 * `closeSlack` of sending the frame that took it past the stated abuse threshold: timed
 * from the client's own frames, so a client slowed down by a loaded machine (which
 * reaches the threshold later) is not mistaken for a server that closes late.
 */
function closedCheck(counters: Record<string, number>, obs: Observations, o: Options, abusive: number): CheckResult {
  const closed = counters['ratelimit.abusive.closed1008'] ?? 0;
  const after = obs['abusive.closedAfterMs'];
  const lag = obs['abusive.closeLagMs'];
  const slack = Number(o.closeSlack);
  const how = o.protocol === 'socketio' ? 'disconnected by the server' : 'closed with 1008';
  return {
    name: 'rate-limit.abusers-closed',
    passed: abusive > 0 && closed === abusive && Boolean(lag) && lag!.max <= slack,
    detail: `${closed} of ${abusive} abusive clients were ${how}${after ? ` after ${Math.round(after.min)}..${Math.round(after.max)} ms` : ''}${lag ? `, at most ${Math.round(lag.max)} ms after sending the frame that passed the abuse threshold` : ''}; expected all within ${Math.round(slack)} ms of it (about ${Math.round(expectedCloseMs(o))} ms into the run at the nominal sending rate)`,
    evidence: { abusive, closed1008: closed, expectedWithinMs: Math.round(slack), ...(lag ? { slowestLagMs: lag.max, slowestClient: lag.maxClient } : {}), ...(after ? { closedAfterMsMax: after.max } : {}) },
  };
}

/**
 * When an abuser should be closed. A bucket: it empties, then drops accumulate past the
 * threshold. A window: the frame after the count has been sent.
 */
function expectedCloseMs(o: Options): number {
  const model = limitOf(o);
  const send = sendRate(model, o, true);
  if (model.kind === 'window') return ((model.count + 1) / send) * 1000;
  return ((model.burst + abuseThreshold(model, o)) / (send - model.perSec)) * 1000;
}
