/**
 * A short Markdown summary for a CI job page or a pull-request comment
 * (GitHub-flavoured: tables, no raw HTML).
 */
import type { Report } from '../report/schema.ts';
import { escapeMarkdown as md, markdownCode as code } from './escape.ts';
import { formatCount, formatDuration, formatRate } from './format.ts';
import { serverSideRows } from './server-side.ts';
import { formatGateActual, orderedMetricNames, totalErrors, unverifiedNote, verdictOf } from './verdict.ts';
import { checkStatus } from '../checks/outcome.ts';

function table(head: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const rule = align.map((a) => (a === 'r' ? '---:' : ':---'));
  return [head, rule, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/**
 * Render the summary: verdict line, run line, saturation warning, latency
 * table, throughput, delivery ledger, checks, gates. Ends with a newline.
 */
export function renderMarkdown(report: Report): string {
  const v = verdictOf(report);
  const out: string[] = [];
  const icon = v.passed ? (v.unverifiedChecks ? '⚠️' : '✅') : '❌';
  out.push(`### ${icon} wsbench ${code(report.scenario.name)} ${md(v.summary)}`);
  const unverified = unverifiedNote(report);
  if (unverified) out.push('', `> **${md(unverified)}**`);
  out.push('');
  out.push(
    [
      `${md(report.target.kind)} ${md(report.target.protocol)}, ${report.target.nodes} node${report.target.nodes === 1 ? '' : 's'}`,
      formatDuration(report.durationMs * 1000),
      `status ${md(report.status)}`,
      `${report.generator.processes} generator process${report.generator.processes === 1 ? '' : 'es'}`,
      `${md(report.tool.name)} ${md(report.tool.version)}${report.git ? ` @ ${code(report.git.sha.slice(0, 12))}` : ''}`,
    ].join(' · '),
  );
  if (report.generator.saturated) {
    out.push('');
    out.push(`> **⚠️ Generator saturated:** ${md(report.generator.reason ?? 'the load generator could not keep up')}. Latencies and rates of this run are not trustworthy.`);
  }

  const names = orderedMetricNames(report.metrics);
  if (names.length > 0) {
    out.push('', '#### Latency', '');
    out.push(
      table(
        ['metric', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'],
        names.map((n) => {
          const m = report.metrics[n]!;
          return [code(n), formatCount(m.count), formatDuration(m.p50), formatDuration(m.p90), formatDuration(m.p99), formatDuration(m.p999), formatDuration(m.max)];
        }),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
  }

  const serverRows = serverSideRows(report.server);
  if (serverRows.length) {
    out.push('', '#### Server side (its own metrics)', '');
    out.push(table(['', ''], serverRows.map(([k, v]) => [k, md(v)]), ['l', 'l']));
  }

  const r = report.rates;
  out.push('', '#### Throughput', '');
  out.push(
    `**${formatRate(r.messagesSentPerSec)}** sent · **${formatRate(r.deliveriesPerSec)}** deliveries · **${formatRate(r.connectsPerSec)}** connects · ${formatCount(totalErrors(report.counters))} errors`,
  );

  const l = report.ledger;
  const flag = (n: number) => (n > 0 ? `**${formatCount(n)}** ⚠️` : formatCount(n));
  const tag = l.mode === 'tag';
  out.push('', `#### Delivery ledger${l.mode ? ` (${l.mode} mode)` : ''}`, '');
  out.push(
    table(
      ['expected', 'delivered', 'lost', 'duplicated', 'reordered', ...(tag ? ['refused', 'unjudged'] : [])],
      [[formatCount(l.expected), formatCount(l.delivered), flag(l.lost), flag(l.duplicated), flag(l.reordered), ...(tag ? [flag(l.refused ?? 0), formatCount(l.unjudged ?? 0)] : [])]],
      tag ? ['r', 'r', 'r', 'r', 'r', 'r', 'r'] : ['r', 'r', 'r', 'r', 'r'],
    ),
  );

  if (report.checks.length > 0) {
    out.push('', '#### Checks', '');
    out.push(table(['', 'check', 'detail'], report.checks.map((c) => [{ passed: '✅', failed: '❌', unverified: '⚠️ unverified' }[checkStatus(c)], code(c.name), md(c.detail)]), ['l', 'l', 'l']));
  }
  if (report.gates.length > 0) {
    out.push('', '#### Gates', '');
    out.push(
      table(
        ['', 'gate', 'actual', 'detail'],
        report.gates.map((g) => [g.passed ? '✅' : '❌', code(g.expr), formatGateActual(g), md(g.detail ?? '')]),
        ['l', 'l', 'r', 'l'],
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
