import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isWsbenchError, type WsbenchError } from '../../src/errors.ts';
import { startTopology, type Topology } from '../../src/topology/index.ts';
import { freePort } from '../helpers/index.ts';

async function rejection(p: Promise<unknown>): Promise<WsbenchError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isWsbenchError(e)) throw new Error(`expected a WsbenchError, got ${String(e)}`);
  return e;
}

describe('external targets', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function listening(): Promise<number> {
    const srv = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    return (srv.address() as net.AddressInfo).port;
  }

  it('a refused port names the URL and asks whether the server runs', async () => {
    const e = await rejection(startTopology({ protocol: 'ws', targets: ['ws://127.0.0.1:9/ws'] }));
    expect(e.code).toBe('WSB_ERR_TARGET_UNREACHABLE');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain('ws://127.0.0.1:9/ws');
    expect(e.message).toContain('connection refused at 127.0.0.1:9 — is the server running?');
  });

  it('names every unreachable URL, not just the first', async () => {
    const up = await listening();
    const down = await freePort();
    const urls = [`ws://127.0.0.1:${up}/ws`, 'ws://127.0.0.1:9/ws', `http://127.0.0.1:${down}`];
    const e = await rejection(startTopology({ protocol: 'ws', targets: urls }));
    expect(e.message).toMatch(/2 targets unreachable/);
    expect(e.message).toContain(urls[1]);
    expect(e.message).toContain(urls[2]);
    expect(e.message).not.toContain(urls[0]);
  });

  it('a malformed URL is a usage error', async () => {
    const e = await rejection(startTopology({ protocol: 'ws', targets: ['localhost:8080'] }));
    expect(e.exitCode).toBe(2);
    expect(e.code).toBe('WSB_ERR_TARGET_URL');
    expect(e.message).toContain('localhost:8080');
  });

  it('a reachable target starts nothing, is external, and refuses faults', async () => {
    const port = await listening();
    const url = `ws://127.0.0.1:${port}/ws`;
    const topo: Topology = await startTopology({ protocol: 'ws', targets: [url] });
    cleanups.push(() => topo.stop());
    expect(topo.target).toEqual({ kind: 'external', protocol: 'ws', nodes: 1, urls: [url] });
    expect(topo.nodes.map((n) => [n.url, n.alive, n.pid])).toEqual([[url, true, undefined]]);
    expect(topo.redis).toBeUndefined();
    const e = await rejection(topo.fault({ kind: 'kill-node', node: 0 }));
    expect(e.code).toBe('WSB_ERR_FAULT');
    expect(await topo.scrapeStats()).toEqual([{ id: 't0', url }]);
    await topo.stop();
    await topo.stop();
  });
});
