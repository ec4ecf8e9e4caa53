import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { makeReport } from '../fixtures/reports.ts';
import type { Report } from '../../src/report/schema.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-inproc-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

/** The fixture report with every latency percentile of every metric made `factor` times slower. */
function slower(report: Report, factor: number): Report {
  const metrics = Object.fromEntries(Object.entries(report.metrics).map(([name, m]) => [name, { ...m, p50: m.p50 * factor, p90: m.p90 * factor, p95: m.p95 * factor, p99: m.p99 * factor, p999: m.p999 * factor, max: m.max * factor, mean: m.mean * factor }]));
  return { ...report, metrics };
}

describe('the CLI in-process (streams and exit code injected)', () => {
  it('list prints every bundled scenario with its description on stdout, exit 0', async () => {
    const r = await runCliInProcess(['list']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^broadcast\s+\S/m);
    expect(r.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('run lists every flag and option problem at once, exit 2, before anything starts', async () => {
    const out = join(dir, 'never.json');
    const r = await runCliInProcess(['run', 'broadcast', '--duration', '10x', '--rate', 'fast', '--workers', '0', '--repeat', 'two', '--token-ttl', '500ms', '--shard', '1of4', '--gate', 'fanout.p99 <', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/7 problems with the command line/);
    for (const p of [/"10x" is not a duration/, /"fast" is not a rate/, /--workers: "0": expected a whole number >= 1/, /--repeat: "two"/, /--token-ttl: "500ms" must be at least 1s/, /--shard: "1of4": expected i\/N/, /Invalid gate "fanout.p99 <"/]) {
      expect(r.stderr).toMatch(p);
    }
    expect(r.stdout).toBe('');
    expect(() => readFileSync(out)).toThrow();
  });

  it('capacity lists its own problems and the run flags\' together', async () => {
    const r = await runCliInProcess(['capacity', 'broadcast', '--slo', 'fanout.p99 <', '--from', 'ten', '--to', '20', '--workers', '0', '--step-duration', '100ms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/4 problems with the command line/);
    for (const p of [/Invalid gate "fanout.p99 <"/, /--from: "ten" is not a whole number/, /--workers: "0": expected a whole number >= 1/, /--step-duration 100ms: a step needs at least 500ms/]) expect(r.stderr).toMatch(p);
  });

  it('a problem every variant has is listed once', async () => {
    const r = await runCliInProcess(['run', 'broadcast', '--set', 'jitter=none,full', '--duration', '10x', '--workers', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/2 problems with the command line/);
    expect(r.stderr.match(/"10x" is not a duration/g)).toHaveLength(1);
  });

  it('a single problem keeps its own code, message and hint', async () => {
    const r = await runCliInProcess(['run', 'broadcast', '--gate', 'fanuot.p99 < 5s']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown metric "fanuot"\. Did you mean "fanout"\?/);
    expect(r.stderr).not.toMatch(/problems with the command line/);
  });

  it('report renders a saved report on stdout, writes the files asked for and exits with the saved run\'s verdict', async () => {
    const file = join(dir, 'base.json');
    // The fixture run failed a check and a gate: `report` says so with exit 1, as `run` did.
    writeFileSync(file, JSON.stringify(makeReport()));
    const md = join(dir, 'summary.md');
    const r = await runCliInProcess(['report', file, '--summary-md', md]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/fanout/);
    expect(r.stderr).toBe(`wrote ${md}\n`);
    expect(readFileSync(md, 'utf8')).toMatch(/broadcast/);
  });

  it('compare: exit 0 for the same report, 1 when latencies regressed past --max-regression', async () => {
    const base = join(dir, 'cmp-base.json');
    const next = join(dir, 'cmp-next.json');
    writeFileSync(base, JSON.stringify(makeReport()));
    writeFileSync(next, JSON.stringify(slower(makeReport(), 1.5)));
    const same = await runCliInProcess(['compare', base, base]);
    expect(same.code).toBe(0);
    const worse = await runCliInProcess(['compare', base, next, '--max-regression', '10']);
    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/regressed/);
    const lenient = await runCliInProcess(['compare', base, next, '--max-regression', '60%']);
    expect(lenient.code).toBe(0);
    const bad = await runCliInProcess(['compare', base, next, '--max-regression', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-regression lots: "lots" is not a share/);
  });

  it('commander errors go to the injected stderr with exit 2', async () => {
    const r = await runCliInProcess(['run', 'broadcast', '--nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--nope'/);
  });
});
