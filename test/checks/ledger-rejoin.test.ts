/**
 * A fresh join of a room whose previous membership is still delivering (the client is
 * in it, or its leave was not answered yet): the deliveries still on the wire belong to
 * the previous window, which ends at the join reply. Counted in the new window, they
 * made `delivered` exceed `expected` and hid as many losses of the room.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { addReceiver, closeLedger, closeWindow, createReceiverRoom, emptyTally, onDelivery, onJoined } from '../../src/checks/ledger.ts';

const SCENARIO = fileURLToPath(new URL('./fixtures/hot-churn.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wsbench-rejoin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seq ledger: a fresh join while the old window still delivers', () => {
  it('in-flight deliveries extend the old window; the books balance and a loss elsewhere shows', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0);
    onDelivery(a, 1);
    onDelivery(a, 2);
    closeWindow(a); // joins the room it is in
    onDelivery(a, 3); // sent before the server handled the join
    onDelivery(a, 4);
    onJoined(a, 5); // seq 5 went to neither window: the server said "joined at 5"
    onDelivery(a, 6);
    // Another member that lost seq 3.
    const b = createReceiverRoom('r');
    onJoined(b, 0);
    for (const s of [1, 2, 4, 5, 6]) onDelivery(b, s);
    const t = emptyTally('r');
    addReceiver(t, a);
    addReceiver(t, b);
    expect(closeLedger([t]).total).toMatchObject({ expected: 4 + 1 + 6, delivered: 5 + 5, lost: 1 });
  });

  it('a fresh join whose reply never came: the old window is judged up to its last delivery', () => {
    const r = createReceiverRoom('r');
    onJoined(r, 2);
    onDelivery(r, 3);
    closeWindow(r);
    onDelivery(r, 4);
    const t = emptyTally('r');
    addReceiver(t, r);
    t.maxSeq = 9;
    expect(closeLedger([t]).total).toMatchObject({ expected: 2, delivered: 2, lost: 0 });
  });
});

describe('end to end: churn in the published rooms of a two-worker bundled server', () => {
  it('expected equals delivered in every room, and every delivery received is in the books', async () => {
    const out = join(dir, 'hot.json');
    const res = await runCli(['run', SCENARIO, '--server', 'workers=2', '--warmup', '300ms', '--cooldown', '500ms', '--quiet', '--out', out], { timeoutMs: 120_000 });
    expect(res.stderr).not.toMatch(/wsbench failed/);
    const r = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(r.ledger.mode).toBe('seq');
    expect(r.ledger.expected).toBeGreaterThan(5_000);
    for (const room of r.rooms ?? []) expect([room.room, room.delivered, room.lost, room.duplicated]).toEqual([room.room, room.expected, 0, 0]);
    expect(r.counters['messages.received']).toBe(r.ledger.delivered);
  }, 130_000);
});
