/**
 * `--scrape URL`: the target's own Prometheus endpoint, read once a second during the
 * run, so the report shows what the server did inside (memory, CPU, event loop) beside
 * what clients saw. Scrape failures are counted and reported, never thrown.
 *
 * Recognised series (summed over the label sets of one target, then over targets). The
 * bundled server's `wsbench_node_*` series cover every process of a node (a cluster primary
 * and its workers) and come first; prom-client's default metrics describe only the process
 * that answered the scrape (one worker of a cluster), so they are the fallback:
 * - live memory: `wsbench_node_heap_used_bytes` + `wsbench_node_external_memory_bytes`, else
 *   `nodejs_heap_size_used_bytes` + `nodejs_external_memory_bytes` (V8 heap in use and
 *   Buffers: what a leak grows, without RSS's slow GC sawtooth)
 * - memory: `wsbench_node_resident_memory_bytes`, else `process_resident_memory_bytes`
 *   (prom-client default metrics), else `wsbench_server_process_resident_memory_bytes`
 * - CPU: `wsbench_node_cpu_seconds_total`, else `process_cpu_seconds_total`, turned into
 *   percent of one core per second; with the former, each process's share
 *   (`wsbench_node_process_cpu_seconds_total{role,pid}`) too
 * - event loop: `nodejs_eventloop_lag_seconds` (max over targets), else
 *   `wsbench_server_event_loop_delay_p99_seconds`
 * - any series the user names with `--scrape-series NAME` (summed)
 */

import http from 'node:http';
import https from 'node:https';
import type { ServerProcess, ServerSide } from '../report/schema.ts';
import { memoryTrend } from './slope.ts';

/**
 * How the scraper checks an `https:` target's certificate: as the clients do (`--insecure`,
 * `--ca FILE`), or `insecure` for a bundled node's own self-signed certificate.
 */
export interface ScrapeTls {
  insecure: boolean;
  /** PEM certificates trusted instead of Node's default CAs. */
  ca?: Buffer;
}

/** Certificate failures, answered with a hint. */
const CERT_ERRORS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/**
 * A GET of the whole body as text, over http: or https: (certificates checked as `tls` says),
 * on keep-alive agents of its own (one socket per target, reused every second), within `timeoutMs`.
 */
function createGetter(tls: ScrapeTls): { get(url: string, timeoutMs: number): Promise<{ status: number; body: string }>; close(): void } {
  const plain = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const secure = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !tls.insecure, ca: tls.ca });
  // Idle sockets must not outlive the scraper: a kept-alive connection would hold a draining node open.
  const close = () => {
    plain.destroy();
    secure.destroy();
  };
  const get = (url: string, timeoutMs: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const isHttps = url.startsWith('https:');
      const req = (isHttps ? https : http).get(url, { agent: isHttps ? secure : plain }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: `no answer within ${timeoutMs} ms` })), timeoutMs);
      function fail(e: Error) {
        clearTimeout(timer);
        reject(e);
      }
      req.on('error', fail);
    });
  return { get, close };
}

/** One scraped exposition: metric name -> values of its label sets. */
export type Exposition = Map<string, number[]>;

/** One sample of an exposition: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text format (0.0.4) into samples; comments and malformed lines are skipped. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Parse the Prometheus text format (0.0.4) into name -> values; comments and malformed lines are skipped. */
export function parseExposition(text: string): Exposition {
  return expositionOf(parseSamples(text));
}

function expositionOf(samples: Sample[]): Exposition {
  const out: Exposition = new Map();
  for (const { name, value } of samples) {
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** The bundled server's node-wide series (servers/core/metrics.ts): every process of a node, a cluster's primary and workers. */
const NODE = {
  cpu: 'wsbench_node_cpu_seconds_total',
  rss: 'wsbench_node_resident_memory_bytes',
  heap: 'wsbench_node_heap_used_bytes',
  external: 'wsbench_node_external_memory_bytes',
  processCpu: 'wsbench_node_process_cpu_seconds_total',
} as const;

const sum = (e: Exposition, ...names: string[]): number | undefined => {
  for (const n of names) {
    const v = e.get(n);
    if (v) return v.reduce((a, b) => a + b, 0);
  }
  return undefined;
};

/** One process of a scraped node at one scrape: CPU seconds since it started. */
interface ProcessPoint {
  url: string;
  role: string;
  pid: number;
  cpuSeconds: number;
}

interface Point {
  atMs: number;
  rss?: number;
  heap?: number;
  cpuSeconds?: number;
  /** `node` when every target gave the node-wide CPU, else `process`: a window is judged on points of one kind. */
  cpuCoverage?: 'node' | 'process';
  processes?: ProcessPoint[];
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
export function startScraper(urls: string[], opts: { intervalMs?: number; timeoutMs?: number; extraSeries?: string[]; tls?: ScrapeTls } = {}): Scraper {
  const intervalMs = opts.intervalMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 800;
  const extra = opts.extraSeries ?? [];
  const points: Point[] = [];
  const errors = new Map<string, string>();
  let scrapes = 0;
  let failures = 0;
  let stopped = false;

  const getter = createGetter(opts.tls ?? { insecure: false });

  const one = async (url: string): Promise<{ url: string; samples: Sample[] } | undefined> => {
    try {
      const res = await getter.get(url, timeoutMs);
      if (res.status !== 200) {
        failures++;
        if (!errors.has(url)) errors.set(url, `${url}: HTTP ${res.status}`);
        return undefined;
      }
      scrapes++;
      return { url, samples: parseSamples(res.body) };
    } catch (e) {
      failures++;
      const err = e as NodeJS.ErrnoException;
      const cert = CERT_ERRORS.has(err.code ?? '') ? ` (a self-signed certificate: --insecure; your own CA: --ca FILE)` : '';
      if (!errors.has(url)) errors.set(url, `${url}: ${err.code ?? err.message}${cert}`);
      return undefined;
    }
  };

  const round = async () => {
    const atMs = Date.now();
    const got = (await Promise.all(urls.map(one))).filter((e) => e !== undefined);
    if (!got.length || stopped) return;
    const p: Point = { atMs, extra: {} };
    const add = (key: 'rss' | 'heap' | 'cpuSeconds', v: number | undefined) => {
      if (v !== undefined) p[key] = (p[key] ?? 0) + v;
    };
    const exps = got.map((g) => expositionOf(g.samples));
    // Node-wide figures only when every target has them: a sum mixing a node with one process of another would mislead.
    const nodeWide = exps.every((e) => e.has(NODE.cpu));
    if (nodeWide) {
      p.cpuCoverage = 'node';
      p.processes = got.flatMap((g) => g.samples.filter((s) => s.name === NODE.processCpu).map((s) => ({ url: g.url, role: s.labels.role ?? '', pid: Number(s.labels.pid), cpuSeconds: s.value })));
    } else if (exps.every((e) => e.has('process_cpu_seconds_total'))) p.cpuCoverage = 'process';
    for (const e of exps) {
      add('rss', nodeWide ? sum(e, NODE.rss) : sum(e, 'process_resident_memory_bytes', 'wsbench_server_process_resident_memory_bytes'));
      add('cpuSeconds', sum(e, nodeWide ? NODE.cpu : 'process_cpu_seconds_total'));
      const heapUsed = nodeWide ? sum(e, NODE.heap) : sum(e, 'nodejs_heap_size_used_bytes');
      if (heapUsed !== undefined) add('heap', heapUsed + ((nodeWide ? sum(e, NODE.external) : sum(e, 'nodejs_external_memory_bytes')) ?? 0));
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
    a.cpuSeconds === undefined || b.cpuSeconds === undefined || a.cpuCoverage !== b.cpuCoverage || b.atMs <= a.atMs ? undefined : (100 * (b.cpuSeconds - a.cpuSeconds) * 1000) / (b.atMs - a.atMs);

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
      getter.close();
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
      // Points of the kind the window ends with (a node whose primary stopped answering falls back to one process).
      const coverage = inWindow.filter((p) => p.cpuSeconds !== undefined).at(-1)?.cpuCoverage;
      const cpu = inWindow.filter((p) => p.cpuSeconds !== undefined && p.cpuCoverage === coverage);
      if (cpu.length >= 2) {
        const first = cpu[0]!;
        const last = cpu.at(-1)!;
        out.cpuSeconds = round3(last.cpuSeconds! - first.cpuSeconds!);
        out.cpuPercentMean = Math.round(cpuPercentBetween(first, last)! * 10) / 10;
        out.cpuCoverage = coverage;
        out.cpuWindow = { fromMs: first.atMs, toMs: last.atMs };
        if (coverage === 'node') out.processes = processShares(first.processes ?? [], last.processes ?? []);
      }
      const lags = inWindow.filter((p) => p.lagSec !== undefined).map((p) => p.lagSec!);
      if (lags.length) out.eventLoopLagMaxMs = Math.round(Math.max(...lags) * 1e4) / 10;
      return out;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      getter.close();
    },
  };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Each process's CPU between two scrapes (seconds), in the order of the last one; a process
 * that started inside the window counts from zero.
 */
function processShares(first: ProcessPoint[], last: ProcessPoint[]): ServerProcess[] {
  const before = new Map(first.map((p) => [`${p.url} ${p.pid}`, p.cpuSeconds]));
  return last.map((p) => ({ url: p.url, role: p.role, pid: p.pid, cpuSeconds: round3(p.cpuSeconds - (before.get(`${p.url} ${p.pid}`) ?? 0)) }));
}

/** The `/metrics` URL of a server given by its client URL (ws://h:p/ws -> http://h:p/metrics). */
export function metricsUrlOf(clientUrl: string): string {
  const u = new URL(clientUrl);
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}/metrics`;
}
