/**
 * The ledger against an independent reference: a gallery server that drops, duplicates
 * and reorders deliveries at known counts and reports them (test/gallery/faulty-broadcast.ts),
 * driven through the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { readReport, suiteDir } from '../support/suite-dir.ts';
import { faultyBroadcastPool } from '../gallery/faulty-broadcast.ts';

const file = suiteDir('wsbench-gallery-', beforeAll);
// Each test has its own server; the runs mostly wait, so they run side by side.
const start = faultyBroadcastPool(afterAll);

const RUN = ['--clients', '40', '--rooms', '4', '--rate', '500', '--warmup', '300ms', '--duration', '1s', '--cooldown', '1s'];
const BROKEN = { dropEvery: 97, dupEvery: 211, reorderEvery: 101 };

async function run(server: { url: string }, name: string, extra: string[] = []): Promise<{ code: number | null; report: Report; stdout: string }> {
  const out = file(`${name}.json`);
  const r = await runCli(['run', 'broadcast', '--target', server.url, ...RUN, '--out', out, ...extra]);
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: readReport(out), stdout: r.stdout };
}

const check = (rep: Report, name: string) => rep.checks.find((c) => c.name === name);

describe.concurrent('the delivery ledger equals the server\'s own counts', () => {
  it('without seq: the tag ledger counts exactly what the server dropped, doubled and reordered, per room, across two worker processes, and exits 1', async () => {
    const server = await start({ seq: false, ...BROKEN });
    // Two worker processes: publishers and receivers of a room live in different processes,
    // so the books only balance if the coordinator joins their logs and windows.
    const { code, report } = await run(server, 'tag-broken', ['--workers', '2']);
    expect(report.generator.processes).toBe(2);
    const truth = server.counts();
    // At 500/s for 1.3 s every kind of fault happens a few times (fewer on a starved machine).
    expect(truth.dropped).toBeGreaterThanOrEqual(2);
    expect(truth.duplicated).toBeGreaterThanOrEqual(1);
    expect(truth.reordered).toBeGreaterThanOrEqual(2);
    expect(report.ledger).toMatchObject({ mode: 'tag', lost: truth.dropped, duplicated: truth.duplicated, reordered: truth.reordered, refused: 0 });
    // 10 members per room, every member (the publisher too) gets every accepted publish.
    expect(report.ledger.expected).toBe(truth.published * 10);
    for (const room of report.rooms ?? []) {
      const t = truth.rooms[room.room] ?? { dropped: 0, duplicated: 0, reordered: 0 };
      expect(room, room.room).toMatchObject({ lost: t.dropped, duplicated: t.duplicated, reordered: t.reordered });
    }
    const delivery = check(report, 'delivery.exactly-once-in-order')!;
    expect(delivery.status).toBe('failed');
    expect(delivery.passed).toBe(false);
    const examples = (delivery.evidence as { examples: Array<{ kind: string }> }).examples;
    expect(new Set(examples.map((e) => e.kind))).toEqual(new Set(['lost', 'duplicated', 'reordered']));
    expect(code).toBe(1);
  });

  it('with seq: the seq ledger counts the same faults exactly', async () => {
    const server = await start({ seq: true, ...BROKEN });
    const { code, report } = await run(server, 'seq-broken');
    const truth = server.counts();
    expect(report.ledger).toMatchObject({ mode: 'seq', lost: truth.dropped, duplicated: truth.duplicated, reordered: truth.reordered });
    expect(code).toBe(1);
  });

  it('a correct server without seq passes with the tag ledger', async () => {
    const server = await start({ seq: false });
    const { code, report, stdout } = await run(server, 'tag-correct');
    expect(report.ledger).toMatchObject({ mode: 'tag', lost: 0, duplicated: 0, reordered: 0 });
    expect(report.ledger.expected).toBe(server.counts().published * 10);
    expect(report.ledger.delivered).toBe(report.ledger.expected);
    expect(report.checks.map((c) => c.status)).toEqual(['passed', 'passed']);
    expect(stdout).toMatch(/tag ledger/);
    expect(code).toBe(0);
  });

  it('a loss at the tail, which no gap reveals, is counted when the books close', async () => {
    const server = await start({ seq: false, silentAfter: 100 });
    const { code, report } = await run(server, 'tail');
    const truth = server.counts();
    expect(truth.dropped).toBeGreaterThan(0);
    expect(report.ledger).toMatchObject({ mode: 'tag', lost: truth.dropped, unjudged: 0, expected: truth.published * 10 });
    expect(code).toBe(1);
  });

  it('a server that strips the payload without seq: delivery is unverified, never a pass; --strict exits 1', async () => {
    const server = await start({ seq: false, stripPayload: true });
    const { code, report, stdout } = await run(server, 'untagged', ['--strict']);
    const delivery = check(report, 'delivery.exactly-once-in-order')!;
    expect(delivery).toMatchObject({ status: 'unverified', passed: false });
    expect(delivery.reason).toMatch(/carry no harness tag/);
    expect(report.counters['messages.untagged']).toBe(server.counts().sent);
    expect(stdout).toMatch(/UNVERIFIED/);
    expect(stdout).toMatch(/could not be verified and did NOT pass: delivery\.exactly-once-in-order/);
    expect(code).toBe(1);
  });

  it('a server that closes every publisher with 1008 mid-run is not a pass: its refusals are counted as refused, not lost', async () => {
    const server = await start({ seq: false, closePublishersAfter: 50 });
    const { code, report } = await run(server, 'refuse', ['--set', 'reconnect=false']);
    const truth = server.counts();
    // Each publisher that published past the 50th publish is closed once (all 4 unless the
    // machine is too loaded to publish). Every publish the harness sent was either accepted
    // by the server or is counted refused (the server saw some of them arrive on the closing
    // connection, the rest never reached it): none is called lost.
    expect(truth.closedPublishers).toBeGreaterThanOrEqual(1);
    expect(report.counters['close.1008']).toBe(truth.closedPublishers);
    expect(truth.refused).toBeGreaterThanOrEqual(truth.closedPublishers);
    expect(report.ledger).toMatchObject({ mode: 'tag', lost: 0 });
    expect(report.ledger.refused).toBeGreaterThanOrEqual(truth.refused);
    expect(report.ledger.refused! + truth.published).toBe(report.counters['messages.sent']);
    expect(report.ledger.expected).toBe(truth.published * 10);
    expect(check(report, 'publish.accepted')).toMatchObject({ status: 'failed', passed: false });
    expect(code).toBe(1);
  });
});
