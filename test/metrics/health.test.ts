import { describe, expect, it } from 'vitest';
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
    const until = performance.now() + 80;
    while (performance.now() < until) {
      // Busy: block the loop so both CPU and event-loop delay move.
    }
    await new Promise((r) => setTimeout(r, 30));
    const s = m.sample();
    expect(s.cpuPercent).toBeGreaterThan(10);
    expect(s.eventLoopDelayP99Us).toBeGreaterThan(20_000);
    expect(s.rssBytes).toBeGreaterThan(0);
    expect(['thread', 'process', 'elu']).toContain(s.cpuSource);
    const o = m.overall();
    expect(o.eventLoopDelayP99Us).toBeGreaterThan(20_000);
    m.stop();
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
    expect(v.reason).toMatch(/worker 3: event-loop delay p99 80\.0 ms is above 50 ms/);
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

  it('the event-loop limit is 50 ms unless the WSBENCH_SATURATION_ELD_US test hook raises it', () => {
    expect(eventLoopDelayLimitUs({})).toBe(50_000);
    expect(eventLoopDelayLimitUs({ WSBENCH_SATURATION_ELD_US: '2000000' })).toBe(2_000_000);
    expect(eventLoopDelayLimitUs({ WSBENCH_SATURATION_ELD_US: 'soon' })).toBe(50_000);
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
