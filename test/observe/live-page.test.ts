/**
 * `--live`: a real run's page opened in headless Chromium while the run goes: the
 * charts draw and grow every second, the status follows the phases, no script error,
 * no request outside the page's own server, and the page says when the run is over.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN } from '../support/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { killPid } from '../helpers/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const mustRun = Boolean(process.env.CI);
if (!available && !mustRun) console.warn(`\n!!! SKIPPING the live page browser test: ${CHROMIUM} is missing (apt-get install -y chromium). Under CI this fails instead.\n`);

describe.skipIf(!available && !mustRun)('wsbench run --live in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('draws the run\'s charts as it goes and ends with the run', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'run', 'broadcast', '--clients', '40', '--rooms', '2', '--rate', '40', '--warmup', '500ms', '--duration', '4s', '--cooldown', '500ms', '--live', String(port), '--quiet', '--out', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The page is served before the run starts (the URL is printed even with --quiet).
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('live charts at') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain(`live charts at http://127.0.0.1:${port}/`);
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => /phase steady/.test(document.getElementById('live-status')?.textContent ?? ''), undefined, { timeout: 30_000 });
      const pointsNow = () => page.$$eval('#live-charts svg.chart polyline.line', (ps) => ps.reduce((n, p) => n + (p.getAttribute('points')?.trim().split(/\s+/).length ?? 0), 0));
      const early = await pointsNow();
      const captions = () => page.$$eval('#live-charts figure figcaption', (c) => c.map((x) => x.textContent));
      expect(await captions()).toContain('Open connections');
      await page.waitForTimeout(2000);
      expect(await pointsNow()).toBeGreaterThan(early);
      expect(await captions()).toEqual(expect.arrayContaining(['Open connections', 'Messages sent per second', 'Fan-out latency per second']));
      await page.waitForFunction(() => document.getElementById('live-state')?.textContent === 'run finished', undefined, { timeout: 30_000 });
      expect(await page.textContent('#live-status')).toMatch(/phase done/);
      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith(`http://127.0.0.1:${port}/`) && !u.startsWith('data:'))).toEqual([]);
      expect(await exited).toBe(0);
    } finally {
      killPid(child.pid);
    }
  });
});
