/**
 * JUnit XML for CI systems: one <testsuite> per run, one <testcase> per check
 * and per gate, a <failure> with the detail for each one that failed, a <skipped>
 * with the reason for each check that could not be verified.
 */
import type { Report } from '../report/schema.ts';
import { escapeXml as x } from './escape.ts';
import { formatGateActual, unverifiedNote, verdictOf } from './verdict.ts';
import { checkStatus } from '../checks/outcome.ts';

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** Render a run as a JUnit XML document (UTF-8, with declaration, trailing newline). */
export function renderJunit(report: Report): string {
  const v = verdictOf(report);
  const suite = `wsbench.${report.scenario.name}`;
  const tests = report.checks.length + report.gates.length;
  const failures = v.failedChecks + v.failedGates;
  const skipped = v.unverifiedChecks;
  const time = seconds(report.durationMs);
  const lines: string[] = [];
  lines.push('<?xml version="1.0" encoding="UTF-8"?>');
  lines.push(`<testsuites name="wsbench" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}">`);
  lines.push(
    `  <testsuite name="${x(suite)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}" timestamp="${x(report.startedAt)}" hostname="${x(report.machine.hostname)}">`,
  );
  const props: Array<[string, unknown]> = [
    ['scenario', report.scenario.name],
    ['status', report.status],
    ['verdict', v.summary],
    ['target', `${report.target.kind} ${report.target.protocol} x${report.target.nodes}`],
    ['tool', `${report.tool.name} ${report.tool.version}`],
    ['generator.saturated', report.generator.saturated],
  ];
  if (report.generator.reason) props.push(['generator.reason', report.generator.reason]);
  if (report.git) props.push(['git.sha', report.git.sha]);
  lines.push('    <properties>');
  for (const [name, value] of props) lines.push(`      <property name="${x(name)}" value="${x(value)}"/>`);
  lines.push('    </properties>');

  for (const check of report.checks) {
    const open = `    <testcase classname="${x(`${suite}.checks`)}" name="${x(check.name)}" time="0"`;
    if (check.passed) {
      lines.push(`${open}/>`);
      continue;
    }
    const evidence = check.evidence === undefined ? '' : `\nevidence: ${JSON.stringify(check.evidence, null, 2)}`;
    lines.push(`${open}>`);
    if (checkStatus(check) === 'unverified') {
      const reason = `unverified: ${check.reason ?? check.detail}`;
      lines.push(`      <skipped message="${x(reason)}"/>`);
      lines.push(`      <system-out>${x(`${reason}${evidence}`)}</system-out>`);
    } else lines.push(`      <failure type="check" message="${x(check.detail)}">${x(`${check.detail}${evidence}`)}</failure>`);
    lines.push('    </testcase>');
  }
  for (const gate of report.gates) {
    const open = `    <testcase classname="${x(`${suite}.gates`)}" name="${x(gate.expr)}" time="0"`;
    if (gate.passed) {
      lines.push(`${open}/>`);
      continue;
    }
    const message = `${gate.expr} failed: actual ${formatGateActual(gate)}${gate.detail ? ` (${gate.detail})` : ''}`;
    lines.push(`${open}>`);
    lines.push(`      <failure type="gate" message="${x(message)}">${x(message)}</failure>`);
    lines.push('    </testcase>');
  }
  const unverified = unverifiedNote(report);
  if (report.generator.saturated || report.notes.length > 0 || unverified) {
    const out = [
      ...(report.generator.saturated ? [`GENERATOR SATURATED: ${report.generator.reason ?? 'no reason given'}`] : []),
      ...(unverified ? [unverified] : []),
      ...report.notes,
    ].join('\n');
    lines.push(`    <system-out>${x(out)}</system-out>`);
  }
  lines.push('  </testsuite>');
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
