/**
 * The conformance scenarios pass on the reference server and fail, with the right
 * check and its evidence, on a deliberately broken one (heartbeat off, no rate
 * limit, no retention).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-conf-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

async function run(name: string, args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const out = join(dir, `${name}-${Math.random().toString(36).slice(2)}.json`);
  // A short drain: every publish is acked or timed out long before 500 ms.
  const r = await runCli(['run', name, '--quiet', '--cooldown', '500ms', '--out', out, ...args], { timeoutMs: 120_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report, stderr: r.stderr };
}
const check = (r: Report, name: string) => {
  const c = r.checks.find((x) => x.name === name);
  expect(c, `check ${name} in ${r.checks.map((x) => x.name).join(', ')}`).toBeDefined();
  return c!;
};
/** Every check passed, and the list holds at least these: an empty list proves nothing. */
const expectAllPassed = (r: Report, names: string[]) => {
  expect(r.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['connections.established', ...names]));
  expect(r.checks.filter((c) => !c.passed)).toEqual([]);
};
const HEARTBEAT = ['heartbeat.zombies-evicted', 'heartbeat.eviction-window', 'heartbeat.healthy-kept', 'heartbeat.frozen-server-noticed'];
const RATE_LIMIT = ['rate-limit.compliant-unaffected', 'rate-limit.accepted-rate', 'rate-limit.error-frames-capped', 'rate-limit.abusers-closed'];
const STORM = ['reconnect.all-back', 'delivery.exactly-once-in-order'];
/** 6 s instead of the scenario's 8: abusers are closed after about 3 s (bound 5 s), the least the scenario accepts is 5.5 s. */
const RATE_LIMIT_SHORT = ['--duration', '6s'];
/** The storm 1 s after the warm-up starts instead of 2 s; runs are 1 s shorter, leaving clients as long to come back. */
const STORM_EARLY = ['--set', 'storm-at=1s'];

/** Start a run the first time it is asked for; later callers share it. */
function once<T>(start: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= start());
}
/**
 * The runs against a server with heartbeat off judge no time (nothing is ever evicted):
 * they go beside the storms, whose recovery is bounded at 10 s; the passing heartbeat
 * runs, which judge eviction windows, still run alone.
 */
const heartbeatOff = once(() => run('heartbeat', ['--clients', '40', '--set', 'zombies=25%', '--set', 'freeze=false', '--duration', '5s', '--server', 'heartbeat-ms=0']));
const sioHeartbeatOff = once(() => run('heartbeat', ['--protocol', 'socketio', '--clients', '40', '--set', 'zombies=25%', '--set', 'freeze=false', '--duration', '5s', '--server', 'heartbeat-ms=0']));

describe('reconnect-storm', () => {
  type Run = Awaited<ReturnType<typeof run>>;
  // Three independent runs side by side: recovery is bounded at 10 s, far above what a loaded machine needs.
  let pass: Promise<Run>, noRetention: Promise<Run>, jitters: Promise<Run>;
  beforeAll(async () => {
    pass = run('reconnect-storm', [...STORM_EARLY, '--clients', '100', '--duration', '5s']);
    noRetention = run('reconnect-storm', [...STORM_EARLY, '--clients', '100', '--duration', '5s', '--rate', '200', '--server', 'retention=0']);
    jitters = run('reconnect-storm', [...STORM_EARLY, '--clients', '60', '--duration', '4s', '--set', 'jitter=none,full']);
    await Promise.allSettled([pass, noRetention, jitters, heartbeatOff()]);
  });

  it('passes on the reference server: everyone back, nothing lost', async () => {
    const { code, report } = await pass;
    expectAllPassed(report, STORM);
    expect(code).toBe(0);
    expect(report.metrics.reconnect!.count).toBe(100);
  });

  it('fails when the server keeps nothing for resume: loss is detected', async () => {
    const { code, report } = await noRetention;
    expect(code).toBe(1);
    const c = check(report, 'delivery.exactly-once-in-order');
    expect(c.passed).toBe(false);
    expect(report.ledger.lost).toBeGreaterThan(0);
    expect(c.detail).toMatch(/lost/);
  });

  it('runs several jitter policies side by side in one run', async () => {
    const { code, report } = await jitters;
    expect(code).toBe(0);
    expect(report.variants!.map((v) => v.label)).toEqual(['jitter=none', 'jitter=full']);
    for (const v of report.variants!) expect(v.herdPeakPerSec).toBeGreaterThan(0);
  });
});

describe('heartbeat', () => {
  it('passes on the reference server: zombies evicted in (1x, 2x], healthy kept, frozen server noticed', async () => {
    const { code, report } = await run('heartbeat', ['--clients', '60', '--set', 'zombies=20%']);
    expectAllPassed(report, HEARTBEAT);
    expect(code).toBe(0);
    expect(report.metrics.eviction!.count).toBe(report.counters.zombies);
    expect(check(report, 'heartbeat.frozen-server-noticed').passed).toBe(true);
  });

  it('fails with heartbeat off, naming the zombies that were never evicted', async () => {
    const { code, report } = await heartbeatOff();
    expect(code).toBe(1);
    const c = check(report, 'heartbeat.zombies-evicted');
    expect(c.passed).toBe(false);
    expect(c.detail).toMatch(/never evicted/);
    expect(c.evidence!.notEvicted).toBeGreaterThan(0);
    expect((c.evidence!.examples as number[]).length).toBeGreaterThan(0);
  });
});

describe('rate-limit', () => {
  it('passes on the reference server', async () => {
    const { code, report } = await run('rate-limit', [...RATE_LIMIT_SHORT, '--clients', '40']);
    expectAllPassed(report, RATE_LIMIT);
    expect(code).toBe(0);
  });

  it('fails without a limit (far above the rate, never closed) and with a leaky 125/s bucket (its whole bracket above 110/s)', async () => {
    const [none, leaky] = await Promise.all([
      run('rate-limit', [...RATE_LIMIT_SHORT, '--clients', '40', '--server', 'rate=0']),
      run('rate-limit', [...RATE_LIMIT_SHORT, '--clients', '40', '--server', 'rate=125']),
    ]);
    expect(none.code).toBe(1);
    const acc = check(none.report, 'rate-limit.accepted-rate');
    expect(acc.status).toBe('failed');
    expect(acc.evidence!.maxPerSec as number).toBeGreaterThan(110);
    const closed = check(none.report, 'rate-limit.abusers-closed');
    expect(closed.passed).toBe(false);
    expect(closed.evidence!.closed1008).toBe(0);
    expect(leaky.code).toBe(1);
    const leak = check(leaky.report, 'rate-limit.accepted-rate');
    expect(leak.status).toBe('failed');
    expect(leak.evidence!.highestLowBoundPerSec as number).toBeGreaterThan(110);
    expect(check(leaky.report, 'rate-limit.abusers-closed').passed).toBe(true);
  });
});

describe('impossible expectations are refused up front', () => {
  it('exits 2 for a negative slack or a share above 100%', async () => {
    const [a, b] = await Promise.all([runCli(['run', 'heartbeat', '--set', 'slack=-1s']), runCli(['run', 'heartbeat', '--set', 'zombies=150%'])]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/slack/);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/outside 0%\.\.100%/);
  });
});

describe('the Socket.IO flavour', () => {
  describe('reconnect-storm', () => {
    type Run = Awaited<ReturnType<typeof run>>;
    const SIO_STORM = [...STORM_EARLY, '--protocol', 'socketio', '--clients', '60', '--duration', '4s'];
    // Three independent runs side by side (recovery bounded at 10 s).
    let recovered: Promise<Run>, since: Promise<Run>, nothing: Promise<Run>;
    beforeAll(async () => {
      recovered = run('reconnect-storm', SIO_STORM);
      since = run('reconnect-storm', [...SIO_STORM, '--server', 'recovery-ms=0']);
      nothing = run('reconnect-storm', [...SIO_STORM, '--server', 'recovery-ms=0', '--server', 'retention=0']);
      await Promise.allSettled([recovered, since, nothing, sioHeartbeatOff()]);
    });

    it('connection state recovery brings everyone back with nothing lost', async () => {
      const { code, report } = await recovered;
      expectAllPassed(report, STORM);
      expect(code).toBe(0);
      expect(report.metrics.reconnect!.count).toBe(60);
    });

    it('without connection state recovery: join-room {since} replays the outage; with no retention either it fails on loss', async () => {
      const good = await since;
      expectAllPassed(good.report, STORM);
      expect(good.report.counters['messages.replayed']).toBeGreaterThan(0);
      const bad = await nothing;
      expect(bad.code).toBe(1);
      const c = check(bad.report, 'delivery.exactly-once-in-order');
      expect(c.passed).toBe(false);
      expect(c.detail).toMatch(/\d+ lost/);
      expect(bad.report.counters['ledger.gaps']).toBeGreaterThan(0);
    });
  });

  it('heartbeat: Engine.IO zombies evicted within pingInterval + pingTimeout, healthy kept, frozen server noticed and nothing lost; fails with heartbeat off', async () => {
    // Engine.IO evicts from its own ping timers; on a loaded 2-core runner they fire up to ~0.7 s late
    // (seen: 2077..2696 ms for a 2000 ms window), so this run allows 1 s of slack instead of 0.5 s
    // (and measures 12 s, which the frozen-server phase then needs).
    const good = await run('heartbeat', ['--protocol', 'socketio', '--clients', '40', '--set', 'zombies=25%', '--set', 'slack=1s', '--duration', '12s']);
    expectAllPassed(good.report, HEARTBEAT);
    expect(good.code).toBe(0);
    expect(good.report.target.protocol).toBe('socketio');
    expect(check(good.report, 'heartbeat.frozen-server-noticed').passed).toBe(true);
    expect(good.report.ledger).toMatchObject({ lost: 0, duplicated: 0 });
    const bad = await sioHeartbeatOff();
    expect(bad.code).toBe(1);
    expect(check(bad.report, 'heartbeat.zombies-evicted').passed).toBe(false);
  });

  it('rate-limit passes; without a limit it fails on the accepted rate', async () => {
    // One after the other: the passing run judges accepted rates against the bucket, and beside
    // the unlimited run it failed (on main too, at load 6).
    const good = await run('rate-limit', [...RATE_LIMIT_SHORT, '--protocol', 'socketio', '--clients', '40']);
    expectAllPassed(good.report, RATE_LIMIT);
    const bad = await run('rate-limit', [...RATE_LIMIT_SHORT, '--protocol', 'socketio', '--clients', '40', '--server', 'rate=0']);
    expect(bad.code).toBe(1);
    expect(check(bad.report, 'rate-limit.accepted-rate').status).toBe('failed');
  });

});
