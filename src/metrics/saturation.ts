/**
 * Is the generator itself the bottleneck? A saturated load generator measures its
 * own queueing, not the server's latency, so such a run says so and a gate or
 * `--refuse-saturated` (exit 4) can reject it.
 */
import type { WorkerHealth } from '../report/schema.ts';
import type { HealthSample } from './types.ts';

/**
 * Saturation thresholds.
 *
 * - `eventLoopDelayP99Us`: a worker whose event-loop delay p99 over the measured
 *   window is above 40 ms (40 000 us) is saturated: its timers and socket reads
 *   run late by more than most latency objectives. The delay is net of the 10 ms
 *   sampling interval (src/metrics/health.ts); the former 50 ms threshold counted
 *   that interval, so 40 ms net is the same operating point.
 * - `cpuPercent`: a second in which a worker used more than 90% of one core is busy.
 * - `busyFraction`: a worker busy in more than half (0.5) of its measured seconds
 *   is saturated (a short spike, e.g. the connection ramp, is not).
 * - `minSamples`: with fewer than 3 per-second samples the CPU rule falls back to the
 *   worker's whole-window `cpuPercent` against the same 90%.
 */
export const SATURATION = {
  eventLoopDelayP99Us: 40_000,
  cpuPercent: 90,
  busyFraction: 0.5,
  minSamples: 3,
} as const;

/** A worker's health over the measured window, optionally with its per-second samples. */
export interface WorkerHealthInput extends WorkerHealth {
  /** One sample per measured second (from `HealthMonitor.sample()`), oldest first. */
  samples?: HealthSample[];
}

/** Whether the load generator itself was the bottleneck (a saturated worker), and why in one sentence. */
export interface SaturationVerdict {
  saturated: boolean;
  /** Which worker and which threshold, in one sentence, when saturated. */
  reason?: string;
}

/**
 * Build a worker's {@link WorkerHealth} from its per-second samples: CPU is their
 * mean, RSS peak their max. Event-loop delay p99 is `overall.eventLoopDelayP99Us`
 * when given (from `RunHealthMonitor.overall()`, exact over the window), else the
 * median of the per-second p99s (one GC pause does not make a whole run late).
 */
export function summarizeWorkerHealth(id: number, clients: number, samples: HealthSample[], overall?: HealthSample): WorkerHealthInput {
  const n = samples.length;
  const cpu = n ? samples.reduce((a, s) => a + s.cpuPercent, 0) / n : (overall?.cpuPercent ?? 0);
  const rss = samples.reduce((a, s) => Math.max(a, s.rssBytes), overall?.rssBytes ?? 0);
  let eld = overall?.eventLoopDelayP99Us;
  if (eld === undefined) {
    const sorted = samples.map((s) => s.eventLoopDelayP99Us).sort((a, b) => a - b);
    eld = n === 0 ? 0 : n % 2 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
  }
  return { id, clients, eventLoopDelayP99Us: Math.round(eld), cpuPercent: Math.round(cpu * 10) / 10, rssBytesPeak: rss, samples };
}

/**
 * The event-loop delay p99 above which a worker is saturated, in microseconds:
 * {@link SATURATION}'s 40 ms (net of the sampling interval), unless `WSBENCH_SATURATION_ELD_US` says otherwise. That
 * variable is a test hook: a test of something else (the capacity search in
 * test/capacity/cli.test.ts) raises it so that a loaded CI box cannot turn it into
 * a test of the generator.
 */
export function eventLoopDelayLimitUs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.WSBENCH_SATURATION_ELD_US);
  return env.WSBENCH_SATURATION_ELD_US && Number.isFinite(v) && v > 0 ? v : SATURATION.eventLoopDelayP99Us;
}

/**
 * Judge the generator from its workers' health (see {@link SATURATION}): saturated
 * when any worker's event-loop delay p99 (net) is above 40 ms, or its CPU was above 90% of
 * a core in more than half of its per-second samples (or, with fewer than 3 samples,
 * on average). The reason names the first worker that tripped a threshold.
 */
export function judgeSaturation(workers: WorkerHealthInput[], eldLimitUs = eventLoopDelayLimitUs()): SaturationVerdict {
  for (const w of workers) {
    if (w.eventLoopDelayP99Us > eldLimitUs) {
      return {
        saturated: true,
        reason: `worker ${w.id}: event-loop delay p99 ${(w.eventLoopDelayP99Us / 1000).toFixed(1)} ms is above ${eldLimitUs / 1000} ms`,
      };
    }
    const samples = w.samples ?? [];
    if (samples.length >= SATURATION.minSamples) {
      const busy = samples.filter((s) => s.cpuPercent > SATURATION.cpuPercent).length;
      if (busy / samples.length > SATURATION.busyFraction) {
        return {
          saturated: true,
          reason: `worker ${w.id}: CPU above ${SATURATION.cpuPercent}% of a core in ${busy} of ${samples.length} measured seconds`,
        };
      }
    } else if (w.cpuPercent > SATURATION.cpuPercent) {
      return {
        saturated: true,
        reason: `worker ${w.id}: CPU ${w.cpuPercent.toFixed(0)}% of a core is above ${SATURATION.cpuPercent}%`,
      };
    }
  }
  return { saturated: false };
}
