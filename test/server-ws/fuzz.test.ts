/** The server never crashes on client input and leaks nothing: 10,000+ random frames, then a ping and /stats. */
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { Client, cleanup, startTestServer, getJson, until } from './helpers.ts';

afterEach(cleanup);

const anyValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const frameShape = fc.record(
  {
    type: fc.oneof(fc.constantFrom('join', 'leave', 'publish', 'ping', 'welcome', 'message', ''), anyValue),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), anyValue),
    room: fc.oneof(fc.constantFrom('a', 'b', 'c', 'é'), fc.string({ maxLength: 200 }), anyValue),
    since: fc.oneof(fc.nat(20), anyValue),
    payload: fc.jsonValue({ maxDepth: 3 }),
    echo: fc.oneof(fc.boolean(), anyValue),
  },
  { requiredKeys: [] },
);
const frame = fc.oneof(
  { weight: 6, arbitrary: frameShape.map((o) => ({ text: JSON.stringify(o) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ binary: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })) },
  { weight: 1, arbitrary: frameShape.map((o) => ({ text: JSON.stringify(o).slice(0, -1 - (JSON.stringify(o).length % 5)) })) },
);

describe('fuzz', () => {
  it('survives 12,000 random frames on 3 connections and leaks no rooms or connections', async () => {
    const s = await startTestServer({ rate: 0, maxRoomsPerConn: 50 });
    const clients = await Promise.all([0, 1, 2].map(() => Client.open(s.url)));
    const frames = fc.sample(frame, { numRuns: 12_000, seed: 20240601 });
    for (let i = 0; i < frames.length; i++) {
      const c = clients[i % 3]!;
      const f = frames[i]!;
      if ('binary' in f) c.ws.send(f.binary, { binary: true });
      else c.ws.send(f.text);
      if (i % 500 === 499) await c.request({ type: 'ping', id: `sync-${i}` }, 10_000); // bounded in-flight
    }
    for (const c of clients) {
      expect(await c.request({ type: 'ping', id: 'final' }, 10_000)).toMatchObject({ type: 'pong', id: 'final' });
      expect(c.ws.readyState).toBe(1);
    }
    const st = s.stats();
    expect(st.framesIn).toBeGreaterThanOrEqual(12_000);
    expect(st.badRequests).toBeGreaterThan(1000);
    for (const c of clients) c.ws.close();
    await until(() => s.stats().connections === 0 && s.stats().rooms === 0, 5000, 'no connections and rooms left');
    const { body } = await getJson(s.port, '/stats');
    expect(body).toMatchObject({ connections: 0, rooms: 0 });
  });
});
