/** Shared by the test/wire tests: a connection's events recorded, and cleanups run after each test. */
import type { ConnectionEvents, WireInfo } from '../../src/protocol/types.ts';

/** What a connection reported, in order. */
export interface Recorded {
  ev: ConnectionEvents;
  errors: Array<[string, string]>;
  deliveries: Array<{ room: string; seq: number; counter: number }>;
  frames: string[];
  wire: WireInfo[];
  closes: Array<number | string>;
  opened: Promise<void>;
  closed: Promise<void>;
  /** Resolves when `pred()` holds (checked on every event), rejects after `ms`. */
  until(pred: () => boolean, ms?: number): Promise<void>;
}

/** ConnectionEvents that record everything. */
export function record(): Recorded {
  const waiters: Array<() => void> = [];
  const poke = () => {
    for (const w of waiters.splice(0)) w();
  };
  let open!: () => void;
  let close!: () => void;
  const r: Recorded = {
    errors: [],
    deliveries: [],
    frames: [],
    wire: [],
    closes: [],
    opened: new Promise<void>((res) => (open = res)),
    closed: new Promise<void>((res) => (close = res)),
    ev: {
      onWire: (info) => void (r.wire.push(info), poke()),
      onOpen: () => void (open(), poke()),
      onHeartbeat: () => {},
      onFrame: (f) => void (r.frames.push(f.kind), poke()),
      onDelivery: (room, seq, _node, _pub, counter) => void (r.deliveries.push({ room, seq, counter }), poke()),
      onError: (code, message) => void (r.errors.push([code, message]), poke()),
      onClose: (code) => void (r.closes.push(code), close(), poke()),
    },
    async until(pred, ms = 10_000) {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out; errors ${JSON.stringify(r.errors)}, frames ${JSON.stringify(r.frames)}, deliveries ${r.deliveries.length}`);
        await new Promise<void>((res) => {
          waiters.push(res);
          setTimeout(res, 50);
        });
      }
    },
  };
  return r;
}
