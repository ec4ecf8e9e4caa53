/**
 * The slow-consumer limit of the Socket.IO flavour (`--server slow-consumer-bytes=N`, the
 * native flavour's limit, docs/SERVER.md): what Engine.IO holds for one connection is the
 * packets waiting in its write buffer (the transport is not writable while the previous
 * batch is still unsent) plus, on the websocket transport, the ws socket's bufferedAmount.
 * Checked when a packet is created for the connection: an addition and a comparison, no walk.
 */
import type { Socket } from 'socket.io';

/** How long a cut websocket gets to deliver its close frame (1008 `slow consumer`) before it is destroyed, in ms. */
export const SLOW_CUT_GRACE_MS = 1000;

/** The close reason a cut client sees (WebSocket close 1008 when it still reads; Socket.IO disconnect reason otherwise). */
export const SLOW_CONSUMER_REASON = 'slow consumer';

interface WsLike {
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** The ws socket under a connection on the websocket transport, else undefined (polling). */
function wsUnder(socket: Socket): WsLike | undefined {
  const t = socket.conn.transport as unknown as { name: string; socket?: WsLike };
  return t.name === 'websocket' ? t.socket : undefined;
}

/** Bytes of one Engine.IO packet's data (a string's UTF-16 length is close enough for a limit). */
export function packetBytes(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data && typeof (data as ArrayBufferLike).byteLength === 'number') return (data as ArrayBufferLike).byteLength;
  return 0;
}

/**
 * Bytes queued for `socket` now, as the limit counts them: Engine.IO's write buffer (walked: for the memory
 * guard, which asks only when a figure is over its line) plus the ws socket's bufferedAmount.
 */
export function queuedBytes(socket: Socket): number {
  const wb = (socket.conn as unknown as { writeBuffer?: { data?: unknown }[] }).writeBuffer ?? [];
  let n = wsUnder(socket)?.bufferedAmount ?? 0;
  for (const p of wb) n += packetBytes(p.data);
  return n;
}

/**
 * Cut `socket` once its queued bytes pass `limitBytes` (0 = never: nothing is installed).
 * The cut closes the websocket with 1008 `slow consumer` (a client that still reads sees it),
 * destroys it SLOW_CUT_GRACE_MS later, and closes the Engine.IO connection at once, discarding
 * its write buffer; `onCut` is called once per cut connection.
 */
export function limitSlowConsumer(socket: Socket, limitBytes: number, onCut: () => void): void {
  if (limitBytes <= 0) return;
  const conn = socket.conn as unknown as {
    on(ev: 'packetCreate', fn: (p: { data?: unknown }) => void): void;
    on(ev: 'flush', fn: () => void): void;
    close(discard?: boolean): void;
  };
  /** Bytes in Engine.IO's write buffer (handed to the transport at each flush). */
  let pending = 0;
  let cut = false;
  conn.on('flush', () => {
    pending = 0;
  });
  conn.on('packetCreate', (p) => {
    if (cut) return;
    pending += packetBytes(p.data);
    if (pending + (wsUnder(socket)?.bufferedAmount ?? 0) <= limitBytes) return;
    cut = true;
    onCut();
    const ws = wsUnder(socket);
    if (ws) {
      ws.close(1008, SLOW_CONSUMER_REASON);
      setTimeout(() => ws.terminate(), SLOW_CUT_GRACE_MS).unref();
    }
    // After this packet is pushed (the caller pushes it next): discard the buffer, close now.
    queueMicrotask(() => conn.close(true));
  });
}
