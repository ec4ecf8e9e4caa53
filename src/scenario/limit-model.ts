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
