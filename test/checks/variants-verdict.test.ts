/**
 * Unverified is its own verdict in the variants table and across `--repeat` trials:
 * never shown or summed up as a pass, nor as a plain "not passed".
 */
import { describe, expect, it } from 'vitest';
import type { CheckResult, GateResult, Report } from '../../src/report/schema.ts';
import { summarizeVariant, variantVerdict } from '../../src/run/variants.ts';
import { renderVariants } from '../../src/output/variants.ts';
import { judgeTrials } from '../../src/run/exit-decision.ts';
import { failedCheck, passedCheck, unverifiedCheck } from '../../src/checks/outcome.ts';
import { EXIT } from '../../src/errors.ts';

/** The parts of a report the variant summary and the exit decision read. */
function report(checks: CheckResult[], gates: GateResult[] = []): Report {
  return {
    status: 'completed',
    scenario: { name: 'broadcast', description: '', options: {} },
    counters: {},
    measuredMs: 1000,
    rates: { messagesSentPerSec: 0, deliveriesPerSec: 0, connectsPerSec: 0, acksPerSec: 0, roundTripsPerSec: 0 },
    checks,
    gates,
    metrics: {},
    ledger: { expected: 10, delivered: 10, lost: 0, duplicated: 0, reordered: 0 },
    generator: { saturated: false, cpuSeconds: 0, workers: [] },
    notes: [],
  } as unknown as Report;
}

const ok = passedCheck('connections.established', 'all connected');
const unknown = unverifiedCheck('delivery.exactly-once-in-order', 'the server gives no seq and the payload carries no tag');
const bad = failedCheck('delivery.exactly-once-in-order', '3 lost');

describe('variantVerdict', () => {
  it('passed only when every check passed and every gate held', () => {
    expect(variantVerdict(report([ok]))).toEqual({ verdict: 'passed', unverified: [] });
  });
  it('unverified when a check could not tell and nothing failed', () => {
    expect(variantVerdict(report([ok, unknown]))).toEqual({ verdict: 'unverified', unverified: ['delivery.exactly-once-in-order'] });
  });
  it('failed wins over unverified, also through a gate', () => {
    expect(variantVerdict(report([bad, unknown])).verdict).toBe('failed');
    expect(variantVerdict(report([ok, unknown], [{ expr: 'fanout.p99 < 1ms', passed: false } as GateResult])).verdict).toBe('failed');
  });
});

describe('the variants table', () => {
  const table = () => {
    const last = report([ok]);
    last.variants = [summarizeVariant('jitter=none', report([ok])), summarizeVariant('jitter=full', report([ok, unknown])), summarizeVariant('jitter=equal', report([bad]))];
    return { last, text: renderVariants(last) };
  };
  it('the summary says unverified, not passed', () => {
    const { last } = table();
    expect(last.variants!.map((v) => [v.verdict, v.passed])).toEqual([['passed', true], ['unverified', false], ['failed', false]]);
    expect(last.variants![1]!.unverified).toEqual(['delivery.exactly-once-in-order']);
  });
  it('shows PASS, UNVERIFIED (n) and FAIL, and names the unverified checks', () => {
    const lines = table().text.split('\n');
    expect(lines.find((l) => l.includes('jitter=none'))).toContain('PASS');
    const full = lines.find((l) => l.includes('jitter=full') && l.includes('│'))!;
    expect(full).toContain('UNVERIFIED (1)');
    expect(full).not.toMatch(/PASS|FAIL/);
    expect(lines.find((l) => l.includes('jitter=equal'))).toContain('FAIL');
    expect(table().text).toContain('jitter=full: unverified delivery.exactly-once-in-order');
  });
  it('an older report without `verdict` still reads from `passed`', () => {
    const last = report([ok]);
    last.variants = [{ label: 'a', passed: true, herdPeakPerSec: 0, lost: 0, duplicated: 0 }, { label: 'b', passed: false, herdPeakPerSec: 0, lost: 0, duplicated: 0 }];
    const text = renderVariants(last);
    expect(text).toMatch(/a +│ PASS/);
    expect(text).toMatch(/b +│ FAIL/);
  });
});

describe('--repeat: an earlier trial\'s unverified check is carried', () => {
  const policy = { refuseSaturated: false, strict: false };
  it('into the judged report and the variant summary; exit 0 without --strict', () => {
    const { report: judged, exitCode } = judgeTrials([report([ok, unknown]), report([ok, passedCheck('delivery.exactly-once-in-order', 'all arrived')])], [], policy);
    const carried = judged.checks.find((c) => c.name === 'trial1.delivery.exactly-once-in-order');
    expect(carried?.status).toBe('unverified');
    expect(carried?.reason).toContain('no seq');
    expect(exitCode).toBe(EXIT.pass);
    expect(summarizeVariant('x', judged)).toMatchObject({ verdict: 'unverified', passed: false, unverified: ['trial1.delivery.exactly-once-in-order'] });
  });
  it('fails the run with --strict', () => {
    const { exitCode } = judgeTrials([report([unknown]), report([ok])], [], { ...policy, strict: true });
    expect(exitCode).toBe(EXIT.failed);
  });
  it('an earlier failure still fails, and all-pass trials pass', () => {
    expect(judgeTrials([report([bad]), report([ok])], [], policy).exitCode).toBe(EXIT.failed);
    const clean = judgeTrials([report([ok]), report([ok])], [], policy);
    expect(clean.exitCode).toBe(EXIT.pass);
    expect(summarizeVariant('y', clean.report).verdict).toBe('passed');
  });
});
