/**
 * Types of src/gates: a parsed threshold expression and the rows of
 * `wsbench compare`. Verdicts use `GateResult` from the report schema.
 */
import type { Ledger } from '../report/schema.ts';

/** A gate's comparison operator, as written between the metric and the threshold (`fanout.p99 < 50ms`). */
export type GateOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** Unit written after the number; `''` when none. Times convert to us, `%` to a ratio. */
export type GateUnit = '' | 'us' | 'ms' | 's' | '%' | '/s' | 'B' | 'KiB' | 'MiB' | 'GiB' | 'B/h' | 'KiB/h' | 'MiB/h' | 'GiB/h';

/** What the target's own metrics said (`report.server`, from `--scrape`) that a gate can read. */
export type ServerField = 'rss.slope' | 'rss.peak' | 'heap.slope';

/** A statistic of a latency metric. */
export type GateStat =
  | { kind: 'percentile'; /** 0..100, e.g. 99.9 for `p999` or `p99.9`. */ percentile: number }
  | { kind: 'min' | 'max' | 'mean' | 'count' | 'rate' };

/** The special run-wide rates (`<name>.rate`). */
export type SpecialRate = 'errors' | 'deliveries' | 'messages' | 'connects';

/** What a gate measures. */
export type GateSubject =
  /** `<metric>.<stat>`, e.g. `fanout.p99`; `rate` is count per measured second. */
  | { kind: 'metric'; metric: string; stat: GateStat }
  /**
   * `errors.rate`: every `errors` / `errors.*` counter summed, divided by
   * (`messages.sent` + `connections.opened`), a ratio (write it with `%` or as 0..1);
   * 0 when there were neither errors nor operations, 1 when errors but no operations.
   * `deliveries.rate`, `messages.rate`, `connects.rate`: `report.rates` (deliveriesPerSec,
   * messagesSentPerSec, connectsPerSec), per second.
   */
  | { kind: 'rate'; name: SpecialRate }
  /** `ledger.<field>`, e.g. `ledger.lost`. */
  | { kind: 'ledger'; field: Exclude<keyof Ledger, 'mode'> }
  /**
   * Any counter by its full name, e.g. `close.1008`, `errors.timeout` (absent counters of
   * the `errors.` and `close.` families read 0). A last segment that looks like a
   * statistic (`p<digits>...`, min, max, mean, count, rate) is read as one instead.
   */
  | { kind: 'counter'; name: string }
  /** `generator.saturated`, compared with `true`/`false`. */
  | { kind: 'saturated' }
  /** `server.rss.slope` / `server.heap.slope` (bytes per hour, e.g. `< 10MiB/h`) or `server.rss.peak` (bytes): the target's own memory (`--scrape`). */
  | { kind: 'server'; field: ServerField };

/** A parsed gate. */
export interface Gate {
  /** The expression as written (trimmed). */
  expr: string;
  subject: GateSubject;
  /** `<subject> regress <op> <n>%`: compare (new - baseline) / baseline instead of the value. */
  regress: boolean;
  op: GateOp;
  /** The number or boolean as written, before unit conversion. */
  value: number | boolean;
  unit: GateUnit;
  /** `value` in the subject's base unit: us for times, ratio 0..1 for `%`, per second for rates. */
  threshold: number | boolean;
}

/**
 * One row of `wsbench compare`. Structurally the `CompareRow` that src/output's
 * `renderCompare` draws (name, base, next, deltaPct, unit, regressed), plus the
 * metric/stat split and the direction.
 */
export interface CompareRow {
  /** What is compared, e.g. `fanout.p99`, `deliveries.rate`, `ledger.lost`. */
  name: string;
  /** Metric name (`fanout`), or a run-wide family (`rates`, `errors`, `ledger`). */
  metric: string;
  /** Statistic (`p99`, `max`, `deliveries`, `total`, `lost`, ...). */
  stat: string;
  /** Unit of `base` and `next`: microseconds, a plain count, or per second. */
  unit: 'us' | 'count' | 'rate';
  base: number;
  next: number;
  /** (next - base) / base x 100; 0 when both are 0, +Infinity when only base is 0. */
  deltaPct: number;
  /** Which direction is an improvement. */
  better: 'lower' | 'higher';
  /**
   * `regressed`: worse by more than the threshold and beyond both 95% intervals (any rise
   * from 0 for errors and ledger faults); `noise`: worse by more than the threshold but
   * inside the intervals; `unjudged`: too few samples behind a percentile (or a max);
   * `ok` otherwise. See src/gates/noise.ts.
   */
  verdict: 'ok' | 'noise' | 'regressed' | 'unjudged';
  /** 95% interval [lo, hi] of `base` and of `next`, in `unit`. */
  baseInterval: [number, number];
  nextInterval: [number, number];
  /** Why a row is unjudged (or a fault count is never noise). */
  why?: string;
  /** Whether the verdict is `regressed`. */
  regression: boolean;
  /** Same as `regression` (the name src/output reads). */
  regressed: boolean;
}
