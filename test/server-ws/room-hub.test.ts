/**
 * servers/ws/room-hub.ts joins: a plain join to a room already running in this process
 * completes at once from the local delivered point, without asking the bus; the first
 * join and every resume (`since`) still ask it. And the written-out `joined` frame.
 */
import { describe, expect, it } from 'vitest';
import { createLocalBus, type Bus } from '../../servers/core/bus.ts';
import { createCounters } from '../../servers/core/metrics.ts';
import { createRoomHub, joinedFrame } from '../../servers/ws/room-hub.ts';
import type { Conn } from '../../servers/ws/conn.ts';
import type { Fanout } from '../../servers/ws/broadcast.ts';

/** A local bus whose lastSeq and history calls are counted. */
function countedBus(): { bus: Bus; calls: string[] } {
  const inner = createLocalBus({ retention: 100, roomBytes: 1 << 20, totalBytes: 1 << 20, maxAgeMs: 60_000 });
  const calls: string[] = [];
  const bus: Bus = {
    ...inner,
    lastSeq: (room) => (calls.push(`lastSeq ${room}`), inner.lastSeq(room)),
    history: (room, after) => (calls.push(`history ${room} ${after}`), inner.history(room, after)),
  };
  return { bus, calls };
}

function setup() {
  const { bus, calls } = countedBus();
  const sent: Array<[string, string]> = [];
  const delivered: Array<[string, string]> = [];
  const fanout: Fanout<Conn> = (members, text) => {
    let n = 0;
    for (const m of members) {
      delivered.push([m.sid, text]);
      n++;
    }
    return n;
  };
  const hub = createRoomHub({
    bus,
    presence: false,
    counters: createCounters(),
    out: {
      sendText: (c, text) => void sent.push([c.sid, text]),
      send: (c, obj) => void sent.push([c.sid, JSON.stringify(obj)]),
      sendError: (c, id, code) => void sent.push([c.sid, `error ${String(id)} ${code}`]),
    },
    fanout,
    log: () => {},
  });
  const conn = (sid: string) => ({ sid, rooms: null, ws: { readyState: 1 } }) as unknown as Conn;
  return { bus, calls, sent, delivered, hub, conn };
}

describe('room hub joins', () => {
  it('asks the bus for the first join only; a later plain join completes at once from the delivered point', async () => {
    const { bus, calls, sent, hub, conn } = setup();
    const a = conn('a');
    const first = hub.join(a, 1, 'r', undefined);
    expect(first).toBeInstanceOf(Promise);
    await first;
    expect(calls).toEqual(['lastSeq r']);
    // Three messages reach the room in order.
    for (let seq = 1; seq <= 3; seq++) hub.deliver('r', seq, `{"type":"message","room":"r","seq":${seq}}`, null);
    const b = conn('b');
    expect(hub.join(b, 'j2', 'r', undefined)).toBeUndefined();
    expect(calls).toEqual(['lastSeq r']);
    expect(sent.filter(([sid]) => sid === 'b')).toEqual([['b', joinedFrame('j2', 'r', 2, 3, bus.epoch)]]);
    expect(JSON.parse(sent.at(-1)![1])).toEqual({ type: 'joined', id: 'j2', room: 'r', members: 2, seq: 3, epoch: bus.epoch });
    hub.close();
  });

  it('a resume (since) always asks the bus for its history', async () => {
    const { calls, hub, conn } = setup();
    await hub.join(conn('a'), 1, 'r', undefined);
    const again = hub.join(conn('b'), 2, 'r', 0);
    expect(again).toBeInstanceOf(Promise);
    await again;
    expect(calls).toEqual(['lastSeq r', 'history r 0']);
    hub.close();
  });

  it('joinedFrame writes what JSON.stringify would', () => {
    for (const [id, room, epoch] of [
      [1, 'r', undefined],
      ['j"1\\', 'room "quoted" é', 'e-1'],
      [0, 'ü/\u2028', 'x'],
    ] as const) {
      expect(joinedFrame(id, room, 7, 42, epoch)).toBe(JSON.stringify({ type: 'joined', id, room, members: 7, seq: 42, ...(epoch === undefined ? {} : { epoch }) }));
    }
  });
});
