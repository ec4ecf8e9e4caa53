import { defineScenario, COUNTER, METRIC } from '../src/index.ts';
import type { ObservationSummary } from '../src/scenario/types.ts';
import type { CheckResult, RunView } from '../src/index.ts';
import { unverifiedCheck } from '../src/checks/outcome.ts';
import { parseSlow } from '../src/scenario/conditions.ts';
import { slowRoomCount, SLOW_OBSERVATION } from '../src/workers/client-conditions.ts';
import type { ReadPace } from '../src/protocol/read-pace.ts';

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
/** Bytes a wsbench/1 or Socket.IO delivery carries beyond its padding (tag, room, seq, framing). */
const FRAME_OVERHEAD = 150;
/**
 * What the kernel buffers of one loopback connection hold before the server's own queue
 * grows (the client's receive buffer of a paused socket and the server's send buffer).
 */
const KERNEL_BYTES = 6 * MIB;
/** Fewest fan-out samples per group for a p99 to be judged (about 10 beyond the 99th percentile). */
const MIN_SAMPLES = 1000;

/**
 * Slow consumers: in the first `slow-rooms` share of the rooms, a share of the members
 * (`--set slow=5%,mode=stalled`) stop reading once joined (or read at a bounded rate, or in
 * bursts); the other rooms hold only healthy clients, the control group, in the same run.
 * Publishers publish at an open rate. Judged:
 * - healthy members of rooms with slow members keep their fan-out: p99 within `max-slowdown`
 *   times the control group's (plus `slack`);
 * - the server's memory stays bounded: growth over the measured window at most
 *   `memory-per-slow` per slow client (live memory from its /metrics, else RSS);
 * - what the server did to the slow clients: cut them (close code, time to cut), dropped
 *   messages for them only (room seqs they skipped), or nothing (then the memory check says
 *   whether that was fine);
 * - healthy clients lost nothing (no skipped seq, never dropped).
 */
export default defineScenario({
  name: 'slow-consumer',
  description: 'a share of each room stops reading; healthy members keep their fan-out p99, server memory stays bounded, slow clients are cut',
  defaults: { clients: 100, rooms: 10, rate: 1000, payloadBytes: 16 * 1024, warmup: 3000, duration: 30_000, slow: '10%,mode=stalled', slowRooms: 0.5 },
  // The bundled server's per-connection publish limit (100/s) would refuse a publisher's 100/s of a 10-room run.
  server: { rate: '1000', burst: '2000' },
  // Slow clients start at the end of the warm-up: memory is judged from a baseline with every client healthy.
  derive: (o) => ({ slowAfter: o.warmup }),
  options: {
    maxSlowdown: { type: 'number', default: 3, min: 1, description: 'healthy members of slow rooms: fan-out p99 at most this many times the control group’s' },
    slack: { type: 'duration', default: 5, min: 0, description: 'added to the allowed fan-out p99 (loopback p99s of a millisecond are noise-bound), ms' },
    memoryPerSlow: { type: 'bytes', default: 32 * MIB, min: 1, description: 'largest server memory growth over the measured window per slow client (bytes; 32MiB: twice the bundled server’s 16 MiB cut-off)' },
  },
  validate: (o) => (String(o.slow).trim() ? [] : ['slow-consumer needs slow clients: --set slow=SHARE[,mode=MODE], e.g. slow=5%,mode=stalled']),
  async loop(vu) {
    // Publishing and the slow reading are the engine's (--set slow); nothing to do per client.
    await vu.sleep(60_000);
  },
  checks(run) {
    return [healthyFanoutCheck(run), serverMemoryCheck(run), slowFateCheck(run, serverMemoryCheck(run)), healthyDeliveryCheck(run)];
  },
});

/** The sum of a per-client observation (0 when nobody observed it). */
const total = (o: ObservationSummary | undefined) => (o ? Math.round(o.mean * o.count) : 0);

/** Clients that read slowly at some point of the run (each observed its skipped seqs once at the end). */
const slowClients = (run: RunView) => run.observations[SLOW_OBSERVATION.skipped]?.count ?? 0;

/** Healthy members of slow rooms against the control group: fan-out p99 within the stated factor. */
export function healthyFanoutCheck(run: RunView): CheckResult {
  const name = 'slow-consumer.healthy-fanout';
  const slowRooms = run.metrics[METRIC.fanoutSlowRooms];
  const control = run.metrics[METRIC.fanoutControl];
  const factor = Number(run.options.maxSlowdown);
  const slackUs = Number(run.options.slack) * 1000;
  if (!control) return unverifiedCheck(name, 'no control group: every room has slow members (lower --set slow-rooms below 100%)');
  if (!slowRooms) return unverifiedCheck(name, 'no healthy member of a room with slow members received anything');
  const evidence = { slowRoomsP99Us: slowRooms.p99, controlP99Us: control.p99, slowRoomsP50Us: slowRooms.p50, controlP50Us: control.p50, slowRoomsCount: slowRooms.count, controlCount: control.count, maxSlowdown: factor, slackUs };
  if (Math.min(slowRooms.count, control.count) < MIN_SAMPLES) {
    return unverifiedCheck(name, `too few deliveries to judge a p99 (${slowRooms.count} and ${control.count}, need ${MIN_SAMPLES} each): raise --rate or --duration`, evidence);
  }
  const allowed = factor * control.p99 + slackUs;
  const shown = `fan-out p99 ${ms(slowRooms.p99)} in rooms with slow members, ${ms(control.p99)} in the control rooms`;
  return slowRooms.p99 <= allowed
    ? { name, passed: true, detail: `${shown} (allowed ${ms(allowed)} = ${factor} x control + ${ms(slackUs)})`, evidence }
    : { name, passed: false, detail: `${shown}: slow members slowed their rooms down beyond ${ms(allowed)} (${factor} x control + ${ms(slackUs)})`, evidence };
}

/**
 * Bytes one slow client falls behind over the measured window at its pace: what a server
 * that never cuts or drops must hold for it (the kernel buffers not subtracted).
 */
export function backlogPerSlowClient(o: RunView['options'], pace: ReadPace, windowMs: number): number {
  const roomRate = o.rate / o.rooms;
  const inflow = roomRate * (o.payloadBytes + FRAME_OVERHEAD);
  const seconds = windowMs / 1000;
  if (pace.kind === 'stalled') return inflow * seconds;
  if (pace.kind === 'rate') return Math.max(0, inflow - pace.bytesPerSec) * seconds;
  if (pace.kind === 'burst') return inflow * seconds * (pace.offMs / (pace.onMs + pace.offMs));
  return 0;
}

/** The server's memory growth per slow client over the measured window, against the budget. */
export function serverMemoryCheck(run: RunView): CheckResult {
  const name = 'slow-consumer.server-memory';
  const slow = slowClients(run);
  const perSlow = Number(run.options.memoryPerSlow);
  const spec = parseSlow(String(run.options.slow));
  const pace = spec.ok && spec.value ? spec.value.pace : ({ kind: 'stalled' } as const);
  const backlog = backlogPerSlowClient(run.options, pace, run.durationMs);
  const s = run.server;
  if (slow === 0) return unverifiedCheck(name, 'no client read slowly (raise --set slow or --clients)');
  if (!s) return unverifiedCheck(name, 'no server metrics were read (an external target needs --scrape URL)', { slowClients: slow });
  const heap = s.heapBytesStart !== undefined && s.heapBytesEnd !== undefined;
  const floors = heap ? s.heapFloorsBytes : s.rssFloorsBytes;
  // The floors (lowest memory of each eighth of the window) are what survives the GCs: the
  // garbage of healthy traffic only adds above them, a backlog held for slow clients lifts them.
  const start = floors && floors.length >= 4 ? (floors[0]! + floors[1]!) / 2 : heap ? s.heapBytesStart : s.rssBytesStart;
  const end = floors && floors.length >= 4 ? (floors.at(-1)! + floors.at(-2)!) / 2 : heap ? s.heapBytesEnd : s.rssBytesEnd;
  if (start === undefined || end === undefined) return unverifiedCheck(name, `too few memory samples in the measured window (${s.scrapes} scrapes, ${s.failures} failed)`, { slowClients: slow });
  const growth = end - start;
  const budget = perSlow * slow;
  const evidence = { memory: heap ? 'live memory (V8 heap in use + Buffers)' : 'resident memory (RSS)', measure: floors && floors.length >= 4 ? 'mean of the last two floors minus mean of the first two' : 'end minus start', floorsBytes: floors, startBytes: start, endBytes: end, growthBytes: growth, growthPerSlowClientBytes: Math.round(growth / slow), slowClients: slow, budgetBytes: budget, backlogPerSlowClientBytes: Math.round(backlog), rssBytesStart: s.rssBytesStart, rssBytesEnd: s.rssBytesEnd, rssBytesPeak: s.rssBytesPeak };
  const shown = `${evidence.memory} grew ${mib(growth)} over the measured window (floors), ${mib(growth / slow)} per slow client (${slow}; budget ${mib(perSlow)} each)`;
  if (growth > budget) return { name, passed: false, detail: `${shown}: the server keeps buffering for clients that do not read`, evidence };
  // A server that holds everything grows by the backlog beyond the kernel buffers, at least once
  // per slow room (members of one room may share one frame buffer), at most once per slow client.
  const heldAtLeast = Math.min(slow, slowRoomCount(run.options)) * Math.max(0, backlog - KERNEL_BYTES);
  if (heldAtLeast <= budget) {
    return unverifiedCheck(
      name,
      `${shown}, but a server that held everything would have grown only about ${mib(heldAtLeast)} in this run (${mib(backlog)} behind per slow client, ${mib(KERNEL_BYTES)} of it in kernel buffers), not more than the budget, so it would pass too: raise --rate, --payload-bytes or --duration`,
      { ...evidence, heldAtLeastBytes: Math.round(heldAtLeast) },
    );
  }
  return { name, passed: true, detail: `${shown}; a server that held everything would have grown at least ${mib(heldAtLeast)}`, evidence: { ...evidence, heldAtLeastBytes: Math.round(heldAtLeast) } };
}

/** What the server did to the slow clients: cut them, dropped messages for them, or nothing. */
export function slowFateCheck(run: RunView, memory: CheckResult): CheckResult {
  const name = 'slow-consumer.slow-clients-handled';
  const slow = slowClients(run);
  const cutMs = run.observations[SLOW_OBSERVATION.cutMs];
  const cut = cutMs?.count ?? 0;
  const skipped = total(run.observations[SLOW_OBSERVATION.skipped]);
  const codes = Object.keys(run.examples)
    .filter((k) => k.startsWith('slow-cut:'))
    .map((k) => k.slice('slow-cut:'.length));
  const evidence = {
    slowClients: slow,
    cut,
    closeCodes: codes,
    skippedSeqs: skipped,
    ledgerLost: run.ledger.lost,
    ...(cutMs ? { timeToCutMinMs: Math.round(cutMs.min), timeToCutMeanMs: Math.round(cutMs.mean), timeToCutMaxMs: Math.round(cutMs.max) } : {}),
  };
  if (slow === 0) return unverifiedCheck(name, 'no client read slowly (raise --set slow or --clients)');
  const did: string[] = [];
  if (cut > 0) did.push(`cut ${cut} of ${slow} slow clients (close ${codes.join(', ')}) ${cutMs ? `${Math.round(cutMs.min)}..${Math.round(cutMs.max)} ms after they stopped keeping up` : ''}`.trim());
  if (skipped > 0) did.push(`dropped ${skipped} messages for slow clients (room seqs they never got although they got later ones; the ledger counts them as lost, ${run.ledger.lost} in all)`);
  if (did.length) return { name, passed: true, detail: `the server ${did.join('; ')}`, evidence };
  const status = memory.status ?? (memory.passed ? 'passed' : 'failed');
  if (status === 'unverified') return unverifiedCheck(name, `the server neither cut nor dropped for its ${slow} slow clients, and whether it needed to is unknown: ${memory.reason ?? memory.detail}`, evidence);
  return memory.passed
    ? { name, passed: true, detail: `the server neither cut nor dropped for its ${slow} slow clients, and its memory stayed within budget (they kept up enough)`, evidence }
    : { name, passed: false, detail: `the server neither cut nor dropped for its ${slow} slow clients and kept buffering for them: ${memory.detail}`, evidence };
}

/** Healthy clients lost nothing to the slow ones: no skipped seq, never dropped by the server. */
export function healthyDeliveryCheck(run: RunView): CheckResult {
  const name = 'slow-consumer.healthy-unharmed';
  const skipped = total(run.observations[SLOW_OBSERVATION.healthySkipped]);
  const dropped = run.counters[COUNTER.healthyDropped] ?? 0;
  const evidence = { healthySkippedSeqs: skipped, healthyDropped: dropped };
  if (skipped === 0 && dropped === 0) return { name, passed: true, detail: 'no healthy client missed a room seq or was dropped by the server', evidence };
  return { name, passed: false, detail: `healthy clients paid for the slow ones: ${skipped} room seqs skipped, ${dropped} healthy clients dropped by the server`, evidence };
}
