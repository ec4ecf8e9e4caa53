/**
 * Typed errors for configuration and harness problems. Each carries a stable
 * `code` (one of {@link ERROR_CODES}), a hint saying what to do, and the exit code
 * the CLI maps it to. Network and protocol failures during a run are never
 * thrown: they are counted (`errors.<code>`, `close.<code>`) and reported.
 * docs/ERRORS.md lists every code (a test keeps it equal to this table).
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

/** One of the documented exit codes of {@link EXIT} (130, interrupted, is the shell's). */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Every error code wsbench throws, with the exit code it usually carries and when
 * it is thrown. Codes are stable: scripts may match on them.
 */
export const ERROR_CODES = {
  WSB_ERR_ADAPTER: { exit: EXIT.usage, when: 'the --adapter module is missing, does not load, exports no codec or an incomplete one, or cannot apply (Socket.IO, ws-fields)' },
  WSB_ERR_BASELINE: { exit: EXIT.usage, when: 'the --baseline report is missing, unreadable or of another scenario or schema' },
  WSB_ERR_CAPACITY: { exit: EXIT.usage, when: 'a `capacity` flag or SLO is wrong (every problem is listed)' },
  WSB_ERR_CONFIG: { exit: EXIT.usage, when: "a run's options, --server, --target, --shard, --spread or faults are wrong (every problem is listed)" },
  WSB_ERR_DURATION: { exit: EXIT.usage, when: 'a duration does not parse (fault times, scenario faults)' },
  WSB_ERR_FAULT: { exit: EXIT.usage, when: 'a --fault spec does not parse or cannot apply to this topology' },
  WSB_ERR_FLAG: { exit: EXIT.usage, when: 'a flag value is wrong, or several problems of a command line are listed together' },
  WSB_ERR_FREEZE: { exit: EXIT.usage, when: "heartbeat's way to freeze an external target is incomplete or not a pid (freeze-pid, pause-command with resume-command)" },
  WSB_ERR_FREEZE_FAILED: { exit: EXIT.harness, when: "freezing or resuming an external target failed (the signal, or the user's command and its stderr)" },
  WSB_ERR_GATES_FILE: { exit: EXIT.usage, when: 'the --gates file cannot be read' },
  WSB_ERR_GATE_METRIC: { exit: EXIT.usage, when: 'a gate names a metric or counter wsbench never measures' },
  WSB_ERR_GATE_SYNTAX: { exit: EXIT.usage, when: 'a gate does not parse (the message points at the column)' },
  WSB_ERR_MERGE: { exit: EXIT.usage, when: '`merge` got no reports, or reports of different runs' },
  WSB_ERR_NODE_START: { exit: EXIT.harness, when: 'a bundled server node did not start (its command and last stderr lines are quoted)' },
  WSB_ERR_NODE_STATE: { exit: EXIT.harness, when: 'a node was started twice (a harness bug)' },
  WSB_ERR_NO_WELCOME: { exit: EXIT.harness, when: 'the server opened every WebSocket but never sent the welcome frame the dialect waits for' },
  WSB_ERR_REDIS_MISSING: { exit: EXIT.harness, when: 'redis-server is not on PATH and several bundled nodes need it' },
  WSB_ERR_REDIS_START: { exit: EXIT.harness, when: 'redis-server did not start' },
  WSB_ERR_REDIS_STOPPED: { exit: EXIT.harness, when: 'a Redis that was stopped was asked to restart (a harness bug)' },
  WSB_ERR_REPORT: { exit: EXIT.usage, when: 'a report file cannot be read, is not JSON or not a wsbench report of a known schema' },
  WSB_ERR_SCENARIO: { exit: EXIT.usage, when: 'a scenario is unknown, its file is missing or does not load' },
  WSB_ERR_SERVER_MISSING: { exit: EXIT.harness, when: "the bundled server's entry file is missing (broken install)" },
  WSB_ERR_SERVER_OPTIONS: { exit: EXIT.usage, when: 'an option of the bundled server (`serve` flags, --server) is wrong' },
  WSB_ERR_SERVER_SIZE: { exit: EXIT.usage, when: 'the bundled server cannot hold the clients within the descriptor limit as asked (names the --server workers=N or --nodes N needed)' },
  WSB_ERR_SERVER_UNAVAILABLE: { exit: EXIT.usage, when: 'the bundled server cannot offer what its options ask for' },
  WSB_ERR_SOCKETIO_NAMES: { exit: EXIT.usage, when: 'the sio-names option does not parse' },
  WSB_ERR_SPREAD: { exit: EXIT.usage, when: '--spread is not round-robin or weighted:W1,W2,... with one weight per target' },
  WSB_ERR_TARGET_UNREACHABLE: { exit: EXIT.harness, when: 'no client could connect to a --target URL (probe at start, or every client of the run)' },
  WSB_ERR_TARGET_URL: { exit: EXIT.usage, when: 'a --target is not a usable URL' },
  WSB_ERR_TOKEN_FILE: { exit: EXIT.usage, when: 'the --token-file cannot be read or holds no token' },
  WSB_ERR_TOKEN_REFUSED: { exit: EXIT.harness, when: "the server refused every client's token" },
  WSB_ERR_TOPOLOGY: { exit: EXIT.usage, when: 'the nodes option was given with external targets' },
  WSB_ERR_WORKER: { exit: EXIT.harness, when: 'the generator worker processes did not start' },
} as const satisfies Record<`WSB_ERR_${string}`, { exit: ExitCode; when: string }>;

/** A stable error code, e.g. `WSB_ERR_FLAG`; see {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is one of wsbench's error codes (for codes that cross a process or package boundary). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * A configuration or harness problem the CLI shows as `error: message`, each of
 * `problems` on its own line, then `hint`, and exits with `exitCode`.
 */
export class WsbenchError extends Error {
  /** Stable code, e.g. `WSB_ERR_FLAG`. */
  readonly code: ErrorCode;
  /** What the user should do about it. */
  readonly hint?: string;
  /** The process exit code (default {@link EXIT.usage}, 2). */
  readonly exitCode: ExitCode;
  /** Every problem found, when validation found several (message is their summary). */
  readonly problems: string[];

  constructor(code: ErrorCode, message: string, opts: { hint?: string; exitCode?: ExitCode; problems?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WsbenchError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT.usage;
    this.problems = opts.problems ?? [];
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(code: ErrorCode, message: string, hint?: string, problems?: string[]): WsbenchError {
  return new WsbenchError(code, message, { hint, problems, exitCode: EXIT.usage });
}

/** The harness failed or the target could not be started or reached (exit 3). */
export function harnessError(code: ErrorCode, message: string, hint?: string, cause?: unknown): WsbenchError {
  return new WsbenchError(code, message, { hint, cause, exitCode: EXIT.harness });
}

/** Whether `e` is a {@link WsbenchError}. */
export function isWsbenchError(e: unknown): e is WsbenchError {
  return e instanceof WsbenchError;
}
