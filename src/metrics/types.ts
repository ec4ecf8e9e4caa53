/**
 * The contract of src/metrics, the only module that touches hdr-histogram-js.
 * Protocol and executor code import only these types; workers hold a Recorder,
 * the coordinator holds an Aggregator.
 */
import type { MetricSummary } from '../report/schema.ts';

/** What a worker sends once a second: the interval's samples, encoded. */
export interface MetricsSnapshot {
  /** Metric name -> HDR histogram of the interval's samples (compressed, base64). Empty histograms are left out. */
  histograms: Record<string, string>;
  /** Counter name -> increment during the interval. Zero counters are left out. */
  counters: Record<string, number>;
}

/** Per-worker sample sink. Every latency is in integer microseconds. */
export interface Recorder {
  /** Record one latency sample, in microseconds (fractions are rounded; values below 1 count as 1). */
  record(name: string, valueUs: number): void;
  /** Add to a counter (default 1). */
  count(name: string, n?: number): void;
  /** Encode everything recorded since the last snapshot and start a new interval. */
  snapshot(): MetricsSnapshot;
}

/** One closed second of the run. */
export interface SecondRow {
  /** Second index since the run started (0-based). */
  second: number;
  counters: Record<string, number>;
  /** Metric name -> p50/p99 of that second, in microseconds. */
  p50: Record<string, number>;
  p99: Record<string, number>;
  gauges: Record<string, number>;
  /** Whether any snapshot of this second was measured (outside warm-up and cool-down). */
  measured?: boolean;
}

/** Coordinator-side: merges worker snapshots into per-second series and run totals, exactly. */
export interface Aggregator {
  /**
   * Fold one worker snapshot into the current second. With `measured: false`
   * (warm-up, cool-down) the samples go into the series but not into the run totals.
   */
  add(snapshot: MetricsSnapshot, opts?: { measured?: boolean }): void;
  /** Close the current second; gauges (e.g. `connections`) are stored as series of their own. */
  tick(gauges?: Record<string, number>): SecondRow;
  /** Percentile of a metric over the measured samples so far, in microseconds (0 when empty). For the live progress line. */
  percentileSoFar(name: string, percentile: number): number;
  /** Counter totals so far over every sample, measured or not. */
  countersSoFar(): Record<string, number>;
  /**
   * The measured samples so far of every metric as a distribution over `boundsUs`
   * (cumulative counts, microseconds), with count and sum: what a live exporter serves.
   */
  distributionsSoFar(boundsUs: readonly number[]): Record<string, LiveDistribution>;
  /** Run totals over the measured window. */
  totals(): { metrics: Record<string, MetricSummary>; counters: Record<string, number> };
  /**
   * Per-second series: each counter as `<name>` (per-second increments), each gauge
   * as `<name>`, each metric as `<name>.p50` and `<name>.p99`; arrays all of equal length.
   */
  series(): Record<string, number[]>;
}

/** A metric's measured samples so far, for live exporters (Prometheus, OpenTelemetry). */
export interface LiveDistribution {
  /** Samples at or below each requested bound (cumulative, same order as the bounds). */
  cumulative: number[];
  count: number;
  /** Sum of all samples, microseconds (count x mean). */
  sumUs: number;
  /** Exact percentiles from the HDR histogram, microseconds. */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** Self-health of one generator process. */
export interface HealthSample {
  /** p99 event-loop delay over the window since the last sample, net of the sampling interval, microseconds (an idle loop reads ~0). */
  eventLoopDelayP99Us: number;
  /** CPU used since the last sample, percent of one core (may exceed 100 with threads). */
  cpuPercent: number;
  rssBytes: number;
  /** CPU time the whole process used in the window (user + system, every thread), microseconds. */
  processCpuUs?: number;
}

/** Samples a process's health (event-loop delay, CPU, RSS): each `sample()` covers the time since the previous one; `stop()` ends the event-loop delay sampling. */
export interface HealthMonitor {
  sample(): HealthSample;
  stop(): void;
}
