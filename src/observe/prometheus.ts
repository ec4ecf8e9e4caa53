/**
 * `--prometheus [HOST:]PORT`: the running test's metrics in the Prometheus exposition
 * format, formatted by prom-client. Families are built from the live view on each scrape
 * (counters appear as the run meets them), so a scrape costs nothing between scrapes.
 *
 * Names (all prefixed `wsbench_`; latencies in seconds as Prometheus expects):
 * - `latency_seconds{metric}`: histogram of the measured samples (buckets LIVE_BUCKETS_US)
 * - `latency_quantile_seconds{metric,quantile}`: exact p50/p90/p99/p99.9/max from HDR
 * - `<counter>_total`: each measured counter (`messages.sent` -> `messages_sent_total`);
 *   `errors_total{code}` and `closes_total{code}` for `errors.<code>` and `close.<code>`
 * - `clients_connected`, `clients_target`, `phase{phase}` (1 for the current phase),
 *   `info{scenario,protocol,version}`
 * - `generator_event_loop_delay_p99_seconds{worker}`, `generator_cpu_percent{worker}`,
 *   `generator_rss_bytes{worker}`
 * As in the report, distributions cover the measured samples (ramp and steady) and
 * counters every phase, so the last scrape equals the final report.
 */
import { createServer, type Server } from 'node:http';
import { listenHttp } from './listen.ts';
import { Registry } from 'prom-client';
import { LIVE_BUCKETS_US, type LiveSink, type LiveView } from './live.ts';
import { toolInfo } from '../run/tool.ts';

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels?: Labels;
  metricName?: string;
}
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Sample[];
}

const PHASES = ['ramp', 'warmup', 'steady', 'cooldown', 'finish', 'done'] as const;
const QUANTILES: Array<[string, 'p50Us' | 'p90Us' | 'p99Us' | 'p999Us' | 'maxUs']> = [
  ['0.5', 'p50Us'],
  ['0.9', 'p90Us'],
  ['0.99', 'p99Us'],
  ['0.999', 'p999Us'],
  ['1', 'maxUs'],
];

/** A counter name of the report as a Prometheus metric name: `messages.sent` -> `wsbench_messages_sent_total`. */
export function promCounterName(name: string): string {
  return `wsbench_${name.replace(/[^a-zA-Z0-9_]/g, '_')}_total`;
}

/** The exposition families of one live view (pure; exported for tests). */
export function liveFamilies(view: LiveView): Family[] {
  const version = toolInfo().version;
  const families: Family[] = [
    { name: 'wsbench_info', help: 'The running test (value 1).', type: 'gauge', values: [{ value: 1, labels: { scenario: view.scenario, protocol: view.protocol, version } }] },
    { name: 'wsbench_phase', help: 'The current phase of the run (1) and the others (0).', type: 'gauge', values: PHASES.map((p) => ({ value: p === view.phase ? 1 : 0, labels: { phase: p } })) },
    { name: 'wsbench_clients_connected', help: 'Virtual clients connected now.', type: 'gauge', values: [{ value: view.clientsConnected }] },
    { name: 'wsbench_clients_target', help: 'Virtual clients this run opens.', type: 'gauge', values: [{ value: view.clientsTarget }] },
  ];
  families.push(...latencyFamilies(view), ...counterFamilies(view), ...healthFamilies(view));
  return families;
}

function latencyFamilies(view: LiveView): Family[] {
  const dists = view.metrics.distributionsSoFar(LIVE_BUCKETS_US);
  const hist: Family = { name: 'wsbench_latency_seconds', help: 'Measured latency samples by metric (fanout, ack, rtt, connect, join, ...), seconds.', type: 'histogram', values: [] };
  const quant: Family = { name: 'wsbench_latency_quantile_seconds', help: 'Exact percentiles of the measured samples (HDR, 3 significant digits), seconds.', type: 'gauge', values: [] };
  for (const [metric, d] of Object.entries(dists).sort(([a], [b]) => a.localeCompare(b))) {
    LIVE_BUCKETS_US.forEach((b, i) => hist.values.push({ metricName: 'wsbench_latency_seconds_bucket', value: d.cumulative[i]!, labels: { metric, le: b / 1e6 } }));
    hist.values.push({ metricName: 'wsbench_latency_seconds_bucket', value: d.count, labels: { metric, le: '+Inf' } });
    hist.values.push({ metricName: 'wsbench_latency_seconds_sum', value: d.sumUs / 1e6, labels: { metric } });
    hist.values.push({ metricName: 'wsbench_latency_seconds_count', value: d.count, labels: { metric } });
    for (const [q, key] of QUANTILES) quant.values.push({ value: d[key] / 1e6, labels: { metric, quantile: q } });
  }
  return [hist, quant];
}

function counterFamilies(view: LiveView): Family[] {
  const counters = view.metrics.countersSoFar();
  const errors: Family = { name: 'wsbench_errors_total', help: 'Errors by code (errors.<code> in the report).', type: 'counter', values: [] };
  const closes: Family = { name: 'wsbench_closes_total', help: 'Connection closes by code (close.<code> in the report).', type: 'counter', values: [] };
  const plain = new Map<string, Family>();
  for (const [name, n] of Object.entries(counters).sort(([a], [b]) => a.localeCompare(b))) {
    if (name.startsWith('errors.')) errors.values.push({ value: n, labels: { code: name.slice(7) } });
    else if (name.startsWith('close.')) closes.values.push({ value: n, labels: { code: name.slice(6) } });
    else {
      const prom = promCounterName(name);
      plain.set(prom, { name: prom, help: `The report's counter ${name}.`, type: 'counter', values: [{ value: n }] });
    }
  }
  return [...plain.values(), errors, closes];
}

function healthFamilies(view: LiveView): Family[] {
  const eld: Family = { name: 'wsbench_generator_event_loop_delay_p99_seconds', help: 'Event-loop delay p99 of each generator process over its last second, seconds.', type: 'gauge', values: [] };
  const cpu: Family = { name: 'wsbench_generator_cpu_percent', help: 'CPU of each generator process over its last second, percent of one core.', type: 'gauge', values: [] };
  const rss: Family = { name: 'wsbench_generator_rss_bytes', help: 'Resident memory of each generator process, bytes.', type: 'gauge', values: [] };
  view.health.forEach((h, worker) => {
    if (!h) return;
    eld.values.push({ value: h.eventLoopDelayP99Us / 1e6, labels: { worker } });
    cpu.values.push({ value: h.cpuPercent, labels: { worker } });
    rss.values.push({ value: h.rssBytes, labels: { worker } });
  });
  return [eld, cpu, rss];
}

/** Format families with prom-client (a fresh registry per scrape: the set of families changes as the run goes). */
export async function exposition(families: Family[]): Promise<string> {
  const registry = new Registry();
  for (const f of families) {
    // prom-client formats any registered object that has a name and an async get().
    registry.registerMetric({ name: f.name, help: f.help, type: f.type, get: async () => ({ ...f, aggregator: 'sum' }) } as unknown as Parameters<Registry['registerMetric']>[0]);
  }
  return registry.metrics();
}

/** Start serving `/metrics` for the live view; resolves once listening, with the scrape URL. */
export async function startPrometheusExporter(spec: string): Promise<LiveSink & { url: string }> {
  let view: LiveView | undefined;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('wsbench serves /metrics\n');
      return;
    }
    if (!view) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('the run has not started yet\n');
      return;
    }
    exposition(liveFamilies(view)).then(
      (text) => res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`wsbench could not format its metrics: ${e.message}\n`),
    );
  });
  const url = await listenHttp(server, spec, '--prometheus');
  return {
    url: `${url}metrics`,
    update(v) {
      view = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
