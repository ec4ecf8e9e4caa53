/**
 * `--prometheus`: a real scrape of a real run, compared with the run's final report;
 * and the HDR-to-bucket conversion against exact counts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { runCliInProcess } from '../support/cli-in-process.ts';
import { freePort } from '../helpers/ports.ts';
import { cumulativeCounts, newHistogram } from '../../src/metrics/hdr.ts';
import { parseListen } from '../../src/observe/listen.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-prom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `name{labels} value` lines of an exposition, as [name, labels, value]. */
function parseExposition(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

describe('wsbench run --prometheus', () => {
  it('serves the fan-out distribution and counters while the run goes; the last scrape matches the final report; a --scrape URL and an --otlp collector that never answer are noted, never thrown', async () => {
    const port = await freePort();
    const closed = await freePort();
    const out = join(dir, 'prom.json');
    const scrapes: string[] = [];
    let running = true;
    const scraper = (async () => {
      while (running) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/metrics`);
          if (r.status === 200) scrapes.push(await r.text());
        } catch {
          // not listening yet, or already closed
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const r = await runCli(['run', 'broadcast', '--clients', '60', '--rooms', '3', '--rate', '60', '--warmup', '300ms', '--duration', '2s', '--cooldown', '1500ms', '--prometheus', String(port), '--scrape', `http://127.0.0.1:${closed}/metrics`, '--otlp', `http://127.0.0.1:${closed}`, '--otlp-interval', '300ms', '--out', out]);
    running = false;
    await scraper;
    expect(r.stderr).toContain(`Prometheus metrics at http://127.0.0.1:${port}/metrics`);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(r.stderr.match(/--otlp: export to .* failed: connect ECONNREFUSED/g)?.length).toBe(1);
    expect(report.server).toMatchObject({ scrapes: 0 });
    expect(report.server!.failures).toBeGreaterThan(0);
    expect(report.notes.join('\n')).toContain(`scrapes of the server's metrics failed (http://127.0.0.1:${closed}/metrics: ECONNREFUSED)`);

    const parsed = scrapes.map(parseExposition);
    const phaseOf = (s: ReturnType<typeof parseExposition>) => s.find((x) => x.name === 'wsbench_phase' && x.value === 1)?.labels.phase;
    expect(parsed.map(phaseOf)).toContain('steady');
    // Measured totals stop growing when publishing stops; a scrape a second into the cool-down is final.
    const last = parsed.filter((s) => ['cooldown', 'finish', 'done'].includes(phaseOf(s) ?? '')).at(-1);
    expect(last, 'a scrape after the steady phase').toBeDefined();
    const value = (name: string, labels: Record<string, string> = {}) =>
      last!.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

    expect(value('wsbench_messages_sent_total')).toBe(report.counters['messages.sent']);
    expect(value('wsbench_messages_received_total')).toBe(report.counters['messages.received']);
    const fanout = report.metrics.fanout!;
    expect(value('wsbench_latency_seconds_count', { metric: 'fanout' })).toBe(fanout.count);
    expect(value('wsbench_latency_seconds_bucket', { metric: 'fanout', le: '+Inf' })).toBe(fanout.count);
    expect(value('wsbench_latency_quantile_seconds', { metric: 'fanout', quantile: '0.99' })).toBeCloseTo(fanout.p99 / 1e6, 9);
    expect(value('wsbench_latency_quantile_seconds', { metric: 'fanout', quantile: '1' })).toBeCloseTo(fanout.max / 1e6, 9);
    // Buckets are cumulative and end at the count.
    const buckets = last!.filter((x) => x.name === 'wsbench_latency_seconds_bucket' && x.labels.metric === 'fanout').map((x) => x.value);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(value('wsbench_clients_target')).toBe(60);
    expect(last!.some((x) => x.name === 'wsbench_generator_rss_bytes' && x.value > 0)).toBe(true);
    // Earlier scrapes saw fewer sends than the last one: the figures are live, not written at the end.
    const firstSteady = parsed.find((s) => phaseOf(s) === 'steady' && s.some((x) => x.name === 'wsbench_messages_sent_total'));
    expect(firstSteady!.find((x) => x.name === 'wsbench_messages_sent_total')!.value).toBeLessThan(report.counters['messages.sent']!);
  });

  it('refuses bad live flags before anything starts, every problem at once', async () => {
    const r = await runCliInProcess(['run', 'broadcast', '--prometheus', 'nine', '--scrape', 'ftp://x/metrics', '--otlp-interval', '5ms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--prometheus "nine" is not a port or HOST:PORT/);
    expect(r.stderr).toMatch(/--scrape "ftp:\/\/x\/metrics" is not an http\(s\) URL/);
    expect(r.stderr).toMatch(/--otlp-interval: "5ms" is too short; at least 100ms/);
  });
});

describe('live buckets from an HDR histogram', () => {
  it('cumulative counts equal exact counts of the samples at or below each bound (within one bucket)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5_000_000 }), { minLength: 1, maxLength: 300 }), (samples) => {
        const h = newHistogram();
        for (const s of samples) h.recordValue(s);
        const bounds = [100, 1_000, 2_500, 10_000, 250_000, 1_000_000];
        const got = cumulativeCounts(h, bounds);
        bounds.forEach((b, i) => {
          // A bucket straddling a bound counts as above it: exact at the bound's 0.1% resolution.
          const atMost = samples.filter((s) => s <= b).length;
          const belowTolerance = samples.filter((s) => s <= b * 0.999).length;
          expect(got[i]!).toBeLessThanOrEqual(atMost);
          expect(got[i]!).toBeGreaterThanOrEqual(belowTolerance);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('parses PORT and HOST:PORT', () => {
    expect(parseListen('9464', '--prometheus')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('0.0.0.0:9464', '--prometheus')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('[::1]:0', '--live')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('70000', '--live')).toThrow(/not a port/);
  });
});

describe('the Grafana dashboard in the repo', () => {
  it('reads only metric names the exporter serves', async () => {
    const { readFileSync: read } = await import('node:fs');
    const { liveFamilies } = await import('../../src/observe/prometheus.ts');
    const dash = JSON.parse(read(new URL('../../dashboards/wsbench-grafana.json', import.meta.url), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(8);
    // A view with every kind of family: a latency, plain counters, an error, a close, a worker.
    const view = {
      scenario: 's', protocol: 'ws', phase: 'steady', clientsConnected: 1, clientsTarget: 1,
      metrics: {
        distributionsSoFar: () => ({ fanout: { cumulative: new Array(16).fill(1), count: 1, sumUs: 5, p50Us: 5, p90Us: 5, p99Us: 5, p999Us: 5, maxUs: 5 } }),
        countersSoFar: () => ({ 'messages.sent': 1, 'messages.received': 1, 'ledger.duplicated': 0, 'ledger.reordered': 0, 'errors.x': 1, 'close.1000': 1 }),
        series: () => ({}),
      },
      health: [{ eventLoopDelayP99Us: 1, cpuPercent: 1, rssBytes: 1 }],
      timeline: [],
      elapsedMs: 0,
    };
    const served = new Set(liveFamilies(view).flatMap((f) => [f.name, ...f.values.map((v) => v.metricName ?? f.name)]));
    const used = new Set(exprs.flatMap((e) => e.match(/wsbench_[a-z0-9_]+/g) ?? []));
    expect([...used].filter((n) => !served.has(n))).toEqual([]);
  });
});
