/**
 * The books close once the deliveries in flight have arrived (src/checks/settle.ts).
 *
 * End to end: the bundled server as a two-worker cluster (fan-out relayed over
 * IPC) under join/leave churn, publishing at a few hundred per second and no
 * cool-down at all, so deliveries are still in flight when the run finishes.
 * Before the settle step the ledger was tallied at once and called the late
 * ones "lost" (100-350 here) while `messages.received` counted them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { startFaultyBroadcast } from '../gallery/faulty-broadcast.ts';
import { highestSeqs, readBacklog, settleLedger, type Backlog } from '../../src/checks/settle.ts';
import { createReceiverRoom, emptyTally, onDelivery, onJoined, type RoomTally } from '../../src/checks/ledger.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-settle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The three runs side by side: each has its own server and judges counts (exact ledgers, a
 * note, an exit code); the only time judged is the tail's bound, far above what it needs.
 * Neighbours only put more deliveries in flight when a run ends, which the settle must wait for.
 */
describe.concurrent('end to end, side by side', () => {
  describe('ledger settle, end to end', () => {
    it.each([
      ['one generator process', []],
      // Publishers (clients 0..2) all in the first process: the second learns the rooms' last seqs from the coordinator.
      ['two generator processes', ['--workers', '2']],
    ])('a two-worker bundled server under churn with no cool-down, %s: nothing in flight is called lost', async (label, extra) => {
      const out = join(dir, `joins-${extra.length}.json`);
      const res = await runCli(
        ['run', 'joins', '--clients', '240', '--rooms', '3', '--set', 'think=5ms', '--rate', '300', '--warmup', '300ms', '--duration', '2s', '--cooldown', '0s', '--server', 'workers=2', ...extra, '--out', out],
        { timeoutMs: 120_000 },
      );
      expect(res.stderr, label).not.toMatch(/wsbench failed/);
      const r = JSON.parse(readFileSync(out, 'utf8')) as Report;
      expect(r.ledger.mode).toBe('seq');
      expect(r.ledger.expected).toBeGreaterThan(10_000);
      expect(r.ledger.lost).toBe(0);
      expect(r.ledger.duplicated).toBe(0);
      expect(r.ledger.delivered).toBe(r.ledger.expected);
      // Every delivery the clients counted is in the books: none arrived after they closed.
      expect(r.counters['messages.received']).toBe(r.ledger.delivered);
      expect(res.code, res.stderr).toBe(0);
    }, 130_000);
  });

  describe('a tail the server never delivers', () => {
    it('the settle gives up at the request timeout, says so in a note, and the loss is counted exactly', async () => {
      const server = await startFaultyBroadcast({ seq: true, silentAfter: 30 });
      try {
        const out = join(dir, 'tail.json');
        const t0 = Date.now();
        const res = await runCli(['run', 'broadcast', '--target', server.url, '--clients', '20', '--rooms', '2', '--rate', '40', '--warmup', '300ms', '--duration', '1500ms', '--cooldown', '300ms', '--set', 'requestTimeoutMs=1500ms', '--quiet', '--out', out], { timeoutMs: 90_000 });
        const r = JSON.parse(readFileSync(out, 'utf8')) as Report;
        const truth = server.counts();
        expect(truth.dropped).toBeGreaterThan(0);
        expect(r.ledger).toMatchObject({ mode: 'seq', lost: truth.dropped });
        expect(r.notes.join('\n')).toMatch(/the ledger closed after waiting \d+\.\d s for deliveries in flight with \d+ receivers still short/);
        expect(res.code).toBe(1);
        // Bounded by the request timeout, not the 10 s cap.
        expect(Date.now() - t0).toBeLessThan(60_000);
      } finally {
        await server.close();
      }
    }, 100_000);
  });
});

/** A fake clock and a scripted backlog: each poll advances time by the poll interval. */
function scripted(steps: Backlog[]) {
  let t = 0;
  let i = 0;
  return {
    read: () => steps[Math.min(i++, steps.length - 1)]!,
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

describe('settleLedger', () => {
  const done = (progress: number): Backlog => ({ acksPending: 0, receiversBehind: 0, progress });

  it('waits for pending acks and lagging receivers, then for the quiet window', async () => {
    const s = scripted([
      { acksPending: 2, receiversBehind: 5, progress: 10 },
      { acksPending: 0, receiversBehind: 5, progress: 20 },
      { acksPending: 0, receiversBehind: 1, progress: 30 },
      done(31),
    ]);
    const r = await settleLedger(s.read, { timeoutMs: 5000, quietMs: 200, pollMs: 50, now: s.now, sleep: s.sleep });
    expect(r.settled).toBe(true);
    // Last progress seen at t=150; quiet from then for 200 ms.
    expect(r.waitedMs).toBe(350);
  });

  it('counts quiet time the cool-down already saw: nothing due and quiet long enough closes at once', async () => {
    const s = scripted([done(40)]);
    // The watcher saw progress 40 at t=-600 (during the cool-down) and nothing since.
    const r = await settleLedger(s.read, { timeoutMs: 5000, quietMs: 500, pollMs: 50, now: s.now, sleep: s.sleep, before: { progress: 40, sinceMs: -600 } });
    expect(r).toMatchObject({ settled: true, waitedMs: 0 });
  });

  it('a delivery after the watcher\'s last look restarts the quiet window', async () => {
    const s = scripted([done(41)]);
    const r = await settleLedger(s.read, { timeoutMs: 5000, quietMs: 500, pollMs: 50, now: s.now, sleep: s.sleep, before: { progress: 40, sinceMs: -600 } });
    expect(r).toMatchObject({ settled: true, waitedMs: 500 });
  });

  it('gives up at the timeout with what is still due', async () => {
    let p = 0;
    const r = await settleLedger(() => ({ acksPending: 0, receiversBehind: 3, progress: p++ }), {
      timeoutMs: 1000, quietMs: 100, pollMs: 100, now: (() => { let t = -100; return () => (t += 100); })(), sleep: async () => {},
    });
    expect(r.settled).toBe(false);
    expect(r.backlog.receiversBehind).toBe(3);
    expect(r.waitedMs).toBeGreaterThanOrEqual(1000);
  });

  it('the coordinator\'s round: the highest seq per room over workers raises every worker\'s target', () => {
    expect(highestSeqs([{ a: 3, b: 9 }, { a: 7 }, {}])).toEqual({ a: 7, b: 9 });
    const r = createReceiverRoom('a', 0);
    onJoined(r, 0);
    onDelivery(r, 3);
    const src = { clients: [{ state: 'open', recv: new Map([['a', r]]) }], requests: { pending: new Map() }, tallies: () => [{ ...emptyTally('a'), maxSeq: 3 }] };
    expect(readBacklog(src).receiversBehind).toBe(0);
    expect(readBacklog(src, { a: 7 }).receiversBehind).toBe(1);
  });

  it('reads the backlog: open receivers behind their room, unanswered acks, closed clients ignored', () => {
    const a = createReceiverRoom('r', 0);
    onJoined(a, 4);
    onDelivery(a, 5);
    onDelivery(a, 6);
    const b = createReceiverRoom('r', 1);
    onJoined(b, 4);
    onDelivery(b, 5);
    const gone = createReceiverRoom('r', 2);
    onJoined(gone, 0);
    const tallies: RoomTally[] = [{ room: 'r', activeReceivers: 3, sumJoinSeqActive: 8, expectedInactive: 0, delivered: 3, duplicated: 0, reordered: 0, unsequenced: 0, maxSeq: 7 }];
    const pending = new Map<number, { kind: string; quiet?: boolean }>([
      [1, { kind: 'ack' }],
      [2, { kind: 'ack', quiet: true }],
      [3, { kind: 'join' }],
    ]);
    const b0 = readBacklog({
      clients: [
        { state: 'open', recv: new Map([['r', a]]) },
        { state: 'open', recv: new Map([['r', b]]) },
        { state: 'closed', recv: new Map([['r', gone]]) },
      ],
      requests: { pending },
      tallies: () => tallies,
    });
    expect(b0).toEqual({ acksPending: 1, receiversBehind: 2, progress: 3 });
  });
});
