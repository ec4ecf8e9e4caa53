/**
 * Socket.IO handshake refusals are counted by reason (`errors.<code>`) with the
 * server's words kept as the example, by both clients: a 429 from a limiter in front
 * of Socket.IO (`errors.http_429`) and `connect_error`s from the server's middleware
 * (`errors.handshake_refused_<message>`), each equal to what the server refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { startRefusingSocketIoServer, type RefusingServer } from '../gallery/socketio-refusing-server.ts';
import { connectFailure, refusalCode } from '../../src/protocol/socketio-errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-sio-refusals-'));
const servers: RefusingServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function runAgainst(extra: string[]): Promise<{ report: Report; server: RefusingServer; stderr: string }> {
  const server = await startRefusingSocketIoServer({ httpEvery: 4, middleware: [[5, 'Rate limit exceeded'], [7, 'unauthorized']] });
  servers.push(server);
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['run', 'broadcast', '--protocol', 'socketio', '--target', server.url, ...extra, '--clients', '30', '--rooms', '3', '--rate', '20', '--warmup', '300ms', '--duration', '1s', '--cooldown', '300ms', '--quiet', '--out', out], { timeoutMs: 90_000 });
  expect(r.stderr).not.toMatch(/wsbench failed/);
  return { report: JSON.parse(readFileSync(out, 'utf8')) as Report, server, stderr: r.stderr };
}

/** `bodyKept`: the client can read the 429's body (socket.io-client's WebSocket transport, the `ws` client, cannot). */
function expectCountedByReason(report: Report, server: RefusingServer, bodyKept = true): void {
  const s = server.counts();
  expect(s.http429).toBeGreaterThan(0);
  expect(s.refused['Rate limit exceeded']).toBeGreaterThan(0);
  expect(s.refused.unauthorized).toBeGreaterThan(0);
  expect(report.counters['errors.http_429']).toBe(s.http429);
  expect(report.counters['errors.handshake_refused_rate_limit_exceeded']).toBe(s.refused['Rate limit exceeded']);
  expect(report.counters['errors.handshake_refused_unauthorized']).toBe(s.refused.unauthorized);
  // No refusal lumped under a shared code.
  expect(report.counters['errors.handshake_refused'] ?? 0).toBe(0);
  expect(report.counters['errors.connect_failed'] ?? 0).toBe(0);
  // The server's words, kept as the example of each reason.
  expect(report.errorExamples?.['errors.http_429']).toMatch(bodyKept ? /HTTP 429.*Rate limit exceeded/ : /HTTP 429/);
  expect(report.errorExamples?.['errors.handshake_refused_rate_limit_exceeded']).toContain('Rate limit exceeded');
  expect(report.errorExamples?.['errors.handshake_refused_unauthorized']).toContain('unauthorized');
}

describe('Socket.IO handshake refusals, counted by reason', () => {
  let lean: Promise<{ report: Report; server: RefusingServer }>;
  let sioc: Promise<{ report: Report; server: RefusingServer }>;
  let polling: Promise<{ report: Report; server: RefusingServer }>;
  beforeAll(() => {
    lean = runAgainst([]);
    sioc = runAgainst(['--set', 'client=socket.io-client']);
    polling = runAgainst(['--set', 'client=socket.io-client', '--set', 'transports=polling']);
  });

  it('the lean client (WebSocket upgrade refused, connect_error)', async () => {
    const { report, server } = await lean;
    expectCountedByReason(report, server);
  }, 100_000);

  it('socket.io-client over WebSocket', async () => {
    const { report, server } = await sioc;
    expectCountedByReason(report, server, false);
  }, 100_000);

  it('socket.io-client over long-polling (the polling handshake refused)', async () => {
    const { report, server } = await polling;
    expectCountedByReason(report, server);
  }, 100_000);
});

describe('refusal codes', () => {
  it('a message becomes a bounded slug; an empty one the plain code', () => {
    expect(refusalCode('Rate limit exceeded')).toBe('handshake_refused_rate_limit_exceeded');
    expect(refusalCode('unauthorized: malformed token')).toBe('handshake_refused_unauthorized_malformed_token');
    expect(refusalCode('')).toBe('handshake_refused');
    expect(refusalCode('x'.repeat(80)).length).toBe('handshake_refused_'.length + 40);
  });
  it('an HTTP status names the code; a wrong path keeps its hint', () => {
    expect(connectFailure('connect_failed', 'websocket error', 'Unexpected server response: 503: busy', '', '/socket.io')).toMatchObject({ code: 'http_503', detail: expect.stringContaining('HTTP 503') });
    expect(connectFailure('connect_failed', 'xhr poll error', '401', 'nope', '/socket.io')).toMatchObject({ code: 'http_401', detail: expect.stringContaining('(nope)') });
    expect(connectFailure('connect_failed', 'xhr poll error', '404', '', '/nope')).toMatchObject({ code: 'http_404', detail: expect.stringContaining('path /nope') });
    expect(connectFailure('connect_failed', 'websocket error', 'socket hang up', '', '/nope').code).toBe('connect_failed');
  });
});
