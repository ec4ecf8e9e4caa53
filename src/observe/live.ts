/**
 * What a run shows to live exporters once a second (Prometheus, OpenTelemetry): the
 * phase, the clients, the generator's health and read-only access to the metrics so
 * far. Exporters read it when asked (a scrape, an export tick), never on the hot path.
 */
import type { Aggregator, HealthSample } from '../metrics/types.ts';
import type { TimelineEvent } from '../report/schema.ts';

/** The live state of one run, replaced every second by the run coordinator. */
export interface LiveView {
  scenario: string;
  protocol: string;
  /** `ramp`, `warmup`, `steady`, `cooldown`, `finish`, or `done` once the report is final. */
  phase: string;
  clientsConnected: number;
  clientsTarget: number;
  /** Distributions of the measured samples, every counter and the per-second series so far (what the report's `metrics`, `counters` and `series` are made of). */
  metrics: Pick<Aggregator, 'distributionsSoFar' | 'countersSoFar' | 'series'>;
  /** Phases, faults and notes so far (ms since the run started). */
  timeline: readonly TimelineEvent[];
  /** Time since the run started, ms. */
  elapsedMs: number;
  /** The latest health sample of each generator process (index = worker id; empty before the first). */
  health: ReadonlyArray<HealthSample | undefined>;
}

/** Something that takes the live view: `update` every second, `close` after the run. */
export interface LiveSink {
  update(view: LiveView): void;
  close(): Promise<void>;
}

/**
 * Latency bucket bounds for live histograms, microseconds: 100 us to 10 s, roughly
 * 1-2.5-5 per decade (Prometheus `le` in seconds). Exact percentiles are served
 * beside them from the HDR histograms.
 */
export const LIVE_BUCKETS_US: readonly number[] = [
  100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/** One sink that hands every update to each of `sinks` (e.g. `--prometheus` and `--otlp` together). */
export function combineSinks(sinks: LiveSink[]): LiveSink | undefined {
  if (sinks.length <= 1) return sinks[0];
  return {
    update: (view) => sinks.forEach((s) => s.update(view)),
    close: async () => {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
