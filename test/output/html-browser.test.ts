/**
 * The HTML report opened in headless Chromium: no script error, no console
 * error, no network request, and the charts really drew. Needs /usr/bin/chromium;
 * without it the suite fails under CI and is skipped (loudly) elsewhere.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/output/index.ts';
import { makeReport } from '../fixtures/reports.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const mustRun = Boolean(process.env.CI);
if (!available && !mustRun) {
  console.warn(`\n!!! SKIPPING the HTML browser test: ${CHROMIUM} is missing (apt-get install -y chromium). Under CI this fails instead.\n`);
}

interface Watch {
  problems: string[];
  requests: string[];
}

async function openPage(browser: Browser): Promise<{ page: Page; watch: Watch }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const watch: Watch = { problems: [], requests: [] };
  page.on('pageerror', (e) => watch.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') watch.problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => watch.requests.push(r.url()));
  await page.route('**', (route) => {
    const url = route.request().url();
    return url.startsWith('file:') ? route.continue() : route.abort();
  });
  return { page, watch };
}

function offline(watch: Watch): string[] {
  return watch.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && u !== 'about:blank');
}

/** Per chart: how many lines it drew and how many points the longest has. */
async function chartStats(page: Page) {
  return page.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const lines = [...svg.querySelectorAll('polyline')].map((p) => p.points.numberOfItems);
      const box = svg.getBoundingClientRect();
      return { title: svg.getAttribute('aria-label'), lines: lines.length, maxPoints: Math.max(0, ...lines), width: box.width, height: box.height };
    }),
  );
}

describe.skipIf(!available && !mustRun)('HTML report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing and CI is set: install chromium (apt-get install -y chromium) so the HTML report is tested`);
    dir = await mkdtemp(join(tmpdir(), 'wsbench-html-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders one report from file:// without errors or network, every chart drawn', async () => {
    const report = makeReport();
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml(report));
    const { page, watch } = await openPage(browser);
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    const stats = await chartStats(page);
    const metrics = Object.keys(report.metrics).length;
    expect(stats).toHaveLength(metrics + 6);
    for (const s of stats) {
      expect(s.lines, String(s.title)).toBeGreaterThanOrEqual(1);
      expect(s.maxPoints, String(s.title)).toBeGreaterThanOrEqual(5);
      expect(s.width, String(s.title)).toBeGreaterThan(300);
      expect(s.height, String(s.title)).toBeGreaterThan(150);
    }
    const spectra = stats.filter((s) => s.title?.endsWith('latency by percentile'));
    expect(spectra).toHaveLength(metrics);
    const series = stats.find((s) => s.title === 'Deliveries (messages received) per second')!;
    expect(series.maxPoints).toBe(30);
    expect(await page.locator('svg.chart .marker-fault').count()).toBe(6);
    expect(await page.locator('.pill.fail').count()).toBe(2);
    expect(await page.locator('.pill.pass').count()).toBe(2);
    expect(await page.title()).toBe('wsbench: broadcast');

    await page.screenshot({ path: '/tmp/wsbench-report.png', fullPage: true });
    expect(watch.problems).toEqual([]);
    expect(offline(watch)).toEqual([]);
    await page.close();
  });

  it('renders overlaid reports and hostile text inertly', async () => {
    const a = makeReport();
    const b = makeReport({
      scenario: { name: '<img src="http://example.invalid/x.png" onerror="console.error(1)">', options: {} },
      notes: ['<script>console.error("injected")</script>'],
    });
    const { page, watch } = await openPage(browser);
    await page.setContent(renderHtml([a, b]), { waitUntil: 'load' });
    const stats = await chartStats(page);
    expect(stats.filter((s) => s.title?.endsWith('latency by percentile')).every((s) => s.lines === 2)).toBe(true);
    expect(await page.locator('img, script').count()).toBe(0);
    expect(await page.getByText('<script>console.error("injected")</script>').count()).toBe(1);
    expect(watch.problems).toEqual([]);
    expect(offline(watch)).toEqual([]);
    await page.close();
  });
});
