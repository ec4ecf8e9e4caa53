/**
 * The rate-limit policy a server states, as the rate-limit scenario judges it:
 * a token bucket (a steady rate with a burst) or a fixed window (N frames per
 * window, optionally closing the connection at the first refusal).
 *
 *   bucket:20/s,burst:40      20 frames per second, 40 at once
 *   window:100/60s            100 frames per 60 s window
 *   window:100/60s,close      ... and the connection is closed (1008) at the first refusal
 */
import { parseCount, parseDuration, parseRate, type Parsed } from '../units/index.ts';

/** A token bucket: `perSec` frames per second refill, `burst` frames capacity. */
export interface BucketLimit {
  kind: 'bucket';
  perSec: number;
  burst: number;
}

/** A fixed window: at most `count` frames per `windowMs`, counted from a connection's first frame. */
export interface WindowLimit {
  kind: 'window';
  count: number;
  windowMs: number;
  /** The server closes the connection at the first refused frame. */
  closeOnRefusal: boolean;
}

/** A rate-limit policy (`--set limit=`): token bucket or fixed window. */
export type LimitModel = BucketLimit | WindowLimit;

/** The forms `--set limit=` accepts, for error messages and the README. */
export const LIMIT_FORMS = 'bucket:RATE[,burst:N] (e.g. bucket:20/s,burst:40) or window:N/DURATION[,close] (e.g. window:100/60s,close)';

/**
 * Parse `--set limit=...`. An empty text is the bucket of `--rate` and `--set burst`
 * (`fallback`), as before the option existed.
 */
export function parseLimitModel(text: string, fallback: { perSec: number; burst: number }): Parsed<LimitModel> {
  const t = text.trim();
  if (t === '') return { ok: true, value: { kind: 'bucket', ...fallback } };
  const [head = '', ...mods] = t.split(',').map((s) => s.trim());
  const colon = head.indexOf(':');
  const kind = colon < 0 ? head : head.slice(0, colon);
  const body = colon < 0 ? '' : head.slice(colon + 1);
  const bad = (why: string): Parsed<LimitModel> => ({ ok: false, error: `limit "${text}": ${why}; use ${LIMIT_FORMS}` });
  if (kind === 'bucket') {
    const rate = parseRate(body);
    if (!rate.ok || rate.value <= 0) return bad(rate.ok ? 'the rate must be above 0' : rate.error);
    let burst = fallback.burst;
    for (const m of mods) {
      const b = /^burst:(.+)$/.exec(m);
      const n = b ? parseCount(b[1]!) : undefined;
      if (!n?.ok || n.value < 1) return bad(`"${m}" is not burst:N with N >= 1`);
      burst = n.value;
    }
    return { ok: true, value: { kind: 'bucket', perSec: rate.value, burst } };
  }
  if (kind === 'window') {
    const m = /^(\d+)\s*\/\s*(.+)$/.exec(body);
    const windowMs = m ? parseDuration(m[2]!) : undefined;
    if (!m || Number(m[1]) < 1 || !windowMs?.ok || windowMs.value <= 0) return bad(`"${body}" is not N/DURATION with N >= 1`);
    const unknown = mods.filter((x) => x !== 'close');
    if (unknown.length) return bad(`unknown modifier "${unknown[0]}" (window takes only close)`);
    return { ok: true, value: { kind: 'window', count: Number(m[1]), windowMs: windowMs.value, closeOnRefusal: mods.includes('close') } };
  }
  return bad(`unknown model "${kind}"`);
}

/** The model in words with figures rounded: "20/s, burst 40" or "100 per 60 s, closing at the first refusal". */
export function describeLimit(model: LimitModel): string {
  if (model.kind === 'bucket') return `${roundFigure(model.perSec)}/s, burst ${model.burst}`;
  return `${model.count} per ${roundFigure(model.windowMs / 1000)} s${model.closeOnRefusal ? ', closing at the first refusal' : ''}`;
}

/** A figure for people: at most three significant digits after the point (1.6666 -> 1.67, 100 -> 100). */
export function roundFigure(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 || Number.isInteger(x) ? 0 : abs >= 10 ? 1 : 2;
  return String(Number(x.toFixed(digits)));
}

/**
 * One frame a probing client sent: when (monotonic µs, taken just before sending) and
 * when its ack was seen (µs, taken when the client saw it; at or after the true arrival),
 * or null when none came. The server handled the frame somewhere in [sentUs, ackUs].
 */
export interface SentFrame {
  sentUs: number;
  ackUs: number | null;
}

/** The stated abuse window of a token bucket (PROTOCOL.md "Rate limiting"): more than `abuse` drops within it close the connection, ms. */
export const ABUSE_WINDOW_MS = 10_000;

/**
 * A bucket's refill rate as one client measured it, bracketed by its own send and ack
 * times so that a slow (loaded) server or client cannot make it look faster or slower:
 * the true rate lies in [lowPerSec, highPerSec]. No server clock is needed.
 */
export interface RateBracket {
  /** Frames accepted between the two reference frames (the later one included). */
  accepted: number;
  /** The server-time span between the two reference frames lies in [minSpanUs, maxSpanUs], µs. */
  minSpanUs: number;
  maxSpanUs: number;
  /** Lowest and highest accepted rate consistent with the measurement, frames per second; highPerSec is absent when nothing bounds it. */
  lowPerSec: number;
  highPerSec?: number;
  /** The rate over the middle of the span, frames per second: the figure to print. */
  perSec: number;
  /**
   * `refill`: between two frames each followed by a dropped one (the bucket was empty
   * just after both), so accepted = rate x span ± 1. `whole`: the server dropped too
   * little to find two such frames; from the first frame (a full bucket of `burst`) to
   * the last accepted one, which bounds the rate from below only.
   */
  basis: 'refill' | 'whole';
}

/**
 * Bracket a token bucket's refill rate from one client's frames, in send order (see
 * RateBracket). Frames after the last acked one are left out: whether the server took
 * them is unknown. `burst` is the stated capacity (used only when the server never
 * emptied the bucket twice). Undefined when nothing was acked, or the span is too short
 * to measure. The refill basis assumes the client kept sending above the rate (so no
 * refill was lost at the bucket's cap), which an abusive client does.
 */
export function bracketBucketRate(frames: readonly SentFrame[], burst: number): RateBracket | undefined {
  let last = -1;
  for (let k = frames.length - 1; k >= 0 && last < 0; k--) if (frames[k]!.ackUs !== null) last = k;
  if (last < 0) return undefined;
  // Accepted frames whose next frame was dropped: the bucket held under one token right after them.
  const edges: number[] = [];
  for (let k = 0; k < last; k++) if (frames[k]!.ackUs !== null && frames[k + 1]!.ackUs === null) edges.push(k);
  const refill = edges.length >= 2 ? refillBracket(frames, edges) : undefined;
  return refill ?? wholeBracket(frames, last, burst);
}

/** The refill basis: the quickest-acked edge of the first half against the quickest of the second. */
function refillBracket(frames: readonly SentFrame[], edges: number[]): RateBracket | undefined {
  const midUs = (frames[edges[0]!]!.sentUs + frames[edges[edges.length - 1]!]!.sentUs) / 2;
  const lat = (k: number) => frames[k]!.ackUs! - frames[k]!.sentUs;
  const quickest = (ks: number[]) => ks.reduce((a, b) => (lat(b) < lat(a) ? b : a));
  const early = edges.filter((k) => frames[k]!.sentUs <= midUs);
  const late = edges.filter((k) => frames[k]!.sentUs > midUs);
  if (!early.length || !late.length) return undefined;
  const i = quickest(early);
  const j = quickest(late);
  const minSpanUs = frames[j]!.sentUs - frames[i]!.ackUs!;
  const maxSpanUs = frames[j]!.ackUs! - frames[i]!.sentUs;
  if (minSpanUs <= 0) return undefined;
  let accepted = 0;
  for (let k = i + 1; k <= j; k++) if (frames[k]!.ackUs !== null) accepted++;
  // Under one token left after i and after j: accepted = rate x span + (left after i) - (left after j)
  // (less any token a control frame took, which only lowers the count).
  return { accepted, minSpanUs, maxSpanUs, lowPerSec: ((accepted - 1) * 1e6) / maxSpanUs, highPerSec: ((accepted + 1) * 1e6) / minSpanUs, perSec: (accepted * 2e6) / (minSpanUs + maxSpanUs), basis: 'refill' };
}

/** The whole basis: at most burst + rate x span were accepted from the first frame to the last accepted one. */
function wholeBracket(frames: readonly SentFrame[], last: number, burst: number): RateBracket | undefined {
  const firstAckUs = frames[0]!.ackUs;
  if (firstAckUs === null) return undefined;
  const minSpanUs = frames[last]!.sentUs - firstAckUs;
  const maxSpanUs = frames[last]!.ackUs! - frames[0]!.sentUs;
  if (minSpanUs <= 0) return undefined;
  let accepted = 0;
  for (let k = 0; k <= last; k++) if (frames[k]!.ackUs !== null) accepted++;
  const beyond = accepted - burst;
  return { accepted, minSpanUs, maxSpanUs, lowPerSec: Math.max(0, (beyond * 1e6) / maxSpanUs), perSec: Math.max(0, (beyond * 2e6) / (minSpanUs + maxSpanUs)), basis: 'whole' };
}

/**
 * When the server should have closed a connection that keeps sending over the limit:
 * the send time (µs) of the frame that took the drops past `abuse` within the abuse
 * window (`abuse` 0: the first refused frame). For a connection the server closed, every
 * frame after the last acked one was refused or never handled, so they count as drops.
 * Undefined when the client never sent that many refused frames (the server closed it
 * sooner, or it never went over). Drops are placed at their send times.
 */
export function closeDueUs(frames: readonly SentFrame[], abuse: number, windowMs = ABUSE_WINDOW_MS): number | undefined {
  let windowStart = -Infinity;
  let drops = 0;
  for (const f of frames) {
    if (f.ackUs !== null) continue;
    if (f.sentUs - windowStart > windowMs * 1000) {
      windowStart = f.sentUs;
      drops = 0;
    }
    if (++drops > abuse) return f.sentUs;
  }
  return undefined;
}
