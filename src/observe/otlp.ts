/**
 * `--otlp URL`: the running test's metrics pushed through the OpenTelemetry metrics
 * SDK as OTLP over HTTP (JSON), every `intervalMs` and once more at the end. The same
 * figures as `--prometheus`, with OpenTelemetry names and units:
 * - `wsbench.latency` (gauge, seconds; attributes `metric`, `quantile`): exact HDR
 *   percentiles of the measured samples; `wsbench.latency.count` (counter)
 * - `wsbench.<counter>` for each report counter (`wsbench.messages.sent`), and
 *   `wsbench.errors{code}`, `wsbench.closes{code}`
 * - `wsbench.clients.connected`, `wsbench.clients.target`, `wsbench.phase{phase}`
 * - `wsbench.generator.event_loop_delay.p99` (s), `.cpu` (% of a core), `.rss` (By), per `worker`
 * Export failures are counted by the SDK and reported once, never thrown into the run.
 */
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LIVE_BUCKETS_US, type LiveSink, type LiveView } from './live.ts';
import { usageError } from '../errors.ts';
import { toolInfo } from '../run/tool.ts';

const PHASES = ['ramp', 'warmup', 'steady', 'cooldown', 'finish', 'done'] as const;
const QUANTILES = [
  ['0.5', 'p50Us'],
  ['0.9', 'p90Us'],
  ['0.99', 'p99Us'],
  ['0.999', 'p999Us'],
  ['1', 'maxUs'],
] as const;

/** Where a report counter goes: its instrument name and attributes. */
export function otlpCounterOf(name: string): { instrument: string; attributes: Attributes } {
  if (name.startsWith('errors.')) return { instrument: 'wsbench.errors', attributes: { code: name.slice(7) } };
  if (name.startsWith('close.')) return { instrument: 'wsbench.closes', attributes: { code: name.slice(6) } };
  return { instrument: `wsbench.${name}`, attributes: {} };
}

/** Register the observable instruments; they read `current()` when the reader collects. */
function observe(meter: Meter, current: () => LiveView | undefined): void {
  const gauge = (name: string, unit: string, description: string, cb: (r: ObservableResult, v: LiveView) => void) =>
    meter.createObservableGauge(name, { unit, description }).addCallback((r) => {
      const v = current();
      if (v) cb(r, v);
    });
  gauge('wsbench.clients.connected', '{client}', 'Virtual clients connected now', (r, v) => r.observe(v.clientsConnected));
  gauge('wsbench.clients.target', '{client}', 'Virtual clients this run opens', (r, v) => r.observe(v.clientsTarget));
  gauge('wsbench.phase', '1', 'The current phase of the run (1) and the others (0)', (r, v) => {
    for (const p of PHASES) r.observe(p === v.phase ? 1 : 0, { phase: p });
  });
  gauge('wsbench.latency', 's', 'Exact percentiles of the measured latency samples (HDR)', (r, v) => {
    for (const [metric, d] of Object.entries(v.metrics.distributionsSoFar(LIVE_BUCKETS_US))) {
      for (const [q, key] of QUANTILES) r.observe(d[key] / 1e6, { metric, quantile: q });
    }
  });
  meter.createObservableCounter('wsbench.latency.count', { unit: '{sample}', description: 'Measured latency samples by metric' }).addCallback((r) => {
    const v = current();
    if (v) for (const [metric, d] of Object.entries(v.metrics.distributionsSoFar(LIVE_BUCKETS_US))) r.observe(d.count, { metric });
  });
  gauge('wsbench.generator.event_loop_delay.p99', 's', 'Event-loop delay p99 of each generator process over its last second', (r, v) =>
    v.health.forEach((h, worker) => h && r.observe(h.eventLoopDelayP99Us / 1e6, { worker })),
  );
  gauge('wsbench.generator.cpu', '%', 'CPU of each generator process over its last second, percent of one core', (r, v) => v.health.forEach((h, worker) => h && r.observe(h.cpuPercent, { worker })));
  gauge('wsbench.generator.rss', 'By', 'Resident memory of each generator process', (r, v) => v.health.forEach((h, worker) => h && r.observe(h.rssBytes, { worker })));
}

/** Parse and check `--otlp`: an http(s) URL; a bare origin gets the OTLP path `/v1/metrics`. */
export function otlpEndpoint(spec: string): string {
  let u: URL;
  try {
    u = new URL(spec);
  } catch {
    throw usageError('WSB_ERR_FLAG', `--otlp "${spec}" is not a URL`, 'give the collector\'s OTLP/HTTP endpoint, e.g. --otlp http://127.0.0.1:4318');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('WSB_ERR_FLAG', `--otlp "${spec}": OTLP over HTTP needs an http(s) URL`, 'e.g. --otlp http://127.0.0.1:4318');
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/metrics';
  return u.toString();
}

/** Start pushing the live view to `spec` every `intervalMs` (default 5000); `close` pushes the last values. */
export function startOtlpExporter(spec: string, opts: { intervalMs?: number; onError?: (message: string) => void } = {}): LiveSink & { url: string } {
  const url = otlpEndpoint(spec);
  let view: LiveView | undefined;
  let failed = false;
  // Each export (with the SDK's retries) gives up within the interval, so a dead collector costs nothing later.
  const exporter = new OTLPMetricExporter({ url, timeoutMillis: Math.min(opts.intervalMs ?? 5000, 2000) });
  // Report the first failed export once (the collector may be down); the run goes on.
  const exportOnce = exporter.export.bind(exporter);
  exporter.export = (batch, done) =>
    exportOnce(batch, (result) => {
      if (result.code !== 0 && !failed) {
        failed = true;
        opts.onError?.(`--otlp: export to ${url} failed: ${result.error?.message ?? 'unknown error'}`);
      }
      done(result);
    });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: opts.intervalMs ?? 5000, exportTimeoutMillis: Math.min(opts.intervalMs ?? 5000, 3000) });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'wsbench', 'service.version': toolInfo().version }), readers: [reader] });
  const meter = provider.getMeter('wsbench', toolInfo().version);
  observe(meter, () => view);
  const counters = new Set<string>();
  const ensureCounter = (instrument: string) => {
    if (counters.has(instrument)) return;
    counters.add(instrument);
    meter.createObservableCounter(instrument, { description: `The report's counter ${instrument.slice(8)}` }).addCallback((r) => {
      if (!view) return;
      for (const [name, n] of Object.entries(view.metrics.countersSoFar())) {
        const c = otlpCounterOf(name);
        if (c.instrument === instrument) r.observe(n, c.attributes);
      }
    });
  };
  return {
    url,
    update(v) {
      view = v;
      for (const name of Object.keys(v.metrics.countersSoFar())) ensureCounter(otlpCounterOf(name).instrument);
    },
    async close() {
      // The last push (phase `done`), bounded: a collector that is down must not hold the exit.
      const flushed = provider.forceFlush().then(() => provider.shutdown());
      await Promise.race([flushed.catch(() => undefined), new Promise((r) => setTimeout(r, 2500).unref())]);
    },
  };
}
