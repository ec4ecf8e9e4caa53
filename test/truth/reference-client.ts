/**
 * The truth test's reference client, in a process of its own like wsbench's
 * workers: `receivers` bare `ws` sockets in room `ref` and one publisher at `rate`
 * per second. Each latency is receive time minus the publisher's actual send time
 * (same clock, same process). Prints `{"ready":true}` once joined and publishing;
 * on a line `stop` on stdin it waits `drainMs` for the last deliveries, prints
 * `{"latenciesUs":[...],"loopDelayUs":{"p50","p90","p99"}}` and exits. The loop delay
 * (this process's event-loop delay percentiles, µs) is how late it may have read a
 * delivery on a loaded machine, as wsbench's `send.lag` is for its sends.
 *
 * Run: `node --import tsx reference-client.ts URL RECEIVERS RATE DRAIN_MS`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';

const [url, receiversArg, rateArg, drainArg] = process.argv.slice(2);
const latenciesUs: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url!);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function joinRef(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'joined') resolve();
      else if (f.type === 'message') latenciesUs.push((performance.now() - f.payload.sentMs) * 1000);
    });
    ws.send(JSON.stringify({ type: 'join', id: 1, room: 'ref' }));
  });
}

for (let i = 0; i < Number(receiversArg); i++) await joinRef(await open());
const publisher = await open();
let id = 0;
const timer = setInterval(() => {
  const sentMs = performance.now();
  publisher.send(JSON.stringify({ type: 'publish', id: ++id, room: 'ref', payload: { sentMs } }));
}, 1000 / Number(rateArg));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

process.stdin.on('data', (d) => {
  if (!String(d).includes('stop')) return;
  clearInterval(timer);
  setTimeout(() => {
    const loopDelayUs = { p50: loopDelay.percentile(50) / 1000, p90: loopDelay.percentile(90) / 1000, p99: loopDelay.percentile(99) / 1000 };
    process.stdout.write(`${JSON.stringify({ latenciesUs, loopDelayUs })}\n`, () => process.exit(0));
  }, Number(drainArg));
});
