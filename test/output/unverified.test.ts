import { describe, expect, it } from 'vitest';
import { makeReport } from '../fixtures/reports.ts';
import { renderHtml, renderJunit, renderMarkdown, renderTable } from '../../src/output/index.ts';
import { verdictOf } from '../../src/output/verdict.ts';
import { decideExit, worstExit } from '../../src/run/exit-decision.ts';
import { passedCheck, unverifiedCheck, failedCheck } from '../../src/checks/outcome.ts';
import { EXIT } from '../../src/errors.ts';
import type { Report } from '../../src/report/schema.ts';
import { findAll, parseXml } from './xml-check.ts';

const REASON = 'the server\'s 12 messages carry no harness tag and no seq, so delivery cannot be judged';

function unverifiedRun(extra: Partial<Report> = {}): Report {
  return makeReport({
    status: 'completed',
    gates: [],
    generator: { ...makeReport().generator, saturated: false },
    checks: [passedCheck('connections.established', 'all 10 clients connected and joined'), unverifiedCheck('delivery.exactly-once-in-order', REASON)],
    ...extra,
  });
}

describe('an unverified check is never a pass', () => {
  it('counts apart from passes and failures on the verdict line', () => {
    const v = verdictOf(unverifiedRun());
    expect(v).toMatchObject({ failedChecks: 0, unverifiedChecks: 1, summary: 'passed, 1 check UNVERIFIED' });
    const failing = verdictOf(unverifiedRun({ checks: [failedCheck('a', 'x'), unverifiedCheck('b', 'y')] }));
    expect(failing.summary).toBe('failed: 1 check failed, 1 check UNVERIFIED');
  });

  it('exits 0 by default and 1 with --strict; failures, harness errors and Ctrl-C still win', () => {
    const r = unverifiedRun();
    expect(decideExit(r, { refuseSaturated: false, strict: false })).toBe(EXIT.pass);
    expect(decideExit(r, { refuseSaturated: false, strict: true })).toBe(EXIT.failed);
    expect(decideExit({ ...r, checks: [...r.checks, failedCheck('x', 'y')] }, { refuseSaturated: false, strict: false })).toBe(EXIT.failed);
    expect(decideExit({ ...r, status: 'failed' }, { refuseSaturated: false, strict: true })).toBe(EXIT.harness);
    expect(decideExit({ ...r, status: 'interrupted' }, { refuseSaturated: true, strict: true })).toBe(EXIT.interrupted);
    expect(worstExit([EXIT.pass, EXIT.failed, EXIT.interrupted, EXIT.harness])).toBe(EXIT.interrupted);
    expect(worstExit([EXIT.pass, EXIT.saturated, EXIT.failed])).toBe(EXIT.saturated);
  });

  it('the console table says UNVERIFIED with the reason, in the checks and in a closing banner', () => {
    const text = renderTable(unverifiedRun(), { width: 200 });
    expect(text).toMatch(/delivery\.exactly-once-in-order\s*│\s*UNVERIFIED/);
    expect(text).toMatch(/PASS, NOT PROVEN \(1 check UNVERIFIED\)/);
    expect(text.trimEnd().split('\n').slice(-3).join('\n')).toMatch(/could not be verified and did NOT pass: delivery\.exactly-once-in-order/);
    expect(text).toContain('carry no harness tag');
  });

  it('JUnit marks it <skipped> with the reason, not as a pass or a failure', () => {
    const xml = renderJunit(unverifiedRun());
    const skipped = findAll(parseXml(xml), 'skipped');
    expect(skipped).toHaveLength(1);
    expect(findAll(parseXml(xml), 'failure')).toHaveLength(0);
    expect(xml).toMatch(/<testsuite [^>]*tests="2" failures="0" errors="0" skipped="1"/);
    expect(xml).toMatch(/<testcase [^>]*name="delivery.exactly-once-in-order"[^>]*>\s*<skipped message="unverified: the server&#39;s 12 messages carry no harness tag/);
  });

  it('Markdown and HTML show it as unverified', () => {
    const md = renderMarkdown(unverifiedRun());
    expect(md).toMatch(/^### ⚠️ wsbench `[^`]+` passed, 1 check UNVERIFIED/);
    expect(md).toMatch(/\| ⚠️ unverified \| `delivery.exactly-once-in-order` \| unverified: /);
    const html = renderHtml(unverifiedRun());
    expect(html).toContain('<span class="pill unverified">UNVERIFIED</span>');
    expect(html).toContain('NOT PROVEN');
  });
});
