/**
 * Network profiles per client: one-way latency, jitter and bandwidth, applied in the
 * client's send path (each request leaves `latency ± jitter` later, and no faster than the
 * bandwidth) and receive path (the socket is read no faster than the bandwidth, see
 * read-pace.ts, and every event reaches the script `latency ± jitter` after it arrived in
 * the socket). Order is kept both ways (TCP does not reorder). The engine records fan-out
 * at arrival in the socket (`fanout.arrival`) and at delivery to the script (`fanout`), so
 * what the profile added is known.
 *
 * Grammar (`--set net=...`):
 *
 *   net     := profile | share ":" profile ( "," share ":" profile )*
 *   profile := preset | param ( "," param )*
 *   param   := latency:DURATION | jitter:DURATION | bandwidth:BYTE-RATE
 *   preset  := 3g | 4g | wifi | wifi-flaky | loopback
 *
 * e.g. `3g`, `latency:80ms,jitter:20ms,bandwidth:1Mbit`, `70%:wifi,30%:3g`. Shares that
 * add up to less than 100% leave the rest of the clients on the bare loopback.
 */
import { parseByteRate, parseDuration, parseShare, fail, ok, type Parsed } from '../units/index.ts';
import type { ClientConnection, ConnectionEvents, DecodedFrame } from './types.ts';
import type { ReadPace } from './read-pace.ts';

/** One profile: one-way latency and jitter in ms, bandwidth in bytes per second (0 = unlimited). */
export interface NetProfile {
  name: string;
  latencyMs: number;
  jitterMs: number;
  bandwidthBytesPerSec: number;
}

/**
 * Named profiles (one-way figures, each direction): `3g` after the "Fast 3G" of browser
 * throttling (about 1.6 Mbit/s, 300 ms round trip), `4g` a good LTE link, `wifi` a home
 * network, `wifi-flaky` one with jitter larger than its latency.
 */
export const NET_PRESETS: Readonly<Record<string, NetProfile>> = {
  '3g': { name: '3g', latencyMs: 150, jitterMs: 30, bandwidthBytesPerSec: 1_600_000 / 8 },
  '4g': { name: '4g', latencyMs: 35, jitterMs: 10, bandwidthBytesPerSec: 12_000_000 / 8 },
  wifi: { name: 'wifi', latencyMs: 5, jitterMs: 2, bandwidthBytesPerSec: 50_000_000 / 8 },
  'wifi-flaky': { name: 'wifi-flaky', latencyMs: 20, jitterMs: 40, bandwidthBytesPerSec: 5_000_000 / 8 },
  loopback: { name: 'loopback', latencyMs: 0, jitterMs: 0, bandwidthBytesPerSec: 0 },
};

/** Profiles mixed by share of the clients. */
export type NetMix = Array<{ share: number; profile: NetProfile }>;

const SHARED = /^(\d+(?:\.\d+)?%):(.+)$/;

/** Read `--set net=...` (see the module doc); an empty text is no profile at all. */
export function parseNetMix(text: string): Parsed<NetMix> {
  const t = String(text).trim();
  if (!t) return ok([]);
  const groups: Array<{ share: string; items: string[] }> = [];
  for (const raw of t.split(',')) {
    const item = raw.trim();
    const m = SHARED.exec(item);
    if (m) groups.push({ share: m[1]!, items: [m[2]!] });
    else if (groups.length === 0) groups.push({ share: '100%', items: [item] });
    else groups.at(-1)!.items.push(item);
  }
  const mix: NetMix = [];
  let total = 0;
  for (const g of groups) {
    const share = parseShare(g.share);
    if (!share.ok) return fail(`net "${t}": ${share.error}`);
    const p = parseProfile(g.items);
    if (!p.ok) return fail(`net "${t}": ${p.error}`);
    total += share.value;
    mix.push({ share: share.value, profile: p.value });
  }
  if (total > 1 + 1e-9) return fail(`net "${t}": the shares add up to ${Math.round(total * 100)}%, more than 100%`);
  return ok(mix);
}

function parseProfile(items: string[]): Parsed<NetProfile> {
  if (items.length === 1 && items[0]! in NET_PRESETS) return ok(NET_PRESETS[items[0]!]!);
  const p: NetProfile = { name: items.join(','), latencyMs: 0, jitterMs: 0, bandwidthBytesPerSec: 0 };
  for (const item of items) {
    const colon = item.indexOf(':');
    const key = colon < 0 ? item : item.slice(0, colon);
    const value = item.slice(colon + 1);
    if (key === 'latency' || key === 'jitter') {
      const d = parseDuration(value, 'milliseconds');
      if (!d.ok) return fail(`${key}: ${d.error}`);
      if (key === 'latency') p.latencyMs = d.value;
      else p.jitterMs = d.value;
    } else if (key === 'bandwidth') {
      const r = parseByteRate(value);
      if (!r.ok) return fail(`bandwidth: ${r.error}`);
      p.bandwidthBytesPerSec = r.value;
    } else {
      return fail(`"${item}" is neither a preset (${Object.keys(NET_PRESETS).join(', ')}) nor latency:DURATION, jitter:DURATION or bandwidth:RATE`);
    }
  }
  return ok(p);
}

/**
 * The profile of client `index`, or undefined (bare loopback). Clients are spread over the
 * mix by a low-discrepancy sequence of their index, so every share holds within one client
 * in any run size and a client keeps its profile across runs.
 */
export function netProfileOf(mix: NetMix, index: number): NetProfile | undefined {
  if (mix.length === 0) return undefined;
  const u = (index * 0.6180339887498949) % 1;
  let acc = 0;
  for (const e of mix) {
    acc += e.share;
    if (u < acc) return e.profile.name === 'loopback' ? undefined : e.profile;
  }
  return undefined;
}

/** The receive side's read pace of a profile (its bandwidth), or undefined when unlimited. */
export function profileReadPace(p: NetProfile): ReadPace | undefined {
  return p.bandwidthBytesPerSec > 0 ? { kind: 'rate', bytesPerSec: p.bandwidthBytesPerSec } : undefined;
}

/**
 * A one-way delay line: runs what is pushed `latency ± jitter` later (and, given bytes,
 * no faster than the bandwidth), in the order pushed. One timer at a time.
 */
export class DelayLine {
  private readonly queue: Array<{ atMs: number; run: () => void }> = [];
  private lastAtMs = 0;
  private wireFreeMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly profile: NetProfile,
    private readonly random: () => number,
  ) {}

  /** Run `run` after the profile's delay; `bytes` count against the bandwidth (0 = none). */
  push(run: () => void, bytes = 0): void {
    const now = performance.now();
    const p = this.profile;
    let atMs = now + Math.max(0, p.latencyMs + p.jitterMs * (2 * this.random() - 1));
    if (bytes > 0 && p.bandwidthBytesPerSec > 0) {
      this.wireFreeMs = Math.max(this.wireFreeMs, now) + (bytes * 1000) / p.bandwidthBytesPerSec;
      atMs = Math.max(atMs, this.wireFreeMs + p.latencyMs);
    }
    // In order: nothing overtakes what went before it.
    atMs = Math.max(atMs, this.lastAtMs);
    this.lastAtMs = atMs;
    this.queue.push({ atMs, run });
    if (this.timer === undefined) this.arm();
  }

  /** Drop everything still queued. */
  clear(): void {
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(() => this.drain(), Math.max(0, head.atMs - performance.now()));
  }

  private drain(): void {
    this.timer = undefined;
    const now = performance.now();
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.atMs <= now + 0.5) n++;
    for (const e of this.queue.splice(0, n)) e.run();
    if (this.timer === undefined) this.arm();
  }
}

/**
 * A client's events through its profile's receive delay. A delivery is reported to
 * `arrived` (send time and arrival, us) when it reaches the socket, and to the script later.
 */
export class DelayedEvents implements ConnectionEvents {
  constructor(
    private readonly inner: ConnectionEvents,
    private readonly line: DelayLine,
    private readonly arrived: (sendUs: number, replay: boolean) => void,
  ) {}

  onOpen(): void {
    this.line.push(() => this.inner.onOpen());
  }
  onHeartbeat(answered: boolean): void {
    this.line.push(() => this.inner.onHeartbeat(answered));
  }
  onFrame(frame: DecodedFrame): void {
    this.line.push(() => this.inner.onFrame(frame));
  }
  onDelivery(room: string, seq: number, tagNode: number, tagPub: number, tagCounter: number, sendUs: number, replay: boolean): void {
    this.arrived(sendUs, replay);
    this.line.push(() => this.inner.onDelivery(room, seq, tagNode, tagPub, tagCounter, sendUs, replay));
  }
  onError(code: string, message: string): void {
    this.line.push(() => this.inner.onError(code, message));
  }
  onClose(code: number | string, reason: string): void {
    this.line.push(() => this.inner.onClose(code, reason));
  }
}

/**
 * A connection whose requests leave through its profile's send delay and bandwidth
 * (`sizeOf` estimates a request's bytes). Close and terminate act at once.
 */
export class DelayedConnection implements ClientConnection {
  private noPing = false;
  /** Socket.IO's arbitrary events, delayed like the rest (present only when the inner connection has it). */
  readonly emit?: (event: string, data: unknown, onAck?: (res: unknown) => void) => void;
  /** The inner connection's read pace (present only when it can pace its socket). */
  readonly readPace?: (pace: ReadPace) => void;

  constructor(
    private readonly inner: ClientConnection,
    private readonly line: DelayLine,
    private readonly publishBytes: number,
  ) {
    const emit = inner.emit?.bind(inner);
    if (emit) this.emit = (event, data, onAck) => this.line.push(() => emit(event, data, onAck), 32 + event.length + (JSON.stringify(data)?.length ?? 0));
    this.readPace = inner.readPace?.bind(inner);
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  join(room: string, id: number, since?: number, epoch?: string): void {
    this.line.push(() => this.inner.join(room, id, since, epoch), 64 + room.length);
  }
  leave(room: string, id: number): void {
    this.line.push(() => this.inner.leave(room, id), 64 + room.length);
  }
  publish(room: string, id: number, tag: string, pad: string): void {
    this.line.push(() => this.inner.publish(room, id, tag, pad), this.publishBytes);
  }
  /**
   * The ping leaves later, so whether the dialect has one is known only then: the first ping
   * of a dialect without one times out, later ones answer false at once.
   */
  ping(id: number): boolean {
    if (this.noPing) return false;
    this.line.push(() => {
      if (!this.inner.ping(id)) this.noPing = true;
    }, 48);
    return true;
  }
  close(code?: number): void {
    this.line.clear();
    this.inner.close(code);
  }
  terminate(): void {
    this.line.clear();
    this.inner.terminate();
  }
  stopHeartbeat(): void {
    this.inner.stopHeartbeat();
  }
}
