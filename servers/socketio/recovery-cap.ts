/**
 * A byte budget on Socket.IO's connection-state-recovery buffer (the in-memory
 * SessionAwareAdapter of socket.io-adapter keeps every broadcast packet for
 * `maxDisconnectionDuration`, with no cap in bytes: at the default 2 min, a
 * flood of 60 KB messages held gigabytes). Past `maxBytes` the oldest packets
 * are dropped; a session whose offset was dropped is not recovered (the client
 * gets a new session, `recovered: false`, and resumes with `join-room` `since`,
 * which reports what the retention no longer holds as a `gap`).
 */

/** The part of socket.io-adapter's SessionAwareAdapter this relies on (2.5.x). */
interface RecoveringAdapter {
  packets?: Array<{ data: unknown[] }>;
  broadcast(packet: unknown, opts: unknown): void;
}

export interface RecoveryCapCounters {
  /** Packets dropped from the recovery buffer by the byte budget. */
  evicted: number;
  /** Bytes (JSON length) the buffer holds now, by this cap's count. */
  bytes: number;
}

/**
 * Wrap `adapter.broadcast` so the recovery buffer stays under `maxBytes` (JSON length
 * of each packet's data). Does nothing for an adapter without an in-memory buffer.
 */
export function capRecoveryBuffer(adapter: unknown, maxBytes: number, counters: RecoveryCapCounters): void {
  const a = adapter as RecoveringAdapter;
  if (!Array.isArray(a.packets)) return;
  const sizes: Array<[object, number]> = [];
  let head = 0;
  const original = a.broadcast.bind(a);
  a.broadcast = (packet, opts) => {
    const before = a.packets!.length;
    original(packet, opts);
    const list = a.packets!;
    if (list.length === before) return;
    const p = list[list.length - 1]!;
    const size = JSON.stringify(p.data).length;
    sizes.push([p, size]);
    counters.bytes += size;
    while (counters.bytes > maxBytes && head < sizes.length) {
      const [oldest, n] = sizes[head]!;
      sizes[head++] = undefined as unknown as [object, number];
      counters.bytes -= n;
      // The adapter's own timer may have removed it already (it drops from the front too).
      if (list[0] === oldest) {
        list.shift();
        counters.evicted++;
      }
    }
    if (head > 1024 && head * 2 > sizes.length) {
      sizes.splice(0, head);
      head = 0;
    }
  };
}
