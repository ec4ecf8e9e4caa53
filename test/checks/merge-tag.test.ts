/**
 * `wsbench merge` of shards judged by the tag ledger (a server without seq): each shard
 * judges only its own clients' publishes, so the merged delivery check is unverified
 * with the reason, never passed. Two real shards (`--shard 0/2`, `1/2`, one
 * `--start-at`) against the gallery's faulty-broadcast server without seq.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { QUICK, runCli } from '../support/cli.ts';
import { startFaultyBroadcast, type FaultyBroadcastServer } from '../gallery/faulty-broadcast.ts';
import { mergedDeliveryCheck } from '../../src/checks/merge-ledger.ts';
import { formatCount } from '../../src/output/format.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-merge-tag-'));
const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;
let server: FaultyBroadcastServer;

beforeAll(async () => {
  server = await startFaultyBroadcast({ seq: false });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('merging tag-mode shards', () => {
  let a: Report;
  let b: Report;
  let merged: Report;
  let table: string;

  beforeAll(async () => {
    const startAt = new Date(Date.now() + 5000).toISOString();
    // 8 publishers per room of 10 clients (clients 0..31 publish): both halves hold publishers and receivers of every room.
    const common = ['run', 'broadcast', '--target', server.url, '--clients', '40', '--rooms', '4', '--publishers', '8', '--rate', '40', ...QUICK, '--start-at', startAt, '--quiet'];
    const runs = await Promise.all([0, 1].map((i) => runCli([...common, '--shard', `${i}/2`, '--out', join(dir, `s${i}.json`)])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    a = read(join(dir, 's0.json'));
    b = read(join(dir, 's1.json'));
    const m = await runCli(['merge', join(dir, 's0.json'), join(dir, 's1.json'), '--out', join(dir, 'merged.json')]);
    expect(m.code, m.stderr).toBe(0);
    table = m.stdout;
    merged = read(join(dir, 'merged.json'));
  }, 120_000);

  it('each shard is judged by tags and counts the deliveries it could not judge', () => {
    for (const r of [a, b]) {
      expect(r.ledger.mode).toBe('tag');
      expect(r.ledger.lost).toBe(0);
      expect(r.ledger.otherShards).toBeGreaterThan(0);
    }
  });

  it('the merged delivery check is unverified with the reason, never passed', () => {
    const c = merged.checks.find((x) => x.name === 'delivery.exactly-once-in-order');
    expect(c).toMatchObject({ status: 'unverified', passed: false });
    expect(c!.reason).toMatch(/tag ledger across 2 shards/);
    expect(c!.reason).toContain(`${formatCount(a.ledger.otherShards! + b.ledger.otherShards!)} deliveries crossed between shards`);
    expect(merged.ledger.mode).toBe('tag');
    expect(merged.ledger.otherShards).toBe(a.ledger.otherShards! + b.ledger.otherShards!);
    expect(table).toMatch(/UNVERIFIED/);
  });
});

describe('mergedDeliveryCheck', () => {
  const ledger = (mode: 'seq' | 'tag') => ({ ledger: { expected: 4, delivered: 4, lost: 0, duplicated: 0, reordered: 0, mode } });
  it('says nothing for seq shards (their books add exactly) or a single report', () => {
    expect(mergedDeliveryCheck([ledger('seq'), ledger('seq')])).toBeUndefined();
    expect(mergedDeliveryCheck([ledger('tag')])).toBeUndefined();
  });
  it('is unverified for tag shards even when no delivery crossed (a server that drops every crossing one looks the same)', () => {
    expect(mergedDeliveryCheck([ledger('tag'), ledger('tag')])).toMatchObject({ status: 'unverified', passed: false });
  });
});
