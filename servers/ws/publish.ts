/**
 * A publish of the native flavour: allocate the room's next seq, retain and fan
 * the message out through the bus, ack the publisher, deliver it here.
 */
import { epochField, type Bus } from '../core/bus.ts';
import type { Id } from './client-frame.ts';
import { binaryMessageParts } from './binary.ts';

/** What a publish needs: the bus, the artificial delay (ms), a reply and local delivery. */
export interface PublishDeps<C> {
  bus: Bus;
  /** Artificial delay between seq and retention, ms (`--delay-ms`; 0 = none). */
  delayMs: number;
  send(c: C, obj: object): void;
  /** Deliver the message to this process's members in seq order (`except` skipped). */
  deliver(room: string, seq: number, text: string, except: C | null): void;
}

/** `{"type":"message","room":R,"seq":` and the part after the seq: the frame is built around the seq without re-encoding. */
export function messageParts(room: string, user: string, payload: unknown): { prefix: string; suffix: string } {
  return {
    prefix: `{"type":"message","room":${JSON.stringify(room)},"seq":`,
    suffix: `,"from":${JSON.stringify(user)},"payload":${JSON.stringify(payload)}}`,
  };
}

/** The publish operation; rejects when the bus refuses (the caller answers with an error). */
export function createPublisher<C extends { user: string }>(d: PublishDeps<C>) {
  const { bus } = d;
  return async (c: C, id: Id, room: string, payload: unknown, echo: boolean): Promise<void> => {
    const { prefix, suffix } = Buffer.isBuffer(payload) ? binaryMessageParts(room, c.user, payload) : messageParts(room, c.user, payload);
    if (d.delayMs === 0 && bus.appendNext) {
      // Seq, retention and fan-out in one step (the Redis bus's script): a seq never exists
      // without its message, also when Redis goes away between two commands.
      const seq = await bus.appendNext(room, prefix, suffix);
      d.send(c, { type: 'ack', id, room, seq, ...epochField(bus) });
      d.deliver(room, seq, prefix + seq + suffix, echo ? null : c);
      return;
    }
    const seq = await bus.nextSeq(room);
    const text = prefix + seq + suffix;
    if (d.delayMs > 0) await new Promise((r) => setTimeout(r, d.delayMs));
    const appended = bus.append(room, { seq, text });
    bus.publish({ kind: 'message', room, seq, text, origin: bus.id });
    // Not retained means not accepted: the publisher gets an error (and the log line),
    // members a gap for this seq when their room gives up waiting for it.
    await appended;
    d.send(c, { type: 'ack', id, room, seq, ...epochField(bus) });
    d.deliver(room, seq, text, echo ? null : c);
  };
}
