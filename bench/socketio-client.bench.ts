/**
 * `npm run bench -- socketio-client`: what the Socket.IO path of the load generator
 * costs, the lean client (default of `--protocol socketio`) against socket.io-client
 * (`--set client=socket.io-client`), one run each, side by side (ratios within the run):
 *
 * 1. Memory per idle client and handshakes per second: one harness process (a
 *    WorkerRuntime as a worker runs it, after GC), 5,000 then 10,000 Socket.IO
 *    clients connected and joined to the bundled Socket.IO server.
 * 2. Receive path: the bundled Socket.IO server's broadcast to 1,000 harness clients
 *    in one room, pushed by socket.io-client publishers in another process; deliveries
 *    divided by the harness process's CPU seconds.
 * 3. The comparison: `wsbench run broadcast --clients 10000 --rooms 100
 *    --rate 200 --ramp 5000 --duration 10s`, `--protocol ws` then `--protocol socketio`
 *    (and socket.io-client): generator RSS peak and CPU.
 *
 * WSB_SIO_PARTS=memory,recv,compare selects parts (default all).
 */
import os from 'node:os';
import { fmt, kib, memoryRun, ratio, recvRun, withServerChild, type MemoryRun, type RecvRun } from './support/harness-runs.ts';
import { runWsbench } from './support/wsbench-cli.ts';
import type { BenchContext } from './run.ts';

type Client = 'raw' | 'socket.io-client';
const CLIENTS: Client[] = ['raw', 'socket.io-client'];

/** One bundled Socket.IO server process for a part (its own cost is not what is measured). */
const withSioServer = <T>(fn: (url: string) => Promise<T>): Promise<T> => withServerChild('sio-server', (port) => `http://127.0.0.1:${port}/socket.io`, fn);

const RECEIVERS = 1000;

interface CompareRun {
  label: string;
  rssMiB: number;
  cpuPercent: number;
  processes: number;
  openedPerSec: number;
  connectP50Ms: number;
  fanoutP50Ms: number;
  fanoutP99Ms: number;
  exact: boolean;
}

const COMPARE = ['--clients', '10000', '--rooms', '100', '--rate', '200', '--ramp', '5000', '--duration', '10s'];

async function compareRun(label: string, args: string[]): Promise<CompareRun> {
  const r = await runWsbench(['broadcast', ...COMPARE, ...args], 240_000);
  const at = (name: string) => r.timeline.find((e) => e.name === name)?.atMs;
  const rampMs = (at('ramp-done') ?? NaN) - (at('ramp') ?? NaN);
  return {
    label,
    rssMiB: r.generator.workers.reduce((a, w) => a + w.rssBytesPeak, 0) / 2 ** 20,
    cpuPercent: r.generator.workers.reduce((a, w) => a + w.cpuPercent, 0),
    processes: r.generator.processes,
    openedPerSec: (r.counters['connections.opened'] ?? 0) / (rampMs / 1000),
    connectP50Ms: (r.metrics.connect?.p50 ?? NaN) / 1000,
    fanoutP50Ms: (r.metrics.fanout?.p50 ?? NaN) / 1000,
    fanoutP99Ms: (r.metrics.fanout?.p99 ?? NaN) / 1000,
    exact: r.ledger.lost === 0 && r.ledger.duplicated === 0 && r.ledger.delivered === r.ledger.expected,
  };
}

export default async function socketioClientBench(ctx: BenchContext): Promise<string> {
  const parts = new Set((process.env.WSB_SIO_PARTS ?? 'memory,recv,compare').split(','));
  const lines: string[] = ['## Harness: the Socket.IO path (lean client vs socket.io-client)', ''];
  lines.push(
    `One run of each, side by side: the machine is shared (2 cores, eight people building at the same time while these ran; 1-minute load average ${fmt(os.loadavg()[0]!, 1)} when the section started), so absolute figures are noisy; the ratios between clients measured back to back in one run carry over better.`,
    '',
  );

  if (parts.has('memory')) {
    const res = {} as Record<Client, MemoryRun>;
    await withSioServer(async (url) => {
      for (const c of CLIENTS) {
        res[c] = await memoryRun(c, url, 'socketio');
        ctx.log(`memory ${c}: marginal ${kib(res[c].marginal)} KiB, heap ${kib(res[c].heapMarginal)} KiB, ${fmt(res[c].handshakesPerSec)} handshakes/s`);
      }
    });
    const [l, s] = [res.raw, res['socket.io-client']];
    lines.push(
      '### Memory per idle client and handshakes (one harness process)',
      '',
      'A WorkerRuntime as in a worker process, 5,000 Socket.IO clients connected (Engine.IO open, Socket.IO CONNECT) and joined to one bundled Socket.IO server process (heartbeat off), then 5,000 more; RSS after GC (`--expose-gc`). *Marginal* is the RSS growth from 5,000 to 10,000 clients divided by 5,000. Handshakes: connect + upgrade + Engine.IO open + CONNECT + join, at most 256 in flight; the server on the same 2 cores bounds it too.',
      '',
      '| measure | lean | socket.io-client | lean / library | target |',
      '| --- | ---: | ---: | ---: | --- |',
      `| RSS per idle client, marginal (KiB) | ${kib(l.marginal)} | ${kib(s.marginal)} | ${ratio(l.marginal, s.marginal)} | lean <= 5 KiB |`,
      `| JS heap per idle client, marginal (KiB) | ${kib(l.heapMarginal)} | ${kib(s.heapMarginal)} | ${ratio(l.heapMarginal, s.heapMarginal)} | |`,
      `| handshakes/s opened by one harness process | ${fmt(l.handshakesPerSec)} | ${fmt(s.handshakesPerSec)} | ${ratio(l.handshakesPerSec, s.handshakesPerSec)} | |`,
      `| harness CPU per handshake (us) | ${fmt(l.cpuUsPerConnection)} | ${fmt(s.cpuUsPerConnection)} | ${ratio(l.cpuUsPerConnection, s.cpuUsPerConnection)} | |`,
      '',
    );
  }

  if (parts.has('recv')) {
    const res = {} as Record<Client, RecvRun>;
    await withSioServer(async (url) => {
      for (const c of CLIENTS) {
        res[c] = await recvRun(c, url, RECEIVERS, 'sio-publisher', 'socketio');
        ctx.log(`recv ${c}: ${fmt(res[c].deliveriesPerSec)}/s, harness CPU ${fmt(res[c].harnessCpuPercent)}%, ${fmt(res[c].deliveriesPerCpuSec)} per CPU-second`);
      }
    });
    const [l, s] = [res.raw, res['socket.io-client']];
    lines.push(
      '### Receive path',
      '',
      `${fmt(RECEIVERS)} harness clients in one room of the bundled Socket.IO server; two socket.io-client publishers in another process (not the harness) keep 32 acked publishes each in flight, 100-byte padding, tagged as the harness tags them, so every delivery goes through the ledger and the \`fanout\` histogram (the lean client's deliveries take the fast path: no string, no JSON.parse). 3 s measured after 1 s. The server's broadcast on the same 2 cores bounds deliveries/s; deliveries per harness CPU-second is the figure that carries over.`,
      '',
      '| measure | lean | socket.io-client | lean / library | target |',
      '| --- | ---: | ---: | ---: | --- |',
      `| deliveries per harness CPU-second | ${fmt(l.deliveriesPerCpuSec)} | ${fmt(s.deliveriesPerCpuSec)} | ${ratio(l.deliveriesPerCpuSec, s.deliveriesPerCpuSec)} | lean >= 300,000 |`,
      `| deliveries/s absorbed | ${fmt(l.deliveriesPerSec)} | ${fmt(s.deliveriesPerSec)} | ${ratio(l.deliveriesPerSec, s.deliveriesPerSec)} | |`,
      `| harness CPU (% of one core) | ${fmt(l.harnessCpuPercent)} | ${fmt(s.harnessCpuPercent)} | | |`,
      '',
    );
  }

  if (parts.has('compare')) {
    const runs: CompareRun[] = [];
    for (const [label, args] of [
      ['`--protocol ws` (raw client)', ['--protocol', 'ws']],
      ['`--protocol socketio` (lean client)', ['--protocol', 'socketio']],
      ['`--protocol socketio --set client=socket.io-client`', ['--protocol', 'socketio', '--set', 'client=socket.io-client']],
    ] as Array<[string, string[]]>) {
      const r = await compareRun(label, args);
      ctx.log(`compare ${label}: RSS ${fmt(r.rssMiB)} MiB, CPU ${fmt(r.cpuPercent)}%, ${fmt(r.openedPerSec)} opened/s, ledger ${r.exact ? 'exact' : 'NOT exact'}`);
      runs.push(r);
    }
    const ws = runs[0]!;
    lines.push(
      '### The issue\'s comparison run',
      '',
      '`wsbench run broadcast --clients 10000 --rooms 100 --rate 200 --ramp 5000 --duration 10s` against the bundled server, with each protocol and client, one after the other. Generator RSS is the peak of the generator processes (summed), CPU their share of one core (summed; the report\'s own `generator.cpuPercent` is the busiest one). Everything (server, generator, other people\'s work) shares 2 cores.',
      '',
      '| run | generator processes | generator RSS peak (MiB) | / ws | generator CPU (% of a core) | / ws | opened/s | connect p50 (ms) | fan-out p50 / p99 (ms) | ledger exact |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
      ...runs.map(
        (r) =>
          `| ${r.label} | ${r.processes} | ${fmt(r.rssMiB)} | ${ratio(r.rssMiB, ws.rssMiB)} | ${fmt(r.cpuPercent)} | ${ratio(r.cpuPercent, ws.cpuPercent)} | ${fmt(r.openedPerSec)} | ${fmt(r.connectP50Ms, 1)} | ${fmt(r.fanoutP50Ms, 1)} / ${fmt(r.fanoutP99Ms, 1)} | ${r.exact ? 'yes' : 'NO'} |`,
      ),
      '',
      'Target (issue #20): the lean client\'s generator RSS and CPU within 1.5x of `--protocol ws`\'s.',
      '',
      '100,000 Socket.IO clients (several bundled Socket.IO nodes on Redis, the flavour has no `--workers`) were not attempted on this shared machine: it is not part of this section.',
      '',
    );
  }
  return lines.join('\n');
}
