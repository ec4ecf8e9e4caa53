/**
 * Typed errors of the reference server. servers/ is a product of its own and
 * never imports src/, so it carries its own small error type with a stable code.
 */

/** A configuration problem: bad option values or an unavailable feature (exit 2 in the CLI). */
export class ServerConfigError extends Error {
  readonly code: string;
  /** Every problem found, each naming the option, the bad value and what is allowed. */
  readonly problems: string[];

  constructor(code: string, problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ServerConfigError';
    this.code = code;
    this.problems = problems;
  }
}

/** Whether `e` is a ServerConfigError (exit 2 in the CLI). */
export function isServerConfigError(e: unknown): e is ServerConfigError {
  return e instanceof ServerConfigError;
}

/**
 * A log line per kind of failure that can repeat for every frame while a
 * dependency is away (a refused publish while Redis restarts): the first of each
 * interval is written, the others are counted into the next one written.
 */
export function throttledLog(log: (line: string) => void, intervalMs = 1000): (line: string) => void {
  let lastAt = 0;
  let quiet = 0;
  return (line) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      quiet++;
      return;
    }
    log(quiet ? `${line} (and ${quiet} more like it since the last such line)` : line);
    lastAt = now;
    quiet = 0;
  };
}

/** `unavailable` when the bus refused because its dependency (Redis) is away, else `internal`. */
export function failureCode(err: unknown): 'unavailable' | 'internal' {
  return (err as { code?: unknown } | null)?.code === 'unavailable' ? 'unavailable' : 'internal';
}
