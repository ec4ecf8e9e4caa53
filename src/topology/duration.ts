/**
 * Durations in fault specs (`drop-all@5s+2s`), where a bare number is refused:
 * the units grammar of src/units, turned into a usage error.
 */
import { usageError } from '../errors.ts';
import { DURATION_FORMS, durationProblem as problemOf, parseDuration as readDuration } from '../units/index.ts';

export { DURATION_FORMS };

/**
 * Parse a duration into milliseconds: `250ms`, `4s`, `1.5s`, `2m`, `1h`, `1m30s`.
 * A bare number other than `0` is rejected (seconds or milliseconds? the caller
 * must say). The result may be fractional for sub-millisecond input (`0.5ms`).
 *
 * @param text the duration as written by the user
 * @param what what the duration is for, used in the error message (default `duration`)
 * @returns the duration in milliseconds
 * @throws WsbenchError code `WSB_ERR_DURATION` (usage error, exit 2) naming the text and the bad part
 */
export function parseDuration(text: string, what = 'duration'): number {
  const problem = problemOf(text, 'reject');
  if (problem !== undefined) throw usageError('WSB_ERR_DURATION', `invalid ${what} "${text}": ${problem}`, `write a number and a unit: ${DURATION_FORMS}`);
  const r = readDuration(text, 'reject');
  return r.ok ? r.value : 0;
}

/** Why `text` is not a fault duration, or undefined when it is one. Never throws. */
export function durationProblem(text: string): string | undefined {
  return problemOf(text, 'reject');
}
