import { describe, expect, it } from 'vitest';
import { makeReport } from '../fixtures/reports.ts';
import type { Report } from '../../src/report/schema.ts';
import { parseGates } from '../../src/gates/index.ts';
import {
  bisectLoad,
  createCapacitySearch,
  detectKnee,
  exitCodeOf,
  fitLine,
  judgeStep,
  planSteps,
  projectCapacity,
  runCapacity,
  serverFigures,
  validateCapacityPlan,
  type CapacityRequest,
  type StepVerdict,
} from '../../src/run/capacity.ts';
import type { RunRequest } from '../../src/run/run.ts';
import { renderCapacityHtml, renderCapacityTable } from '../../src/output/capacity.ts';

const slos = (...exprs: string[]) => parseGates(exprs).gates;

/** A healthy one-node report at `clients` with the given fan-out p99 (us). */
function fakeReport(clients: number, p99Us: number, opts: { saturated?: boolean; status?: Report['status']; checkFails?: boolean } = {}): Report {
  const base = makeReport();
  return {
    ...base,
    status: opts.status ?? 'completed',
    scenario: { ...base.scenario, options: { ...base.scenario.options, clients, rate: 100 } },
    target: { ...base.target, nodes: 1, urls: [base.target.urls[0]!] },
    metrics: { ...base.metrics, fanout: { ...base.metrics.fanout!, p99: p99Us, p50: Math.round(p99Us / 3) } },
    rates: { messagesSentPerSec: 100, deliveriesPerSec: clients * 10, connectsPerSec: 100 },
    checks: [{ name: 'delivery.exactly-once-in-order', passed: !opts.checkFails, detail: '' }],
    gates: [],
    generator: { ...base.generator, saturated: opts.saturated ?? false, ...(opts.saturated ? { reason: 'worker 0 event-loop delay p99 80ms > 50ms' } : {}) },
    nodes: [{ id: 'n0', url: 'ws://x', clients, stats: { pid: 4242, rssBytes: 50_000_000 + clients * 20_000 } }],
  };
}

describe('planSteps', () => {
  it('spaces K steps geometrically, both ends included', () => {
    expect(planSteps({ from: 50, to: 200, steps: 3 })).toEqual([50, 100, 200]);
    expect(planSteps({ from: 100, to: 10_000, steps: 5 })).toEqual([100, 316, 1000, 3162, 10_000]);
  });
  it('with a factor, multiplies until --to, which is always the last step', () => {
    expect(planSteps({ from: 100, to: 1000, factor: 2 })).toEqual([100, 200, 400, 800, 1000]);
    expect(planSteps({ from: 100, to: 800, factor: 2 })).toEqual([100, 200, 400, 800]);
  });
  it('deduplicates rounded steps and handles from == to', () => {
    expect(planSteps({ from: 1, to: 3, steps: 6 })).toEqual([1, 2, 3]);
    expect(planSteps({ from: 7, to: 7, steps: 4 })).toEqual([7]);
  });
  it('refuses nonsense', () => {
    expect(() => planSteps({ from: 500, to: 100 })).toThrow(RangeError);
    expect(() => planSteps({ from: 1, to: 10, factor: 1 })).toThrow(RangeError);
    expect(() => validateCapacityPlan({ from: 500, to: 100, bisect: 2, headroom: 0.3 })).toThrow(/larger than --to/);
    expect(() => validateCapacityPlan({ from: 10, to: 100, steps: 3, factor: 2, bisect: 2, headroom: 0.3 })).toThrow(/either --steps or --factor/);
  });
});

describe('bisection', () => {
  it('bisects geometrically and stops when no whole number is left between', () => {
    expect(bisectLoad(100, 400)).toBe(200);
    expect(bisectLoad(10, 12)).toBe(11);
    expect(bisectLoad(10, 11)).toBeUndefined();
  });

  it('runs the planned steps until the first bad one, then bisects N times', () => {
    const capacity = 300;
    const search = createCapacitySearch(planSteps({ from: 50, to: 800, factor: 2 }), 3);
    const ran: Array<[number, string]> = [];
    for (let m = search.next(); m; m = search.next()) {
      const v: StepVerdict = m.load <= capacity ? 'good' : 'slo';
      ran.push([m.load, m.kind]);
      search.record(m.load, v);
    }
    // 50 100 200 400(bad) then 283 (good), 336 (bad), 308 (bad)
    expect(ran.map((r) => r[0])).toEqual([50, 100, 200, 400, 283, 336, 308]);
    expect(ran.filter((r) => r[1] === 'bisect')).toHaveLength(3);
    expect(search.lastGood).toBe(283);
    expect(search.firstBad).toEqual({ load: 308, verdict: 'slo' });
  });

  it('does not bisect below a bad first step, and stops on a failed step', () => {
    const s = createCapacitySearch([50, 100], 2);
    expect(s.next()).toEqual({ load: 50, kind: 'step' });
    s.record(50, 'slo');
    expect(s.next()).toBeUndefined();
    const f = createCapacitySearch([50, 100], 2);
    f.next();
    f.record(50, 'failed');
    expect(f.next()).toBeUndefined();
  });
});

describe('judgeStep', () => {
  it('names the breached SLO with its actual value', () => {
    const j = judgeStep(fakeReport(100, 150_000), slos('fanout.p99 < 100ms'));
    expect(j.verdict).toBe('slo');
    expect(j.slos[0]).toMatchObject({ passed: false, actual: 150_000 });
    expect(j.reason).toMatch(/SLO breached: fanout.p99 = 150 ms/);
  });
  it('saturation wins over an SLO breach; a failed check is not sustainable', () => {
    expect(judgeStep(fakeReport(100, 150_000, { saturated: true }), slos('fanout.p99 < 100ms'))).toMatchObject({ verdict: 'saturated', saturated: true });
    expect(judgeStep(fakeReport(100, 1000, { checkFails: true }), slos('fanout.p99 < 100ms'))).toMatchObject({ verdict: 'check', failedChecks: ['delivery.exactly-once-in-order'] });
    expect(judgeStep(fakeReport(100, 1000), slos('fanout.p99 < 100ms')).verdict).toBe('good');
  });
});

describe('detectKnee', () => {
  it('finds the first segment where p99 grows much faster than load', () => {
    const knee = detectKnee([
      { load: 100, p99Us: 5000 },
      { load: 200, p99Us: 5600 },
      { load: 400, p99Us: 7000 },
      { load: 800, p99Us: 40_000 },
      { load: 1600, p99Us: 400_000 },
    ]);
    expect(knee).toMatchObject({ load: 400, nextLoad: 800 });
    expect(knee!.slope).toBeGreaterThan(2);
  });
  it('ignores sub-millisecond jitter and flat curves', () => {
    expect(detectKnee([{ load: 100, p99Us: 200 }, { load: 200, p99Us: 900 }])).toBeUndefined();
    expect(detectKnee([{ load: 100, p99Us: 5000 }, { load: 200, p99Us: 9000 }])).toBeUndefined();
    expect(detectKnee([{ load: 100, p99Us: null }])).toBeUndefined();
  });
});

describe('projection', () => {
  it('nodes = ceil(target / (per-node capacity x (1 - headroom))); bus = publishes/s x nodes', () => {
    const p = projectCapacity({ clientsPerNode: 10_000, headroom: 0.3, targetClients: 100_000, publishesPerClientPerSec: 0.01, deliveriesPerClientPerSec: 1 });
    expect(p.usableClientsPerNode).toBe(7000);
    expect(p.nodes).toBe(15);
    expect(p.publishesPerSec).toBe(1000);
    expect(p.busMessagesPerSec).toBe(15_000);
    expect(p.deliveriesPerSec).toBe(100_000);
    expect(p.formulas.join('\n')).toMatch(/bus messages\/s = publishes\/s x nodes = 1000 x 15 = 15000/);
  });
  it('an exact fit needs no extra node; zero headroom is allowed', () => {
    expect(projectCapacity({ clientsPerNode: 1000, headroom: 0, targetClients: 3000, publishesPerClientPerSec: 0, deliveriesPerClientPerSec: 0 }).nodes).toBe(3);
    expect(projectCapacity({ clientsPerNode: 1000, headroom: 0.5, targetClients: 10, publishesPerClientPerSec: 0, deliveriesPerClientPerSec: 0 }).nodes).toBe(1);
  });
  it('fits RSS per connection as a line', () => {
    const line = fitLine([[100, 1100], [200, 1200], [400, 1400]])!;
    expect(line.slope).toBeCloseTo(1, 9);
    expect(line.intercept).toBeCloseTo(1000, 6);
    expect(fitLine([[100, 1]])).toBeUndefined();
  });
  it('server figures: RSS from /stats, CPU matched by pid', () => {
    const s = serverFigures(fakeReport(1000, 1000), { seconds: 2, cpuPercentByPid: new Map([[4242, 50]]) });
    expect(s).toMatchObject({ connections: 1000, rssBytes: 70_000_000, cpuPercent: 50, rssBytesPerConnection: 70_000, cpuPercentPer1kConnections: 50 });
    expect(s.cpuUsPerDelivery).toBe(50); // 0.5 core / 10,000 deliveries/s
    expect(serverFigures(fakeReport(1000, 1000), undefined).cpuPercent).toBeNull();
  });

  it('server figures of an external target: from its own metrics (--scrape) when there is no /stats or /proc', () => {
    const base = fakeReport(1000, 1000);
    const external: Report = { ...base, nodes: [{ id: 'url:a', url: 'ws://a', clients: 1000 }], server: { urls: ['http://a/metrics'], scrapes: 10, failures: 0, rssBytesEnd: 90_000_000, cpuPercentMean: 40 } };
    expect(serverFigures(external, undefined)).toMatchObject({ rssBytes: 90_000_000, cpuPercent: 40, rssBytesPerConnection: 90_000 });
    expect(serverFigures({ ...external, server: undefined }, undefined)).toMatchObject({ rssBytes: null, cpuPercent: null });
  });
});

describe('runCapacity with a fake runner (no sockets)', () => {
  const base = { scenario: 'broadcast', flags: {}, sets: [], protocol: 'ws', targets: [], server: [], nodes: 1, faults: [], refuseSaturated: false } as RunRequest;
  const io = { progress() {}, info() {}, interrupted: new Promise<void>(() => {}) };
  const noCpu = () => ({ tick() {}, window: () => undefined });
  const request = (over: Partial<CapacityRequest> = {}): CapacityRequest => ({ base, knob: 'clients', from: 100, to: 1600, factor: 2, bisect: 2, stepDurationMs: 1000, slos: slos('fanout.p99 < 100ms'), headroom: 0.3, refuseSaturated: false, ...over });
  /** p99 5 ms up to 500 clients, then exploding. */
  const curve = (n: number) => (n <= 500 ? 5000 + n * 2 : 5000 + (n - 500) * 400);

  it('finds the capacity, names the SLO, bisects, finds the knee and projects', async () => {
    const loads: number[] = [];
    const r = await runCapacity(request({ targetClients: 10_000 }), io, {
      createSampler: noCpu,
      runStep: async (req) => {
        const n = Number(req.flags.clients);
        expect(req.flags.duration).toBe('1000ms');
        loads.push(n);
        const rep = fakeReport(n, curve(n));
        rep.gates = req.judge!(rep);
        return { report: rep, exitCode: 0 };
      },
    });
    // 100 200 400 good, 800 bad (125 ms), then two bisections: 566 (31.4 ms, good), 673 (74 ms, good).
    expect(loads.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(loads).toHaveLength(6);
    expect(r.schema).toBe('wsbench.capacity/1');
    expect(r.outcome.stop).toBe('slo');
    expect(r.outcome.lowerBound).toBe(false);
    expect(r.outcome.message).toMatch(/SLO breached: fanout\.p99/);
    expect(r.exitCode).toBe(0);
    expect(r.knee).not.toBeNull();
    expect(r.steps.every((s) => s.report.schema === 'wsbench.report/1')).toBe(true);
    const good = r.outcome.sustainableLoad!;
    expect(curve(good)).toBeLessThan(100_000);
    expect(r.projection!.nodes).toBe(Math.ceil(10_000 / (good * 0.7) - 1e-9));
    expect(r.resources.marginalRssBytesPerConnection).toBe(20_000);
    expect(renderCapacityTable(r)).toMatch(/capacity found/);
    const html = renderCapacityHtml(r);
    expect(html).toMatch(/<svg class="chart"/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('a saturated generator gives a lower bound, exit 0, or 4 with --refuse-saturated', async () => {
    const runStep = async (req: RunRequest) => {
      const n = Number(req.flags.clients);
      return { report: fakeReport(n, 5000, { saturated: n >= 400 }), exitCode: 0 as const };
    };
    const r = await runCapacity(request({ bisect: 0 }), io, { createSampler: noCpu, runStep });
    expect(r.outcome).toMatchObject({ stop: 'saturated', sustainableLoad: 200, firstBadLoad: 400, lowerBound: true });
    expect(r.outcome.message).toMatch(/LOWER BOUND.*generator saturated: worker 0/);
    expect(r.exitCode).toBe(0);
    const refused = await runCapacity(request({ bisect: 0, refuseSaturated: true }), io, { createSampler: noCpu, runStep });
    expect(refused.exitCode).toBe(4);
  });

  it('no step meeting the SLO exits 1; a failed step exits 3; an exhausted range is a lower bound', async () => {
    const none = await runCapacity(request(), io, { createSampler: noCpu, runStep: async (req) => ({ report: fakeReport(Number(req.flags.clients), 500_000), exitCode: 1 }) });
    expect(none.steps).toHaveLength(1);
    expect(none.outcome.stop).toBe('none-sustainable');
    expect(none.outcome.message).toMatch(/no step met the SLOs/);
    expect(none.exitCode).toBe(1);
    const failed = await runCapacity(request(), io, { createSampler: noCpu, runStep: async (req) => ({ report: fakeReport(Number(req.flags.clients), 1000, { status: Number(req.flags.clients) > 100 ? 'failed' : 'completed' }), exitCode: 3 }) });
    expect(failed.exitCode).toBe(3);
    const all = await runCapacity(request(), io, { createSampler: noCpu, runStep: async (req) => ({ report: fakeReport(Number(req.flags.clients), 1000), exitCode: 0 }) });
    expect(all.outcome).toMatchObject({ stop: 'range-exhausted', sustainableLoad: 1600, lowerBound: true });
    expect(exitCodeOf(all.outcome, true)).toBe(0);
  });
});
