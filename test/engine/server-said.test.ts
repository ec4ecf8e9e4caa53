/**
 * What the server said is kept: handshake refusals counted by reason with the server's own
 * words as the example, and a server that never greets is named as such, with the report
 * of the failed run (exit 3) written to --out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { readReport, suiteDir } from '../support/suite-dir.ts';
import { faultyBroadcastPool } from '../gallery/faulty-broadcast.ts';

const file = suiteDir('wsbench-said-', beforeAll);
// Each test has its own server; the runs mostly wait, so they run side by side.
const start = faultyBroadcastPool(afterAll);

describe.concurrent('keep what the server said', () => {
  it('refused handshakes are counted by status with the body as the example, in the table and the JSON', async () => {
    const server = await start({ refuseEvery: 4 });
    const out = file('refused.json');
    const r = await runCli(['run', 'broadcast', '--target', server.url, '--clients', '20', '--rooms', '2', '--rate', '50', '--warmup', '200ms', '--duration', '500ms', '--cooldown', '300ms', '--out', out]);
    const report = readReport(out);
    expect(server.counts().handshakesRefused).toBe(5);
    expect(report.counters['errors.http_429']).toBe(5);
    expect(report.errorExamples?.['errors.http_429']).toBe('Unexpected server response: 429: Rate limit exceeded');
    expect(r.stdout).toMatch(/http_429\s*│\s*Unexpected server response: 429: Rate limit exceeded/);
    expect(report.checks.find((c) => c.name === 'connections.established')).toMatchObject({ status: 'failed', detail: '5 of 20 clients failed to connect during the ramp' });
    expect(r.code).toBe(1);
  });

  it('joins the server never answered: connections.established fails instead of saying "connected and joined"', async () => {
    const server = await start({ silentJoinEvery: 5 });
    const out = file('joins.json');
    const r = await runCli(['run', 'broadcast', '--target', server.url, '--clients', '20', '--rooms', '2', '--rate', '20', '--warmup', '200ms', '--duration', '300ms', '--cooldown', '300ms', '--set', 'request-timeout-ms=800ms', '--out', out]);
    const report = readReport(out);
    const established = report.checks.find((c) => c.name === 'connections.established')!;
    expect(established).toMatchObject({ status: 'failed', evidence: { connected: 20, joined: 16 } });
    expect(established.detail).toBe('all 20 clients connected, but 4 of them did not get every join answered (join timed out or refused)');
    expect(report.counters['errors.join_timeout']).toBe(4);
    expect(r.code).toBe(1);
  });

  it('a server that never sends the welcome frame is named as such; exit 3 still writes the report with its status and cause', async () => {
    const server = await start({ welcome: false });
    const out = file('silent.json');
    const r = await runCli(['run', 'broadcast', '--target', server.url, '--clients', '4', '--rooms', '2', '--set', 'request-timeout-ms=800ms', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/never sent the welcome frame/);
    expect(r.stderr).not.toMatch(/could not connect any client/);
    const report = readReport(out);
    expect(report.status).toBe('failed');
    expect(report.cause).toMatchObject({ code: 'WSB_ERR_NO_WELCOME' });
    expect(report.cause!.message).toMatch(/no welcome frame within 800 ms/);
    expect(report.errorExamples?.['errors.no_welcome']).toMatch(/sent no welcome frame/);
  });
});
