/**
 * `wsbench run protocol`: RFC 6455 conformance passes on the bundled server and on a
 * plain `ws` server (which echoes, so the echo cases run), and fails exactly the
 * broken cases of a deliberately broken raw server (test/gallery/broken-rfc6455-server.ts).
 * One check per case, in the report and in JUnit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import type { Report } from '../../src/report/schema.ts';
import { checkStatus } from '../../src/checks/outcome.ts';
import { CONFORMANCE_CHECKS, runConformance } from '../../src/protocol/rfc6455-cases.ts';
import { runCli } from '../support/cli.ts';
import { startBrokenServer } from '../gallery/broken-rfc6455-server.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-rfc6455-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number | null; report: Report; out: string }> {
  const out = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['run', 'protocol', '--quiet', '--out', out, ...args], { timeoutMs: 90_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report, out };
}

/** A plain `ws` server that echoes, refuses 64 KiB + 1 (1009) and wants `?token=probe-token` (401 otherwise). */
async function plainEchoServer(): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024, verifyClient: (info: { req: IncomingMessage }) => new URL(info.req.url ?? '/', 'http://x').searchParams.get('token') === 'probe-token' });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data, binary) => ws.send(data as Buffer, { binary }));
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** Status of each check by name. */
const statuses = (r: Report) => Object.fromEntries(r.checks.map((c) => [c.name, checkStatus(c)]));
const ECHO = ['rfc6455.echo-sizes', 'rfc6455.echo-fragmented'];

// Independent probes of independent servers, side by side: each case is bounded by its own
// case-timeout (2..3 s, generous for loopback), so a neighbour's CPU cannot turn a pass into a fail.
describe.concurrent('protocol scenario', () => {
  it('passes every non-echo case on the bundled server; the echo cases are unverified (it does not echo)', async () => {
    const junit = join(dir, 'bundled.xml');
    const { code, report } = await run(['--junit', junit]);
    expect(report.checks.map((c) => c.name)).toEqual([...CONFORMANCE_CHECKS]);
    const s = statuses(report);
    for (const name of CONFORMANCE_CHECKS) expect(s[name], name).toBe(ECHO.includes(name) ? 'unverified' : 'passed');
    expect(report.checks.find((c) => c.name === 'rfc6455.oversize-message')!.detail).toMatch(/limit is 65536.*1009/);
    expect(code).toBe(0);
    // One JUnit test case per check.
    const xml = readFileSync(junit, 'utf8');
    for (const name of CONFORMANCE_CHECKS) expect(xml).toContain(`name="${name}"`);
  });

  it('passes every case on a plain echoing ws server with a stated limit (its --token in the URL), and --strict is satisfied', async () => {
    const { url, close } = await plainEchoServer();
    try {
      const { code, report } = await run(['--target', url, '--token', 'probe-token', '--strict', '--set', 'max-message=64KiB', '--set', 'case-timeout=3s', '--set', 'echo-wait=2s']);
      expect(report.checks.filter((c) => checkStatus(c) !== 'passed')).toEqual([]);
      expect(report.checks).toHaveLength(CONFORMANCE_CHECKS.length);
      expect(code).toBe(0);
    } finally {
      await close();
    }
  });

  it('speaks wss:// to a self-signed server with insecure=true, and cannot judge it without', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) });
    const wss = new WebSocketServer({ server: https, maxPayload: 64 * 1024 });
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (data, binary) => ws.send(data as Buffer, { binary }));
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `wss://127.0.0.1:${(https.address() as { port: number }).port}/`;
      const { code, report } = await run(['--target', url, '--set', 'insecure=true', '--set', 'max-message=64KiB', '--set', 'case-timeout=3s']);
      expect(report.checks.filter((c) => checkStatus(c) !== 'passed')).toEqual([]);
      expect(code).toBe(0);
      const strict = await runConformance({ url, caseTimeoutMs: 2000, echoWaitMs: 300, maxMessageBytes: 0, oversizeProbeBytes: 1024 });
      expect(strict.every((c) => checkStatus(c) === 'unverified')).toBe(true);
      expect(strict[0]!.reason).toMatch(/certificate/);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => https.close(r));
    }
  });

  it('says unverified, not failed, when the server refuses the probe’s credentials', async () => {
    const { url, close } = await plainEchoServer();
    try {
      const checks = await runConformance({ url, caseTimeoutMs: 2000, echoWaitMs: 500, maxMessageBytes: 0, oversizeProbeBytes: 1024 });
      // ws refuses a bad version or key before it asks for credentials: those three are still judged.
      const judged = ['rfc6455.handshake-version', 'rfc6455.handshake-missing-key', 'rfc6455.handshake-bad-key'];
      expect(checks.map((c) => checkStatus(c))).toEqual(CONFORMANCE_CHECKS.map((n) => (judged.includes(n) ? 'passed' : 'unverified')));
      expect(checks[0]!.reason).toMatch(/HTTP 401.*--token/);
    } finally {
      await close();
    }
  });

  it('fails the broken cases of a broken server, passes its correct ones, and says why', async () => {
    const broken = await startBrokenServer();
    try {
      const { code, report } = await run(['--target', broken.url, '--set', 'max-message=1KiB', '--set', 'insecure=false', '--set', 'oversize-probe=64KiB']);
      const s = statuses(report);
      const passed = ['rfc6455.handshake-accept', 'rfc6455.handshake-missing-key', 'rfc6455.control-too-long', 'rfc6455.echo-sizes'];
      for (const name of CONFORMANCE_CHECKS) expect(s[name], name).toBe(passed.includes(name) ? 'passed' : 'failed');
      const detail = (n: string) => report.checks.find((c) => c.name === `rfc6455.${n}`)!.detail;
      expect(detail('handshake-version')).toMatch(/upgraded/);
      expect(detail('ping-pong')).toMatch(/differ/);
      expect(detail('close-handshake')).toMatch(/with 1001/);
      expect(detail('unmasked-client-frame')).toMatch(/stayed open.*1002/);
      expect(detail('reserved-opcode-data')).toMatch(/closed with 1000, expected 1002/);
      expect(detail('invalid-utf8')).toMatch(/expected close 1007/);
      expect(detail('oversize-message')).toMatch(/limit is 1024.*expected close 1009/);
      expect(detail('echo-fragmented')).toMatch(/came back as/);
      expect(code).toBe(1);
    } finally {
      await broken.close();
    }
  });
});
