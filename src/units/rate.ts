/**
 * Rates, returned in events per second:
 *
 *   rate := decimal [ "/" window ]        window := unit | duration       (unit := us | ms | s | m | h)
 *
 * `200` and `200/s` are 200 per second, `5/m` five per minute, `100/60s` and
 * `100/1m` 100 per minute. A bare number is per second everywhere.
 */
import { DURATION_UNIT_MS, parseDuration, type DurationUnit } from './duration.ts';
import { DECIMAL, fail, ok, type Parsed } from './parsed.ts';

const RATE = new RegExp(`^\\s*(${DECIMAL})\\s*(?:/\\s*(\\S+))?\\s*$`);

/** Read a rate in events per second. */
export function parseRate(text: string): Parsed<number> {
  const m = RATE.exec(String(text));
  const bad = `"${text}" is not a rate; use events per second (200), or N/duration (100/60s, 5/m)`;
  if (!m) return fail(bad);
  const count = Number(m[1]);
  if (m[2] === undefined) return ok(count);
  const windowMs = m[2] in DURATION_UNIT_MS ? DURATION_UNIT_MS[m[2] as DurationUnit] : parseDuration(m[2], 'reject');
  if (typeof windowMs !== 'number' && !windowMs.ok) return fail(bad);
  const ms = typeof windowMs === 'number' ? windowMs : windowMs.value;
  if (ms <= 0) return fail(`"${text}" has a zero time window`);
  return ok((count * 1000) / ms);
}
