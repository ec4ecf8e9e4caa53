/**
 * `--otlp`: a real run pushes through the OpenTelemetry SDK to a real OTLP/HTTP
 * receiver (a small server in the test that decodes what it gets), and the last push
 * equals the final report.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { otlpEndpoint } from '../../src/observe/otlp.ts';
import { metricsUrlOf } from '../../src/observe/scrape.ts';
import { spawn } from 'node:child_process';
import { BIN } from '../support/cli.ts';
import { waitUntil } from '../helpers/timeout.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-otlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface DataPoint {
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
  asInt?: number | string;
  asDouble?: number;
}
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: DataPoint[] };
  gauge?: { dataPoints: DataPoint[] };
}
interface OtlpPayload {
  resourceMetrics: Array<{ resource: { attributes: DataPoint['attributes'] }; scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>;
}

/** A collector stand-in: takes OTLP/HTTP JSON posts to /v1/metrics and keeps them decoded. */
async function startReceiver(): Promise<{ url: string; payloads: OtlpPayload[]; paths: string[]; close: () => Promise<void> }> {
  const payloads: OtlpPayload[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      payloads.push(JSON.parse(body) as OtlpPayload);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, payloads, paths, close: () => new Promise((r) => server.close(() => r())) };
}

const num = (p: DataPoint) => Number(p.asInt ?? p.asDouble);
const attr = (p: DataPoint, key: string) => p.attributes?.find((a) => a.key === key)?.value.stringValue;

describe('wsbench run --otlp against an external server with --scrape', () => {
  it('pushes counters and exact latency percentiles through the OpenTelemetry SDK (the last push equals the final report); the server side of an external target comes from --scrape', async () => {
    const rx = await startReceiver();
    // An external target: a `wsbench serve` process, its Prometheus endpoint named with --scrape.
    const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let serveOut = '';
    serve.stdout!.on('data', (d) => (serveOut += d));
    try {
      await waitUntil(() => serveOut.split('\n').length > 2, 30_000, '`wsbench serve` to print its URL and token');
      const url = serveOut.split('\n')[0]!;
      const out = join(dir, 'otlp.json');
      const html = join(dir, 'otlp.html');
      const r = await runCli(['run', 'broadcast', '--target', url, '--scrape', metricsUrlOf(url), '--html', html, '--clients', '40', '--rooms', '2', '--rate', '40', '--warmup', '300ms', '--duration', '2s', '--cooldown', '500ms', '--otlp', rx.url, '--otlp-interval', '500ms', '--out', out]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`OpenTelemetry metrics pushed to ${rx.url}/v1/metrics every 0.5 s`);
      const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
      expect(report.target.kind).toBe('external');
      expect(report.server).toMatchObject({ urls: [metricsUrlOf(url)], failures: 0 });
      expect(report.server!.rssBytesEnd!).toBeGreaterThan(10 * 1024 * 1024);
      expect(report.server!.cpuSeconds!).toBeGreaterThan(0);
      const page = readFileSync(html, 'utf8');
      expect(page).toContain('Server memory (RSS)');
      expect(page).toContain('Server CPU (% of a core)');
      expect(page).toContain('Fan-out latency per second');
      expect(rx.payloads.length).toBeGreaterThan(2);
      expect(rx.paths[0]).toMatch(/^POST \/v1\/metrics application\/json/);
      const last = rx.payloads.at(-1)!;
      expect(last.resourceMetrics[0]!.resource.attributes!.find((a) => a.key === 'service.name')?.value.stringValue).toBe('wsbench');
      const metrics = last.resourceMetrics.flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics));
      const byName = (n: string) => metrics.find((m) => m.name === n);
      expect(num(byName('wsbench.messages.sent')!.sum!.dataPoints[0]!)).toBe(report.counters['messages.sent']);
      expect(num(byName('wsbench.messages.received')!.sum!.dataPoints[0]!)).toBe(report.counters['messages.received']);
      const lat = byName('wsbench.latency')!;
      expect(lat.unit).toBe('s');
      const p99 = lat.gauge!.dataPoints.find((p) => attr(p, 'metric') === 'fanout' && attr(p, 'quantile') === '0.99')!;
      expect(num(p99)).toBeCloseTo(report.metrics.fanout!.p99 / 1e6, 9);
      const phase = byName('wsbench.phase')!.gauge!.dataPoints.find((p) => num(p) === 1);
      expect(attr(phase!, 'phase')).toBe('done');
      // Earlier pushes were live: fewer messages than the end.
      const sentIn = (p: OtlpPayload) => p.resourceMetrics.flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics)).find((m) => m.name === 'wsbench.messages.sent');
      const firstWithSends = rx.payloads.find((p) => sentIn(p));
      expect(num(sentIn(firstWithSends!)!.sum!.dataPoints[0]!)).toBeLessThan(report.counters['messages.sent']!);
    } finally {
      serve.kill('SIGKILL');
      await rx.close();
    }
  });

  it('checks the URL before anything starts', () => {
    expect(otlpEndpoint('http://collector:4318')).toBe('http://collector:4318/v1/metrics');
    expect(otlpEndpoint('https://c.example/otlp/v1/metrics')).toBe('https://c.example/otlp/v1/metrics');
    expect(() => otlpEndpoint('grpc://c:4317')).toThrow(/needs an http\(s\) URL/);
  });
});
