/**
 * Durations: one grammar for flags, `--set`, scenario defaults, faults and gates.
 *
 *   duration := part+ | "0"          part := decimal unit          unit := us | ms | s | m | h
 *
 * Parts add up (`1m30s` = 90 s) and are written without spaces between them or
 * between a number and its unit; surrounding whitespace is ignored. Units are
 * lower case. A duration is never negative.
 *
 * What a bare number (no unit) means is the caller's choice ({@link BareNumber}), since
 * it differs by context and changing it would break documented command lines:
 * common options and `--token-ttl` read seconds, `*Ms` options milliseconds, gates
 * microseconds, and fault times refuse it (`0` alone is always zero).
 */
import { DECIMAL, fail, ok, type Parsed } from './parsed.ts';

/** Milliseconds per duration unit. */
export const DURATION_UNIT_MS: Readonly<Record<DurationUnit, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The units a duration part may carry. */
export type DurationUnit = 'us' | 'ms' | 's' | 'm' | 'h';

/**
 * What a number without a unit means: that many seconds, milliseconds or
 * microseconds, or a problem (`reject`) where a bare number would be ambiguous.
 */
export type BareNumber = 'seconds' | 'milliseconds' | 'microseconds' | 'reject';

const BARE_MS: Record<Exclude<BareNumber, 'reject'>, number> = { seconds: 1000, milliseconds: 1, microseconds: 0.001 };

/** Accepted duration forms, for error messages and help text. */
export const DURATION_FORMS = '250ms, 4s, 1.5s, 2m, 1h, or combined like 1m30s';

const PART = new RegExp(`(${DECIMAL})(us|ms|s|m|h)(?![a-zA-Zµ])`, 'y');
const BARE = new RegExp(`^${DECIMAL}$`);

/**
 * Why `text` is not a duration under `bare`, or undefined when it is one. Never throws.
 * @param bare what a bare number means (default `reject`)
 */
export function durationProblem(text: string, bare: BareNumber = 'reject'): string | undefined {
  const s = typeof text === 'string' ? text.trim() : '';
  if (s === '') return 'it is empty';
  if (s === '0') return undefined;
  if (s.startsWith('-')) return 'a duration cannot be negative';
  if (BARE.test(s)) return bare === 'reject' ? `"${s}" has no unit (seconds? milliseconds?)` : undefined;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    if (!PART.exec(s)) {
      const rest = s.slice(pos);
      const unit = new RegExp(`^${DECIMAL}([a-zA-Zµ]+)`).exec(rest);
      if (unit) return `unknown unit "${unit[1]}" (use ms, s, m or h)`;
      return `cannot read "${rest}"`;
    }
    pos = PART.lastIndex;
  }
  return undefined;
}

/**
 * Read a duration in milliseconds (possibly fractional: `0.5ms`, `250us`).
 * @param bare what a bare number means (default `reject`)
 * @returns the milliseconds, or an error naming the text, the problem and the accepted forms
 */
export function parseDuration(text: string, bare: BareNumber = 'reject'): Parsed<number> {
  const problem = durationProblem(text, bare);
  if (problem !== undefined) return fail(`"${text}" is not a duration: ${problem}; write ${DURATION_FORMS}`);
  const s = text.trim();
  if (BARE.test(s)) return ok(s === '0' ? 0 : Number(s) * (bare === 'reject' ? 0 : BARE_MS[bare]));
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s)!;
    total += Number(m[1]) * DURATION_UNIT_MS[m[2] as DurationUnit];
    pos = PART.lastIndex;
  }
  return ok(total);
}

/**
 * A duration as the grammar writes it, the shortest exact form: 90000 -> `1m30s`,
 * 1500 -> `1.5s`, 0.25 -> `250us`, 0 -> `0`. Parsing the result gives `ms` back.
 * @param ms milliseconds, non-negative
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (!Number.isInteger(ms)) return Number.isInteger(ms * 1000) ? `${ms * 1000}us` : `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['h', 'm'] as const) {
    const size = DURATION_UNIT_MS[unit];
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(rest % 1000 === 0 ? `${rest / 1000}s` : rest > 1000 ? `${+(rest / 1000).toFixed(3)}s` : `${rest}ms`);
  return parts.join('');
}
