/**
 * `reconnect-storm --set method=restart` against ONE bundled node, which keeps its rooms
 * in memory: restarted, it begins every room's seq again under a new epoch. The ledger
 * judges each epoch on its own, so the run's verdict is the truth (nothing acked was lost,
 * nothing duplicated) instead of seq artefacts. Then `wsbench merge` of that report exits
 * with the merged checks' verdict, as `report` does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-epoch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;
const CLIENTS = 50;
const ROOMS = 2;

let run: CliResult;
let report: Report;
const out = join(dir, 'restart.json');

beforeAll(async () => {
  // A 1 s backoff cap brings the clients back soon after the node (down 300 ms) returns.
  run = await runCli(
    ['run', 'reconnect-storm', '--clients', String(CLIENTS), '--rooms', String(ROOMS), '--rate', '40', '--warmup', '300ms', '--duration', '3s', '--cooldown', '500ms',
      '--set', 'storm-at=1s', '--set', 'down-ms=300', '--set', 'backoff-cap-ms=1000', '--set', 'method=restart', '--quiet', '--out', out],
    { timeoutMs: 120_000 },
  );
  report = readReport(out);
}, 130_000);

describe('reconnect-storm method=restart on one in-memory node', () => {
  it('every room began a new epoch; the ledger is exact across it and the run passes', () => {
    expect(run.stderr).not.toMatch(/wsbench failed/);
    expect(report.timeline.filter((e) => e.kind === 'fault' && /restart-node/.test(e.name)).map((e) => e.name.split(' ')[0])).toEqual(['restart-node:0']);
    expect(report.ledger).toMatchObject({ mode: 'seq', lost: 0, duplicated: 0, reordered: 0, epochs: ROOMS });
    expect(report.ledger.expected).toBeGreaterThan(0);
    // Every delivery received is in the books exactly once (no seq artefact set aside).
    expect(report.ledger.delivered).toBe(report.counters['messages.received']);
    expect(report.counters['ledger.duplicated'] ?? 0).toBe(0);
    expect(report.counters['ledger.reordered'] ?? 0).toBe(0);
    expect(report.rooms!.map((r) => r.epochs)).toEqual([1, 1]);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName['delivery.exactly-once-in-order']).toMatchObject({ status: 'passed' });
    expect(byName['reconnect.restart-epochs']).toMatchObject({ status: 'passed', evidence: { epochs: ROOMS, lost: 0 } });
    expect(byName['reconnect.all-back']).toMatchObject({ passed: true, evidence: { dropped: CLIENTS, rejoined: CLIENTS } });
    expect(byName['reconnect.restart-judgeable']).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/room sequences began again 2 time/);
    expect(run.code).toBe(0);
  });
});

describe('wsbench merge exits with the merged verdict', () => {
  const write = (name: string, r: Report) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(r));
    return p;
  };
  const withCheck = (status: 'failed' | 'unverified'): Report => ({
    ...report,
    checks: [...report.checks, { name: 'probe.made-up', passed: false, status, ...(status === 'unverified' ? { reason: 'made up for the test' } : {}), detail: `a ${status} check` }],
  });

  it('0 when every shard passed, 1 when a shard has a failed check, 1 for an unverified one only with --strict', async () => {
    const a = write('a.json', report);
    const failed = write('failed.json', withCheck('failed'));
    const unverified = write('unverified.json', withCheck('unverified'));
    const [ok, bad, loose, strict] = await Promise.all([
      runCli(['merge', a, a, '--out', join(dir, 'm-ok.json')]),
      runCli(['merge', a, failed, '--out', join(dir, 'm-bad.json')]),
      runCli(['merge', a, unverified, '--out', join(dir, 'm-loose.json')]),
      runCli(['merge', a, unverified, '--strict', '--out', join(dir, 'm-strict.json')]),
    ]);
    expect([ok.code, bad.code, loose.code, strict.code], [ok, bad, loose, strict].map((r) => r.stderr).join('\n')).toEqual([0, 1, 0, 1]);
    const merged = readReport(join(dir, 'm-bad.json'));
    expect(merged.checks.find((c) => c.name === 'shard1.probe.made-up')).toMatchObject({ passed: false });
    // Both shards saw the same rooms begin again: the merged count is theirs, not the sum.
    expect(merged.ledger.epochs).toBe(ROOMS);
    expect(merged.ledger.delivered).toBe(2 * report.ledger.delivered);
  });
});
