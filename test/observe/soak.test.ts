/**
 * Leak detection: the slope maths on known series, the soak verdict on each kind of
 * memory curve, and a real bundled server that leaks on purpose caught in seconds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report, ServerSide } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { blockFloors, memoryTrend, theilSenSlope } from '../../src/observe/slope.ts';
import { parseExposition } from '../../src/observe/scrape.ts';
import { memorySlopeCheck } from '../../scenarios/soak.ts';
import { evaluateGates, parseGates } from '../../src/gates/index.ts';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'wsbench-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seconds = (n: number) => Array.from({ length: n }, (_, i) => 1_000_000 + i * 1000);

describe('memory slope', () => {
  it('Theil-Sen finds a steady climb and ignores one step of a heap that grew once', () => {
    const xs = seconds(120).map((t) => t / 3_600_000);
    const climb = xs.map((_, i) => 100 * MIB + i * 50_000 + (i % 7) * 200_000);
    expect(theilSenSlope(xs, climb)! / MIB).toBeCloseTo((50_000 * 3600) / MIB, 0);
    const step = xs.map((_, i) => (i < 20 ? 100 * MIB : 108 * MIB));
    expect(theilSenSlope(xs, step)).toBe(0);
  });

  it('block floors and whether they kept rising', () => {
    expect(blockFloors([5, 4, 9, 8, 7, 12, 11, 10], 4)).toEqual([4, 8, 7, 10]);
    const t = memoryTrend(seconds(40), Array.from({ length: 40 }, (_, i) => 100 * MIB + i * MIB));
    expect(t?.floorsRising).toBe(true);
    expect(memoryTrend(seconds(5), [1, 2, 3, 4, 5])).toBeUndefined();
  });

  const side = (rss: number[]): ServerSide => {
    const t = memoryTrend(seconds(rss.length), rss)!;
    return { urls: ['http://x/metrics'], scrapes: rss.length, failures: 0, rssSlopeBytesPerHour: t.slopeBytesPerHour, rssFloorsBytes: t.floorsBytes, rssFloorsRising: t.floorsRising };
  };

  it('the soak verdict: a lasting climb fails; no climb passes only when the window resolves max-slope; otherwise unverified, saying how long is enough', () => {
    const FIFTEEN_MIN = 900_000;
    const run = (f: (i: number) => number, windowMs = FIFTEEN_MIN) => memorySlopeCheck(side(Array.from({ length: 60 }, (_, i) => f(i))), 32 * MIB, 8 * MIB, windowMs);
    expect(run((i) => 100 * MIB + (i % 5) * 100_000)).toMatchObject({ passed: true, detail: expect.stringMatching(/no leak of 32\.0 MiB\/h or more/) });
    const short = run((i) => 100 * MIB + (i % 5) * 100_000, 60_000);
    expect(short).toMatchObject({ passed: false, status: 'unverified' });
    expect(short.detail).toMatch(/rules out leaks of 480\.0 MiB\/h or more, not 32\.0 MiB\/h: that needs a measured window of at least 15 min/);
    const leak = run((i) => 100 * MIB + i * 512 * 1024, 60_000);
    expect(leak.passed).toBe(false);
    expect((leak as { status?: string }).status).toBeUndefined();
    expect(leak.detail).toMatch(/climbed through the window, 2\d\.\d MiB in all/);
    // A young heap drifting 2 MiB in a minute: not a leak, not ruled out either.
    expect(run((i) => 100 * MIB + i * 40_000, 60_000)).toMatchObject({ passed: false, status: 'unverified' });
    // Major GCs: climbs, falls back; the floors end near where they started.
    expect(run((i) => 100 * MIB + (i % 40) * 400_000)).toMatchObject({ passed: true });
    expect(memorySlopeCheck(undefined, 32 * MIB, 8 * MIB, FIFTEEN_MIN)).toMatchObject({ passed: false, status: 'unverified', detail: expect.stringMatching(/--scrape URL/) });
  });

  it('judges live memory (heap + Buffers) when the target reports it, not RSS', () => {
    const rssFlat = side(Array.from({ length: 60 }, () => 100 * MIB));
    const heap = memoryTrend(seconds(60), Array.from({ length: 60 }, (_, i) => 20 * MIB + i * 600_000))!;
    const c = memorySlopeCheck({ ...rssFlat, heapSlopeBytesPerHour: heap.slopeBytesPerHour, heapFloorsBytes: heap.floorsBytes, heapFloorsRising: heap.floorsRising }, 32 * MIB, 8 * MIB, 60_000);
    expect(c).toMatchObject({ passed: false, evidence: { memory: 'live memory (V8 heap in use + Buffers)' } });
  });

  it('parses the Prometheus text format, summing nothing it should not', () => {
    const e = parseExposition('# HELP a x\n# TYPE a gauge\nprocess_resident_memory_bytes 123\nreq_total{code="200"} 5\nreq_total{code="500"} 2\nbad line\nlag NaN\n');
    expect(e.get('process_resident_memory_bytes')).toEqual([123]);
    expect(e.get('req_total')).toEqual([5, 2]);
    expect(e.has('lag')).toBe(false);
  });
});

describe('server gates', () => {
  const report = (server?: ServerSide) => ({ server }) as unknown as Report;
  it('server.rss.slope in MiB/h and server.rss.peak in bytes units, judged on report.server; missing when nothing was scraped', () => {
    const { gates, errors } = parseGates(['server.rss.slope < 10MiB/h', 'server.rss.peak <= 512MiB', 'server.rss.slope < 10ms', 'server.cpu < 5']);
    expect(gates.map((g) => g.threshold)).toEqual([10 * MIB, 512 * MIB]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/unit "ms" does not apply: server.rss.slope is a growth per hour/), expect.stringMatching(/unknown server field "cpu"/)]);
    const side: ServerSide = { urls: [], scrapes: 9, failures: 0, rssSlopeBytesPerHour: 20 * MIB, rssBytesPeak: 100 * MIB };
    expect(evaluateGates(gates, [report(side)]).map((g) => g.passed)).toEqual([false, true]);
    expect(evaluateGates(gates, [report(undefined)])[0]).toMatchObject({ passed: false, detail: expect.stringMatching(/give --scrape URL/) });
  });
});

describe('wsbench run soak', () => {
  it('a bundled server leaking 4 MiB/s fails the slope check within seconds; the report has the server side beside the client side', async () => {
    const out = join(dir, 'leak.json');
    const r = await runCli(['run', 'soak', '--clients', '60', '--rooms', '4', '--warmup', '1s', '--duration', '9s', '--cooldown', '500ms', '--server', 'leak-kib-per-sec=4096', '--gate', 'server.rss.slope < 10MiB/h', '--gate', 'server.rss.peak < 4GiB', '--scrape-series', 'nodejs_external_memory_bytes', '--out', out]);
    expect(r.code).toBe(1);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(rep.gates.find((g) => g.expr === 'server.rss.slope < 10MiB/h')).toMatchObject({ passed: false, actual: rep.server!.rssSlopeBytesPerHour });
    expect(rep.gates.find((g) => g.expr === 'server.rss.peak < 4GiB')).toMatchObject({ passed: true, actual: rep.server!.rssBytesPeak });
    expect(r.stdout).toMatch(/server\.rss\.slope < 10MiB\/h\s.*FAIL.*\d+(\.\d+)?[GM]iB\/h/);
    const check = rep.checks.find((c) => c.name === 'server.memory-slope')!;
    expect(check.passed).toBe(false);
    expect(check.detail).toMatch(/climbed through the window/);
    expect(rep.server!.rssSlopeBytesPerHour!).toBeGreaterThan(1024 * MIB);
    // The leak is Buffers: it shows in live memory as in RSS.
    expect(rep.server!.heapSlopeBytesPerHour!).toBeGreaterThan(1024 * MIB);
    expect(check.evidence).toMatchObject({ memory: 'live memory (V8 heap in use + Buffers)' });
    expect(rep.server!.cpuSeconds!).toBeGreaterThan(0);
    expect(rep.series['server.rss']!.filter((v) => v > 0).length).toBeGreaterThan(8);
    // A series named with --scrape-series: the leaked Buffers themselves, climbing.
    const external = rep.series['server.nodejs_external_memory_bytes']!.filter((v) => v > 0);
    expect(external.at(-1)! - external[0]!).toBeGreaterThan(16 * MIB);
    expect(rep.checks.find((c) => c.name === 'delivery.exactly-once-in-order')?.passed).toBe(true);
  });
});
