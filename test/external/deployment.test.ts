/**
 * Testing your own deployment: externally started reference nodes (real processes
 * sharing a real redis-server) driven through several --target URLs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { startRedisForTest, REAL_NODE } from '../helpers/index.ts';
import type { RedisServerHandle } from '../../src/topology/index.ts';
import { runCli, QUICK } from '../support/cli.ts';
import { signToken } from '../../servers/core/jwt.ts';

interface Node {
  url: string;
  child: ChildProcess;
}

function startNode(args: string[]): Promise<Node> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', REAL_NODE, '--port', '0', '--die-with-parent', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`node did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl > 0) {
        clearTimeout(t);
        resolve({ url: out.slice(0, nl).trim(), child });
      }
    });
    child.on('exit', (code) => reject(new Error(`node exited ${code}: ${err}`)));
  });
}

let redis: RedisServerHandle;
let a: Node;
let b: Node;
let dir: string;
const SECRET = 'deployment-test-secret';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-ext-'));
  redis = await startRedisForTest();
  const common = ['--redis', redis.url, '--redis-prefix', 'ext:', '--secret', SECRET];
  [a, b] = await Promise.all([startNode([...common, '--node-id', 'alpha']), startNode([...common, '--node-id', 'beta'])]);
}, 60_000);

afterAll(async () => {
  for (const n of [a, b]) {
    if (n && n.child.exitCode === null) {
      n.child.kill('SIGKILL');
      await new Promise((r) => n.child.once('exit', r));
    }
  }
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;

describe('two external nodes on one Redis through two --target URLs', () => {
  it('spreads clients over both, splits local/remote by the node each server names, ledger exact', async () => {
    const out = join(dir, 'two.json');
    const r = await runCli(['run', 'redis-fanout', '--target', a.url, '--target', b.url, '--secret', SECRET, '--clients', '120', '--rate', '60', ...QUICK, '--out', out]);
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.target).toMatchObject({ kind: 'external', nodes: 2 });
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rep.ledger.expected).toBeGreaterThan(0);
    expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    expect(rep.metrics['fanout.local']!.count).toBeGreaterThan(0);
    expect(rep.metrics['fanout.remote']!.count).toBeGreaterThan(0);
    expect(rep.nodes!.map((n) => n.clients)).toEqual([60, 60]);
  });

  it('--spread weighted:3,1 puts three quarters of the clients on the first target', async () => {
    const out = join(dir, 'weighted.json');
    const r = await runCli(['run', 'broadcast', '--target', a.url, '--target', b.url, '--secret', SECRET, '--spread', 'weighted:3,1', '--clients', '80', ...QUICK, '--out', out]);
    expect(r.code).toBe(0);
    expect(readReport(out).nodes!.map((n) => n.clients)).toEqual([60, 20]);
  });

  it('one URL behind which the server names its node: identity learned, no split with a single node; --token-claims templates per-client claims it accepts', async () => {
    const out = join(dir, 'single.json');
    const r = await runCli(['run', 'broadcast', '--target', a.url, '--secret', SECRET, '--token-claims', '{"sub":"member-{client}","rooms":["room-*"]}', '--clients', '30', ...QUICK, '--out', out]);
    expect(r.code).toBe(0);
    const rep = readReport(out);
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(rep.ledger.delivered).toBe(rep.ledger.expected);
    expect(rep.metrics['fanout.local']).toBeUndefined();
    expect(rep.nodes!.some((n) => n.id === 'alpha' && n.clients === 30)).toBe(true);
  });
});

describe('tokens for external servers', () => {
  it('a token the server refuses is reported once, with what to do', async () => {
    const r = await runCli(['run', 'broadcast', '--target', a.url, '--secret', 'not-the-secret', '--clients', '20', ...QUICK]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused every client's token: http_401/);
    expect(r.stderr.match(/http_401/g)!.length).toBe(1);
    expect(r.stderr).toMatch(/--secret/);
  });

  it('a malformed claims template is refused before anything starts', async () => {
    const r = await runCli(['run', 'broadcast', '--target', a.url, '--token-claims', '{sub:', '--clients', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--token-claims is not valid JSON/);
  });
});

describe('one target of several down at start', () => {
  it('exits 3 naming it, or goes on with the others when asked (with a token file shorter than the client count, said so, its tokens reused)', async () => {
    const down = 'ws://127.0.0.1:9/ws';
    const r1 = await runCli(['run', 'broadcast', '--target', a.url, '--target', down, '--secret', SECRET, '--clients', '10', ...QUICK]);
    expect(r1.code).toBe(3);
    expect(r1.stderr).toMatch(/127\.0\.0\.1:9/);
    const out = join(dir, 'skip.json');
    const file = join(dir, 'tokens.txt');
    writeFileSync(file, ['# two tokens for ten clients', signToken({ sub: 'x' }, SECRET), signToken({ sub: 'y' }, SECRET)].join('\n'));
    const r2 = await runCli(['run', 'broadcast', '--target', a.url, '--target', down, '--skip-unreachable', '--token-file', file, '--clients', '10', ...QUICK, '--out', out]);
    expect(r2.stderr).toMatch(/--token-file has 2 tokens for 10 clients/);
    expect(r2.code).toBe(0);
    const rep = readReport(out);
    expect(rep.notes.join('\n')).toMatch(/skipping ws:\/\/127\.0\.0\.1:9\/ws/);
    expect(rep.counters['connections.opened']).toBe(10);
    expect(rep.ledger.lost).toBe(0);
  });
});
