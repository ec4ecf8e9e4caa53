/**
 * Where a command writes and how it reports its exit code. Commands take a
 * {@link CliIO} instead of touching `process.stdout`/`process.exitCode`, so tests
 * can run them in-process with captured streams.
 */

/** A stream a command writes text to; `isTTY` turns on colour and the live progress line. */
export type OutStream = NodeJS.WriteStream;

/** A command's output streams and exit-code sink. */
export interface CliIO {
  /** Results: tables, `--json` reports, the served URL. */
  stdout: OutStream;
  /** Progress, notes and errors. */
  stderr: OutStream;
  /** Receives the command's exit code (the last one set wins; none set means 0). */
  setExitCode(code: number): void;
}

/** The real process: its streams, and `process.exitCode`. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}
