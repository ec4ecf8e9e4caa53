/**
 * Unit tests of the worker runtime: a fake transport plays the server and a fake clock
 * moves time, so connection, request matching, timeouts and reconnects are checked
 * exactly and without sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerRuntime } from '../../src/workers/runtime.ts';
import { fillClaims } from '../../src/workers/token-source.ts';
import { createFakeClock } from '../../src/executor/clock.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import { encodeTag } from '../../src/protocol/tag.ts';
import type { ScenarioDefinition } from '../../src/scenario/types.ts';
import type { PublishAck, Transport } from '../../src/protocol/types.ts';
import { createFakeTransport, createSpyRecorder, type FakeConnection } from './fake-transport.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));
const runtimes: WorkerRuntime[] = [];

function setup(o: { awaitsWelcome?: boolean; sets?: string[]; transport?: Transport; publishAck?: PublishAck; roomsPerClient?: number } = {}) {
  const scenario: ScenarioDefinition = { name: 'unit', description: 'unit' };
  const { options, problems } = resolveOptions(scenario, { clients: '4', rooms: '2' }, ['seed=7', 'request-timeout-ms=1000', ...(o.sets ?? [])]);
  expect(problems).toEqual([]);
  const clock = createFakeClock(1_000_000);
  const transport = Object.assign(createFakeTransport(o.awaitsWelcome ?? false), { publishAck: o.publishAck, roomField: 'channel' });
  if (o.roomsPerClient) options.roomsPerClient = o.roomsPerClient;
  const recorder = createSpyRecorder();
  const rt = new WorkerRuntime({
    workerId: 0,
    options,
    fromClient: 0,
    toClient: options.clients,
    urls: ['ws://fake/'],
    tokens: { mode: 'none' },
    sourceAddresses: [],
    spread: [],
    nodeIdentity: true,
    splitNodes: false,
    scenario,
    transport: o.transport ?? transport,
    recorder,
    clock,
  });
  runtimes.push(rt);
  const counter = (name: string) => recorder.counters.get(name) ?? 0;
  return { rt, clock, transport, recorder, counter };
}

/** Open client 0's connection and answer its join; returns the connection. */
async function openClient(s: ReturnType<typeof setup>, index = 0): Promise<FakeConnection> {
  const c = s.rt.clients[index]!;
  const done = s.rt.connect(c);
  const conn = s.transport.conns.at(-1)!;
  conn.open();
  const join = conn.last('join');
  conn.frame({ kind: 'joined', id: join.id, room: join.room, seq: 0 });
  expect(await done).toBe(true);
  return conn;
}

afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.closeAll(0);
});

describe('WorkerRuntime', () => {
  it('waits for the welcome, then joins, timing both on its clock', async () => {
    const s = setup({ awaitsWelcome: true });
    const c = s.rt.clients[1]!;
    const done = s.rt.connect(c);
    const conn = s.transport.conns[0]!;
    s.clock.advance(5);
    conn.open();
    expect(c.state).toBe('welcoming');
    expect(conn.sent).toEqual([]);
    s.clock.advance(3);
    conn.frame({ kind: 'welcome', node: 'n1' });
    expect(conn.sent).toEqual([{ op: 'join', room: 'room-1', id: expect.any(Number) }]);
    s.clock.advance(2);
    conn.frame({ kind: 'joined', id: conn.last('join').id, room: 'room-1', seq: 0 });
    expect(await done).toBe(true);
    expect(c.state).toBe('open');
    expect(c.nodeName).toBe('n1');
    expect(s.recorder.samples.get('connect')).toEqual([8000]);
    expect(s.recorder.samples.get('join')).toEqual([2000]);
    expect(s.counter('connections.opened')).toBe(1);
    expect(s.rt.status()).toEqual({ connected: 1, reconnecting: 0 });
  });

  it('times out a request nobody answers and counts it by kind', async () => {
    const s = setup();
    const c = s.rt.clients[0]!;
    void s.rt.connect(c);
    s.transport.conns[0]!.open();
    const ping = c.ping();
    s.clock.advance(1300);
    expect(await ping).toBeNull();
    expect(s.counter('errors.join_timeout')).toBe(1);
    expect(s.counter('errors.ping_timeout')).toBe(1);
    // Open but not joined: not counted as connected by the ramp, and said why.
    await flush();
    expect(c.joinsFailed).toBe(1);
    expect(s.rt.examples['connect:join_failed']).toEqual([0]);
  });

  it('the ramp counts a client as connected once its room is joined, and says why the others are not', async () => {
    const s = setup();
    const ramp = s.rt.runRamp(0);
    await flush();
    expect(s.transport.conns).toHaveLength(4);
    for (const conn of s.transport.conns) conn.open();
    for (const conn of s.transport.conns.slice(0, 2)) conn.frame({ kind: 'joined', id: conn.last('join').id });
    s.clock.advance(1300);
    const r = await ramp;
    expect(r).toMatchObject({ connected: 4, joined: 2, failed: 0 });
    expect(r.firstError).toMatch(/^join_failed: connected, but 1 of 1 joins got no reply within 1000 ms/);
  });

  it('matches replies without ids to the oldest request of their kind, in order', async () => {
    const s = setup();
    const conn = await openClient(s);
    const c = s.rt.clients[0]!;
    const first = c.ping();
    s.clock.advance(4);
    const second = c.ping();
    s.clock.advance(6);
    conn.frame({ kind: 'pong' });
    expect(await first).toBe(10_000);
    conn.frame({ kind: 'pong' });
    expect(await second).toBe(6000);
    expect(s.counter('errors.ping_timeout')).toBe(0);
  });

  it('a close fails only the closed client\'s requests, then reconnects and resumes', async () => {
    const s = setup();
    const a = await openClient(s, 0);
    const b = await openClient(s, 1);
    const pa = s.rt.clients[0]!.publish('room-0');
    const pb = s.rt.clients[1]!.ping();
    b.frame({ kind: 'pong', id: b.last('ping').id });
    a.serverClose(1011);
    expect(await pa).toBeNull();
    expect(await pb).toBe(0);
    expect(s.counter('errors.ack_lost')).toBe(1);
    expect(s.counter('close.1011')).toBe(1);
    expect(s.counter('healthy.dropped')).toBe(1);
    expect(s.rt.status()).toEqual({ connected: 1, reconnecting: 1 });
    s.clock.advance(5000);
    expect(s.counter('reconnect.attempts')).toBe(1);
    const again = s.transport.conns.at(-1)!;
    expect(again).not.toBe(a);
    again.open();
    again.frame({ kind: 'joined', id: again.last('join').id, room: 'room-0', seq: 0 });
    await flush();
    expect(s.counter('reconnects')).toBe(1);
    expect(s.rt.status()).toEqual({ connected: 2, reconnecting: 0 });
  });

  it('gives up on a server that went silent after a heartbeat, without counting a server close', async () => {
    const s = setup({ sets: ['client-timeout-ms=1000'] });
    const conn = await openClient(s);
    conn.heartbeat();
    s.clock.advance(1500);
    expect(s.counter('errors.heartbeat_timeout')).toBe(1);
    expect(conn.closedWith).toBe('terminated');
    expect(s.counter('close.1006')).toBe(0);
    expect(s.recorder.samples.get('detect')![0]).toBeGreaterThan(1_000_000);
    // Its own timeout, then a reconnect after the backoff (at most 100 ms for a first attempt).
    expect(s.counter('reconnect.attempts')).toBe(1);
    expect(s.rt.clients[0]!.state).toBe('connecting');
  });

  it('a zombie\'s eviction is timed from its last answered heartbeat, and it does not come back', async () => {
    const s = setup();
    const conn = await openClient(s);
    const c = s.rt.clients[0]!;
    conn.heartbeat();
    s.clock.advance(100);
    c.stopHeartbeat();
    expect(conn.heartbeatAnswered).toBe(false);
    s.clock.advance(400);
    conn.heartbeat();
    s.clock.advance(500);
    conn.serverClose(1006);
    expect(s.counter('zombies')).toBe(1);
    expect(s.counter('evictions')).toBe(1);
    expect(s.recorder.samples.get('eviction')).toEqual([1_000_000]);
    s.clock.advance(10_000);
    expect(s.counter('reconnect.attempts')).toBe(0);
  });

  it('dropConnection cuts the connection as a network failure would: not the server\'s close, and it reconnects', async () => {
    const s = setup();
    const conn = await openClient(s);
    s.rt.clients[0]!.dropConnection();
    expect(conn.closedWith).toBe('terminated');
    expect(s.counter('client.drops')).toBe(1);
    expect(s.counter('close.1006')).toBe(0);
    expect(s.counter('healthy.dropped')).toBe(0);
    s.clock.advance(200);
    expect(s.counter('reconnect.attempts')).toBe(1);
  });

  it('files a tagged message in its room, counts untagged ones and rate-limit errors', async () => {
    const s = setup();
    const conn = await openClient(s);
    const c = s.rt.clients[0]!;
    const sentUs = s.clock.nowUs();
    s.clock.advance(7);
    conn.frame({ kind: 'message', room: 'room-0', tag: encodeTag(0, 2, 0, sentUs) });
    conn.frame({ kind: 'message', tag: encodeTag(0, 2, 1, sentUs) });
    conn.frame({ kind: 'message', room: 'room-0' });
    expect(s.counter('messages.received')).toBe(2);
    expect(s.recorder.samples.get('fanout')).toEqual([7000, 7000]);
    expect(s.counter('messages.untagged')).toBe(1);
    const p = c.publish('room-0', { ack: false });
    conn.frame({ kind: 'error', id: conn.last('publish').id, code: 'rate_limited' });
    expect(await p).toBeNull();
    expect(c.stats.rateLimited).toBe(1);
    expect(s.counter('errors.rate_limited')).toBe(1);
  });

  it('closes every connection at the end without counting the closes as the server\'s', async () => {
    const s = setup();
    await openClient(s, 0);
    await openClient(s, 1);
    await s.rt.closeAll(0);
    expect(s.transport.conns.map((c) => c.closedWith)).toEqual([1000, 1000]);
    expect([...s.recorder.counters.keys()].filter((k) => k.startsWith('close.'))).toEqual([]);
    expect(s.counter('reconnect.attempts')).toBe(0);
  });
});

describe('WorkerRuntime with dialects that do not acknowledge', () => {
  it('publishAck none: publishes are sent and counted, never timed out or lost', async () => {
    const s = setup({ publishAck: 'none' });
    const conn = await openClient(s);
    const c = s.rt.clients[0]!;
    expect(await c.publish('room-0')).toBeNull();
    s.rt.startPublishing(100);
    s.clock.advance(1000);
    s.rt.stopPublishing();
    const sent = conn.sent.filter((x) => x.op === 'publish').length;
    expect(sent).toBeGreaterThanOrEqual(90);
    expect(s.counter('messages.sent')).toBe(sent);
    s.clock.advance(2000);
    conn.serverClose(1001);
    expect([...s.recorder.counters.keys()].filter((k) => k.startsWith('errors.'))).toEqual([]);
    expect(s.recorder.samples.get('ack')).toBeUndefined();
  });

  it('publishAck echo: the publisher\'s own copy is its ack, matched by the tag\'s counter', async () => {
    const s = setup({ publishAck: 'echo' });
    const conn = await openClient(s);
    const c = s.rt.clients[0]!;
    const first = c.publish('room-0');
    s.clock.advance(3);
    const second = c.publish('room-0');
    const tags = conn.sent.filter((x) => x.op === 'publish').map((x) => (x as { tag: string }).tag);
    s.clock.advance(2);
    conn.frame({ kind: 'message', tag: tags[1]! });
    expect(await second).toBe(2000);
    conn.frame({ kind: 'message', tag: tags[0]! });
    expect(await first).toBe(5000);
    expect(c.stats.acked).toBe(2);
    expect(s.recorder.samples.get('ack')).toEqual([2000, 5000]);
    expect(s.counter('messages.received')).toBe(2);
    s.clock.advance(2000);
    expect(s.counter('errors.ack_timeout')).toBe(0);
  });

  it('a welcome that never comes is named: no_welcome, the attempt fails', async () => {
    const s = setup({ awaitsWelcome: true });
    const done = s.rt.connect(s.rt.clients[0]!);
    const conn = s.transport.conns[0]!;
    conn.open();
    s.clock.advance(1300);
    expect(await done).toBe(false);
    expect(s.counter('errors.no_welcome')).toBe(1);
    expect(s.counter('connections.failed')).toBe(1);
    expect(conn.closedWith).toBe('terminated');
    expect(s.counter('close.1006')).toBe(0);
    expect(s.rt.examples['connect:no_welcome']).toEqual([0]);
  });

  it('a message without a room belongs to the client\'s only room; with several it is an error', async () => {
    const single = setup();
    const one = await openClient(single);
    one.frame({ kind: 'message', tag: encodeTag(0, 3, 0, single.clock.nowUs()) });
    expect(single.counter('messages.received')).toBe(1);
    expect(single.counter('errors.message_without_room')).toBe(0);

    const multi = setup({ roomsPerClient: 2 });
    const done = multi.rt.connect(multi.rt.clients[0]!);
    const conn = multi.transport.conns[0]!;
    conn.open();
    for (const j of conn.sent) if (j.op === 'join') conn.frame({ kind: 'joined', id: j.id, room: j.room });
    expect(await done).toBe(true);
    conn.frame({ kind: 'message', tag: encodeTag(0, 3, 0, multi.clock.nowUs()) });
    expect(multi.counter('messages.received')).toBe(0);
    expect(multi.counter('errors.message_without_room')).toBe(1);
  });

  it('an echoed publish without a room is filed in the room it was published to', async () => {
    const s = setup({ roomsPerClient: 2, publishAck: 'echo' });
    const c = s.rt.clients[0]!;
    const done = s.rt.connect(c);
    const conn = s.transport.conns[0]!;
    conn.open();
    for (const j of conn.sent) if (j.op === 'join') conn.frame({ kind: 'joined', id: j.id, room: j.room });
    await done;
    const acked = c.publish('room-1');
    conn.frame({ kind: 'message', tag: conn.last('publish').tag });
    expect(await acked).not.toBeNull();
    expect(s.counter('errors.message_without_room')).toBe(0);
    expect(c.recv.get('room-1')!.delivered).toBe(1);
  });
});

describe('token claims', () => {
  it('fills {client} and {worker} in every string of a template', () => {
    expect(fillClaims({ sub: 'user-{client}', tags: ['w{worker}', 3] }, 12, 2)).toEqual({ sub: 'user-12', tags: ['w2', 3] });
  });
});
