/**
 * Requests awaiting a reply (join, leave, publish ack, ping): ids, latency on
 * reply, a timeout sweep and failure of a client's own requests when its connection
 * closes. Replies are matched by id; a reply without an id (dialects that have none)
 * is matched to the client's oldest request of the same kind.
 */
import type { Recorder } from '../metrics/types.ts';
import { errorCounter } from '../metrics/names.ts';

/** What a request waits for; timeouts and losses are counted as `errors.<kind>_timeout|_lost`. */
export type RequestKind = 'join' | 'leave' | 'ack' | 'ping';

/** The client side of a request: the ids it waits on, in the order they were sent. */
export interface RequestOwner {
  readonly pendingIds: Set<number>;
}

/** One request awaiting its reply. */
export interface PendingRequest<O extends RequestOwner> {
  kind: RequestKind;
  /** When it was sent (or scheduled, for open-model publishes), monotonic us. */
  startUs: number;
  client: O;
  room?: string;
  /** The publish tag's counter (echo acks are matched by it). */
  counter?: number;
  /** Settles the caller's promise: latency in us, or null when it failed. */
  resolve?: (latencyUs: number | null) => void;
  /** A missing reply is expected (rate-limit probing): no latency recorded, no error counted. */
  quiet?: boolean;
}

/**
 * The requests of one worker's clients awaiting replies (see the module comment); ids unique per worker.
 */
export class RequestTracker<O extends RequestOwner> {
  /** Every request in flight, in the order sent (the timeout sweep relies on it). */
  readonly pending = new Map<number, PendingRequest<O>>();
  private nextId = 1;

  constructor(private readonly rec: Recorder) {}

  /** A fresh request id (unique within this worker). */
  newId(): number {
    return this.nextId++;
  }

  /** Register request `id`. */
  add(id: number, p: PendingRequest<O>): void {
    this.pending.set(id, p);
    p.client.pendingIds.add(id);
  }

  /** Forget request `id` without settling it (its send failed). */
  drop(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.client.pendingIds.delete(id);
  }

  /**
   * Remove and return the request a reply answers: by `id` when the reply has one, else the
   * owner's oldest request of `kind` (replies in order, as dialects without ids give them).
   */
  take(id: string | number | undefined, owner?: O, kind?: RequestKind): PendingRequest<O> | undefined {
    const key = id === undefined ? this.oldestOf(owner, kind) : typeof id === 'number' ? id : Number(id);
    if (key === undefined) return undefined;
    const p = this.pending.get(key);
    if (p) {
      this.pending.delete(key);
      p.client.pendingIds.delete(key);
    }
    return p;
  }

  /** The owner's oldest request of `kind` matching `accept`, if any. */
  oldestOf(owner: O | undefined, kind: RequestKind | undefined, accept?: (p: PendingRequest<O>) => boolean): number | undefined {
    if (!owner || !kind) return undefined;
    for (const id of owner.pendingIds) {
      const p = this.pending.get(id);
      if (p && p.kind === kind && (!accept || accept(p))) return id;
    }
    return undefined;
  }

  /** Settle a request that got its reply at `nowUs`: record `metric` (latency) when given. */
  finish(p: PendingRequest<O>, metric: string | undefined, nowUs: number): void {
    const lat = nowUs - p.startUs;
    if (metric) this.rec.record(metric, lat);
    p.resolve?.(lat);
  }

  /** The owner's connection closed: every request it waits on is lost (`onLost` sees each first). */
  failAllOf(owner: O, onLost?: (p: PendingRequest<O>) => void): void {
    for (const id of owner.pendingIds) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      onLost?.(p);
      if (!p.quiet) this.rec.count(errorCounter(`${p.kind}_lost`));
      p.resolve?.(null);
    }
    owner.pendingIds.clear();
  }

  /** Time out every request sent before `limitUs`. */
  expireBefore(limitUs: number): void {
    for (const [id, p] of this.pending) {
      // Entries are in insertion order, so the first young one ends the scan.
      if (p.startUs >= limitUs) break;
      this.pending.delete(id);
      p.client.pendingIds.delete(id);
      if (!p.quiet) this.rec.count(errorCounter(`${p.kind}_timeout`));
      p.resolve?.(null);
    }
  }
}
