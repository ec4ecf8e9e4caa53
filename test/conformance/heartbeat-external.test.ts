/**
 * heartbeat against a server wsbench did not start: a gallery server whose only
 * heartbeat is ws ping frames. Frozen by its pid it passes every check; broken (it
 * never evicts) and without a way to freeze it, zombies-evicted fails and the
 * frozen-server phase is reported as not run, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Report } from '../../src/report/schema.ts';
import type { RunView } from '../../src/scenario/types.ts';
import heartbeat from '../../scenarios/heartbeat.ts';
import { runCli } from '../support/cli.ts';
import { startUrlPrinter, stopServes } from './serve-nodes.ts';

const PING_ONLY = fileURLToPath(new URL('../gallery/ping-only-heartbeat-server.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

describe('heartbeat checks on evictions the measured window never saw', () => {
  const base = { heartbeatMs: 1000, timeoutMs: 0, slack: 500, freeze: false, clientTimeoutMs: 2500 };
  const context = (extra: Partial<RunView>): RunView =>
    ({ options: base, metrics: {}, counters: { zombies: 4, evictions: 4 }, observations: {}, examples: {}, timeline: [], target: { kind: 'external', nodes: 1 }, rampConnected: 20, ...extra }) as unknown as RunView;

  it('times zombies evicted in the warm-up (no measured eviction metric) like the rest', () => {
    const checks = heartbeat.checks!(context({ observations: { 'eviction.ms': { count: 4, min: 1200, max: 1900, mean: 1500, minClient: 3, maxClient: 7 } } }));
    expect(checks.find((c) => c.name === 'heartbeat.zombies-evicted')?.passed).toBe(true);
    const window = checks.find((c) => c.name === 'heartbeat.eviction-window')!;
    expect(window.passed).toBe(true);
    expect(window.detail).toContain('4 evictions took 1200..1900 ms');
  });

  it('says unverified, not failed or passed, when no client became a zombie', () => {
    const checks = heartbeat.checks!(context({ counters: {} })) as Array<{ name: string; passed: boolean; status?: string; reason?: string }>;
    for (const name of ['heartbeat.zombies-evicted', 'heartbeat.eviction-window']) {
      const c = checks.find((x) => x.name === name)!;
      expect(c.passed).toBe(false);
      expect(c.status).toBe('unverified');
      expect(c.reason).toMatch(/no zombie clients were created/);
    }
    expect(checks.find((x) => x.name === 'heartbeat.frozen-server-noticed')).toMatchObject({ status: 'unverified', reason: 'the frozen-server phase was not run: it was turned off (--set freeze=false)' });
  });
});

describe('heartbeat against a ping-frames-only server of its own', () => {
  let dir: string;
  let good: Promise<{ code: number | null; report: Report }>;
  let broken: Promise<{ code: number | null; report: Report }>;

  async function run(url: string, sets: string[]): Promise<{ code: number | null; report: Report }> {
    const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
    const args = ['run', 'heartbeat', '--quiet', '--target', url, '--clients', '30', '--rate', '0', '--seed', '3', '--warmup', '1s', '--duration', '7500ms', '--cooldown', '300ms', '--out', out];
    const r = await runCli([...args, ...['heartbeat-ms=500', 'slack=500ms', 'zombies=20%', ...sets].flatMap((s) => ['--set', s])], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsbench-hb-'));
    const [ok, bad] = await Promise.all([
      startUrlPrinter(['--import', TSX, PING_ONLY, '--heartbeat-ms', '500']),
      startUrlPrinter(['--import', TSX, PING_ONLY, '--heartbeat-ms', '500', '--no-evict']),
    ]);
    // Both at once, to keep the suite short.
    good = run(ok.url, [`freeze-pid=${ok.pid}`]);
    broken = run(bad.url, []);
    await Promise.allSettled([good, broken]);
  });
  afterAll(async () => {
    await stopServes();
    rmSync(dir, { recursive: true, force: true });
  });

  const check = (r: Report, name: string) => r.checks.find((c) => c.name === name)!;

  it('frozen through its pid, a correct server passes every check', async () => {
    const { code, report } = await good;
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(code).toBe(0);
    expect(check(report, 'heartbeat.frozen-server-noticed').detail).toMatch(/noticed the frozen server/);
    expect(report.observations!['eviction.ms']!.count).toBe(report.counters.zombies);
    expect(report.notes.some((n) => n.includes('frozen through pid'))).toBe(true);
  });

  it('a server that never evicts fails; the frozen phase is reported not run, with the reason', async () => {
    const { code, report } = await broken;
    expect(code).toBe(1);
    expect(check(report, 'heartbeat.zombies-evicted').passed).toBe(false);
    const frozen = check(report, 'heartbeat.frozen-server-noticed') as Report['checks'][number] & { status?: string; reason?: string };
    expect(frozen.passed).toBe(false);
    expect(frozen.status).toBe('unverified');
    expect(frozen.detail).toMatch(/^unverified: the frozen-server phase was not run: wsbench cannot freeze a server it did not start: give --set freeze-pid=PID/);
  });
});
