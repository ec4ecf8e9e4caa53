/**
 * Issue 7 end to end: CI gates, baselines, `--repeat`, `compare`, `report` and
 * `merge`, each through the real CLI as a child process against the bundled
 * server. Runs are small and short; the ones several tests read are started once
 * (memoized), so any single test can also run alone with `-t`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.ts';
import { parseGatesFile, validateGateMetricNames } from '../../src/gates/index.ts';
import { runCli as spawnCli, QUICK, type CliResult } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-gates-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The real CLI without colours. The shared helper sets FORCE_COLOR=0, which
 * picocolors reads as "force colours on" (it tests presence, not value).
 * These tests are about gates, not the generator: the test hook raises the
 * event-loop saturation threshold to 2 s so that a loaded shared box does not
 * make `generator.saturated == false` fail (saturation itself: test/cli/saturated.test.ts).
 */
const runCli = (args: string[], opts: { timeoutMs?: number } = {}) => spawnCli(args, { ...opts, env: { NO_COLOR: '1', WSBENCH_SATURATION_ELD_US: '2000000' } });

const at = (name: string) => join(dir, name);
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;
const gateFlags = (gates: string[]) => gates.flatMap((g) => ['--gate', g]);

/** 40 clients in 2 rooms, 50 publishes/s: about 100 acks and 2,000 deliveries per run. */
const SMALL = ['--clients', '40', '--rooms', '2', '--rate', '50', ...QUICK];
/**
 * The runs that `regress` gates and `compare` judge: the noise of a value comes from
 * the run's whole measured seconds (docs/CI.md, "Noise"), so they measure for 3 s.
 */
const COMPARED = ['--clients', '40', '--rooms', '2', '--rate', '50', '--warmup', '300ms', '--cooldown', '500ms', '--duration', '3s'];
/** A run that would take a minute: a usage error must come back long before. */
const LONG = ['--clients', '40', '--duration', '60s'];

const PASSING = ['fanout.p99 < 5s', 'errors.rate < 1%', 'deliveries.rate >= 1/s', 'generator.saturated == false', 'ledger.lost == 0'];

/** Start a run the first time it is asked for; later callers share it. */
function once<T>(start: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= start());
}

function expectRan(r: CliResult, code: number): void {
  expect(r.stderr).not.toMatch(/wsbench failed/);
  expect(r.code, r.stderr).toBe(code);
}

/** The baseline: a normal run with the passing gate set and every output file. */
const baseRun = once(() =>
  runCli(['run', 'broadcast', ...COMPARED, ...gateFlags(PASSING), '--out', at('base.json'), '--html', at('base.html'), '--junit', at('base.xml'), '--summary-md', at('base.md')]),
);

/** The CI gate file: comments, blank lines, trailing comments, a regress gate. */
const GATES_FILE = `# gates for the broadcast scenario, one per line
fanout.p99 < 5s          # absolute, generous on a shared runner

errors.rate < 1%
ledger.lost == 0
# relative to --baseline; generous so that noise cannot fail it
ack.p50 regress < 900%
`;

/** Same server speed as the baseline, gates from the file. */
const sameRun = once(() => {
  writeFileSync(at('gates.txt'), GATES_FILE);
  return runCli(['run', 'broadcast', ...COMPARED, '--baseline', at('base.json'), '--gates', at('gates.txt'), '--out', at('same.json')]);
});

/** The bundled server holds every publish 40 ms before acking and fanning it out. */
const slowRun = once(() => runCli(['run', 'broadcast', ...COMPARED, '--server', 'delay-ms=40', '--baseline', at('base.json'), '--gate', 'ack.p50 regress < 50%', '--out', at('slow.json'), '--junit', at('slow.xml')]));

/** Another scenario; `reconnect` is a metric wsbench has but this run does not produce. */
const joinsRun = once(() => runCli(['run', 'joins', ...SMALL, '--gate', 'reconnect.p99 < 1s', '--gate', 'connect.p99 < 5s', '--out', at('joins.json')]));

const repeatRun = once(() =>
  runCli(['run', 'broadcast', ...SMALL, '--repeat', '3', '--gate', 'fanout.p99 < 5s', '--gate', 'generator.saturated == false', '--out', at('repeat.json'), '--html', at('repeat.html')], { timeoutMs: 120_000 }),
);

/** Parse `11.6 ms`, `11.6ms`, `593us`, `1.2 s` into microseconds. */
function toUs(text: string): number {
  const m = /^\s*([\d.]+)\s*(us|ms|s)\s*$/.exec(text);
  if (!m) throw new Error(`not a time: "${text}"`);
  return Number(m[1]) * { us: 1, ms: 1000, s: 1_000_000 }[m[2] as 'us' | 'ms' | 's'];
}

describe('gates on real runs', () => {
  it('a passing set exits 0 and every gate passes in the report, JUnit and Markdown', async () => {
    const r = await baseRun();
    expectRan(r, 0);
    const rep = readReport(at('base.json'));
    expect(rep.gates.map((g) => g.expr)).toEqual(PASSING);
    for (const g of rep.gates) expect(g.passed, `${g.expr}: ${g.detail}`).toBe(true);
    const byExpr = Object.fromEntries(rep.gates.map((g) => [g.expr, g.actual]));
    expect(byExpr['fanout.p99 < 5s']).toBe(rep.metrics.fanout!.p99);
    expect(byExpr['errors.rate < 1%']).toBe(0);
    expect(byExpr['deliveries.rate >= 1/s']).toBe(rep.rates.deliveriesPerSec);
    expect(byExpr['generator.saturated == false']).toBe(false);
    expect(byExpr['ledger.lost == 0']).toBe(0);

    const xml = readFileSync(at('base.xml'), 'utf8');
    const cases = rep.checks.length + PASSING.length;
    expect(xml).toContain(`<testsuites name="wsbench" tests="${cases}" failures="0"`);
    expect(xml.match(/<testcase /g)).toHaveLength(cases);
    expect(xml).not.toContain('<failure');
    const md = readFileSync(at('base.md'), 'utf8');
    expect(md).toMatch(/passed/);
    for (const g of PASSING) expect(md).toContain(`| ✅ | \`${g}\` |`);
  });

  it('one failing gate exits 1 and JUnit has exactly one failure, for it; a gate file with comments is read', async () => {
    const failing = 'fanout.p50 < 1us';
    writeFileSync(at('gates-abs.txt'), GATES_FILE.replace(/^ack\.p50 regress.*$/m, ''));
    const r = await runCli(['run', 'broadcast', ...SMALL, '--gates', at('gates-abs.txt'), '--gate', failing, '--out', at('fail.json'), '--junit', at('fail.xml')]);
    expectRan(r, 1);
    const rep = readReport(at('fail.json'));
    expect(rep.gates.map((g) => g.expr).sort()).toEqual(['errors.rate < 1%', 'fanout.p99 < 5s', failing, 'ledger.lost == 0'].sort());
    expect(rep.gates.filter((g) => !g.passed).map((g) => g.expr)).toEqual([failing]);
    expect(rep.checks.every((c) => c.passed)).toBe(true);
    expect(rep.gates.find((g) => g.expr === failing)!.actual).toBe(rep.metrics.fanout!.p50);

    const xml = readFileSync(at('fail.xml'), 'utf8');
    expect(xml).toContain(`tests="${rep.checks.length + 4}" failures="1"`);
    expect(xml.match(/<failure /g)).toHaveLength(1);
    const failed = /<testcase classname="([^"]+)" name="([^"]+)" time="0">\s*<failure type="gate" message="([^"]*)"/.exec(xml);
    expect(failed?.[1]).toBe('wsbench.broadcast.gates');
    expect(failed?.[2]).toBe('fanout.p50 &lt; 1us');
    expect(failed?.[3]).toMatch(/^fanout\.p50 &lt; 1us failed: actual /);
  });

  it('a metric no run can have is refused before the run starts: exit 2, named, with a suggestion', async () => {
    const t0 = Date.now();
    // From the command line, and from a file with several at once: side by side, both exit at once.
    writeFileSync(at('gates-bad-metric.txt'), '# typos\nconect.p95 < 1s\nlatency.p99 < 1s\n');
    const [a, b] = await Promise.all([
      runCli(['run', 'broadcast', ...LONG, '--gate', 'fanout.p99 < 5s', '--gate', 'fanuot.p99 < 5s', '--out', at('never.json')], { timeoutMs: 30_000 }),
      runCli(['run', 'broadcast', ...LONG, '--gates', at('gates-bad-metric.txt')], { timeoutMs: 30_000 }),
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown metric "fanuot"\. Did you mean "fanout"\?/);
    expect(a.stderr).toMatch(/wsbench measures: connect, (connect\.[a-z]+, )*join, ack, fanout/);
    expect(a.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(at('never.json'))).toBe(false);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/2 gates name metrics wsbench never measures/);
    expect(b.stderr).toMatch(/unknown metric "conect"\. Did you mean "connect"\?/);
    expect(b.stderr).toMatch(/unknown metric "latency"/);
    expect(Date.now() - t0).toBeLessThan(25_000);
  });

  it('a metric this run did not produce fails its gate after the run, naming it; the other gates keep their verdicts', async () => {
    const r = await joinsRun();
    expectRan(r, 1);
    const rep = readReport(at('joins.json'));
    expect(rep.metrics.reconnect).toBeUndefined();
    const [reconnect, connect] = rep.gates;
    expect(reconnect).toMatchObject({ expr: 'reconnect.p99 < 1s', passed: false, actual: null });
    expect(reconnect!.detail).toMatch(/unknown metric "reconnect".*Metrics of this run: .*connect/);
    expect(connect).toMatchObject({ expr: 'connect.p99 < 5s', passed: true, actual: rep.metrics.connect!.p99 });
  });

  it('a syntax error exits 2 before the run with a caret under the offending character', async () => {
    const expr = 'fanout.p99 < 5sx';
    writeFileSync(at('gates-syntax.txt'), '# ok\nfanout.p99 < 5s\nerrors.rate <> 1%\n');
    const [a, b] = await Promise.all([
      runCli(['run', 'broadcast', ...LONG, '--gate', expr], { timeoutMs: 30_000 }),
      runCli(['run', 'broadcast', ...LONG, '--gates', at('gates-syntax.txt')], { timeoutMs: 30_000 }),
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/Invalid gate "fanout\.p99 < 5sx" at column 15: unknown unit/);
    const lines = a.stderr.split('\n');
    const i = lines.indexOf(`  ${expr}`);
    expect(i).toBeGreaterThan(-1);
    expect(lines[i + 1]).toBe(`${' '.repeat(2 + expr.indexOf('sx'))}^`);

    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/line 3: Invalid gate "errors\.rate <> 1%" at column 14/);
    const blines = b.stderr.split('\n');
    const j = blines.indexOf('  errors.rate <> 1%');
    expect(blines[j + 1]).toBe(`${' '.repeat(2 + 'errors.rate <'.length)}^`);
  });
});

describe('baseline regression against a deliberately slowed server', () => {
  it('delay-ms=40 fails `ack.p50 regress < 50%`, the actual being the regression', async () => {
    await baseRun();
    const r = await slowRun();
    expectRan(r, 1);
    const base = readReport(at('base.json'));
    const slow = readReport(at('slow.json'));
    expect(slow.metrics.ack!.p50).toBeGreaterThanOrEqual(40_000);
    const [gate] = slow.gates;
    expect(gate).toMatchObject({ expr: 'ack.p50 regress < 50%', passed: false });
    const b = base.metrics.ack!.p50;
    expect(gate!.actual as number).toBeCloseTo((slow.metrics.ack!.p50 - b) / b, 9);
    expect(gate!.actual as number).toBeGreaterThan(0.5);
    expect(gate!.detail).toMatch(/^ack\.p50 changed \+[\d.]+%: [\d.]+ ms vs baseline [\d.]+ (ms|us); needs < 50%$/);
    const xml = readFileSync(at('slow.xml'), 'utf8');
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml).toContain('name="ack.p50 regress &lt; 50%"');
  });

  it('the same server speed passes the regress gate read from a gate file', async () => {
    await baseRun();
    const r = await sameRun();
    expectRan(r, 0);
    const rep = readReport(at('same.json'));
    expect(rep.gates.map((g) => g.expr)).toEqual(['fanout.p99 < 5s', 'errors.rate < 1%', 'ledger.lost == 0', 'ack.p50 regress < 900%']);
    for (const g of rep.gates) expect(g.passed, `${g.expr}: ${g.detail}`).toBe(true);
    expect(typeof rep.gates[3]!.actual).toBe('number');
    expect(rep.gates[3]!.detail).toMatch(/vs baseline/);
  });

  it('a baseline of another scenario is refused before the run: exit 2, saying why', async () => {
    await joinsRun();
    const r = await runCli(['run', 'broadcast', ...LONG, '--baseline', at('joins.json'), '--gate', 'fanout.p99 regress < 10%'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--baseline \S*joins\.json is a report of scenario "joins", not "broadcast"/);
    expect(r.stderr).toMatch(/hint: compare runs of the same scenario/);
  });

  it('a regress gate without --baseline exits 2', async () => {
    const r = await runCli(['run', 'broadcast', ...LONG, '--gate', 'ack.p50 regress < 10%'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --baseline/);
  });
});

describe('--repeat 3', () => {
  it('runs three trials and judges the gates on the median, with the spread in the detail', async () => {
    const r = await repeatRun();
    expectRan(r, 0);
    for (const k of [1, 2, 3]) expect(r.stderr).toContain(`trial ${k}/3`);
    expect(r.stderr).toContain('trials: 3; gates judged on the median');
    const rep = readReport(at('repeat.json'));
    const [p99, saturated] = rep.gates;
    expect(saturated).toMatchObject({ passed: true, actual: false });
    expect(saturated!.detail).toMatch(/true in 0 of 3 trials/);
    const m = /^fanout\.p99 = (.+) \(median of 3 trials, spread (.+)\.\.(.+)\); needs < 5 s$/.exec(p99!.detail ?? '');
    expect(m, p99!.detail).not.toBeNull();
    const [lo, hi] = [toUs(m![2]!), toUs(m![3]!)];
    const actual = p99!.actual as number;
    // The report kept is the last trial's; its own p99 is one of the three, inside the spread.
    const last = rep.metrics.fanout!.p99;
    for (const v of [actual, last]) {
      expect(v).toBeGreaterThanOrEqual(lo * 0.995);
      expect(v).toBeLessThanOrEqual(hi * 1.005);
    }
    // Each trial's fanout p99 is on the HTML summary cards: the gate's actual is their median.
    const html = readFileSync(at('repeat.html'), 'utf8');
    const trials = [...html.matchAll(/card-label">fanout p99<\/div><div class="card-value">([^<]+)</g)].map((x) => toUs(x[1]!));
    expect(trials).toHaveLength(3);
    const sorted = [...trials].sort((a, b) => a - b);
    expect(actual).toBeGreaterThanOrEqual(sorted[1]! * 0.995);
    expect(actual).toBeLessThanOrEqual(sorted[1]! * 1.005);
    // Both sides are rounded to 3 significant digits.
    expect(Math.abs(lo - sorted[0]!) / sorted[0]!).toBeLessThan(0.01);
    expect(Math.abs(hi - sorted[2]!) / sorted[2]!).toBeLessThan(0.01);
  });
});

describe('wsbench compare', () => {
  it('prints the side-by-side table and exits 1 when the slowed run is compared with --max-regression 10%', async () => {
    await baseRun();
    await slowRun();
    const r = await runCli(['compare', at('base.json'), at('slow.json'), '--max-regression', '10%']);
    expect(r.code).toBe(1);
    const header = r.stdout.split('\n').find((l) => l.includes('metric'))!;
    expect(header).toContain('base.json');
    expect(header).toContain('slow.json');
    expect(header).toContain('delta');
    const ack = r.stdout.split('\n').find((l) => /│ ack\.p50 /.test(l))!;
    expect(ack).toMatch(/\+[\d.,]+%/);
    expect(ack).toContain('REGRESSED');
    expect(r.stdout).toMatch(/\d+ of \d+ compared values regressed/);
  });

  it('a report compared with itself exits 0', async () => {
    await baseRun();
    const r = await runCli(['compare', at('base.json'), at('base.json'), '--max-regression', '10%']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('REGRESSED');
    expect(r.stdout).toMatch(/No regression in \d+ compared values/);
  });

  it('reports of different scenarios do not compare: exit 2, saying why', async () => {
    await baseRun();
    await joinsRun();
    const r = await runCli(['compare', at('base.json'), at('joins.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/scenario "broadcast", this run is "joins"/);
  });
});

describe('wsbench report', () => {
  it('re-renders the HTML, JUnit and Markdown of a saved run byte for byte', async () => {
    await baseRun();
    const r = await runCli(['report', at('base.json'), '--html', at('again.html'), '--junit', at('again.xml'), '--summary-md', at('again.md')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Latency/);
    expect(r.stdout).toMatch(/fanout\.p99 < 5s/);
    expect(readFileSync(at('again.html'), 'utf8')).toBe(readFileSync(at('base.html'), 'utf8'));
    expect(readFileSync(at('again.xml'), 'utf8')).toBe(readFileSync(at('base.xml'), 'utf8'));
    expect(readFileSync(at('again.md'), 'utf8')).toBe(readFileSync(at('base.md'), 'utf8'));
  });
});

const CHROMIUM = '/usr/bin/chromium';
const chromiumHere = existsSync(CHROMIUM);
const chromiumRequired = Boolean(process.env.CI);
if (!chromiumHere && !chromiumRequired) {
  console.warn(`\n!!! SKIPPING the real-run HTML browser test: ${CHROMIUM} is missing (apt-get install -y chromium). Under CI this fails instead.\n`);
}

describe.skipIf(!chromiumHere && !chromiumRequired)('the HTML of a real run in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!chromiumHere) throw new Error(`${CHROMIUM} is missing and CI is set: install chromium (apt-get install -y chromium) so the HTML report is tested`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string): Promise<{ page: Page; problems: string[]; offline: () => string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('request', (req) => requests.push(req.url()));
    await page.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const offline = () => requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && u !== 'about:blank');
    return { page, problems, offline };
  }

  async function charts(page: Page) {
    return page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => {
        const lines = [...svg.querySelectorAll('polyline')].map((p) => p.points.numberOfItems);
        const box = svg.getBoundingClientRect();
        return { title: svg.getAttribute('aria-label') ?? '', lines: lines.length, maxPoints: Math.max(0, ...lines), width: box.width, height: box.height };
      }),
    );
  }

  it('opens without script errors or network requests, and every chart drew points', async () => {
    await baseRun();
    const rep = readReport(at('base.json'));
    const { page, problems, offline } = await open(at('base.html'));
    const stats = await charts(page);
    const measured = Object.values(rep.metrics).filter((m) => m.count > 0).length;
    expect(stats.filter((s) => s.title.endsWith('latency by percentile'))).toHaveLength(measured);
    expect(stats.length).toBeGreaterThan(measured);
    for (const s of stats) {
      expect(s.lines, s.title).toBeGreaterThanOrEqual(1);
      expect(s.maxPoints, s.title).toBeGreaterThanOrEqual(s.title.endsWith('latency by percentile') ? 5 : 2);
      expect(s.width, s.title).toBeGreaterThan(300);
      expect(s.height, s.title).toBeGreaterThan(150);
    }
    const deliveries = stats.find((s) => s.title === 'Deliveries (messages received) per second');
    expect(deliveries?.maxPoints).toBe(rep.series['messages.received']!.length);
    expect(await page.locator('.pill.fail').count()).toBe(0);
    expect(await page.locator('.pill.pass').count()).toBe(rep.checks.length + rep.gates.length);
    expect(await page.title()).toBe('wsbench: broadcast');
    expect(problems).toEqual([]);
    expect(offline()).toEqual([]);
    await page.close();
  });

  it('the --repeat report overlays the three trials in every percentile chart', async () => {
    await repeatRun();
    const { page, problems, offline } = await open(at('repeat.html'));
    const spectra = (await charts(page)).filter((s) => s.title.endsWith('latency by percentile'));
    expect(spectra.length).toBeGreaterThan(0);
    for (const s of spectra) expect(s.lines, s.title).toBe(3);
    expect(problems).toEqual([]);
    expect(offline()).toEqual([]);
    await page.close();
  });
});

describe('wsbench merge', () => {
  // Merging real shard runs exactly is proven in test/cli/shards.test.ts.
  it('refuses to merge reports of different scenarios: exit 2', async () => {
    await baseRun();
    await joinsRun();
    const r = await runCli(['merge', at('base.json'), at('joins.json'), '--out', at('mixed.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/different scenarios \(broadcast, joins\)/);
    expect(existsSync(at('mixed.json'))).toBe(false);
  });
});

describe('the shipped CI examples', () => {
  const root = new URL('../../', import.meta.url);
  const text = (p: string) => readFileSync(new URL(p, root), 'utf8');

  it('examples/gates.txt parses and names only metrics wsbench measures', () => {
    const { gates, errors } = parseGatesFile(text('examples/gates.txt'));
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(gates.length).toBeGreaterThanOrEqual(4);
    expect(validateGateMetricNames(gates).map((e) => e.message)).toEqual([]);
    expect(gates.some((g) => g.regress)).toBe(true);
  });

  it('the GitHub Actions workflow in docs/CI.md is examples/github-actions.yml', () => {
    const yml = text('examples/github-actions.yml');
    for (const s of ['npm ci', 'npx wsbench run broadcast', '--baseline', '--gates examples/gates.txt', '--junit', '--summary-md "$GITHUB_STEP_SUMMARY"', 'actions/upload-artifact', '--refuse-saturated']) {
      expect(yml, s).toContain(s);
    }
    const doc = text('docs/CI.md');
    expect(doc).toContain(yml.trim());
  });

  it('the Kubernetes manifest runs the shards as an Indexed Job', () => {
    const y = text('k8s/wsbench-shards.yaml');
    expect(y).toMatch(/kind: Job/);
    expect(y).toMatch(/completionMode: Indexed/);
    const completions = Number(/completions: (\d+)/.exec(y)?.[1]);
    expect(Number(/parallelism: (\d+)/.exec(y)?.[1])).toBe(completions);
    expect(y).toMatch(/- --shard\n\s+- \$\(JOB_COMPLETION_INDEX\)\/\$\(SHARDS\)\n/);
    expect(Number(/name: SHARDS\n\s+value: "(\d+)"/.exec(y)?.[1])).toBe(completions);
    expect(y).toMatch(/- --start-at\n\s+- \$\(START_AT\)\n/);
    expect(y).toMatch(/wsbench merge \/reports\/shard-\*\.json --out/);
  });
});
