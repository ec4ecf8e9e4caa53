/**
 * The units grammar of wsbench: durations, rates, sizes, shares and counts, one
 * parser each, used by flags, `--set`, scenario defaults, faults and gates.
 * Every parser returns a {@link Parsed} (never throws) so a command can list
 * every problem at once.
 *
 * Where a bare number (no unit) is allowed and what it means:
 *
 * | value     | bare number means                                                     |
 * |-----------|-----------------------------------------------------------------------|
 * | duration  | seconds in flags and `--set` (`--duration 30`), milliseconds for `*-ms` options, microseconds in gates, refused in faults |
 * | rate      | events per second                                                     |
 * | size      | bytes                                                                 |
 * | share     | a fraction (`0.3`), except `compare --max-regression` (a percentage)  |
 * | count     | the count                                                             |
 */
export { type Parsed, ok, fail } from './parsed.ts';
export { parseDuration, durationProblem, formatDuration, DURATION_FORMS, DURATION_UNIT_MS, type DurationUnit, type BareNumber } from './duration.ts';
export { parseRate } from './rate.ts';
export { parseBytes } from './size.ts';
export { parseShare, shareFrom, type BareShare } from './share.ts';
export { parseCount, parseWholeNumber, parseBool } from './count.ts';
export { parseByteRate } from './byte-rate.ts';
