/**
 * A byte budget on Socket.IO's connection-state-recovery buffer (the in-memory
 * SessionAwareAdapter of socket.io-adapter keeps every broadcast packet for
 * `maxDisconnectionDuration`, with no cap in bytes: at the default 2 min, a
 * flood of 60 KB messages held gigabytes). Past `maxBytes` the oldest packets
 * are dropped; a session whose offset was dropped is not recovered (the client
 * gets a new session, `recovered: false`, and resumes with `join-room` `since`,
 * which reports what the retention no longer holds as a `gap`).
 *
 * Each kept packet's data is held as its JSON in a Buffer, off the V8 heap, and
 * parsed back only when a session is recovered: a 60 KB message kept as V8
 * strings would be promoted to the old generation, then evicted, and churn it
 * (docs/SECURITY.md "Limits").
 */

import { binaryContent } from './binary.ts';

/** The part of socket.io-adapter's SessionAwareAdapter this relies on (2.5.x). */
interface RecoveringAdapter {
  packets?: Array<{ data: unknown[] }>;
  broadcast(packet: unknown, opts: unknown): void;
}

/** What the recovery buffer's byte budget did, for /stats. */
export interface RecoveryCapCounters {
  /** Packets dropped from the recovery buffer by the byte budget. */
  evicted: number;
  /** Bytes (UTF-8 JSON of each packet's data) the buffer holds now, by this cap's count. */
  bytes: number;
}

/**
 * Replace `p.data` by a getter over its JSON in a Buffer (not from the shared pool); returns
 * the bytes. A message whose content is binary (binary.ts) keeps its content as bytes beside the JSON.
 */
function keepAsBytes(p: { data: unknown[] }): number {
  const msg = p.data[1];
  const bin = binaryContent(msg);
  const json = JSON.stringify(bin ? [p.data[0], { ...(msg as object), content: null }, ...p.data.slice(2)] : p.data);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json));
  bytes.write(json, 0, 'utf8');
  const content = bin ? Buffer.from(bin) : undefined;
  const data = () => {
    const d = JSON.parse(bytes.toString('utf8')) as unknown[];
    if (content) (d[1] as { content: unknown }).content = content;
    return d;
  };
  Object.defineProperty(p, 'data', { get: data, enumerable: true, configurable: true });
  return bytes.length + (content?.length ?? 0);
}

/**
 * Wrap `adapter.broadcast` so the recovery buffer stays under `maxBytes` (UTF-8 JSON
 * of each packet's data, held as bytes). Does nothing for an adapter without an in-memory buffer.
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
    const size = keepAsBytes(p);
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
