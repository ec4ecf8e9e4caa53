import { describe, expect, it } from 'vitest';
import { renderJunit } from '../../src/output/index.ts';
import { makeReport } from '../fixtures/reports.ts';
import { findAll, parseXml } from './xml-check.ts';

describe('renderJunit', () => {
  it('is well-formed, with one testcase per check and per gate', () => {
    const report = makeReport();
    const root = parseXml(renderJunit(report));
    expect(root.name).toBe('testsuites');
    const suites = findAll(root, 'testsuite');
    expect(suites).toHaveLength(1);
    expect(suites[0]!.attrs.name).toBe('wsbench.broadcast');
    const cases = findAll(root, 'testcase');
    expect(cases).toHaveLength(report.checks.length + report.gates.length);
    expect(suites[0]!.attrs.tests).toBe(String(cases.length));
    expect(suites[0]!.attrs.failures).toBe('2');
    const failures = findAll(root, 'failure');
    expect(failures.map((f) => f.attrs.type).sort()).toEqual(['check', 'gate']);
    const eviction = cases.find((c) => c.attrs.name === 'eviction.window')!;
    expect(eviction.children[0]!.attrs.message).toContain('45.2 s');
    expect(eviction.children[0]!.text).toContain('"worstMs": 45200');
    const gate = cases.find((c) => c.attrs.name === 'errors.rate < 0.1%')!;
    expect(gate.children[0]!.attrs.message).toContain('0.57%');
  });

  it('escapes user text, including characters XML cannot carry', () => {
    const report = makeReport({
      scenario: { name: 'a<b>&"c\'', options: {} },
      checks: [{ name: 'x < y & z', passed: false, detail: 'bad ]]> </failure> \u0001 "quoted"' }],
      gates: [{ expr: "p99 < 5ms && 'x'", passed: true, actual: 1 }],
      notes: ['<script>alert(1)</script>'],
    });
    const xml = renderJunit(report);
    const root = parseXml(xml);
    expect(findAll(root, 'testsuite')[0]!.attrs.name).toBe('wsbench.a<b>&"c\'');
    const cases = findAll(root, 'testcase');
    expect(cases.map((c) => c.attrs.name)).toEqual(['x < y & z', "p99 < 5ms && 'x'"]);
    expect(findAll(root, 'failure')[0]!.attrs.message).toContain('</failure>');
    expect(xml).not.toContain('\u0001');
  });

  it('a run without checks or gates is an empty, valid suite', () => {
    const root = parseXml(renderJunit(makeReport({ checks: [], gates: [] })));
    expect(findAll(root, 'testcase')).toHaveLength(0);
    expect(findAll(root, 'testsuite')[0]!.attrs.tests).toBe('0');
  });
});
