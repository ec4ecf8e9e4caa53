/**
 * The result of reading one value from text: the value, or an error string that
 * says what was wrong and what is accepted. Parsers never throw, so callers can
 * collect every problem of a command line before reporting.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A successful {@link Parsed}. */
export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** A failed {@link Parsed} with its message. */
export function fail<T = never>(error: string): Parsed<T> {
  return { ok: false, error };
}

/** A non-negative decimal number as the unit grammar writes it: `5`, `1.5`, `.5`. */
export const DECIMAL = String.raw`(?:\d+(?:\.\d+)?|\.\d+)`;
