/**
 * Parsers for the human units of flags and scenario options. Each returns a
 * number or an error string that says what was wrong and what is accepted, so
 * callers can collect every problem before reporting.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds: `250ms`, `4s`, `1.5s`, `2m`, `1h`; a bare number means seconds.
 */
export function parseDuration(text: string): Parsed<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(text));
  if (!m) return { ok: false, error: `"${text}" is not a duration; use a number with ms, s, m or h (e.g. 500ms, 20s, 2m)` };
  const value = Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  return { ok: true, value: Math.round(value) };
}

/** A non-negative integer, optionally with k/M suffixes (`10k` = 10000). */
export function parseCount(text: string): Parsed<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM])?\s*$/.exec(String(text));
  if (!m) return { ok: false, error: `"${text}" is not a whole number (e.g. 1000 or 10k)` };
  const mult = m[2] ? (m[2].toLowerCase() === 'k' ? 1000 : 1_000_000) : 1;
  const value = Number(m[1]) * mult;
  if (!Number.isInteger(value)) return { ok: false, error: `"${text}" is not a whole number` };
  return { ok: true, value };
}

/**
 * A rate in events per second: `200`, `200/s`, `100/60s`, `5/m`. Returned per second.
 */
export function parseRate(text: string): Parsed<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h))?\s*$/.exec(String(text));
  if (!m) return { ok: false, error: `"${text}" is not a rate; use events per second (200), or N/duration (100/60s, 5/m)` };
  const count = Number(m[1]);
  if (!m[3]) return { ok: true, value: count };
  const per = (m[2] ? Number(m[2]) : 1) * DURATION_UNITS[m[3]]!;
  if (per <= 0) return { ok: false, error: `"${text}" has a zero time window` };
  return { ok: true, value: (count * 1000) / per };
}

/** A size in bytes: `100`, `4KiB`, `64k`, `1MiB`. */
export function parseBytes(text: string): Parsed<number> {
  const m = /^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib)?\s*$/i.exec(String(text));
  if (!m) return { ok: false, error: `"${text}" is not a size; use bytes (100) or 4KiB, 1MiB` };
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return { ok: true, value: Number(m[1]) * mult };
}

/** A percentage or share: `30%` or `0.3` -> 0.3. Must lie in [0, 1]. */
export function parseShare(text: string): Parsed<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(String(text));
  if (!m) return { ok: false, error: `"${text}" is not a share; use a percentage (30%) or a fraction (0.3)` };
  const v = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  if (v < 0 || v > 1) return { ok: false, error: `"${text}" is outside 0%..100%` };
  return { ok: true, value: v };
}

export function parseBool(text: string): Parsed<boolean> {
  const t = String(text).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return { ok: true, value: true };
  if (['0', 'false', 'no', 'off'].includes(t)) return { ok: true, value: false };
  return { ok: false, error: `"${text}" is not a boolean; use true/false or on/off` };
}

/** Formats milliseconds for messages: 1500 -> "1.5s". */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)}s`;
  return `${ms}ms`;
}
