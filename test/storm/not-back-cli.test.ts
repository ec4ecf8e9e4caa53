/**
 * A real storm whose clients cannot all come back: the bundled server restarts and stays down
 * past the end of the run. The all-back check must fail with evidence: every dropped client is
 * either back or counted by what it was doing, with the error of its last attempt.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import type { Report } from '../../src/report/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsb-storm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reconnect-storm with clients that cannot come back', () => {
  it('fails reconnect.all-back and names why each client not back is not', async () => {
    const out = join(dir, 'down.json');
    const r = await runCli(
      ['run', 'reconnect-storm', '--quiet', '--clients', '120', '--rooms', '4', '--warmup', '300ms', '--duration', '3s', '--cooldown', '300ms', '--set', 'storm-at=500ms', '--set', 'method=restart', '--set', 'down-ms=30s', '--set', 'backoff-base-ms=100', '--set', 'backoff-cap-ms=300', '--out', out],
      { timeoutMs: 120_000 },
    );
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const check = report.checks.find((c) => c.name === 'reconnect.all-back')!;
    expect(check.passed).toBe(false);
    expect(check.detail).toMatch(/not back at the end: /);
    const ev = check.evidence as { dropped: number; rejoined: number; notBack: Record<string, number> };
    expect(ev.dropped).toBe(120);
    // Every client is accounted for exactly once: back, or in one of the states (last_error.* is a second view).
    const inStates = Object.entries(ev.notBack)
      .filter(([k]) => !k.startsWith('last_error.'))
      .reduce((a, [, n]) => a + n, 0);
    expect(ev.rejoined + inStates).toBe(120);
    expect(ev.rejoined).toBeLessThan(120);
    // The server is down: the attempts are refused.
    expect(ev.notBack['last_error.ECONNREFUSED']).toBeGreaterThan(0);
  }, 150_000);
});
