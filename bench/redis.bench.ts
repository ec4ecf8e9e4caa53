/**
 * `npm run bench -- redis`: the Redis bus, nodes as child processes sharing one
 * private redis-server, clients in this process.
 *
 * 1. Fan-out latency p50/p99, publish -> delivery, to a member on the
 *    publisher's node (no Redis hop on the delivery side) and to a member on
 *    another node (the Redis hop), in the same run, one message every 5 ms.
 * 2. Bus messages per second at 3 nodes: a publisher on every node keeps a
 *    window of publishes in flight into one room with one member per node.
 * 3. Deliveries per second (sum of the nodes' /stats deliveries) to one room
 *    of 300 members, with 1 node and with 3 nodes (100 members each).
 *
 * Bulk members are raw TCP sockets that join and then discard what they read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startRedisServer, type RedisServerHandle } from '../src/topology/redis.ts';
import type { BenchContext } from './run.ts';
import { median, percentile } from './support/stats.ts';

const MAIN = fileURLToPath(new URL('../servers/main.ts', import.meta.url));
const LATENCY_MESSAGES = 300;
const LATENCY_INTERVAL_MS = 5;
const WINDOW = 32;
const MEMBERS = 300;
const WARMUP_MS = 500;
const MEASURE_MS = 2000;

type Ctx = BenchContext;

interface NodeProc {
  child: ChildProcess;
  url: string;
  port: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startNode(redisUrl: string, nodeId: string, prefix: string): Promise<NodeProc> {
  const args = ['--import', 'tsx', MAIN, '--redis', redisUrl, '--redis-prefix', prefix, '--node-id', nodeId, '--auth', 'off', '--rate', '0', '--heartbeat-ms', '0', '--retention', '100', '--drain-timeout-ms', '200'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`node ${nodeId} exited (${code})`)));
  });
  return { child, url, port: Number(new URL(url.replace('ws:', 'http:')).port) };
}

async function stopNode(n: NodeProc): Promise<void> {
  if (n.child.exitCode !== null) return;
  const gone = new Promise((r) => n.child.once('exit', r));
  n.child.kill('SIGTERM');
  await Promise.race([gone, sleep(3000)]);
  if (n.child.exitCode === null) n.child.kill('SIGKILL');
}

/** A `ws` client with a frame queue, for publishers and latency probes. */
class Probe {
  readonly ws: WebSocket;
  onFrame: (f: any) => void = () => {};
  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d) => this.onFrame(JSON.parse(d.toString())));
  }
  static async open(url: string): Promise<Probe> {
    const p = new Probe(url);
    await new Promise<void>((res, rej) => {
      p.ws.once('open', () => res());
      p.ws.once('error', rej);
    });
    return p;
  }
  async join(room: string): Promise<void> {
    await new Promise<void>((res) => {
      this.onFrame = (f) => {
        if (f.type === 'joined') res();
      };
      this.ws.send(JSON.stringify({ type: 'join', id: 'j', room }));
    });
    this.onFrame = () => {};
  }
}

/** A member that only joins and discards what it reads (masked client frame, zero mask key). */
function rawMember(url: string, room: string): Promise<net.Socket> {
  const u = new URL(url);
  const join = Buffer.from(JSON.stringify({ type: 'join', id: 1, room }));
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | join.length, 0, 0, 0, 0]), join]);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) }, () => {
      sock.write(`GET /ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: d3NiZW5jaC1yZWRpcy0xNg==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let upgraded = false;
    sock.on('data', (d: Buffer) => {
      if (upgraded) return;
      if (!d.toString('latin1').startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${d.toString('latin1').split('\r\n')[0]}`));
      upgraded = true;
      sock.write(frame);
      resolve(sock);
    });
    sock.on('error', reject);
  });
}

async function deliveries(nodes: NodeProc[]): Promise<number> {
  const all = await Promise.all(nodes.map(async (n) => (await (await fetch(`http://127.0.0.1:${n.port}/stats`)).json()) as { deliveries: number }));
  return all.reduce((a, s) => a + s.deliveries, 0);
}

/** Publishers keep WINDOW publishes each in flight; returns acked publishes per second and deliveries per second. */
async function saturate(pubs: Probe[], room: string, nodes: NodeProc[]): Promise<{ msgsPerSec: number; deliveriesPerSec: number }> {
  let acks = 0;
  let running = true;
  let n = 0;
  for (const p of pubs) {
    const fire = () => p.ws.send(`{"type":"publish","id":${++n},"room":${JSON.stringify(room)},"payload":"${'x'.repeat(100)}","echo":false}`);
    p.onFrame = (f) => {
      if (f.type !== 'ack' && f.type !== 'error') return;
      if (f.type === 'ack') acks++;
      if (running) fire();
    };
    for (let i = 0; i < WINDOW; i++) fire();
  }
  await sleep(WARMUP_MS);
  const a0 = acks;
  const d0 = await deliveries(nodes);
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const a1 = acks;
  const d1 = await deliveries(nodes);
  const secs = (performance.now() - t0) / 1000;
  running = false;
  await sleep(300);
  for (const p of pubs) p.onFrame = () => {};
  return { msgsPerSec: (a1 - a0) / secs, deliveriesPerSec: (d1 - d0) / secs };
}

async function latencyRun(nodes: NodeProc[], room: string): Promise<{ same: number[]; cross: number[] }> {
  const pub = await Probe.open(nodes[0]!.url);
  const local = await Probe.open(nodes[0]!.url);
  const remote = await Probe.open(nodes[1]!.url);
  for (const p of [pub, local, remote]) await p.join(room);
  const same: number[] = [];
  const cross: number[] = [];
  local.onFrame = (f) => f.type === 'message' && same.push(performance.now() - f.payload);
  remote.onFrame = (f) => f.type === 'message' && cross.push(performance.now() - f.payload);
  for (let i = 0; i < LATENCY_MESSAGES; i++) {
    pub.ws.send(JSON.stringify({ type: 'publish', id: i, room, payload: performance.now(), echo: false }));
    await sleep(LATENCY_INTERVAL_MS);
  }
  await sleep(300);
  for (const p of [pub, local, remote]) p.ws.terminate();
  return { same, cross };
}

export default async function redisBench(ctx: Ctx): Promise<string> {
  const redis: RedisServerHandle = await startRedisServer();
  const three: NodeProc[] = [];
  const one: NodeProc[] = [];
  const sockets: net.Socket[] = [];
  const rows = { p50Same: [] as number[], p99Same: [] as number[], p50Cross: [] as number[], p99Cross: [] as number[], busRate: [] as number[], del1: [] as number[], del3: [] as number[] };
  try {
    for (const id of ['n0', 'n1', 'n2']) three.push(await startNode(redis.url, id, 'bench3:'));
    one.push(await startNode(redis.url, 'solo', 'bench1:'));
    for (let run = 0; run < ctx.runs; run++) {
      const lat = await latencyRun(three, `lat-${run}`);
      rows.p50Same.push(percentile(lat.same, 50));
      rows.p99Same.push(percentile(lat.same, 99));
      rows.p50Cross.push(percentile(lat.cross, 50));
      rows.p99Cross.push(percentile(lat.cross, 99));

      const busRoom = `bus-${run}`;
      const pubs = await Promise.all(three.map((n) => Probe.open(n.url)));
      const busMembers = await Promise.all(three.map((n) => Probe.open(n.url)));
      for (const p of [...pubs, ...busMembers]) await p.join(busRoom);
      rows.busRate.push((await saturate(pubs, busRoom, three)).msgsPerSec);
      for (const p of [...pubs, ...busMembers]) p.ws.terminate();

      for (const [nodes, out] of [[one, rows.del1], [three, rows.del3]] as const) {
        const room = `fan-${nodes.length}-${run}`;
        const members = await Promise.all(Array.from({ length: MEMBERS }, (_, i) => rawMember(nodes[i % nodes.length]!.url, room)));
        sockets.push(...members);
        await sleep(300);
        const pub = await Probe.open(nodes[0]!.url);
        await pub.join(room);
        out.push((await saturate([pub], room, nodes)).deliveriesPerSec);
        pub.ws.terminate();
        for (const s of members) s.destroy();
      }
      ctx.log(`run ${run + 1}/${ctx.runs}: same-node p50 ${rows.p50Same.at(-1)!.toFixed(2)} ms, cross-node p50 ${rows.p50Cross.at(-1)!.toFixed(2)} ms, bus ${Math.round(rows.busRate.at(-1)!)} msg/s, deliveries 1 node ${Math.round(rows.del1.at(-1)!)}/s, 3 nodes ${Math.round(rows.del3.at(-1)!)}/s`);
    }
  } finally {
    for (const s of sockets) s.destroy();
    await Promise.all([...three, ...one].map(stopNode));
    await redis.stop();
  }
  const ms = (xs: number[]) => `${median(xs).toFixed(2)} ms`;
  const k = (xs: number[]) => Math.round(median(xs)).toLocaleString('en-US');
  return [
    '## Redis bus (`--redis`, nodes as processes on one box)',
    '',
    `Fan-out latency, publish to delivery, one message every ${LATENCY_INTERVAL_MS} ms (${LATENCY_MESSAGES} per run), 3 nodes:`,
    '',
    '| member | p50 | p99 |',
    '| --- | --- | --- |',
    `| same node as the publisher | ${ms(rows.p50Same)} | ${ms(rows.p99Same)} |`,
    `| another node (Redis hop) | ${ms(rows.p50Cross)} | ${ms(rows.p99Cross)} |`,
    '',
    `Throughput (window of ${WINDOW} publishes per publisher, 100-byte payloads, echo off):`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| bus messages/s at 3 nodes (a publisher on each; each message = 1 script doing INCR, ZADD and PUBLISH, received by 2 nodes) | ${k(rows.busRate)} |`,
    `| deliveries/s, one room of ${MEMBERS} members, 1 node | ${k(rows.del1)} |`,
    `| deliveries/s, same room spread over 3 nodes | ${k(rows.del3)} |`,
    '',
    'Everything (3 nodes, redis-server, clients) shares the same 2 cores, so 3 nodes here show the cost of the extra hop rather than the scale-out a deployment would get from 3 machines.',
  ].join('\n');
}
