/**
 * Counts and switches: whole numbers with an optional `k` (1000) or `M` (10⁶)
 * suffix, and booleans. A bare number is the count itself.
 */
import { DECIMAL, fail, ok, type Parsed } from './parsed.ts';

const COUNT = new RegExp(`^\\s*(${DECIMAL})\\s*([kKmM])?\\s*$`);

/** A non-negative whole number: `1000`, `10k`, `1.5k`, `2M`. */
export function parseCount(text: string): Parsed<number> {
  const m = COUNT.exec(String(text));
  if (!m) return fail(`"${text}" is not a whole number (e.g. 1000 or 10k)`);
  const mult = m[2] ? (m[2].toLowerCase() === 'k' ? 1000 : 1_000_000) : 1;
  const value = Number(m[1]) * mult;
  if (!Number.isInteger(value)) return fail(`"${text}" is not a whole number`);
  return ok(value);
}

/** A whole number without suffixes that is at least `min`: `--workers 4`, `--repeat 3`. */
export function parseWholeNumber(text: string, min = 0): Parsed<number> {
  const n = Number(text);
  if (String(text).trim() === '' || !Number.isInteger(n) || n < min) return fail(`"${text}": expected a whole number >= ${min}`);
  return ok(n);
}

/** A switch: true/false, yes/no, on/off, 1/0 (case-insensitive). */
export function parseBool(text: string): Parsed<boolean> {
  const t = String(text).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return ok(true);
  if (['0', 'false', 'no', 'off'].includes(t)) return ok(false);
  return fail(`"${text}" is not a boolean; use true/false or on/off`);
}
