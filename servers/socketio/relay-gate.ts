/**
 * Ack after relay, for the Redis pub/sub adapter: a room message is acked only once
 * Redis has answered the adapter's PUBLISH of it, so a node never acks a message that
 * the other nodes can no longer get (docs/SERVER.md "Socket.IO flavour", `message`).
 *
 * The adapter publishes and delivers locally in one call (`broadcast`); the local part
 * goes through `adapter.apply`. While a message waits for its PUBLISH, its local
 * deliveries are held, and so is every local delivery after it (in the order they came),
 * so this node's members still get each room's messages in the order the room order
 * (order.ts, installed over this gate) released them. Redis answers the PUBLISHes of one
 * connection in order, so the wait is one Redis round trip, not a pile-up.
 */

interface ApplyingAdapter {
  apply(opts: unknown, cb: (socket: unknown) => void): void;
}

interface Held {
  run: () => void;
  /** False while its message waits for the PUBLISH. */
  ready: boolean;
}

/**
 * Install the gate on `adapter` (before order.ts wraps `apply`). `takePublish` returns the
 * confirmation of the PUBLISH the last broadcast issued, or undefined (nothing published).
 */
export function createRelayGate(adapter: unknown, takePublish: () => Promise<unknown> | undefined) {
  const a = adapter as ApplyingAdapter;
  const apply = a.apply;
  if (typeof apply !== 'function') throw new Error('socket.io-adapter changed: apply not found (servers/socketio/relay-gate.ts)');
  const queue: Held[] = [];
  /** Set while a gated broadcast runs: its local deliveries are collected here. */
  let collecting: Held[] | null = null;

  a.apply = function (this: ApplyingAdapter, opts: unknown, cb: (socket: unknown) => void) {
    if (collecting === null && queue.length === 0) return apply.call(this, opts, cb);
    const h: Held = { run: () => apply.call(this, opts, cb), ready: collecting === null };
    queue.push(h);
    collecting?.push(h);
  };

  const flush = () => {
    while (queue.length > 0 && queue[0]!.ready) queue.shift()!.run();
  };

  return {
    /**
     * Run `broadcast` with its local deliveries held until Redis confirmed its PUBLISH;
     * then `confirmed(ok)` (ok false: the PUBLISH failed) runs before them: the ack goes first.
     */
    async relay(broadcast: () => void, confirmed: (ok: boolean) => void): Promise<void> {
      const mine: Held[] = [];
      let ok = true;
      collecting = mine;
      try {
        broadcast();
        collecting = null;
        await takePublish();
      } catch {
        ok = false;
      } finally {
        collecting = null;
      }
      try {
        confirmed(ok);
      } finally {
        for (const h of mine) h.ready = true;
        flush();
      }
    },
    /** Messages whose PUBLISH is not confirmed yet hold this many local deliveries. */
    held: () => queue.length,
  };
}

/** The gate of one server (createRelayGate). */
export type RelayGate = ReturnType<typeof createRelayGate>;
