/**
 * The scraper over https: a bundled node started with `--server tls=on` has its figures in
 * the report (trusted as the topology trusts the certificate it made), and a `--scrape`
 * URL is checked as the clients check theirs: refused with a hint by default, read with
 * `insecure` or with the certificate as `ca`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type StartedServer } from '../../servers/main.ts';
import { resolveServerOptions } from '../../servers/core/options.ts';
import { serverTls } from '../../servers/core/tls.ts';
import { metricsUrlOf, startScraper } from '../../src/observe/scrape.ts';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-scrape-tls-'));
let server: StartedServer;
beforeAll(async () => {
  server = await startServer(resolveServerOptions({ tls: true, auth: false, heartbeatMs: 0 }), { signals: false, log: () => {} });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('scraping an https: /metrics', () => {
  it('refuses a self-signed certificate by default, naming --insecure and --ca; reads it with insecure or with the certificate as ca', async () => {
    const url = metricsUrlOf(server.url);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const read = async (tls: { insecure: boolean; ca?: Buffer }) => {
      const s = startScraper([url], { intervalMs: 100, tls });
      try {
        await new Promise((r) => setTimeout(r, 700));
        return s.finish(0, Date.now());
      } finally {
        s.stop();
      }
    };
    const refused = await read({ insecure: false });
    expect(refused.scrapes).toBe(0);
    expect(refused.failures).toBeGreaterThan(0);
    expect(refused.errors?.[0]).toMatch(/SELF_SIGNED.*--insecure.*--ca FILE/);
    for (const tls of [{ insecure: true }, { insecure: false, ca: readFileSync(serverTls({ tls: true })!.certFile) }]) {
      const ok = await read(tls);
      expect(ok.failures, JSON.stringify(ok.errors)).toBe(0);
      expect(ok.scrapes).toBeGreaterThan(1);
      expect(ok.rssBytesPeak).toBeGreaterThan(10 * 1024 * 1024);
      expect(ok.cpuCoverage).toBe('node');
    }
  }, 20_000);
});

describe('a bundled node with --server tls=on', () => {
  it('has its CPU and memory in the report, read over https', async () => {
    const out = join(dir, 'tls.json');
    const r = await runCli(['run', 'broadcast', '--quiet', '--clients', '20', '--rate', '20', '--warmup', '300ms', '--duration', '3s', '--cooldown', '300ms', '--server', 'tls=on', '--insecure', '--out', out], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const s = report.server!;
    expect(s.urls[0]).toMatch(/^https:/);
    expect(s.failures, JSON.stringify(s.errors)).toBe(0);
    expect(s.scrapes).toBeGreaterThan(2);
    expect(s.cpuCoverage).toBe('node');
    expect(s.cpuSeconds).toBeGreaterThan(0);
    expect(s.rssBytesPeak).toBeGreaterThan(10 * 1024 * 1024);
    expect(s.processes?.map((p) => p.role)).toEqual(['single']);
  }, 90_000);
});
