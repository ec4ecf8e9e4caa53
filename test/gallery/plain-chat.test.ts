/**
 * wsbench against "plain-chat" (test/gallery/plain-chat.ts): a dialect with no seq, no
 * room on broadcasts, no ids on replies and no publish ack, driven end to end through
 * `--adapter examples/plain-chat-adapter.ts` with bundled scenarios.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../src/report/schema.ts';
import { QUICK, runCli } from '../support/cli.ts';
import { startPlainChat, type PlainChat } from './plain-chat.ts';

const ADAPTER = fileURLToPath(new URL('../../examples/plain-chat-adapter.ts', import.meta.url));
let dir: string;
let server: PlainChat | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-plain-chat-'));
  return () => rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function run(args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['run', ...args, '--quiet', '--out', out], { timeoutMs: 60_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report, stderr: r.stderr };
}

const errorCounters = (r: Report) => Object.keys(r.counters).filter((k) => k.startsWith('errors.') && r.counters[k]! > 0);

describe('plain-chat through --adapter', () => {
  it('broadcast: no ack errors, every copy filed in its room, the ledger equal to the server\'s drops and duplicates', async () => {
    server = await startPlainChat({ limit: 1_000_000, heartbeatMs: 0, dropEvery: 7, duplicateEvery: 11 });
    const { report } = await run(['broadcast', '--target', server.url, '--adapter', ADAPTER, '--clients', '24', '--rooms', '3', '--rate', '60', ...QUICK]);
    const s = server.stats();
    expect(errorCounters(report)).toEqual([]);
    expect(s.messages).toBe(report.counters['messages.sent']);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.duplicated).toBeGreaterThan(0);
    // Every copy the server sent (duplicates in, drops out) was received and filed under its own room.
    const sent = Object.values(s.sentByChannel).reduce((a, b) => a + b, 0);
    expect(report.counters['messages.received']).toBe(sent);
    const byRoom = Object.fromEntries((report.rooms ?? []).map((r) => [r.room, r.delivered + r.duplicated]));
    expect(byRoom).toEqual(s.sentByChannel);
    // The publisher's own copy acknowledged its publish: acks were timed, none was lost.
    expect(report.metrics.ack?.count).toBeGreaterThan(0);
    // Without seq, the tag ledger counts exactly what the server dropped and doubled.
    expect(report.ledger).toMatchObject({ mode: 'tag', lost: s.dropped, duplicated: s.duplicated, reordered: 0 });
  });

  it('heartbeat: zombies are evicted by the server\'s ws pings and timed, healthy clients kept', async () => {
    // A 1 s ping interval: a healthy client on a busy test machine still answers in time.
    server = await startPlainChat({ heartbeatMs: 1000 });
    const { report } = await run(['heartbeat', '--target', server.url, '--adapter', ADAPTER, '--clients', '20', '--seed', '1', '--set', 'heartbeat-ms=1s', '--set', 'zombies=25%', '--set', 'freeze=false', '--warmup', '500ms', '--duration', '4500ms', '--cooldown', '500ms']);
    expect(report.counters.zombies).toBeGreaterThan(0);
    expect(report.counters.evictions).toBe(report.counters.zombies);
    expect(report.metrics.eviction?.count).toBe(report.counters.zombies);
    expect(report.counters['healthy.dropped'] ?? 0).toBe(0);
    expect(server.stats().evicted).toBe(report.counters.zombies);
    // Echo acks work: no publish waited out its ack. A zombie cut with its own publish in flight loses
    // that ack (at most one per zombie), which is the eviction, not the dialect.
    expect(report.counters['errors.ack_timeout'] ?? 0).toBe(0);
    expect(report.counters['errors.ack_lost'] ?? 0).toBeLessThanOrEqual(report.counters.zombies!);
  });

  it('rate-limit: the server\'s own error text is recognised through the adapter and its 1008 closes counted', async () => {
    // A fixed window of 20 frames per second: the stated 20/s; compliant clients send 10/s, abusive ones 60/s.
    server = await startPlainChat({ limit: 20, windowMs: 1000, heartbeatMs: 0 });
    const { report } = await run(['rate-limit', '--target', server.url, '--adapter', ADAPTER, '--clients', '10', '--seed', '1', '--set', 'abusive=30%', '--rate', '20', '--set', 'burst=10', '--set', 'close-slack=1s', '--duration', '3s']);
    const s = server.stats();
    expect(s.rateLimited).toBeGreaterThan(0);
    expect(report.counters['errors.rate_limited']).toBe(s.rateLimited);
    expect(report.counters['close.1008']).toBe(s.rateLimited);
    const passed = (name: string) => report.checks.find((c) => c.name === name)?.passed;
    expect(passed('rate-limit.compliant-unaffected')).toBe(true);
    expect(passed('rate-limit.abusers-closed')).toBe(true);
    expect(passed('rate-limit.error-frames-capped')).toBe(true);
  });
});

describe('a dialect that sends no welcome', () => {
  it('is named: clients waiting for a welcome fail as no_welcome (WSB_ERR_NO_WELCOME), not as unreachable', async () => {
    server = await startPlainChat({ heartbeatMs: 0 });
    const r = await runCli(['run', 'broadcast', '--target', server.url, '--set', 'ws-fields=type=action,room=channel', '--set', 'request-timeout-ms=500ms', '--clients', '2', '--rooms', '1', '--quiet', '--out', join(dir, 'welcome.json')], { timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/never sent the welcome frame the dialect waits for: no_welcome: the WebSocket opened but the server sent no welcome frame within 500 ms/);
    expect(r.stderr).toMatch(/ws-types=welcome=none/);
  });
});

describe('--adapter errors', () => {
  it('a module that exports no codec stops the run before it starts: exit 2, saying what to export', async () => {
    const none = join(dir, 'none.ts');
    writeFileSync(none, 'export const x = 1;\n');
    const r = await runCli(['run', 'broadcast', '--target', 'ws://127.0.0.1:9/', '--adapter', none, '--quiet'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/adapter .*none\.ts exports no codec \(exports: x\)/);
    expect(r.stderr).toMatch(/hint: export default a codec/);
  });
});
