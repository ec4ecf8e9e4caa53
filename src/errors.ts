/**
 * Typed errors for configuration and harness problems. Each carries a stable
 * `code` (WSB_ERR_*), a hint saying what to do, and the exit code the CLI maps
 * it to. Network and protocol failures during a run are never thrown: they are
 * counted (`errors.<code>`, `close.<code>`) and reported.
 */

/** Exit codes, stable and documented in the README. */
export const EXIT = {
  pass: 0,
  failed: 1,
  usage: 2,
  harness: 3,
  saturated: 4,
  /** Stopped by the user (Ctrl-C): 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class WsbenchError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  /** Every problem found, when validation found several (message is their summary). */
  readonly problems: string[];

  constructor(code: string, message: string, opts: { hint?: string; exitCode?: ExitCode; problems?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WsbenchError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT.usage;
    this.problems = opts.problems ?? [];
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(code: string, message: string, hint?: string, problems?: string[]): WsbenchError {
  return new WsbenchError(code, message, { hint, problems, exitCode: EXIT.usage });
}

/** The harness failed or the target could not be started or reached (exit 3). */
export function harnessError(code: string, message: string, hint?: string, cause?: unknown): WsbenchError {
  return new WsbenchError(code, message, { hint, cause, exitCode: EXIT.harness });
}

export function isWsbenchError(e: unknown): e is WsbenchError {
  return e instanceof WsbenchError;
}
