import { describe, expect, it } from 'vitest';
import { netDelayP99Us } from '../../src/metrics/health.ts';
import { createHealthMonitor, eventLoopDelayLimitUs, judgeSaturation, SATURATION, summarizeWorkerHealth, type WorkerHealthInput } from '../../src/metrics/index.ts';
import type { HealthSample } from '../../src/metrics/types.ts';

const sample = (cpuPercent: number, eventLoopDelayP99Us = 1000, rssBytes = 1e8): HealthSample => ({ cpuPercent, eventLoopDelayP99Us, rssBytes });

function workerOf(samples: HealthSample[], id = 0): WorkerHealthInput {
  return summarizeWorkerHealth(id, 100, samples);
}

describe('createHealthMonitor', () => {
  it('reports event-loop delay, CPU and RSS over each window', async () => {
    const m = createHealthMonitor();
    await new Promise((r) => setTimeout(r, 30));
    // Busy: block the loop for 80 ms of wall time and at least 60 ms of CPU (a loaded machine preempts us).
    const cpu0 = process.cpuUsage();
    const until = performance.now() + 80;
    const giveUp = performance.now() + 2000;
    const cpuMs = () => {
      const u = process.cpuUsage(cpu0);
      return (u.user + u.system) / 1000;
    };
    while ((performance.now() < until || cpuMs() < 60) && performance.now() < giveUp) {
      // Spin.
    }
    await new Promise((r) => setTimeout(r, 30));
    const s = m.sample();
    expect(s.cpuPercent).toBeGreaterThan(10);
    expect(s.eventLoopDelayP99Us).toBeGreaterThan(20_000);
    expect(s.rssBytes).toBeGreaterThan(0);
    expect(['thread', 'process', 'elu']).toContain(s.cpuSource);
    const o = m.overall();
    expect(o.eventLoopDelayP99Us).toBeGreaterThan(20_000);
    // The process CPU of the window includes the busy loop's 60 ms or more.
    expect(s.processCpuUs).toBeGreaterThan(55_000);
    m.stop();
  });

  it('reads an idle loop as under 1 ms: the 10 ms sampling interval is not counted as delay', async () => {
    const m = createHealthMonitor({ resolutionMs: 10 });
    // Counting the interval would read >= 10 ms at every percentile of every window. Other tenants of a
    // shared 2-core machine delay our wake-ups for real (a p99 of several ms under load 10): in the best
    // of up to five 0.4 s windows the median, which a few preemptions cannot move, must be under 1 ms and
    // the p99 under the 10 ms the interval alone used to add. (Quiet machine: p99 under 1 ms, docs/BENCHMARKS.md.)
    let bestP50 = Number.POSITIVE_INFINITY;
    let bestP99 = Number.POSITIVE_INFINITY;
    try {
      for (let w = 0; w < 5 && bestP99 >= 1000; w++) {
        m.sample();
        await new Promise((r) => setTimeout(r, 400));
        const s = m.sample();
        bestP50 = Math.min(bestP50, s.eventLoopDelayP50Us);
        bestP99 = Math.min(bestP99, s.eventLoopDelayP99Us);
      }
    } finally {
      m.stop();
    }
    expect(bestP50).toBeLessThan(1000);
    expect(bestP99).toBeLessThan(10_000);
  });

  it('subtracts exactly the resolution from the recorded p99, never below 0', () => {
    const h = (p99Ns: number, count = 10) => ({ count, percentile: () => p99Ns });
    expect(netDelayP99Us(h(10_100_000), 10)).toBe(100);
    expect(netDelayP99Us(h(52_000_000), 10)).toBe(42_000);
    expect(netDelayP99Us(h(9_500_000), 10)).toBe(0);
    expect(netDelayP99Us(h(Number.NaN, 0), 10)).toBe(0);
  });
});

describe('judgeSaturation', () => {
  it('is not saturated for a healthy generator', () => {
    expect(judgeSaturation([workerOf([sample(40), sample(60), sample(95), sample(50)])])).toEqual({ saturated: false });
    expect(judgeSaturation([])).toEqual({ saturated: false });
  });

  it('flags event-loop delay above the threshold, naming the worker', () => {
    const w = workerOf([sample(30, 80_000), sample(30, 90_000), sample(30, 70_000)], 3);
    const v = judgeSaturation([workerOf([sample(10)], 1), w]);
    expect(v.saturated).toBe(true);
    expect(v.reason).toMatch(/worker 3: event-loop delay p99 80\.0 ms is above 40 ms/);
  });

  it('flags CPU above 90% in most measured seconds, not in a short spike', () => {
    expect(judgeSaturation([workerOf([sample(99), sample(99), sample(40), sample(40), sample(40)])]).saturated).toBe(false);
    const v = judgeSaturation([workerOf([sample(99), sample(97), sample(40), sample(95)])]);
    expect(v).toMatchObject({ saturated: true });
    expect(v.reason).toContain('3 of 4 measured seconds');
  });

  it('falls back to the window average with too few samples', () => {
    const base = { id: 0, clients: 1, eventLoopDelayP99Us: 1000, rssBytesPeak: 1 };
    expect(judgeSaturation([{ ...base, cpuPercent: SATURATION.cpuPercent + 1 }]).saturated).toBe(true);
    expect(judgeSaturation([{ ...base, cpuPercent: SATURATION.cpuPercent - 1 }]).saturated).toBe(false);
  });

  it('the event-loop limit is SATURATION.eventLoopDelayP99Us unless the WSBENCH_SATURATION_ELD_US test hook says otherwise', () => {
    expect(eventLoopDelayLimitUs({})).toBe(SATURATION.eventLoopDelayP99Us);
    expect(eventLoopDelayLimitUs({ WSBENCH_SATURATION_ELD_US: '2000000' })).toBe(2_000_000);
    expect(eventLoopDelayLimitUs({ WSBENCH_SATURATION_ELD_US: 'soon' })).toBe(SATURATION.eventLoopDelayP99Us);
    const w = { id: 0, clients: 1, eventLoopDelayP99Us: 80_000, cpuPercent: 1, rssBytesPeak: 1 };
    expect(judgeSaturation([w], 100_000).saturated).toBe(false);
    expect(judgeSaturation([w], 50_000).reason).toBe('worker 0: event-loop delay p99 80.0 ms is above 50 ms');
  });

  it('summarizeWorkerHealth takes the mean CPU, peak RSS and median per-second delay', () => {
    const w = summarizeWorkerHealth(2, 50, [sample(10, 1000, 5), sample(20, 3000, 9), sample(30, 90_000, 7)]);
    expect(w).toMatchObject({ id: 2, clients: 50, cpuPercent: 20, rssBytesPeak: 9, eventLoopDelayP99Us: 3000 });
    expect(summarizeWorkerHealth(2, 50, [sample(10)], sample(10, 60_000)).eventLoopDelayP99Us).toBe(60_000);
  });
});
