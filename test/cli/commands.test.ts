/**
 * README commands and scenario methods no other test runs, through the real CLI:
 * `wsbench list`, and reconnect-storm's `method=restart` and `method=client` as
 * two variants of one run. test/README-coverage.md lists which test runs each
 * README command and flag.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { bundledScenarioNames } from '../../src/scenario/loader.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;

describe('wsbench list', () => {
  it('prints every bundled scenario with its description', async () => {
    const r = await runCli(['list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(bundledScenarioNames());
    expect(bundledScenarioNames()).toEqual(expect.arrayContaining(['broadcast', 'joins', 'heartbeat', 'rate-limit', 'reconnect-storm', 'redis-fanout']));
    for (const l of lines) expect(l).toMatch(/^\S+\s{2,}\S.{10,}$/);
  });
});

describe('reconnect-storm by restarting the server and by clients dropping their own connections', () => {
  it('method=restart,client on two nodes runs both as variants: every client back in each, the restart resumed from Redis and nothing lost; one in-memory node is said to be unjudgeable', async () => {
    const out = join(dir, 'storm.json');
    const one = join(dir, 'one.json');
    // A restarted node takes a few seconds to come back on a loaded box; a 1 s backoff cap
    // brings its clients back soon after.
    const storm = ['run', 'reconnect-storm', '--clients', '40', '--rooms', '2', '--rate', '40', '--warmup', '300ms', '--cooldown', '500ms', '--set', 'storm-at=1s', '--set', 'down-ms=300', '--set', 'backoff-cap-ms=1000', '--quiet'];
    const [r, single] = await Promise.all([
      runCli([...storm, '--nodes', '2', '--duration', '5s', '--set', 'method=restart,client', '--out', out], { timeoutMs: 120_000 }),
      runCli([...storm, '--duration', '3s', '--set', 'method=restart', '--out', one], { timeoutMs: 120_000 }),
    ]);
    expect(r.stderr).not.toMatch(/wsbench failed/);
    const restart = readReport(join(dir, 'storm.method-restart.json'));
    const client = readReport(out);
    expect(client.variants!.map((v) => v.label)).toEqual(['method=restart', 'method=client']);
    const check = (rep: Report, name: string) => rep.checks.find((c) => c.name === name);
    for (const rep of [restart, client]) {
      for (const c of rep.checks) expect(c.passed, `${rep.scenario.options.method as string} ${c.name}: ${c.detail}`).toBe(true);
      expect(check(rep, 'delivery.exactly-once-in-order')).toMatchObject({ passed: true });
      expect(rep.metrics.reconnect!.count).toBe(40);
      expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    }
    expect(r.code).toBe(0);
    // The restart is a fault on every bundled node; the client drop is not a server event at all.
    expect(restart.timeline.filter((e) => e.kind === 'fault' && /restart-node/.test(e.name)).map((e) => e.name.split(' ')[0])).toEqual(['restart-node:0', 'restart-node:1']);
    expect(restart.counters['messages.replayed']).toBeGreaterThan(0);
    expect(client.timeline.some((e) => e.kind === 'fault')).toBe(false);
    // One node keeps rooms in memory: its restart begins every seq again under a new epoch,
    // which the report says; each epoch is judged on its own (test/checks/restart-epoch.test.ts).
    const mem = readReport(one);
    expect(check(mem, 'reconnect.restart-epochs')).toMatchObject({ passed: true, status: 'passed' });
    expect(mem.ledger.epochs).toBe(2);
    expect(single.code).toBe(0);
  });
});
