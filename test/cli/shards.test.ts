/**
 * Sharding end to end: `wsbench serve` as a command, two shards of one run
 * (`--shard 0/2`, `--shard 1/2`) started together with `--start-at` against it,
 * merged with `wsbench merge`, and the merge checked exactly: counters and
 * ledgers add, and the merged HDR histogram is the sum of the shards' (decoded
 * and added here with hdr-histogram-js, independently of wsbench's own merge).
 * The same two runs cover `--json`, `--token`, `--publishers` and
 * `--node-identity url`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import type { Report } from '../../src/report/schema.ts';
import { BIN, runCli, QUICK, type CliResult } from '../support/cli.ts';
import { waitUntil } from '../helpers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-shards-'));
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;

let serve: ChildProcess;
let serveOut = '';
let serveExit: Promise<number | null>;

beforeAll(async () => {
  serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--node-id', 'solo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => (serveOut += d));
  serveExit = new Promise((r) => serve.once('exit', (code) => r(code)));
  await waitUntil(() => serveOut.split('\n').length > 2, 30_000, '`wsbench serve` to print its URL and token');
});

afterAll(() => {
  if (serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** 80 clients in 4 rooms, 12 publishers per room: clients 0..47 publish, so both halves do. */
const SHAPE = ['--clients', '80', '--rooms', '4', '--publishers', '12', '--rate', '40', ...QUICK];

describe('two shards of one run against one `wsbench serve`', () => {
  let url: string;
  let shards: CliResult[];
  let a: Report;
  let b: Report;

  beforeAll(async () => {
    const [first, second] = serveOut.split('\n');
    url = first!;
    const token = second!.replace(/^token: /, '');
    // Ahead of the workers' start-up (2-3 s on an idle 2-core box). On a box loaded past that,
    // both start at once and say so; the merge below is exact either way.
    const startAt = new Date(Date.now() + 5000).toISOString();
    const common = ['run', 'broadcast', '--target', url, ...SHAPE, '--start-at', startAt];
    shards = await Promise.all([
      runCli([...common, '--shard', '0/2', '--node-identity', 'url', '--out', join(dir, 'shard-0.json')]),
      runCli([...common, '--shard', '1/2', '--token', token, '--json']),
    ]);
    a = readReport(join(dir, 'shard-0.json'));
    b = JSON.parse(shards[1]!.stdout) as Report;
  }, 90_000);

  it('`wsbench serve` prints its URL and a development token', () => {
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    expect(serveOut.split('\n')[1]).toMatch(/^token: [\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('each shard runs its half of the clients, both waiting for the same --start-at, and passes', () => {
    for (const [i, r] of shards.entries()) {
      expect(r.stderr).not.toMatch(/wsbench failed/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/waiting [\d.]+ s for --start-at|--start-at \S+ had passed by/);
      expect(r.stderr).toContain(`shard ${i}/2: clients ${i * 40}..${i * 40 + 39} of 80`);
    }
    for (const rep of [a, b]) {
      expect(rep.counters['connections.opened']).toBe(40);
      expect(rep.counters['messages.sent']).toBeGreaterThan(0);
      expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
      expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    }
    // --json: stdout is the report alone; the table went to stderr.
    expect(shards[1]!.stderr).toMatch(/Delivery ledger/);
    // Node identity: the server's welcome frame names it, unless --node-identity url.
    expect(b.nodes!.map((n) => [n.id, n.clients])).toEqual([['solo', 40]]);
    expect(a.nodes!.map((n) => n.id)).not.toContain('solo');
  });

  it('`wsbench merge` adds them exactly: counters, ledger, and histograms that are the sum of the shards', async () => {
    const out = join(dir, 'merged.json');
    writeFileSync(join(dir, 'shard-1.json'), shards[1]!.stdout);
    const ok = await runCli(['merge', join(dir, 'shard-0.json'), join(dir, 'shard-1.json'), '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    const m = readReport(out);
    for (const k of new Set([...Object.keys(a.counters), ...Object.keys(b.counters)])) expect(m.counters[k], k).toBe((a.counters[k] ?? 0) + (b.counters[k] ?? 0));
    expect(m.counters['connections.opened']).toBe(80);
    for (const f of ['expected', 'delivered', 'lost', 'duplicated', 'reordered'] as const) expect(m.ledger[f], f).toBe(a.ledger[f] + b.ledger[f]);
    expect(m.ledger.delivered).toBe(m.ledger.expected);
    expect(m.generator.processes).toBe(2);
    for (const name of ['connect', 'join', 'ack', 'fanout']) {
      const sum = hdr.decodeFromCompressedBase64(a.metrics[name]!.hdr, 64, false);
      sum.add(hdr.decodeFromCompressedBase64(b.metrics[name]!.hdr, 64, false));
      const merged = hdr.decodeFromCompressedBase64(m.metrics[name]!.hdr, 64, false);
      expect(merged.totalCount, name).toBe(sum.totalCount);
      expect(m.metrics[name]!.count, name).toBe(a.metrics[name]!.count + b.metrics[name]!.count);
      for (const q of [0, 50, 90, 99, 99.9, 100]) expect(merged.getValueAtPercentile(q), `${name} p${q}`).toBe(sum.getValueAtPercentile(q));
      expect(m.metrics[name]!.max, name).toBe(Math.max(a.metrics[name]!.max, b.metrics[name]!.max));
      expect(m.metrics[name]!.min, name).toBe(Math.min(a.metrics[name]!.min, b.metrics[name]!.min));
    }
  });

  it('`wsbench serve` drains and exits 0 on SIGTERM', async () => {
    serve.kill('SIGTERM');
    expect(await serveExit).toBe(0);
  });
});
