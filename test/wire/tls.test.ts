/**
 * TLS in the raw client against the bundled server's `--tls`: certificate checks
 * (refused by default, `--insecure`, `--ca`), session resumption on reconnect, the
 * handshake's phases; and the CLI: `wsbench serve --tls` plus `wsbench run
 * reconnect-storm --target wss://… --insecure` on the raw client.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type StartedServer } from '../../servers/main.ts';
import { resolveServerOptions } from '../../servers/core/options.ts';
import { makeSelfSigned, serverTls } from '../../servers/core/tls.ts';
import { createRawTransport, plainWire } from '../../src/protocol/raw-transport.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import { SessionCache } from '../../src/protocol/tls-client.ts';
import type { ClientConnection } from '../../src/protocol/types.ts';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { startServe, stopServes } from '../conformance/serve-nodes.ts';
import { record } from './helpers.ts';

let server: StartedServer;
let dir: string;
const open: ClientConnection[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsbench-wire-tls-'));
  server = await startServer(resolveServerOptions({ tls: true, auth: false, heartbeatMs: 0 }), { signals: false, log: () => {} });
});
afterEach(() => {
  for (const c of open.splice(0)) c.terminate();
});
afterAll(async () => {
  await server?.stop();
  await stopServes();
  rmSync(dir, { recursive: true, force: true });
});

function connect(wire = plainWire()) {
  const r = record();
  const c = createRawTransport(nativeCodec, wire).connect({ url: server.url, handshakeTimeoutMs: 5000 }, r.ev);
  open.push(c);
  return { r, c };
}

describe('the bundled server with --tls', () => {
  it('serves wss: with a self-signed certificate for 127.0.0.1', () => {
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    const m = serverTls({ tls: true })!;
    expect(readFileSync(m.certFile, 'latin1')).toContain('-----BEGIN CERTIFICATE-----');
    expect(makeSelfSigned()).toBe(m); // one certificate per process
  });

  it('takes --cert and --key files instead', () => {
    const m = serverTls({ tls: true })!;
    const given = serverTls({ tls: true, cert: m.certFile, key: m.keyFile })!;
    expect(given.cert.equals(m.cert) && given.key.equals(m.key)).toBe(true);
    expect(() => serverTls({ tls: true, cert: m.certFile, key: '/nonexistent/key.pem' })).toThrow(/--key \/nonexistent\/key\.pem/);
  });

  it('refuses --cert without --key', () => {
    expect(() => serverTls({ tls: true, cert: '/nonexistent.pem' })).toThrow(/--cert and --key go together/);
  });
});

describe('the raw client over TLS', () => {
  it('refuses a self-signed certificate by default, and says what to do', async () => {
    const { r } = connect();
    await r.closed;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]![0]).toMatch(/SELF_SIGNED|CERT/);
    expect(r.errors[0]![1]).toMatch(/--insecure.*--ca FILE/);
  });

  it('with insecure: opens, joins, publishes and receives its delivery; reports tcp, tls and upgrade phases', async () => {
    const { r, c } = connect({ tls: { insecure: true }, sessions: new SessionCache() });
    await r.opened;
    await r.until(() => r.frames.includes('welcome'));
    c.join('tls-room', 1);
    await r.until(() => r.frames.includes('joined'));
    c.publish('tls-room', 2, '1.1.7.123', 'x'.repeat(3000));
    await r.until(() => r.deliveries.length === 1);
    expect(r.deliveries[0]).toMatchObject({ room: 'tls-room', counter: 7 });
    expect(r.wire).toHaveLength(1);
    const w = r.wire[0]!;
    expect(w.tlsUs).toBeGreaterThan(0);
    expect(w.tcpUs).toBeGreaterThanOrEqual(0);
    expect(w.upgradeUs).toBeGreaterThan(0);
    expect(w.tlsResumed).toBe(false);
  });

  it('resumes the TLS session of its target when it reconnects', async () => {
    const wire = { tls: { insecure: true }, sessions: new SessionCache() };
    const first = connect(wire);
    await first.r.opened;
    await first.r.until(() => wire.sessions.size === 1);
    first.c.close(1000);
    await first.r.closed;
    const second = connect(wire);
    await second.r.opened;
    expect(first.r.wire[0]!.tlsResumed).toBe(false);
    expect(second.r.wire[0]!.tlsResumed).toBe(true);
  });

  it('trusts the certificate given as the CA', async () => {
    const { r } = connect({ tls: { insecure: false, ca: readFileSync(serverTls({ tls: true })!.certFile) }, sessions: new SessionCache() });
    await r.opened;
    expect(r.errors).toEqual([]);
  });
});

describe('wsbench serve --tls and wsbench run over wss:', () => {
  it('reconnect-storm --insecure runs on the raw client and resumes sessions; --ca FILE trusts the printed certificate', async () => {
    const serve = await startServe(['--tls', '--auth', 'off', '--heartbeat-ms', '0']);
    expect(serve.url).toMatch(/^wss:/);
    let stderr = '';
    serve.child.stderr!.on('data', (d) => (stderr += d));
    const out = join(dir, 'storm.json');
    const storm = await runCli(['run', 'reconnect-storm', '--quiet', '--target', serve.url, '--insecure', '--clients', '40', '--rate', '20', '--warmup', '300ms', '--duration', '3s', '--cooldown', '500ms', '--set', 'storm-at=800ms', '--set', 'backoff-base-ms=100', '--set', 'backoff-cap-ms=500', '--out', out], { timeoutMs: 90_000 });
    expect(storm.stderr).not.toMatch(/wsbench failed/);
    expect(storm.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.counters['reconnects']).toBe(40);
    // Every connection made a TLS handshake; the reconnections found a session to resume.
    expect((report.counters['tls.full'] ?? 0) + (report.counters['tls.resumed'] ?? 0)).toBe(report.counters['connections.opened']);
    expect(report.counters['tls.resumed']).toBeGreaterThanOrEqual(40);
    expect(report.metrics['connect.tls']?.count).toBe(report.counters['connections.opened']);
    expect(report.metrics['connect.tcp']).toBeDefined();
    expect(report.metrics['connect.upgrade']).toBeDefined();

    await new Promise((r) => setTimeout(r, 200));
    const cert = /TLS certificate: (\S+)/.exec(stderr)?.[1];
    expect(cert).toBeTruthy();
    const viaCa = await runCli(['run', 'broadcast', '--quiet', '--target', serve.url, '--ca', cert!, '--clients', '20', '--rate', '10', '--warmup', '200ms', '--duration', '1s', '--cooldown', '300ms', '--out', join(dir, 'ca.json')], { timeoutMs: 60_000 });
    expect(viaCa.code).toBe(0);
  }, 120_000);
});

describe('a bundled node with --server tls=on', () => {
  it('starts (its /healthz read over https) and the run speaks wss: to it with --insecure', async () => {
    const out = join(dir, 'bundled.json');
    const r = await runCli(['run', 'broadcast', '--quiet', '--clients', '20', '--rate', '10', '--warmup', '300ms', '--duration', '1s', '--cooldown', '300ms', '--server', 'tls=on', '--insecure', '--out', out], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/wsbench failed|did not start/);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.target.urls[0]).toMatch(/^wss:/);
    expect(report.metrics['connect.tls']?.count).toBe(20);
  }, 90_000);
});

describe('the TLS options', () => {
  it('insecure and ca are options; a CA file that is missing or holds no certificate is refused, naming what to do', async () => {
    const { resolveOptions } = await import('../../src/scenario/options.ts');
    const broadcast = (await import('../../scenarios/broadcast.ts')).default;
    const ok = resolveOptions(broadcast, {}, ['insecure=true', `ca=${serverTls({ tls: true })!.certFile}`]);
    expect(ok.problems).toEqual([]);
    expect(ok.options.insecure).toBe(true);
    const missing = resolveOptions(broadcast, {}, ['ca=/nonexistent/ca.pem']);
    expect(missing.problems.join('\n')).toMatch(/--ca \/nonexistent\/ca\.pem: cannot read it .*--insecure/);
    const notPem = join(dir, 'not.pem');
    (await import('node:fs')).writeFileSync(notPem, 'hello');
    expect(resolveOptions(broadcast, {}, [`ca=${notPem}`]).problems.join('\n')).toMatch(/no PEM certificate/);
  });
});

describe('the lean Socket.IO client over TLS, with compression', () => {
  it('connects to the Socket.IO flavour with --tls and --compression on: TLS phases, permessage-deflate agreed, a delivery arrives', async () => {
    const { createTransport } = await import('../../src/protocol/index.ts');
    const broadcast = (await import('../../scenarios/broadcast.ts')).default;
    const sio = await startServer(resolveServerOptions({ protocol: 'socketio', tls: true, compression: true, auth: false, heartbeatMs: 0 }), { signals: false, log: () => {} });
    try {
      expect(sio.url).toMatch(/^https:/);
      const transport = await createTransport('socketio', broadcast, { insecure: true, compression: 'on', transports: 'websocket', client: 'raw' });
      const r = record();
      const c = transport.connect({ url: sio.url, handshakeTimeoutMs: 5000, clientKey: 1 }, r.ev);
      open.push(c);
      await r.opened;
      expect(r.wire[0]!.tlsUs).toBeGreaterThan(0);
      expect(r.wire[0]!.compression).toMatch(/^permessage-deflate/);
      const joined = r.frames.length;
      c.join('sio-tls', 1);
      await r.until(() => r.frames.length > joined);
      c.publish('sio-tls', 2, '1.1.9.5', 'y'.repeat(4000));
      await r.until(() => r.deliveries.length === 1);
      expect(r.deliveries[0]).toMatchObject({ room: 'sio-tls', counter: 9 });
    } finally {
      await sio.stop();
    }
  });
});
