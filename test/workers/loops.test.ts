/**
 * Scenario loops in the worker runtime, on a fake transport and a fake clock: `vu.sleep`
 * through the shared sleep wheel never ends early, a loop that never awaits I/O or a timer
 * still yields to the event loop, and stopping the loops wakes every sleeper.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerRuntime } from '../../src/workers/runtime.ts';
import { createFakeClock } from '../../src/executor/clock.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import type { ScenarioDefinition, VirtualClient } from '../../src/scenario/types.ts';
import { createFakeTransport, createSpyRecorder } from './fake-transport.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));
const runtimes: WorkerRuntime[] = [];

async function setup(loop: (vu: VirtualClient) => Promise<void>, clients = 3) {
  const scenario: ScenarioDefinition = { name: 'loops', description: 'loops', loop };
  const { options, problems } = resolveOptions(scenario, { clients: String(clients), rooms: '1' }, ['seed=7', 'request-timeout-ms=1000']);
  expect(problems).toEqual([]);
  const clock = createFakeClock(1_000_000);
  const transport = createFakeTransport(false);
  const recorder = createSpyRecorder();
  const rt = new WorkerRuntime({
    workerId: 0,
    options,
    fromClient: 0,
    toClient: clients,
    urls: ['ws://fake/'],
    tokens: { mode: 'none' },
    sourceAddresses: [],
    spread: [],
    nodeIdentity: false,
    splitNodes: false,
    scenario,
    transport,
    recorder,
    clock,
  });
  runtimes.push(rt);
  for (const c of rt.clients) {
    const done = rt.connect(c);
    const conn = transport.conns.at(-1)!;
    conn.open();
    const join = conn.last('join');
    conn.frame({ kind: 'joined', id: join.id, room: join.room, seq: 0 });
    expect(await done).toBe(true);
  }
  return { rt, clock, transport, recorder };
}

afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.closeAll(0);
});

describe('scenario loops', () => {
  it('ping then sleep(20): every round trip answered, never two pings of a client closer than 20 ms', async () => {
    const s = await setup(async (vu) => {
      await vu.ping();
      await vu.sleep(20);
    });
    const pingsAt = new Map<number, number[]>();
    s.rt.startLoops();
    for (let step = 0; step < 200; step++) {
      await flush();
      // Play the server: answer every ping sent since the last step.
      for (const [k, conn] of s.transport.conns.entries()) {
        for (const sent of conn.sent.splice(0)) {
          if (sent.op !== 'ping') continue;
          (pingsAt.get(k) ?? pingsAt.set(k, []).get(k)!).push(s.clock.nowUs());
          conn.frame({ kind: 'pong', id: sent.id });
        }
      }
      s.clock.advance(1);
    }
    s.rt.stopLoops();
    expect(pingsAt.size).toBe(3);
    for (const times of pingsAt.values()) {
      // 200 ms of fake time, one ping every >= 20 ms (+1 ms steps): 8 to 10 each.
      expect(times.length).toBeGreaterThanOrEqual(8);
      expect(times.length).toBeLessThanOrEqual(10);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(20_000);
    }
    expect(s.recorder.samples.get('rtt')?.length).toBe([...pingsAt.values()].reduce((a, t) => a + t.length, 0));
  });

  it('a loop that awaits nothing still yields: it runs once per turn of time, not in a microtask spin', async () => {
    let runs = 0;
    const s = await setup(async () => {
      runs++;
    }, 2);
    s.rt.startLoops();
    for (let i = 0; i < 20; i++) await flush();
    // Without a timer firing (fake time stands still) each loop ran once and now waits a turn.
    expect(runs).toBe(2);
    for (let i = 0; i < 5; i++) {
      s.clock.advance(1);
      for (let k = 0; k < 5; k++) await flush();
    }
    expect(runs).toBeGreaterThanOrEqual(2 + 2 * 3);
    expect(runs).toBeLessThanOrEqual(2 + 2 * 6);
    s.rt.stopLoops();
  });

  it('stopping the loops wakes every sleeper at once', async () => {
    let ended = 0;
    const s = await setup(async (vu) => {
      await vu.sleep(60_000);
      ended++;
    }, 4);
    s.rt.startLoops();
    await flush();
    expect(ended).toBe(0);
    s.rt.stopLoops();
    for (let i = 0; i < 5; i++) await flush();
    expect(ended).toBe(4);
  });
});
