/**
 * What a decoded frame from the server does to a client: settle the request it answers,
 * open the client on its welcome, file a delivery, count an error or an event.
 */
import type { DecodedFrame } from '../protocol/types.ts';
import { parseTag } from '../protocol/tag.ts';
import { createReceiverRoom, onJoined, tagJoinAcked } from '../checks/ledger.ts';
import type { Client } from './virtual-client.ts';
import type { Clock } from '../executor/clock.ts';
import type { PendingRequest, RequestTracker } from './request-tracker.ts';
import { COUNTER, METRIC, eventCounter } from '../metrics/names.ts';

/** What dispatch needs from the runtime (WorkerRuntime implements it). */
export interface DispatchHost {
  readonly clock: Clock;
  readonly cfg: { readonly nodeIdentity: boolean };
  readonly requests: RequestTracker<Client>;
  welcomed(c: Client): void;
  /** The server named its node: key the client by it (or by URL when two URLs share the id). */
  claimNodeId(c: Client, id: string): void;
  /** Whether an error code means "rate limited". */
  isLimitCode(code: string): boolean;
  noteSeq(room: string, seq: number, epoch?: string): void;
  deliver(c: Client, room: string, seq: number, pubNode: number, pub: number, counter: number, sendUs: number, replay: boolean): void;
  roomless(c: Client): void;
  echoRoom(c: Client, publisher: number, counter: number): string | undefined;
  count(name: string, n?: number): void;
  countError(code: string, message: string): void;
  refused(c: Client, p: PendingRequest<Client>): void;
}

/** Apply one decoded frame from `c`'s server. */
export function dispatchFrame(rt: DispatchHost, c: Client, f: DecodedFrame): void {
  const now = rt.clock.nowUs();
  if (f.kind !== 'message') c.lastActivityUs = now;
  const req = rt.requests;
  switch (f.kind) {
    case 'welcome':
      if (f.node !== undefined && rt.cfg.nodeIdentity) rt.claimNodeId(c, f.node);
      rt.welcomed(c);
      return;
    case 'joined': {
      const p = req.take(f.id, c, 'join');
      const room = f.room ?? p?.room;
      if (room !== undefined) {
        const r = c.recv.get(room) ?? c.recv.set(room, createReceiverRoom(room, c.index)).get(room)!;
        onJoined(r, f.seq, f.epoch);
        tagJoinAcked(r, now);
        if (f.seq !== undefined) rt.noteSeq(room, f.seq, r.epoch);
      }
      if (p) req.finish(p, METRIC.join, now);
      return;
    }
    case 'left': {
      const p = req.take(f.id, c, 'leave');
      if (p) req.finish(p, undefined, now);
      return;
    }
    case 'ack': {
      const p = req.take(f.id, c, 'ack');
      c.stats.acked++;
      if (p) {
        req.finish(p, p.quiet ? undefined : METRIC.ack, now);
        // An ack without an epoch belongs to the epoch the publisher's own join reply named.
        if (f.seq !== undefined && p.room) rt.noteSeq(p.room, f.seq, f.epoch ?? c.recv.get(p.room)?.epoch);
      }
      return;
    }
    case 'pong': {
      const p = req.take(f.id, c, 'ping');
      if (p) req.finish(p, METRIC.rtt, now);
      return;
    }
    case 'message': {
      const tag = f.tag === undefined ? null : parseTag(f.tag);
      if (!tag) {
        rt.count(COUNTER.messagesUntagged);
        return;
      }
      // Without a room: the client's only room, or for its own echoed publish, the room it published to.
      const room = f.room ?? soleRoom(c) ?? rt.echoRoom(c, tag.publisher, tag.counter);
      if (room === undefined) rt.roomless(c);
      else rt.deliver(c, room, f.seq ?? -1, tag.node, tag.publisher, tag.counter, tag.sendUs, f.replay === true);
      return;
    }
    case 'gap':
      rt.count(COUNTER.ledgerGaps, Math.max(0, f.to - f.from + 1));
      return;
    case 'error': {
      rt.countError(f.code, f.message ?? `error frame with code ${f.code}`);
      c.stats.errors++;
      if (rt.isLimitCode(f.code)) c.stats.rateLimited++;
      if (f.id !== undefined) {
        const p = req.take(f.id);
        if (p?.kind === 'ack') rt.refused(c, p);
        p?.resolve?.(null);
      }
      return;
    }
    case 'other':
      rt.count(eventCounter(f.name));
      c.serverEvent(f.name, f.data);
      return;
  }
}

/** The one room `c` is a member of now, or undefined when it is in none or several. */
function soleRoom(c: Client): string | undefined {
  let only: string | undefined;
  for (const r of c.recv.values()) {
    if (!r.active) continue;
    if (only !== undefined) return undefined;
    only = r.room;
  }
  return only;
}
