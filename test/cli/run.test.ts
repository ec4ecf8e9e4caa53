import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { runCli, QUICK, type CliResult } from '../support/cli.ts';
import { startAcmeServer, type AcmeServer } from '../support/acme-server.ts';
import { childPids, killPid, waitUntil } from '../helpers/index.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-cli-'));
  return () => rmSync(dir, { recursive: true, force: true });
});
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;

describe('wsbench run against the bundled server', () => {
  it('broadcast over two generator processes: exits 0, every stable report field, and the workers\' ledgers, counters and histograms add up exactly', async () => {
    const out = join(dir, 'broadcast.json');
    const r = await runCli(['run', 'broadcast', '--clients', '200', '--rooms', '4', '--rate', '80', ...QUICK, '--workers', '2', '--out', out, '--set', 'ping-every=500ms']);
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
    // Two processes of 100 clients each; every room has members in both.
    expect(rep.generator.processes).toBe(2);
    expect(rep.generator.workers.map((w) => w.clients)).toEqual([100, 100]);
    expect(rep.notes.some((n) => /^200 clients over 2 worker processes \(at most \d+ each/.test(n))).toBe(true);
    // Counters merged across the workers: every publish reached each of its room's 50 members.
    expect(rep.counters['messages.received']).toBe(rep.counters['messages.sent']! * 50);
    // Histograms merged across the workers: one connect and one join per client, and each
    // measured publish timed at its room's 50 members, 25 in each worker. Acks and deliveries
    // near the window's edges (wider on a loaded box) fall on different sides of it, so the
    // ratio is near 1, not exactly 1; one worker's histograms alone would make it about 0.5.
    expect(rep.metrics.connect!.count).toBe(200);
    expect(rep.metrics.join!.count).toBe(200);
    const perPublish = rep.metrics.fanout!.count / rep.metrics.ack!.count;
    expect(perPublish).toBeGreaterThan(50 * 0.8);
    expect(perPublish).toBeLessThan(50 * 1.2);
    // 4 rooms of 50 members, one publisher each: every delivery accounted for.
    expect(rep.ledger.expected).toBeGreaterThan(1000);
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    expect(rep.counters['messages.received']).toBe(rep.ledger.delivered);
    expect(rep.counters['connections.opened']).toBe(200);
    expect(rep.checks.map((c) => c.name)).toContain('delivery.exactly-once-in-order');
    for (const c of rep.checks) expect(c.passed, `${c.name}: ${c.detail}`).toBe(true);
    const lengths = new Set(Object.values(rep.series).map((a) => a.length));
    expect(lengths.size).toBe(1);
    expect(rep.series.connections!.some((v) => v === 200)).toBe(true);
    // The per-second series of both workers add up to the run's counters.
    const total = (k: string) => rep.series[k]!.reduce((a, b) => a + b, 0);
    expect(total('messages.received')).toBe(rep.counters['messages.received']);
    expect(total('messages.sent')).toBe(rep.counters['messages.sent']);
    expect(total('connections.opened')).toBe(200);
  });

  it('a failing gate exits 1 and says which', async () => {
    const out = join(dir, 'gate.json');
    const r = await runCli(['run', 'broadcast', '--clients', '50', ...QUICK, '--out', out, '--gate', 'fanout.p99 < 1us', '--gate', 'errors.rate < 1%']);
    expect(r.code).toBe(1);
    const rep = readReport(out);
    expect(rep.gates.find((g) => g.expr === 'fanout.p99 < 1us')?.passed).toBe(false);
    expect(rep.gates.find((g) => g.expr === 'errors.rate < 1%')?.passed).toBe(true);
  });

  it('a server that closes every connection mid-run: clients (the ws package, with every load-shape and reconnect flag) reconnect, resume with since, lose nothing', async () => {
    const out = join(dir, 'drop.json');
    const r = await runCli([
      'run', 'broadcast', '--clients', '40', '--rooms', '2', '--rate', '60', ...QUICK, '--duration', '3s',
      '--ramp', '200', '--payload-bytes', '2kb', '--publishers', '2', '--seed', '7', '--token-ttl', '60s',
      '--set', 'client=ws', '--set', 'max-inflight=8', '--set', 'reconnect=true', '--set', 'backoff-base-ms=50', '--set', 'backoff-cap-ms=400',
      '--set', 'jitter=equal', '--set', 'request-timeout-ms=4000', '--set', 'client-timeout-ms=5000',
      '--fault', 'drop-all@800ms', '--out', out,
    ]);
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code, r.stderr).toBe(0);
    const rep = readReport(out);
    expect(rep.scenario.options).toMatchObject({ client: 'ws', ramp: 200, payloadBytes: 2048, publishers: 2, seed: 7, maxInflight: 8, reconnect: true, backoffBaseMs: 50, backoffCapMs: 400, jitter: 'equal', requestTimeoutMs: 4000, clientTimeoutMs: 5000 });
    expect(rep.counters['connections.opened']).toBe(80);
    expect(rep.counters['close.1012']).toBe(40);
    expect(rep.metrics.reconnect!.count).toBe(40);
    // What was published while they were away came back as replays of the `since` join.
    expect(rep.counters['messages.replayed']).toBeGreaterThan(0);
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    expect(rep.timeline.some((e) => e.kind === 'fault')).toBe(true);
  });

  it('a bundled node that dies mid-run is a target-exit note; Ctrl-C then stops cleanly: exit 130 and a partial report marked interrupted', async () => {
    const out = join(dir, 'int.json');
    let pid = 0;
    let steady = false;
    let stderrSoFar = '';
    const p = runCli(['run', 'broadcast', '--clients', '50', '--duration', '60s', '--out', out], { onSpawn: (x) => (pid = x), onStderr: (e) => {
      stderrSoFar = e;
      steady ||= / phase=steady .* connected=50\/50 /.test(e);
    } });
    await waitUntil(() => steady, 30_000, 'all 50 clients connected in the steady phase');
    const serverPid = (childPids(pid) ?? []).find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('--die-with-parent'));
    expect(serverPid, 'the bundled server among the children of wsbench').toBeDefined();
    killPid(serverPid);
    await waitUntil(() => / exited unexpectedly /.test(stderrSoFar), 10_000, 'the target-exit note');
    process.kill(pid, 'SIGINT');
    const r = await p;
    expect(r.code, `${r.signal} ${r.stderr}`).toBe(130);
    expect(r.stderr).toMatch(/node n0 exited unexpectedly \(SIGKILL\); clients keep trying to reconnect/);
    const rep = readReport(out);
    expect(rep.status).toBe('interrupted');
    const exit = rep.timeline.find((e) => e.name === 'target-exit');
    expect(exit).toMatchObject({ kind: 'note', detail: expect.stringMatching(/^node n0 exited unexpectedly \(SIGKILL\)/) });
    expect(rep.timeline.some((e) => e.name === 'interrupted')).toBe(true);
  });
});

describe.concurrent('wsbench run: bad input (each exits before anything starts, so side by side)', () => {
  /**
   * Every CLI call of the three tests below exits before anything starts: all six start
   * together on the first test's demand (a CLI start is seconds of CPU on a loaded box).
   */
  let quick: Promise<CliResult[]> | undefined;
  const quickCalls = () => {
    if (quick) return quick;
    const f = join(dir, 'broken.ts');
    writeFileSync(f, "import { defineScenario } from '../src/index.ts';\nexport default defineScenario({ name: 'x', description: 'y' \n;\n");
    return (quick = Promise.all([
      runCli(['run', 'nope']),
      runCli(['run', 'broadcast', '--duration', '10x', '--rate', 'fast']),
      runCli(['run', 'broadcast', '--nope']),
      runCli(['run', 'broadcast', '--server', 'heartbeat-ms=soon']),
      runCli(['run', f]),
      runCli(['run', 'broadcast', '--target', 'ws://127.0.0.1:9/ws', '--clients', '5']),
    ]));
  };

  it('unknown scenario, bad values and unknown flags exit 2 and say what is allowed', async () => {
    const [a, b, c, d] = await quickCalls();
    expect(a!.code).toBe(2);
    expect(a!.stderr).toMatch(/unknown scenario "nope"/);
    expect(a!.stderr).toMatch(/broadcast/);
    expect(b!.code).toBe(2);
    expect(b!.stderr).toMatch(/"10x" is not a duration/);
    expect(b!.stderr).toMatch(/"fast" is not a rate/);
    expect(b!.stderr).not.toMatch(/\n\s+at /); // no stack trace for user errors
    expect(c!.code).toBe(2);
    expect(c!.stderr).toMatch(/unknown option '--nope'/);
    expect(d!.code).toBe(2);
    expect(d!.stderr).toMatch(/heartbeat-ms/);
  });

  it('a scenario file with a syntax error names the file and line', async () => {
    const r = (await quickCalls())[4]!;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.ts:\d+/);
  });

  it('an unreachable target exits 3 and names the URL', async () => {
    const r = (await quickCalls())[5]!;
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

  it('drives it with an exact ledger and rtt from its heartbeat op, two workers spreading clients over source addresses', async () => {
    server = await startAcmeServer();
    const out = join(dir, 'acme.json');
    // The test hook lowers the spread threshold from 7,000 clients per target to 20, 10 per address.
    const r = await runCli(['run', 'examples/acme-chat.ts', '--target', server.url, '--token', 't', '--clients', '60', ...QUICK, '--workers', '2', '--out', out], { env: { WSBENCH_SOURCE_SPREAD: '20:10' } });
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.target.kind).toBe('external');
    expect(rep.ledger.expected).toBeGreaterThan(100);
    expect(rep.ledger.lost).toBe(0);
    expect(rep.metrics.rtt?.count).toBeGreaterThan(0);
    expect(rep.generator.processes).toBe(2);
    // Six source addresses 127.R.0.2..7 of one random R, ten connections from each, from both workers.
    const from = [...server.remotes].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
    const octet = from[0]![0].split('.')[1];
    expect(from).toEqual([2, 3, 4, 5, 6, 7].map((d) => [`127.${octet}.0.${d}`, 10]));
    expect(rep.notes.some((n) => n.includes(`from 6 source addresses 127.${octet}.0.2..127.${octet}.0.7`))).toBe(true);
  });

  it('the same dialect with no code: renamed wsbench/1 fields and types from --set', async () => {
    server = await startAcmeServer();
    const out = join(dir, 'acme-renamed.json');
    const fields = 'type=op,id=ref,room=channel,payload=body,seq=offset,members=n,code=reason';
    const types = 'join=sub,joined=subbed,leave=unsub,left=unsubbed,publish=pub,ack=puback,message=event,ping=hb,pong=hb,error=err,welcome=none';
    // A misspelt type is refused before anything starts; it runs beside the real run.
    const [r, bad] = await Promise.all([
      runCli(['run', 'broadcast', '--target', server.url, '--token', 't', '--clients', '40', ...QUICK, '--set', `ws-fields=${fields}`, '--set', `ws-types=${types}`, '--set', 'ws-token=header', '--set', 'ping-every=500ms', '--out', out]),
      runCli(['run', 'broadcast', '--target', server.url, '--set', 'ws-types=joinn=sub']),
    ]);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.ledger.expected).toBeGreaterThan(100);
    expect(rep.ledger.lost).toBe(0);
    expect(rep.metrics.rtt?.count).toBeGreaterThan(0);
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
