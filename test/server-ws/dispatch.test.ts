/** The native flavour's pure parts: the frame handler with plain objects, the join replay, the upgrade token. */
import { describe, it, expect } from 'vitest';
import { createFrameHandler, type FrameActions } from '../../servers/ws/dispatch.ts';
import { replayFrames } from '../../servers/ws/room.ts';
import { upgradeToken } from '../../servers/ws/upgrade.ts';
import { sweepHeartbeat } from '../../servers/ws/heartbeat.ts';

interface FakeConn {
  expMs: number;
  allowed: string[] | undefined;
  rooms: Set<string> | null;
}

function harness(opts: { admit?: boolean; now?: number } = {}) {
  const log: unknown[] = [];
  const actions: FrameActions<FakeConn> = {
    now: () => opts.now ?? 1000,
    admit: () => opts.admit ?? true,
    close: (_c, code, reason) => log.push(['close', code, reason]),
    send: (_c, obj) => log.push(obj),
    sendError: (_c, id, code, message) => log.push({ error: code, id, message }),
    serially: (_c, op) => void op(),
    join: async (c, id, room, since) => {
      (c.rooms ??= new Set()).add(room);
      log.push(['join', id, room, since]);
    },
    leave: (c, room) => {
      c.rooms?.delete(room);
      log.push(['leave', room]);
    },
    publish: (_c, id, room, payload, echo) => log.push(['publish', id, room, payload, echo]),
  };
  const handle = createFrameHandler<FakeConn>({ maxRoomName: 16, maxDepth: 4, maxRoomsPerConn: 2 }, actions);
  const conn: FakeConn = { expMs: Infinity, allowed: undefined, rooms: null };
  const frame = (obj: unknown, c: FakeConn = conn) => handle(c, Buffer.from(JSON.stringify(obj)), false);
  return { log, handle, conn, frame };
}

describe('frame handler (no socket)', () => {
  it('ping answers pong with the payload; join, publish, leave reach their actions in order', async () => {
    const { log, frame } = harness();
    frame({ type: 'ping', id: 1, payload: { x: 1 } });
    frame({ type: 'join', id: 2, room: 'r', since: 5 });
    await Promise.resolve();
    frame({ type: 'publish', id: 3, room: 'r', payload: 'hi', echo: false });
    frame({ type: 'leave', id: 4, room: 'r' });
    expect(log).toEqual([
      { type: 'pong', id: 1, payload: { x: 1 } },
      ['join', 2, 'r', 5],
      ['publish', 3, 'r', 'hi', false],
      ['leave', 'r'],
      { type: 'left', id: 4, room: 'r' },
    ]);
  });
  it('expired token closes 1008; a refused token bucket drops the frame silently here', () => {
    const expired = harness({ now: 5000 });
    expired.frame({ type: 'ping', id: 1 }, { expMs: 5000, allowed: undefined, rooms: null });
    expect(expired.log).toEqual([['close', 1008, 'token expired']]);
    const limited = harness({ admit: false });
    limited.frame({ type: 'ping', id: 1 });
    expect(limited.log).toEqual([]);
  });
  it('bad frames, forbidden rooms, publish before join, too many rooms', async () => {
    const { log, frame, handle, conn } = harness();
    handle(conn, Buffer.from('{'), false);
    handle(conn, Buffer.from('x'), true);
    frame({ type: 'publish', id: 1, room: 'r', payload: 1 });
    frame({ type: 'join', id: 2, room: 'b' }, { expMs: Infinity, allowed: ['a'], rooms: null });
    frame({ type: 'join', id: 3, room: 'a' });
    frame({ type: 'join', id: 4, room: 'b' });
    frame({ type: 'join', id: 5, room: 'c' });
    frame({ type: 'publish', id: 6, room: 'x', payload: [[[[[[1]]]]]] });
    await Promise.resolve();
    expect(log.map((e) => (e as { error?: string }).error ?? (e as unknown[])[0])).toEqual([
      'bad_request', 'bad_request', 'not_joined', 'forbidden', 'join', 'join', 'bad_request', 'bad_request',
    ]);
    expect((log[6] as { message: string }).message).toMatch(/too many rooms: at most 2/);
  });
});

describe('replayFrames', () => {
  const text = (s: number) => `{"type":"message","room":"r","seq":${s}}`;
  it('replays what is held after since up to seq, gaps for the rest, in seq order', () => {
    const held = new Map([[7, text(7)], [4, text(4)], [2, text(2)], [9, text(9)]]);
    expect(replayFrames('r', 2, 8, held).map((f) => JSON.parse(f))).toEqual([
      { type: 'gap', room: 'r', from: 3, to: 3 },
      { type: 'message', room: 'r', seq: 4, replay: true },
      { type: 'gap', room: 'r', from: 5, to: 6 },
      { type: 'message', room: 'r', seq: 7, replay: true },
      { type: 'gap', room: 'r', from: 8, to: 8 },
    ]);
  });
  it('nothing when since is at or past seq', () => {
    expect(replayFrames('r', 5, 5, new Map([[5, text(5)]]))).toEqual([]);
    expect(replayFrames('r', 6, 5, new Map())).toEqual([]);
  });
});

describe('upgrade token and heartbeat sweep', () => {
  it('Bearer header first, else ?token=', () => {
    expect(upgradeToken('/ws?token=q', 'Bearer  h ')).toBe('h');
    expect(upgradeToken('/ws?token=q', undefined)).toBe('q');
    expect(upgradeToken('/ws?token=q', 'Basic x')).toBe('q');
    expect(upgradeToken('/ws', undefined)).toBeUndefined();
  });
  it('pings the live, terminates the silent, skips the closed', () => {
    const calls: string[] = [];
    const conn = (name: string, alive: boolean, readyState = 1) => ({ alive, ws: { readyState, ping: () => calls.push(`ping ${name}`), terminate: () => calls.push(`kill ${name}`) } });
    const a = conn('a', true);
    expect(sweepHeartbeat([a, conn('b', false), conn('c', false, 3)])).toBe(1);
    expect(calls).toEqual(['ping a', 'kill b']);
    expect(a.alive).toBe(false);
  });
});
