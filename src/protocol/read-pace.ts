/**
 * How fast a client reads from its socket: at full speed, not at all (`stalled`: the
 * socket is paused, so the kernel buffers fill and TCP backpressure reaches the server
 * as it would from a stalled phone), at a bounded byte rate, or in bursts with pauses.
 * Pausing the socket is the only lever: a read is never dropped or copied.
 *
 * Grammar (`--set slow=SHARE,mode=MODE`, `vu.readSlowly(MODE)`):
 *
 *   MODE := full | stalled | rate:BYTE-RATE | burst:ON/OFF
 *
 * `rate:32KiB/s` reads at most 32 KiB per second on average (src/units/byte-rate.ts);
 * `burst:200ms/2s` reads at full speed for 200 ms, then not at all for 2 s, repeating.
 */
import type net from 'node:net';
import { parseByteRate, parseDuration, fail, ok, type Parsed } from '../units/index.ts';

/** A read pace (see the module doc); rates in bytes per second, durations in milliseconds. */
export type ReadPace = { kind: 'full' } | { kind: 'stalled' } | { kind: 'rate'; bytesPerSec: number } | { kind: 'burst'; onMs: number; offMs: number };

/** The accepted forms, for error messages. */
export const READ_PACE_FORMS = 'stalled, rate:32KiB/s (or rate:1Mbit), burst:200ms/2s (read 200 ms, pause 2 s), full';

/** Read a pace from its text form (never throws). */
export function parseReadPace(text: string): Parsed<ReadPace> {
  const t = String(text).trim();
  if (t === 'stalled' || t === 'full') return ok({ kind: t });
  const colon = t.indexOf(':');
  const kind = colon < 0 ? t : t.slice(0, colon);
  const arg = colon < 0 ? '' : t.slice(colon + 1);
  if (kind === 'rate') {
    const r = parseByteRate(arg);
    if (!r.ok) return fail(`read pace "${t}": ${r.error}`);
    if (r.value <= 0) return fail(`read pace "${t}": the rate must be above 0 (use stalled to stop reading)`);
    return ok({ kind: 'rate', bytesPerSec: r.value });
  }
  if (kind === 'burst') {
    const [on, off, more] = arg.split('/');
    const onMs = parseDuration(on ?? '', 'reject');
    const offMs = parseDuration(off ?? '', 'reject');
    if (more !== undefined || !onMs.ok || !offMs.ok || onMs.value <= 0 || offMs.value <= 0) return fail(`read pace "${t}": expected burst:ON/OFF with two durations above 0, e.g. burst:200ms/2s`);
    return ok({ kind: 'burst', onMs: onMs.value, offMs: offMs.value });
  }
  return fail(`"${t}" is not a read pace; use ${READ_PACE_FORMS}`);
}

/** The text form of a pace (what `parseReadPace` reads back). */
export function formatReadPace(p: ReadPace): string {
  if (p.kind === 'rate') return `rate:${Math.round(p.bytesPerSec)}B/s`;
  if (p.kind === 'burst') return `burst:${p.onMs}ms/${p.offMs}ms`;
  return p.kind;
}

/** How often a pacing client writes a probe (a WebSocket ping), ms. */
export const PROBE_MS = 250;

/**
 * Paces the reading of one socket: `consumed(n)` after each read of n bytes; `stop()` reads
 * at full speed again (for good). Timers are unref'd and cleared by `stop`.
 *
 * A paused socket does not see the server close it (the FIN waits behind the unread bytes),
 * so every PROBE_MS the pacer calls `probe` (the connection writes a WebSocket ping): a write
 * to a connection the server has closed draws a reset, and the socket closes. A stalled
 * client thus learns that it was cut within about two probes, as a phone would on its next send.
 */
export class ReadPacer {
  /** For `rate`: when (performance.now() ms) the bytes read so far have been paid for. */
  private paidUntilMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly prober: NodeJS.Timeout;

  constructor(
    private readonly sock: net.Socket,
    readonly pace: ReadPace,
    probe: () => void,
  ) {
    this.prober = setInterval(() => {
      if (!sock.destroyed && sock.isPaused()) probe();
    }, PROBE_MS);
    this.prober.unref();
    if (pace.kind === 'stalled') sock.pause();
    else if (pace.kind === 'burst') this.schedule(pace.onMs, () => this.burstOff());
  }

  /** `n` bytes were read: with a rate, pause until they are paid for. */
  consumed(n: number): void {
    if (this.pace.kind !== 'rate' || this.stopped) return;
    const now = performance.now();
    this.paidUntilMs = Math.max(this.paidUntilMs, now) + (n * 1000) / this.pace.bytesPerSec;
    if (this.paidUntilMs - now < 1 || this.timer) return;
    this.sock.pause();
    this.schedule(this.paidUntilMs - now, () => this.sock.resume());
  }

  /** Read at full speed from now on. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.prober);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.sock.destroyed) this.sock.resume();
  }

  private burstOff(): void {
    if (this.pace.kind !== 'burst') return;
    this.sock.pause();
    this.schedule(this.pace.offMs, () => {
      this.sock.resume();
      this.schedule((this.pace as { onMs: number }).onMs, () => this.burstOff());
    });
  }

  private schedule(ms: number, run: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped && !this.sock.destroyed) run();
    }, ms);
    this.timer.unref();
  }
}
