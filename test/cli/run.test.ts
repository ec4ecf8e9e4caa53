import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli, QUICK } from '../support/cli.ts';
import { startAcmeServer, type AcmeServer } from '../support/acme-server.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-cli-'));
  return () => rmSync(dir, { recursive: true, force: true });
});
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;

describe('wsbench run against the bundled server', () => {
  it('broadcast: exits 0 with an exact ledger, sane percentiles and every stable report field', async () => {
    const out = join(dir, 'broadcast.json');
    const r = await runCli(['run', 'broadcast', '--clients', '200', '--rooms', '4', '--rate', '80', ...QUICK, '--out', out, '--set', 'ping-every=500ms']);
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Latency/);
    const rep = readReport(out);
    for (const k of ['schema', 'tool', 'scenario', 'target', 'startedAt', 'endedAt', 'durationMs', 'metrics', 'counters', 'ledger', 'checks', 'gates', 'generator', 'series']) {
      expect(rep, k).toHaveProperty(k);
    }
    expect(rep.schema).toBe('wsbench.report/1');
    expect(rep.target).toMatchObject({ kind: 'bundled', protocol: 'ws', nodes: 1 });
    for (const m of ['connect', 'join', 'ack', 'fanout', 'rtt']) {
      const s = rep.metrics[m]!;
      expect(s, m).toBeDefined();
      expect(s.count).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.p50);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
      expect(s.hdr.length).toBeGreaterThan(10);
    }
    // 4 rooms of 50 members, one publisher each: every delivery accounted for.
    expect(rep.ledger.expected).toBeGreaterThan(1000);
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    expect(rep.counters['connections.opened']).toBe(200);
    expect(rep.checks.every((c) => c.passed)).toBe(true);
    expect(rep.generator.processes).toBe(1);
    const lengths = new Set(Object.values(rep.series).map((a) => a.length));
    expect(lengths.size).toBe(1);
    expect(rep.series.connections!.some((v) => v === 200)).toBe(true);
  });

  it('a failing gate exits 1 and says which', async () => {
    const out = join(dir, 'gate.json');
    const r = await runCli(['run', 'broadcast', '--clients', '50', ...QUICK, '--out', out, '--gate', 'fanout.p99 < 1us', '--gate', 'errors.rate < 1%']);
    expect(r.code).toBe(1);
    const rep = readReport(out);
    expect(rep.gates.find((g) => g.expr === 'fanout.p99 < 1us')?.passed).toBe(false);
    expect(rep.gates.find((g) => g.expr === 'errors.rate < 1%')?.passed).toBe(true);
  });

  it('a server that closes every connection mid-run: clients reconnect, resume with since, lose nothing', async () => {
    const out = join(dir, 'drop.json');
    const r = await runCli(['run', 'broadcast', '--clients', '100', '--rooms', '2', '--rate', '100', ...QUICK, '--duration', '3s', '--fault', 'drop-all@1s', '--out', out]);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.counters['close.1012']).toBe(100);
    expect(rep.metrics.reconnect?.count).toBe(100);
    expect(rep.ledger.lost).toBe(0);
    expect(rep.ledger.duplicated).toBe(0);
    expect(rep.timeline.some((e) => e.kind === 'fault')).toBe(true);
  });

  it('Ctrl-C stops cleanly: exit 130 and a partial report marked interrupted', async () => {
    const out = join(dir, 'int.json');
    let pid = 0;
    const p = runCli(['run', 'broadcast', '--clients', '50', '--duration', '60s', '--out', out], { onSpawn: (x) => (pid = x) });
    await new Promise((r) => setTimeout(r, 5000));
    process.kill(pid, 'SIGINT');
    const r = await p;
    expect(r.code).toBe(130);
    expect(readReport(out).status).toBe('interrupted');
  });
});

describe('wsbench run: bad input', () => {
  it('unknown scenario, bad values and unknown flags exit 2 and say what is allowed', async () => {
    const a = await runCli(['run', 'nope']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown scenario "nope"/);
    expect(a.stderr).toMatch(/broadcast/);
    const b = await runCli(['run', 'broadcast', '--duration', '10x', '--rate', 'fast']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/"10x" is not a duration/);
    expect(b.stderr).toMatch(/"fast" is not a rate/);
    expect(b.stderr).not.toMatch(/\n\s+at /); // no stack trace for user errors
    const c = await runCli(['run', 'broadcast', '--nope']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/unknown option '--nope'/);
    const d = await runCli(['run', 'broadcast', '--server', 'heartbeat-ms=soon']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/heartbeat-ms/);
  });

  it('a scenario file with a syntax error names the file and line', async () => {
    const f = join(dir, 'broken.ts');
    writeFileSync(f, "import { defineScenario } from '../src/index.ts';\nexport default defineScenario({ name: 'x', description: 'y' \n;\n");
    const r = await runCli(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.ts:\d+/);
  });

  it('an unreachable target exits 3 and names the URL', async () => {
    const r = await runCli(['run', 'broadcast', '--target', 'ws://127.0.0.1:9/ws', '--clients', '5']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/127\.0\.0\.1:9/);
  });
});

describe('custom adapter example (examples/acme-chat.ts) against a server of another dialect', () => {
  let server: AcmeServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('drives it with an exact ledger and rtt from its heartbeat op', async () => {
    server = await startAcmeServer();
    const out = join(dir, 'acme.json');
    const r = await runCli(['run', 'examples/acme-chat.ts', '--target', server.url, '--token', 't', '--clients', '60', ...QUICK, '--out', out]);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.target.kind).toBe('external');
    expect(rep.ledger.expected).toBeGreaterThan(100);
    expect(rep.ledger.lost).toBe(0);
    expect(rep.metrics.rtt?.count).toBeGreaterThan(0);
  });

  it('the same dialect with no code: renamed wsbench/1 fields and types from --set', async () => {
    server = await startAcmeServer();
    const out = join(dir, 'acme-renamed.json');
    const fields = 'type=op,id=ref,room=channel,payload=body,seq=offset,members=n,code=reason';
    const types = 'join=sub,joined=subbed,leave=unsub,left=unsubbed,publish=pub,ack=puback,message=event,ping=hb,pong=hb,error=err,welcome=none';
    const r = await runCli(['run', 'broadcast', '--target', server.url, '--token', 't', '--clients', '40', ...QUICK, '--set', `ws-fields=${fields}`, '--set', `ws-types=${types}`, '--set', 'ws-token=header', '--set', 'ping-every=500ms', '--out', out]);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.ledger.expected).toBeGreaterThan(100);
    expect(rep.ledger.lost).toBe(0);
    expect(rep.metrics.rtt?.count).toBeGreaterThan(0);
    const bad = await runCli(['run', 'broadcast', '--target', server.url, '--set', 'ws-types=joinn=sub']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ws-types "joinn=sub"/);
  });

  it('a server that loses messages and sends malformed frames: loss proven, frames counted, exit 1, no crash', async () => {
    server = await startAcmeServer({ dropEvery: 7, garbage: true });
    const out = join(dir, 'acme-bad.json');
    const r = await runCli(['run', 'examples/acme-chat.ts', '--target', server.url, '--token', 't', '--clients', '40', ...QUICK, '--out', out]);
    expect(r.code).toBe(1);
    const rep = readReport(out);
    expect(rep.ledger.lost).toBeGreaterThan(0);
    expect(rep.counters['errors.bad_frame']).toBeGreaterThan(0);
    const check = rep.checks.find((c) => c.name === 'delivery.exactly-once-in-order')!;
    expect(check.passed).toBe(false);
    expect(check.detail).toMatch(/lost/);
  });
});
