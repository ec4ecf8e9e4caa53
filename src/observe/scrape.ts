/**
 * `--scrape URL`: the target's own Prometheus endpoint, read once a second during the
 * run, so the report shows what the server did inside (memory, CPU, event loop) beside
 * what clients saw. Scrape failures are counted and reported, never thrown.
 *
 * Recognised series (summed over the label sets of one target, then over targets):
 * - live memory: `nodejs_heap_size_used_bytes` + `nodejs_external_memory_bytes` (V8 heap
 *   in use and Buffers: what a leak grows, without RSS's slow GC sawtooth)
 * - memory: `process_resident_memory_bytes` (prom-client default metrics), else
 *   `wsbench_server_process_resident_memory_bytes` (the bundled server)
 * - CPU: `process_cpu_seconds_total`, turned into percent of one core per second
 * - event loop: `nodejs_eventloop_lag_seconds` (max over targets), else
 *   `wsbench_server_event_loop_delay_p99_seconds`
 * - any series the user names with `--scrape-series NAME` (summed)
 */

import type { ServerSide } from '../report/schema.ts';
import { memoryTrend } from './slope.ts';

/** One scraped exposition: metric name -> values of its label sets. */
export type Exposition = Map<string, number[]>;

/** Parse the Prometheus text format (0.0.4) into name -> values; comments and malformed lines are skipped. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(v)) continue;
    const list = out.get(m[1]!);
    if (list) list.push(v);
    else out.set(m[1]!, [v]);
  }
  return out;
}

const sum = (e: Exposition, ...names: string[]): number | undefined => {
  for (const n of names) {
    const v = e.get(n);
    if (v) return v.reduce((a, b) => a + b, 0);
  }
  return undefined;
};

interface Point {
  atMs: number;
  rss?: number;
  heap?: number;
  cpuSeconds?: number;
  lagSec?: number;
  extra: Record<string, number>;
}

/**
 * Reads the target's Prometheus `/metrics` (every second by default) while a run lasts: live gauges for
 * the run's series, and at the end the report's `server` section (memory in bytes, slopes
 * in bytes per hour, CPU in percent of one core). `stop()` ends scraping without a summary.
 */
export interface Scraper {
  /** The latest values as per-second gauges for the run's series (`server.rss`, `server.cpu`, ...). */
  gauges(): Record<string, number>;
  /** Close the books over the measured window (wall-clock ms); stops scraping. */
  finish(measuredFromMs: number, measuredToMs: number): ServerSide;
  stop(): void;
}

/**
 * Scrape `urls` every `intervalMs` (default 1000) with a per-request timeout (default
 * 800 ms). `extraSeries` are summed into gauges named `server.<name>`.
 */
export function startScraper(urls: string[], opts: { intervalMs?: number; timeoutMs?: number; extraSeries?: string[] } = {}): Scraper {
  const intervalMs = opts.intervalMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 800;
  const extra = opts.extraSeries ?? [];
  const points: Point[] = [];
  const errors = new Map<string, string>();
  let scrapes = 0;
  let failures = 0;
  let stopped = false;

  const one = async (url: string): Promise<Exposition | undefined> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        failures++;
        if (!errors.has(url)) errors.set(url, `${url}: HTTP ${res.status}`);
        await res.body?.cancel();
        return undefined;
      }
      scrapes++;
      return parseExposition(await res.text());
    } catch (e) {
      failures++;
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? (err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err.message);
      if (!errors.has(url)) errors.set(url, `${url}: ${why}`);
      return undefined;
    }
  };

  const round = async () => {
    const atMs = Date.now();
    const got = (await Promise.all(urls.map(one))).filter((e): e is Exposition => e !== undefined);
    if (!got.length || stopped) return;
    const p: Point = { atMs, extra: {} };
    const add = (key: 'rss' | 'heap' | 'cpuSeconds', v: number | undefined) => {
      if (v !== undefined) p[key] = (p[key] ?? 0) + v;
    };
    for (const e of got) {
      add('rss', sum(e, 'process_resident_memory_bytes', 'wsbench_server_process_resident_memory_bytes'));
      add('cpuSeconds', sum(e, 'process_cpu_seconds_total'));
      const heapUsed = sum(e, 'nodejs_heap_size_used_bytes');
      if (heapUsed !== undefined) add('heap', heapUsed + (sum(e, 'nodejs_external_memory_bytes') ?? 0));
      const lag = sum(e, 'nodejs_eventloop_lag_seconds', 'wsbench_server_event_loop_delay_p99_seconds');
      if (lag !== undefined) p.lagSec = Math.max(p.lagSec ?? 0, lag);
      for (const name of extra) {
        const v = sum(e, name);
        if (v !== undefined) p.extra[name] = (p.extra[name] ?? 0) + v;
      }
    }
    // A point counts only when every target answered: a sum over fewer targets would read as a drop.
    if (got.length === urls.length) points.push(p);
  };

  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    inFlight ??= round().finally(() => (inFlight = undefined));
  }, intervalMs);
  inFlight = round().finally(() => (inFlight = undefined));

  const cpuPercentBetween = (a: Point, b: Point): number | undefined =>
    a.cpuSeconds === undefined || b.cpuSeconds === undefined || b.atMs <= a.atMs ? undefined : (100 * (b.cpuSeconds - a.cpuSeconds) * 1000) / (b.atMs - a.atMs);

  return {
    gauges() {
      const last = points.at(-1);
      if (!last) return {};
      const g: Record<string, number> = {};
      if (last.rss !== undefined) g['server.rss'] = last.rss;
      if (last.heap !== undefined) g['server.heap'] = last.heap;
      const prev = points.at(-2);
      const cpu = prev ? cpuPercentBetween(prev, last) : undefined;
      if (cpu !== undefined) g['server.cpu'] = Math.round(cpu * 10) / 10;
      if (last.lagSec !== undefined) g['server.eventloop_lag_ms'] = Math.round(last.lagSec * 1e4) / 10;
      for (const [k, v] of Object.entries(last.extra)) g[`server.${k}`] = v;
      return g;
    },
    finish(fromMs, toMs) {
      stopped = true;
      clearInterval(timer);
      const inWindow = points.filter((p) => p.atMs >= fromMs && p.atMs <= toMs);
      const out: ServerSide = { urls, scrapes, failures, ...(errors.size ? { errors: [...errors.values()] } : {}) };
      const mem = inWindow.filter((p) => p.rss !== undefined);
      if (mem.length) {
        out.rssBytesStart = mem[0]!.rss;
        out.rssBytesEnd = mem.at(-1)!.rss;
        out.rssBytesPeak = Math.max(...mem.map((p) => p.rss!));
        const trend = memoryTrend(
          mem.map((p) => p.atMs),
          mem.map((p) => p.rss!),
        );
        if (trend) Object.assign(out, { rssSlopeBytesPerHour: trend.slopeBytesPerHour, rssFloorsBytes: trend.floorsBytes, rssFloorsRising: trend.floorsRising });
      }
      const heap = inWindow.filter((p) => p.heap !== undefined);
      const heapTrend = memoryTrend(
        heap.map((p) => p.atMs),
        heap.map((p) => p.heap!),
      );
      if (heapTrend) Object.assign(out, { heapBytesStart: heap[0]!.heap, heapBytesEnd: heap.at(-1)!.heap, heapSlopeBytesPerHour: heapTrend.slopeBytesPerHour, heapFloorsBytes: heapTrend.floorsBytes, heapFloorsRising: heapTrend.floorsRising });
      const cpu = inWindow.filter((p) => p.cpuSeconds !== undefined);
      if (cpu.length >= 2) {
        out.cpuSeconds = Math.round((cpu.at(-1)!.cpuSeconds! - cpu[0]!.cpuSeconds!) * 1000) / 1000;
        out.cpuPercentMean = Math.round(cpuPercentBetween(cpu[0]!, cpu.at(-1)!)! * 10) / 10;
      }
      const lags = inWindow.filter((p) => p.lagSec !== undefined).map((p) => p.lagSec!);
      if (lags.length) out.eventLoopLagMaxMs = Math.round(Math.max(...lags) * 1e4) / 10;
      return out;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** The `/metrics` URL of a server given by its client URL (ws://h:p/ws -> http://h:p/metrics). */
export function metricsUrlOf(clientUrl: string): string {
  const u = new URL(clientUrl);
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}/metrics`;
}
