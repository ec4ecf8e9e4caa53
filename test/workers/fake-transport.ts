/**
 * A transport without sockets for unit tests of the worker runtime: every connect
 * returns a FakeConnection that records what the client sent, and the test plays
 * the server by calling its `open`, `frame`, `deliver`, `heartbeat` and `close`.
 */
import type { ClientConnection, ConnectionEvents, ConnectOptions, DecodedFrame, Transport } from '../../src/protocol/types.ts';
import type { Recorder } from '../../src/metrics/types.ts';

export type Sent =
  | { op: 'join'; room: string; id: number; since?: number }
  | { op: 'leave'; room: string; id: number }
  | { op: 'publish'; room: string; id: number; tag: string }
  | { op: 'ping'; id: number };

export class FakeConnection implements ClientConnection {
  readonly sent: Sent[] = [];
  isOpen = false;
  heartbeatAnswered = true;
  closedWith: number | 'terminated' | undefined;

  constructor(
    readonly opts: ConnectOptions,
    private readonly ev: ConnectionEvents,
  ) {}

  join(room: string, id: number, since?: number): void {
    this.sent.push(since === undefined ? { op: 'join', room, id } : { op: 'join', room, id, since });
  }
  leave(room: string, id: number): void {
    this.sent.push({ op: 'leave', room, id });
  }
  publish(room: string, id: number, tag: string): void {
    this.sent.push({ op: 'publish', room, id, tag });
  }
  ping(id: number): boolean {
    this.sent.push({ op: 'ping', id });
    return true;
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.serverClose(code);
  }
  terminate(): void {
    this.closedWith = 'terminated';
    this.serverClose(1006);
  }
  stopHeartbeat(): void {
    this.heartbeatAnswered = false;
  }

  // ---- the server's side
  open(): void {
    this.isOpen = true;
    this.ev.onOpen();
  }
  frame(f: DecodedFrame): void {
    this.ev.onFrame(f);
  }
  deliver(room: string, seq: number, tag: string): void {
    const [node, pub, counter, sendUs] = tag.split('.').map(Number) as [number, number, number, number];
    this.ev.onDelivery(room, seq, node, pub, counter, sendUs, false);
  }
  heartbeat(): void {
    this.ev.onHeartbeat(this.heartbeatAnswered);
  }
  serverClose(code: number | string): void {
    if (!this.isOpen && this.closedWith === undefined) return;
    this.isOpen = false;
    this.ev.onClose(code, '');
  }
  fail(code: string): void {
    this.ev.onError(code, `fake ${code}`);
    this.ev.onClose(1006, '');
  }
  /** The last request of this kind the client sent. */
  last<K extends Sent['op']>(op: K): Extract<Sent, { op: K }> {
    const s = [...this.sent].reverse().find((x) => x.op === op);
    if (!s) throw new Error(`no ${op} was sent`);
    return s as Extract<Sent, { op: K }>;
  }
}

export function createFakeTransport(awaitsWelcome = false): Transport & { conns: FakeConnection[] } {
  const conns: FakeConnection[] = [];
  return {
    name: 'fake',
    awaitsWelcome,
    conns,
    connect(opts, ev) {
      const c = new FakeConnection(opts, ev);
      conns.push(c);
      return c;
    },
  };
}

/** A recorder that keeps every sample and counter in plain maps. */
export function createSpyRecorder(): Recorder & { counters: Map<string, number>; samples: Map<string, number[]> } {
  const counters = new Map<string, number>();
  const samples = new Map<string, number[]>();
  return {
    counters,
    samples,
    record(name, v) {
      (samples.get(name) ?? samples.set(name, []).get(name)!).push(v);
    },
    count(name, n = 1) {
      counters.set(name, (counters.get(name) ?? 0) + n);
    },
    snapshot: () => ({ histograms: {}, counters: {} }),
  };
}
