/**
 * What one run cost per unit of traffic, for comparing payload shapes side by side
 * (`wsbench run payloads`, or any `--set size=…`/`compression=…` variants): deliveries
 * per second, fan-out percentiles, the generator's deliveries per CPU-second, the
 * server's CPU per MB delivered and its resident memory per connection.
 */
import type { Report, TrafficFigures } from '../report/schema.ts';

/**
 * The figures of `r`; a figure whose inputs the run lacks (no server scrape, no CPU
 * reading) is absent rather than zero.
 */
export function trafficFigures(r: Report): TrafficFigures {
  const o = r.scenario.options;
  const measuredSec = (r.measuredMs ?? 0) / 1000;
  const delivered = r.rates.deliveriesPerSec * measuredSec;
  const payloadBytes = Number(o.payloadBytes ?? 0);
  const clients = r.counters['clients.connected.ramp'] ?? Number(o.clients ?? 0);
  const out: TrafficFigures = {
    payloadBytes,
    compression: String(o.compression ?? 'off'),
    binary: o.binary === 'on',
    negotiated: r.counters['compression.negotiated'] ?? 0,
    deliveriesPerSec: r.rates.deliveriesPerSec,
  };
  const f = r.metrics.fanout;
  if (f) Object.assign(out, { fanoutP50Us: f.p50, fanoutP99Us: f.p99, fanoutP999Us: f.p999 });
  const genCpu = r.generator.cpuSeconds;
  if (genCpu && genCpu > 0 && delivered > 0) out.deliveriesPerCpuSec = delivered / genCpu;
  const s = r.server;
  if (s?.cpuSeconds !== undefined && delivered > 0 && payloadBytes > 0) out.serverCpuMsPerMB = (s.cpuSeconds * 1000) / ((delivered * payloadBytes) / 1e6);
  if (s?.rssBytesPeak !== undefined && clients > 0) out.serverRssPerConnBytes = s.rssBytesPeak / clients;
  return out;
}

/** Whether a variant label changes the traffic's shape (so the traffic table is worth printing). */
export function shapesTraffic(label: string): boolean {
  return /(^|\s)(size|binary|compression|compression-bits|payload-bytes)=/.test(label);
}
