/**
 * Exit 4 end to end: a workload that really saturates the generator (one client
 * blocks its worker's event loop, test/fixtures/scenarios/busy-generator.ts) is
 * judged saturated, and `--refuse-saturated` turns a run whose checks all passed
 * into exit 4. Unsaturated runs elsewhere gate on `generator.saturated == false`
 * (test/gates-e2e), so the threshold is proven from both sides.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { SATURATION } from '../../src/metrics/index.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-saturated-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--refuse-saturated', () => {
  it('exits 4 on a generator whose event loop is blocked, though every check passed, and says which worker and why', async () => {
    const out = join(dir, 'busy.json');
    const r = await runCli(['run', 'test/fixtures/scenarios/busy-generator.ts', '--warmup', '300ms', '--cooldown', '300ms', '--duration', '1500ms', '--refuse-saturated', '--quiet', '--out', out]);
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code, r.stderr).toBe(4);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(rep.checks.length).toBeGreaterThan(0);
    for (const c of rep.checks) expect(c.passed, `${c.name}: ${c.detail}`).toBe(true);
    expect(rep.generator.saturated).toBe(true);
    expect(rep.generator.eventLoopDelayP99Us).toBeGreaterThan(SATURATION.eventLoopDelayP99Us);
    expect(rep.generator.reason).toMatch(new RegExp(`^worker 0: event-loop delay p99 [\\d.]+ ms is above ${SATURATION.eventLoopDelayP99Us / 1000} ms$`));
  });
});
