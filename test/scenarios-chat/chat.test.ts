/**
 * `wsbench run chat --protocol socketio`: on the bundled Socket.IO server every feature
 * (room messages, typing, private messages live and from the offline queue, presence)
 * is timed in its own histogram and both ledgers are exact; on a server that forgets
 * the private messages it "queued" for offline users, the private-message ledger and
 * the offline-delivery check fail with the count the server itself dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { checkStatus } from '../../src/checks/outcome.ts';
import { METRIC } from '../../src/metrics/names.ts';
import { runCli } from '../support/cli.ts';
import { startForgetfulChatServer } from '../gallery/forgetful-chat-server.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-chat-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small, busy mix: many users away for a while, many private messages aimed at them. */
const MIX = ['--clients', '30', '--rooms', '6', '--duration', '8s', '--warmup', '500ms', '--cooldown', '2s', '--seed', '7',
  '--set', 'think=1s', '--set', 'typing=300ms', '--set', 'typing-only=10%', '--set', 'private-share=30%',
  '--set', 'away=40%', '--set', 'away-for=2s', '--set', 'offline-target=60%', '--set', 'rooms-per-client=2'];

async function run(args: string[]): Promise<{ code: number | null; report: Report }> {
  const out = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['run', 'chat', '--protocol', 'socketio', '--quiet', '--out', out, ...MIX, ...args], { timeoutMs: 120_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
}
const check = (r: Report, name: string) => r.checks.find((c) => c.name === name)!;

// Three independent runs side by side: they assert counts, ledgers and checks, none a latency.
describe.concurrent('chat scenario', () => {
  it('times every feature on the bundled Socket.IO server and keeps both ledgers exact', async () => {
    const { code, report } = await run([]);
    const c = report.counters;
    expect(report.checks.filter((x) => checkStatus(x) !== 'passed')).toEqual([]);
    expect(report.checks.map((x) => x.name)).toEqual(expect.arrayContaining(['chat.messages-exactly-once', 'chat.private-exactly-once', 'chat.offline-delivery', 'chat.features-measured']));
    for (const m of [METRIC.fanout, METRIC.chatTyping, METRIC.chatPrivate, METRIC.chatOffline, METRIC.chatPresence]) expect(report.metrics[m]?.count, m).toBeGreaterThan(0);
    // The private-message ledger, exactly: every accepted message once, the queued ones from the queue.
    expect(c['chat.pm.received']).toBe(c['chat.pm.sent']);
    expect(c['chat.pm.duplicated'] ?? 0).toBe(0);
    expect(c['chat.pm.queued']).toBeGreaterThan(0);
    expect(c['chat.pm.received_offline']).toBe(c['chat.pm.queued']);
    expect(c['chat.returned']).toBe(c['chat.away']);
    expect(report.ledger.lost + report.ledger.duplicated).toBe(0);
    expect(code).toBe(0);
  });

  it('runs the native flavour too: posts and presence timed, private messages unverified (wsbench/1 has none)', async () => {
    const out = join(dir, 'native.json');
    const r = await runCli(['run', 'chat', '--quiet', '--out', out, ...MIX], { timeoutMs: 120_000 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(checkStatus(check(report, 'chat.messages-exactly-once'))).toBe('passed');
    expect(checkStatus(check(report, 'chat.features-measured'))).toBe('passed');
    expect(checkStatus(check(report, 'chat.private-exactly-once'))).toBe('unverified');
    expect(report.metrics[METRIC.chatPresence]?.count).toBeGreaterThan(0);
    expect(report.metrics[METRIC.chatTyping]).toBeUndefined();
    expect(r.code).toBe(0);
  });

  it('fails the private-message ledger and offline delivery on a server that forgets queued messages', async () => {
    const server = await startForgetfulChatServer();
    try {
      // The server's user ids are the token's sub: the minted ones, renamed (and said so with user-id).
      const { code, report } = await run(['--target', server.url, '--token-claims', '{"sub":"member-{client}"}', '--set', 'user-id=member-{client}']);
      const c = report.counters;
      expect(server.counts.forgotten).toBeGreaterThan(0);
      expect(c['chat.pm.queued']).toBe(server.counts.forgotten);
      expect(c['chat.pm.received_offline'] ?? 0).toBe(0);
      const pm = check(report, 'chat.private-exactly-once');
      expect(checkStatus(pm)).toBe('failed');
      expect(pm.detail).toContain(`${server.counts.forgotten} of ${c['chat.pm.sent']} accepted private messages never arrived`);
      expect(checkStatus(check(report, 'chat.offline-delivery'))).toBe('failed');
      // What it does right still passes: room messages (tag ledger) and typing/presence timing.
      expect(checkStatus(check(report, 'chat.messages-exactly-once'))).toBe('passed');
      expect(report.metrics[METRIC.chatTyping]?.count).toBeGreaterThan(0);
      expect(code).toBe(1);
    } finally {
      await server.close();
    }
  });
});
