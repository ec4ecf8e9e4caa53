import { usageError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)(?![a-zA-Zµ])/y;

/** Accepted duration forms, for error messages and help text. */
export const DURATION_FORMS = '250ms, 4s, 1.5s, 2m, 1h, or combined like 1m30s';

/**
 * Parse a human duration into milliseconds.
 *
 * Accepts a number followed by a unit (`ms`, `s`, `m`, `h`), e.g. `250ms`, `4s`,
 * `1.5s`, `2m`, `1h`, and sequences of them in any order, e.g. `1m30s`
 * (the parts are added). Surrounding whitespace is ignored; units are lower case.
 *
 * A bare number is rejected (is `30` seconds or milliseconds? the caller must
 * say), except `0`, which is unambiguous. Negative durations are rejected.
 * The result may be fractional for sub-millisecond input such as `0.5ms`.
 *
 * @param text the duration as written by the user
 * @param what what the duration is for, used in the error message (default `duration`)
 * @returns the duration in milliseconds
 * @throws WsbenchError code `WSB_ERR_DURATION` (usage error, exit 2) naming the text and the bad part
 */
export function parseDuration(text: string, what = 'duration'): number {
  const problem = durationProblem(text);
  if (problem !== undefined) {
    throw usageError('WSB_ERR_DURATION', `invalid ${what} "${text}": ${problem}`, `write a number and a unit: ${DURATION_FORMS}`);
  }
  return sumParts(text.trim());
}

/** Why `text` is not a duration, or undefined when it is one. Never throws. */
export function durationProblem(text: string): string | undefined {
  const s = typeof text === 'string' ? text.trim() : '';
  if (s === '') return 'it is empty';
  if (s === '0') return undefined;
  if (s.startsWith('-')) return 'a duration cannot be negative';
  if (/^(\d+(\.\d+)?|\.\d+)$/.test(s)) return `"${s}" has no unit (seconds? milliseconds?)`;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) {
      const rest = s.slice(pos);
      const unit = /^(\d+(?:\.\d+)?|\.\d+)([a-zA-Zµ]+)/.exec(rest);
      if (unit) return `unknown unit "${unit[2]}" (use ms, s, m or h)`;
      return `cannot read "${rest}"`;
    }
    pos = PART.lastIndex;
  }
  return undefined;
}

function sumParts(s: string): number {
  if (s === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s)!;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return total;
}
