import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/output/index.ts';
import { makeReport, withoutHdr } from '../fixtures/reports.ts';

const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;
const FALLBACK_HINT = /Drawn from the summary percentiles/g;

describe('renderHtml (as text)', () => {
  const report = makeReport();
  const html = renderHtml(report);

  it('is one self-contained document: no script, no external resource of any kind', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|@font-face/i);
    expect(html).not.toMatch(/\b(src|href|srcset|action)\s*=/i);
    // The only URL-looking strings are the SVG namespace and the run's own ws:// targets.
    const urls = html.match(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<)]+/gi) ?? [];
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg' && !u.startsWith('ws://127.0.0.1'))).toEqual([]);
  });

  it('draws a spectrum per metric from the HDR snapshots, and the per-second charts', () => {
    const metrics = Object.keys(report.metrics).length;
    expect(count(html, /<svg class="chart"/g)).toBe(metrics + 6);
    expect(count(html, /latency by percentile<\/title>/g)).toBe(metrics);
    expect(html).not.toMatch(FALLBACK_HINT);
    expect(count(html, /class="marker marker-fault"/g)).toBe(6);
    expect(count(html, /<rect class="band band-\d"/g)).toBe(6 * 3);
    for (const section of ['Checks', 'Gates', 'Nodes', 'Generator health', 'Notes', 'Options (raw)', 'Delivery ledger']) expect(html).toContain(section);
    expect(html).toContain('eviction.window');
    expect(html).toContain('&quot;publishRatePerSec&quot;: 200');
  });

  it('falls back to the summary percentiles when hdr is empty or undecodable', () => {
    const metrics = Object.keys(report.metrics).length;
    for (const hdr of ['', 'definitely-not-an-hdr-snapshot']) {
      const fallback = renderHtml(withoutHdr(report, hdr));
      expect(count(fallback, FALLBACK_HINT)).toBe(metrics);
      expect(count(fallback, /latency by percentile<\/title>/g)).toBe(metrics);
      // min, p50, p90, p95, p99 (and p99.9 with enough samples), max: every one a dot.
      expect(count(fallback, /<circle class="dot"/g)).toBeGreaterThanOrEqual(metrics * 6);
    }
  });

  it('escapes every user-supplied text', () => {
    const evil = '<script>alert("x")</script>&<img src=x onerror=alert(1)>';
    const out = renderHtml(
      makeReport({
        scenario: { name: evil, description: evil, options: { evil } },
        notes: [evil],
        checks: [{ name: evil, passed: false, detail: evil, evidence: { evil } }],
        gates: [{ expr: evil, passed: false, actual: null, detail: evil }],
        timeline: [{ atMs: 1000, kind: 'fault', name: evil, detail: evil }],
        nodes: [{ id: evil, url: evil, stats: { [evil]: 1 } }, { id: 'b', url: 'ws://127.0.0.1:1' }],
        generator: { ...report.generator, saturated: true, reason: evil },
      }),
    );
    expect(out).not.toContain('<script');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img');
  });

  it('overlays several reports on the same charts, one line per run', () => {
    const a = makeReport();
    const b = makeReport({ startedAt: '2025-01-16T10:00:00.000Z', scenario: { ...a.scenario, name: 'broadcast-pr' } });
    const single = count(renderHtml(a), /<polyline /g);
    const both = renderHtml([a, b], { labels: ['main', 'pr-42'] });
    expect(count(both, /<polyline /g)).toBe(single * 2);
    expect(both).toContain('2 runs overlaid');
    expect(both).toContain('pr-42');
    expect(count(both, /<section class="details">/g)).toBe(2);
    // The same fault in both runs is one marker per chart, not two stacked labels.
    expect(count(both, /class="marker marker-fault"/g)).toBe(6);
    const shifted = renderHtml([a, { ...b, timeline: b.timeline.map((e) => (e.kind === 'fault' ? { ...e, atMs: 20_000 } : e)) }], { labels: ['main', 'pr-42'] });
    expect(count(shifted, /kill node-2 \(pr-42\)<\/text>/g)).toBe(6);
    expect(() => renderHtml([])).toThrow(TypeError);
  });

  it('copes with an empty report', () => {
    const out = renderHtml(makeReport({ metrics: {}, series: {}, timeline: [], checks: [], gates: [], nodes: undefined, notes: [] }));
    expect(out).toContain('No latency samples.');
    expect(out).toContain('No per-second series');
  });
});
