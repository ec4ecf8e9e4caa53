/**
 * Self-health of a generator thread: event-loop delay, CPU and memory, sampled
 * once a second by the worker and sent with its metrics snapshot.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import type { HealthMonitor, HealthSample } from './types.ts';

/**
 * Where `cpuPercent` comes from. `thread`: `process.threadCpuUsage` (Node >= 23.9),
 * this thread only. `process`: `process.cpuUsage`, the whole process (exact for a
 * main thread that runs the clients alone). `elu`: event-loop utilization x 100, the
 * share of wall time this thread's loop was busy; used in worker threads on older
 * Node, where `process.cpuUsage` would add up every thread of the process.
 */
export type CpuSource = 'thread' | 'process' | 'elu';

/** How a health monitor samples: event-loop delay resolution and the CPU source (both optional, defaults below). */
export interface HealthMonitorOptions {
  /** Event-loop delay sampling resolution, in milliseconds (default 10; 10 or finer). Subtracted from every reading. */
  resolutionMs?: number;
  /** CPU source; default `thread` when available, else `process` on the main thread, else `elu`. */
  cpuSource?: CpuSource;
}

/** A health sample, plus how its CPU figure was obtained and the thread's loop utilization. */
export interface HealthSampleDetail extends HealthSample {
  cpuSource: CpuSource;
  /** Event-loop utilization over the window, 0..1. */
  eventLoopUtilization: number;
  /** Median event-loop delay over the window, net of the sampling interval, us. */
  eventLoopDelayP50Us: number;
}

/**
 * A worker's health monitor for a whole run: per-second samples (`sample()`, event-loop
 * delay in µs, CPU in percent of one core, RSS in bytes) and the whole-run figures (`overall()`).
 */
export interface RunHealthMonitor extends HealthMonitor {
  sample(): HealthSampleDetail;
  /**
   * Since the monitor started (not reset by `sample()`): event-loop delay p99 over the
   * whole window, average CPU, current RSS. Feed it to {@link WorkerHealth}.
   */
  overall(): HealthSampleDetail;
}

type CpuUsage = { user: number; system: number };
type ThreadCpuUsage = (prev?: CpuUsage) => CpuUsage;

function threadCpuUsageFn(): ThreadCpuUsage | undefined {
  const fn = (process as unknown as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;
  return typeof fn === 'function' ? fn.bind(process) : undefined;
}

/** Default CPU source for this thread, see {@link CpuSource}. */
export function defaultCpuSource(): CpuSource {
  if (threadCpuUsageFn()) return 'thread';
  return isMainThread ? 'process' : 'elu';
}

/**
 * A percentile (default p99) of event-loop delay net of the sampling interval, us. `monitorEventLoopDelay`
 * records the whole time between two of its timer callbacks, so an idle loop reads
 * about `resolutionMs`; the delay is what exceeds it. A constant shift moves every
 * percentile by the same amount, so subtracting it from the p99 is exact (floored at 0:
 * a timer may fire a little early).
 */
export function netDelayP99Us(h: Pick<IntervalHistogram, 'count' | 'percentile'>, resolutionMs: number, percentile = 99): number {
  // perf_hooks histograms are in nanoseconds and report NaN/huge values when empty.
  if (h.count === 0) return 0;
  return Math.max(0, Math.round((h.percentile(percentile) - resolutionMs * 1e6) / 1000));
}

/**
 * Start monitoring this thread. `sample()` returns the figures since the previous
 * sample (or the start) and begins a new window; call `stop()` when done.
 */
export function createHealthMonitor(opts: HealthMonitorOptions = {}): RunHealthMonitor {
  const resolutionMs = Math.max(1, Math.min(10, Math.round(opts.resolutionMs ?? 10)));
  const cpuSource = opts.cpuSource ?? defaultCpuSource();
  const threadCpu = threadCpuUsageFn();
  const readCpu = (prev?: CpuUsage): CpuUsage =>
    cpuSource === 'thread' && threadCpu ? threadCpu(prev) : process.cpuUsage(prev);

  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  // A second monitor that is never reset: perf_hooks cannot add an interval histogram into another.
  const whole = monitorEventLoopDelay({ resolution: resolutionMs });
  whole.enable();

  const startedNs = process.hrtime.bigint();
  const startCpu = readCpu();
  const startElu = performance.eventLoopUtilization();
  let windowNs = startedNs;
  let windowCpu = startCpu;
  let windowElu: EventLoopUtilization = startElu;
  let windowProcessCpu = process.cpuUsage();

  const cpuPercentSince = (cpu: CpuUsage, elu: EventLoopUtilization, sinceNs: bigint): { cpuPercent: number; utilization: number } => {
    const wallUs = Number(process.hrtime.bigint() - sinceNs) / 1000;
    const utilization = performance.eventLoopUtilization(elu).utilization;
    if (cpuSource === 'elu') return { cpuPercent: utilization * 100, utilization };
    const used = readCpu(cpu);
    const cpuPercent = wallUs > 0 ? ((used.user + used.system) / wallUs) * 100 : 0;
    return { cpuPercent, utilization };
  };

  return {
    sample(): HealthSampleDetail {
      const { cpuPercent, utilization } = cpuPercentSince(windowCpu, windowElu, windowNs);
      const eventLoopDelayP99Us = netDelayP99Us(delay, resolutionMs);
      const eventLoopDelayP50Us = netDelayP99Us(delay, resolutionMs, 50);
      const used = process.cpuUsage(windowProcessCpu);
      delay.reset();
      windowNs = process.hrtime.bigint();
      windowCpu = readCpu();
      windowElu = performance.eventLoopUtilization();
      windowProcessCpu = process.cpuUsage();
      return { eventLoopDelayP99Us, cpuPercent, rssBytes: process.memoryUsage.rss(), processCpuUs: used.user + used.system, cpuSource, eventLoopUtilization: utilization, eventLoopDelayP50Us };
    },
    overall(): HealthSampleDetail {
      const { cpuPercent, utilization } = cpuPercentSince(startCpu, startElu, startedNs);
      return {
        eventLoopDelayP99Us: netDelayP99Us(whole, resolutionMs),
        eventLoopDelayP50Us: netDelayP99Us(whole, resolutionMs, 50),
        cpuPercent,
        rssBytes: process.memoryUsage.rss(),
        cpuSource,
        eventLoopUtilization: utilization,
      };
    },
    stop(): void {
      delay.disable();
      whole.disable();
    },
  };
}
