/**
 * The `payloads` scenario: its default variants (sizes x compression), and a short real
 * run of two variants against the bundled server that prints the traffic table, writes
 * the traffic figures into the report and draws their charts in the HTML.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import payloads from '../../scenarios/payloads.ts';
import { expandVariants } from '../../src/run/variants.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsbench-wire-payloads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('payloads variants', () => {
  it('runs every size with compression off and on unless told otherwise', () => {
    expect(expandVariants(payloads, []).map((v) => v.label)).toEqual(
      ['100B', '4KiB', '64KiB', '1MiB'].flatMap((s) => ['off', 'on'].flatMap((b) => [`size=${s} binary=${b} compression=off`, `size=${s} binary=${b} compression=on`])),
    );
    expect(expandVariants(payloads, ['size=1MiB', 'binary=on', 'compression=no-takeover']).map((v) => v.label)).toEqual(['']);
    expect(expandVariants(payloads, ['compression=off,no-takeover']).map((v) => v.label)).toHaveLength(16);
  });

  it('a size sets the payload bytes and a rate that suits it, unless given', () => {
    const big = resolveOptions(payloads, {}, ['size=1MiB']).options;
    expect([big.payloadBytes, big.rate]).toEqual([1_048_576, 2]);
    const mine = resolveOptions(payloads, { rate: '7' }, ['size=64KiB']).options;
    expect([mine.payloadBytes, mine.rate]).toEqual([65_536, 7]);
  });
});

describe('wsbench run payloads', () => {
  it('prints the traffic table, reports deliveries per CPU-second with compression off and on, and charts them', async () => {
    const out = join(dir, 'p.json');
    const html = join(dir, 'p.html');
    const r = await runCli(['run', 'payloads', '--clients', '30', '--rooms', '3', '--warmup', '300ms', '--duration', '3s', '--cooldown', '500ms', '--set', 'size=4KiB', '--set', 'binary=on', '--set', 'compression=off,on', '--out', out, '--html', html], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Traffic, side by side');
    expect(r.stdout).toMatch(/compression=on +│ +4\.00KiB │ binary │ on \(30 agreed\)/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const [off, on] = report.variants!.map((v) => v.traffic!);
    expect(off!.compression).toBe('off');
    expect(off!.negotiated).toBe(0);
    expect(on!.negotiated).toBe(30);
    for (const t of [off!, on!]) {
      expect(t.payloadBytes).toBe(4096);
      expect(t.binary).toBe(true);
      expect(t.deliveriesPerSec).toBeGreaterThan(0);
      expect(t.deliveriesPerCpuSec).toBeGreaterThan(0);
      expect(t.serverCpuMsPerMB).toBeGreaterThan(0);
      expect(t.serverRssPerConnBytes).toBeGreaterThan(0);
    }
    expect(report.variants!.every((v) => v.lost === 0 && v.duplicated === 0)).toBe(true);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<section id="traffic">');
    expect(page.match(/<figcaption>/g)?.length).toBeGreaterThanOrEqual(5);
    expect(page).toContain('Generator deliveries per CPU-second');
  }, 150_000);
});
