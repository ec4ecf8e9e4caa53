/**
 * Shares (percentages): `30%` is 0.3. What a bare number means is the caller's
 * choice: a fraction (`0.3`, for `--set` share options, `--headroom` and gate
 * ratios) or a percentage (`10`, for `compare --max-regression`), since both are
 * documented. The result is a fraction in [0, 1].
 */
import { DECIMAL, fail, ok, type Parsed } from './parsed.ts';

/** What a number without `%` means. */
export type BareShare = 'fraction' | 'percent';

const SHARE = new RegExp(`^\\s*(${DECIMAL})\\s*(%)?\\s*$`);

/**
 * Read a share as a fraction in [0, 1].
 * @param bare what a number without `%` means (default `fraction`)
 */
export function parseShare(text: string, bare: BareShare = 'fraction'): Parsed<number> {
  const m = SHARE.exec(String(text));
  if (!m) return fail(`"${text}" is not a share; use a percentage (30%)${bare === 'fraction' ? ' or a fraction (0.3)' : ''}`);
  const v = m[2] || bare === 'percent' ? Number(m[1]) / 100 : Number(m[1]);
  if (v < 0 || v > 1) return fail(`"${text}" is outside 0%..100%`);
  return ok(v);
}

/** A fraction from a value and its gate unit: `%` divides by 100, no unit is already a fraction. */
export function shareFrom(value: number, unit: '' | '%'): number {
  return unit === '%' ? value / 100 : value;
}
