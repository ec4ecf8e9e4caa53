import { describe, expect, it } from 'vitest';
import { formatDuration, renderMarkdown } from '../../src/output/index.ts';
import { makeReport } from '../fixtures/reports.ts';

describe('renderMarkdown', () => {
  it('starts with the verdict and holds latency, throughput, ledger, checks and gates', () => {
    const report = makeReport();
    const md = renderMarkdown(report);
    const lines = md.split('\n');
    expect(lines[0]).toBe('### ❌ wsbench `broadcast` failed: 1 check failed, 1 gate failed');
    expect(md).toContain('| metric | count | p50 | p90 | p99 | p99.9 | max |');
    expect(md).toContain(`| \`fanout\` | 20,000 | ${formatDuration(report.metrics.fanout!.p50)} |`);
    expect(md).toContain('**19.2k/s** deliveries');
    expect(md).toMatch(/\| 421,841 \| 421,824 \| \*\*17\*\* ⚠️ \| 0 \| \*\*3\*\* ⚠️ \|/);
    expect(md).toContain('| ❌ | `eviction.window` |');
    expect(md).toContain('| ✅ | `fanout.p99 < 50ms` | 7.97ms |');
    // Every table row has the same number of cells as its header.
    for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
      const counts = block.split('\n').filter(Boolean).map((l) => l.replace(/\\\|/g, '').split('|').length);
      expect(new Set(counts).size).toBe(1);
    }
  });

  it('passes, warns on saturation, and escapes user text', () => {
    const base = makeReport();
    const md = renderMarkdown(
      makeReport({
        scenario: { name: 'x`y|z', options: {} },
        checks: [{ name: 'ok', passed: true, detail: 'a | b <img src=x onerror=alert(1)> *bold*\nnext' }],
        gates: [],
        generator: { ...base.generator, saturated: true, reason: 'CPU 100%' },
      }),
    );
    expect(md.split('\n')[0]).toBe('### ✅ wsbench ``x`y\\|z`` passed');
    expect(md).toContain('Generator saturated:** CPU 100%');
    expect(md).toContain('a \\| b &lt;img src=x onerror=alert(1)\\> \\*bold\\* next');
    expect(md).not.toContain('#### Gates');
  });
});
