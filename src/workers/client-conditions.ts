/**
 * What makes a virtual client unlike a perfect reader on a perfect loopback: a slow read
 * pace (`--set slow=SHARE,mode=MODE`, `vu.readSlowly`) and a network profile (`--set net=...`).
 * Which clients are slow and which profile a client has are pure functions of its index and
 * the options, the same in every worker process.
 *
 * Slow clients: in each of the first `slow-rooms` share of the rooms (the rest are the control
 * group), the last `SHARE` of the members (at least one; never a publisher) read at `MODE`
 * once they have joined. Healthy clients of those rooms record `fanout.slow-rooms`, those of
 * the other rooms `fanout.control`, beside `fanout`.
 */
import type { CommonOptions } from '../scenario/types.ts';
import type { ClientConnection, ConnectOptions, ConnectionEvents, Transport } from '../protocol/types.ts';
import type { Recorder } from '../metrics/types.ts';
import type { Clock } from '../executor/clock.ts';
import type { ReceiverRoom } from '../checks/ledger.ts';
import { formatReadPace, type ReadPace } from '../protocol/read-pace.ts';
import { parseSlow } from '../scenario/conditions.ts';
import { DelayedConnection, DelayedEvents, DelayLine, netProfileOf, parseNetMix, profileReadPace, type NetMix, type NetProfile } from '../protocol/net-profile.ts';
import type { SlowSpec } from '../scenario/conditions.ts';
import { METRIC, errorCounter } from '../metrics/names.ts';

type Options = Readonly<Record<string, unknown>> & CommonOptions;

/** One client's conditions (undefined on a client of a run without any). */
export interface ClientConditions {
  /** The pace this client reads at once joined (a slow consumer), or undefined (healthy). */
  slow: ReadPace | undefined;
  /** When the current connection started reading slowly (monotonic us; 0 = not yet). */
  slowSinceUs: number;
  /** Whether this client read slowly at some point of the run. */
  slowCounted: boolean;
  /** Room seqs this client never got although it got later ones (the server dropped them for it). */
  skipped: number;
  /** The group fan-out metric of a healthy client (`fanout.control` / `fanout.slow-rooms`), if any. */
  fanoutGroup: string | undefined;
  /** The client's network profile, if any. */
  net: NetProfile | undefined;
}

/** The parsed conditions of a run, cached per options object (one per worker). */
const parsed = new WeakMap<object, { slow: SlowSpec | undefined; mix: NetMix }>();
function runConditions(o: Options): { slow: SlowSpec | undefined; mix: NetMix } {
  let r = parsed.get(o);
  if (!r) {
    const slow = parseSlow(String(o.slow ?? ''));
    const mix = parseNetMix(String(o.net ?? ''));
    parsed.set(o, (r = { slow: slow.ok ? slow.value : undefined, mix: mix.ok ? mix.value : [] }));
  }
  return r;
}

/** Rooms (the first ones) that have slow members: `slow-rooms` of them, at least one. */
export function slowRoomCount(o: Options): number {
  return Math.max(1, Math.min(o.rooms, Math.round(Number(o.slowRooms ?? 1) * o.rooms)));
}

/** Whether client `index` is one of its room's slow members under `share` (see the module doc). */
export function isSlowMember(index: number, o: Options, share: number): boolean {
  if (share <= 0) return false;
  const room = index % o.rooms;
  if (room >= slowRoomCount(o)) return false;
  const member = Math.floor(index / o.rooms);
  const members = Math.floor((o.clients - 1 - room) / o.rooms) + 1;
  const slow = Math.min(members - o.publishers, Math.max(1, Math.round(share * members)));
  return member >= o.publishers && member >= members - slow;
}

/** Client `index`'s conditions, or undefined when the run has neither slow clients nor profiles. */
export function conditionsOf(index: number, o: Options): ClientConditions | undefined {
  const run = runConditions(o);
  if (!run.slow && run.mix.length === 0) return undefined;
  const slow = run.slow && isSlowMember(index, o, run.slow.share) ? run.slow.pace : undefined;
  const group = run.slow && !slow ? (index % o.rooms < slowRoomCount(o) ? METRIC.fanoutSlowRooms : METRIC.fanoutControl) : undefined;
  return { slow, slowSinceUs: 0, slowCounted: false, skipped: 0, fanoutGroup: group, net: netProfileOf(run.mix, index) };
}

/** Empty conditions, for a client a scenario makes slow itself (`vu.readSlowly`). */
export function noConditions(): ClientConditions {
  return { slow: undefined, slowSinceUs: 0, slowCounted: false, skipped: 0, fanoutGroup: undefined, net: undefined };
}

/**
 * Open a connection under `cond`: through the profile's delay lines (and read at its
 * bandwidth) when it has one; `fanout.arrival` is recorded at arrival in the socket.
 * `publishBytes` is a publish frame's size on the wire, for the send side's bandwidth.
 */
export function connectUnder(transport: Transport, opts: ConnectOptions, ev: ConnectionEvents, cond: ClientConditions | undefined, rec: Recorder, clock: Clock, seeded: { readonly rng: () => number }, publishBytes: number): ClientConnection {
  const net = cond?.net;
  if (!net) return transport.connect(opts, ev);
  // The client's seeded random (created on first use: only clients with a profile need it).
  const random = seeded.rng;
  const arrived = (sendUs: number, replay: boolean) => {
    if (!replay) rec.record(METRIC.fanoutArrival, clock.nowUs() - sendUs);
  };
  const conn = transport.connect(opts, new DelayedEvents(ev, new DelayLine(net, random), arrived));
  const pace = profileReadPace(net);
  if (pace) conn.readPace?.(pace);
  return new DelayedConnection(conn, new DelayLine(net, random), publishBytes);
}

/** The client has joined: a slow one starts reading at its pace now (counted once per client). */
export function startSlow(cond: ClientConditions | undefined, conn: ClientConnection | undefined, rec: Recorder, nowUs: number): void {
  if (!cond?.slow || !conn) return;
  if (!conn.readPace) {
    rec.count(errorCounter('slow_unsupported'));
    return;
  }
  conn.readPace(cond.slow);
  cond.slowSinceUs = nowUs;
  cond.slowCounted = true;
}

/**
 * Per-client observations of a run with slow clients (`vu.observe` keys; whole run, unlike
 * counters, which count the measured window only): `slow.skipped` once per slow client (the
 * room seqs it never got: gaps and tail; the count is the number of slow clients),
 * `healthy.skipped` per healthy client that missed any, `slow.cut.ms` per slow client the server cut (time from slow to cut).
 */
export const SLOW_OBSERVATION = { skipped: 'slow.skipped', healthySkipped: 'healthy.skipped', cutMs: 'slow.cut.ms' } as const;

/**
 * At the end of the run: each client's missing seqs as an observation (see SLOW_OBSERVATION):
 * the gaps it skipped, plus, in each room it is still a member of, the seqs after its last one
 * up to `roomMax` (the highest seq of the room its worker knows: a server that stops sending
 * to a slow member leaves no gap, only a tail). A lower bound when the room's other members
 * are in other worker processes; exact in one.
 */
export function observeSkipped(cond: ClientConditions | undefined, rooms: Iterable<ReceiverRoom>, roomMax: ReadonlyMap<string, number>, observe: (key: string, value: number) => void): void {
  if (!cond) return;
  let missing = cond.skipped;
  for (const r of rooms) if (r.active && r.joinSeq >= 0) missing += Math.max(0, (roomMax.get(r.room) ?? r.lastSeq) - r.lastSeq);
  if (cond.slowCounted) observe(SLOW_OBSERVATION.skipped, missing);
  else if (missing > 0) observe(SLOW_OBSERVATION.healthySkipped, missing);
}

/** The cool-down: slow clients read at full speed, so the ledger judges what the server sent them, not what they had yet to read. */
export function catchUp(cond: ClientConditions | undefined, conn: ClientConnection | undefined): void {
  if (cond?.slow && conn) conn.readPace?.(cond.net ? (profileReadPace(cond.net) ?? { kind: 'full' }) : { kind: 'full' });
}

/**
 * A delivery of room seq `seq` to a client whose previous seq there was `before`: counts the
 * seqs it skipped and records the group fan-out.
 */
export function noteDelivery(cond: ClientConditions, rec: Recorder, before: number, seq: number, latencyUs: number): void {
  if (seq > before + 1 && before >= 0) cond.skipped += seq - before - 1;
  if (cond.fanoutGroup && latencyUs >= 0) rec.record(cond.fanoutGroup, latencyUs);
}

/** Lines for the report's notes: who reads slowly and which network profiles are on how many clients. */
export function conditionNotes(o: Options): string[] {
  const run = runConditions(o);
  const out: string[] = [];
  if (run.slow) {
    let slow = 0;
    for (let i = 0; i < o.clients; i++) if (isSlowMember(i, o, run.slow.share)) slow++;
    const rooms = slowRoomCount(o);
    const after = Number(o.slowAfter ?? 0);
    out.push(
      `slow consumers: ${slow} clients (${Math.round(run.slow.share * 100)}% of the members of ${rooms} of ${o.rooms} rooms) read ${formatReadPace(run.slow.pace)}${after ? ` from ${after} ms after joining` : ' once joined'}` +
        (rooms < o.rooms ? `; the other ${o.rooms - rooms} rooms are the control group (fanout.control)` : '; no control rooms'),
    );
  }
  for (const { share, profile: p } of run.mix) {
    const n = Array.from({ length: o.clients }, (_, i) => netProfileOf(run.mix, i)).filter((x) => x === p).length;
    const bw = p.bandwidthBytesPerSec ? `, ${((p.bandwidthBytesPerSec * 8) / 1e6).toFixed(2)} Mbit/s` : '';
    out.push(`network profile ${p.name} on ${n} clients (${Math.round(share * 100)}%): ${p.latencyMs} ms ± ${p.jitterMs} ms one-way${bw}; fanout minus fanout.arrival is what its receive side added`);
  }
  return out;
}
