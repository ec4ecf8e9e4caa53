/** Inputs of the renderers in src/output that are not the report itself. */

/** What the live progress line shows; the run module fills it once a second. */
export interface ProgressState {
  scenario: string;
  /** Current phase name (warmup, ramp, steady, cooldown, ...). */
  phase: string;
  elapsedMs: number;
  totalMs: number;
  clientsConnected: number;
  clientsTarget: number;
  /** Publishes per second during the last second. */
  sentPerSec: number;
  /** Deliveries per second during the last second. */
  receivedPerSec: number;
  /** Fan-out p99 over the measured samples so far, microseconds (0 when none yet). */
  fanoutP99Us: number;
  /** Errors of every kind so far. */
  errors: number;
}

/** Unit of a compared value: microseconds, a plain count, or a rate per second. */
export type CompareUnit = 'us' | 'count' | 'rate';

/**
 * One line of `wsbench compare`: the same quantity measured in a base report and
 * in a next report. The gates module computes the rows; output only renders them.
 */
export interface CompareRow {
  /** What is compared, e.g. `fanout.p99` or `deliveries.rate`. */
  name: string;
  /** Value in the base report, in `unit`. */
  base: number;
  /** Value in the next report, in `unit`. */
  next: number;
  /** (next - base) / base * 100; positive when the value grew. */
  deltaPct: number;
  unit: CompareUnit;
  /** True when the change is worse than the allowed regression and beyond the noise. */
  regressed: boolean;
  /** `noise`: worse than the threshold but inside the 95% intervals; `unjudged`: too few samples. Default from `regressed`. */
  verdict?: 'ok' | 'noise' | 'regressed' | 'unjudged';
  /** 95% intervals of the two values, in `unit`, when known. */
  baseInterval?: [number, number];
  nextInterval?: [number, number];
  /** Why a row is unjudged. */
  why?: string;
}

/** Options of `renderCompare`. */
export interface CompareOptions {
  /** Colour REGRESSED/ok with ANSI codes; default false. */
  color?: boolean;
  /** Column heading of the base values; default `base`. */
  baseLabel?: string;
  /** Column heading of the next values; default `next`. */
  nextLabel?: string;
}

/** Options of `renderProgressLine`. */
export interface ProgressLineOptions {
  /** True on an interactive terminal: one coloured line rewritten in place. */
  tty: boolean;
  /** Terminal columns the TTY line must fit in; default 80. Ignored off a TTY. */
  width?: number;
  /** ANSI colours on the TTY line; default true. Pass false for NO_COLOR. Ignored off a TTY. */
  color?: boolean;
  /** Clock for the off-TTY timestamp, epoch milliseconds; default `Date.now()`. */
  nowMs?: number;
}

/** Options of `createProgressPrinter`. */
export interface ProgressPrinterOptions {
  /** Rewrite one line in place; default `stream.isTTY`. */
  tty?: boolean;
  /** Print nothing at all; default false. */
  quiet?: boolean;
  /** Colour the TTY line; default true unless the NO_COLOR environment variable is set. */
  color?: boolean;
  /** Off a TTY, the least time between two printed lines, in milliseconds; default 5000. */
  intervalMs?: number;
  /** Clock, epoch milliseconds; default `Date.now`. For tests. */
  now?: () => number;
}

/** The live progress printer the run module drives once a second. */
export interface ProgressPrinter {
  update(state: ProgressState): void;
  /** Erase the line (TTY) so another line can be printed; the next update draws it again. */
  clear(): void;
  /** Finish the line (TTY) or print the last state if it was not printed yet (off a TTY). A later update starts afresh (next trial). */
  done(): void;
}

/** Options of `renderTable`. */
export interface TableOptions {
  /** ANSI colours (PASS green, FAIL red, warnings yellow); default false. */
  color?: boolean;
  /** Width the wide columns (details, notes) wrap to, in columns; default 100. */
  width?: number;
}
