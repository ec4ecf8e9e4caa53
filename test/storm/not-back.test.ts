/**
 * A storm on the worker runtime with a fake transport and a fake clock: every client is dropped
 * (1012), then each ends the run in a different place. The ones not back are counted once each,
 * by what they were doing and why their last attempt failed, and the ones back are observed with
 * their recovery time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerRuntime, notBackReason } from '../../src/workers/runtime.ts';
import { createFakeClock } from '../../src/executor/clock.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import { NOT_BACK_COUNTER_PREFIX, RECOVERY_OBSERVATION } from '../../src/metrics/names.ts';
import type { ScenarioDefinition } from '../../src/scenario/types.ts';
import { createFakeTransport, createSpyRecorder } from '../workers/fake-transport.ts';

const flush = () => new Promise<void>((r) => setImmediate(r));
const runtimes: WorkerRuntime[] = [];

afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.closeAll(0);
});

function stormRuntime(clients: number) {
  const scenario: ScenarioDefinition = { name: 'storm-unit', description: 'storm-unit' };
  const { options, problems } = resolveOptions(scenario, { clients: String(clients), rooms: String(clients) }, ['seed=3', 'request-timeout-ms=1000', 'reconnect=true', 'backoff-base-ms=100', 'backoff-cap-ms=100']);
  expect(problems).toEqual([]);
  const clock = createFakeClock(1_000_000);
  const transport = createFakeTransport(false);
  const recorder = createSpyRecorder();
  const rt = new WorkerRuntime({ workerId: 0, options, fromClient: 0, toClient: clients, urls: ['ws://fake/'], tokens: { mode: 'none' }, sourceAddresses: [], spread: [], nodeIdentity: true, splitNodes: false, scenario, transport, recorder, clock });
  runtimes.push(rt);
  return { rt, clock, transport, recorder };
}

describe('reconnect storm accounting', () => {
  it('counts every dropped client once: back (with its recovery) or not back with its reason', async () => {
    const s = stormRuntime(5);
    // Connect and join all five.
    for (const c of s.rt.clients) {
      const done = s.rt.connect(c);
      const conn = s.transport.conns.at(-1)!;
      conn.open();
      conn.frame({ kind: 'joined', id: conn.last('join').id, room: conn.last('join').room, seq: 0 });
      expect(await done).toBe(true);
    }
    // The storm: the server closes all of them.
    const first = [...s.transport.conns];
    for (const conn of first) conn.serverClose(1012);
    expect(s.recorder.counters.get('healthy.dropped')).toBe(5);
    // Backoff is at most 100 ms: every client is attempting again.
    s.clock.advance(150);
    const second = s.transport.conns.slice(first.length);
    expect(second).toHaveLength(5);
    const [back, joining, refused, connecting, failedJoin] = second;
    s.clock.advance(2500);
    back!.open();
    back!.frame({ kind: 'joined', id: back!.last('join').id, room: back!.last('join').room, seq: 0 });
    joining!.open();
    refused!.fail('ECONNREFUSED');
    failedJoin!.open();
    failedJoin!.frame({ kind: 'error', id: failedJoin!.last('join').id, code: 'forbidden', message: 'no' });
    await flush();
    s.rt.noteNotBack();
    const notBack = Object.fromEntries([...s.recorder.counters].filter(([k]) => k.startsWith(NOT_BACK_COUNTER_PREFIX)).map(([k, n]) => [k.slice(NOT_BACK_COUNTER_PREFIX.length), n]));
    expect(notBack).toEqual({ joining: 1, backoff: 1, connecting: 1, join_failed: 1, 'last_error.ECONNREFUSED': 1 });
    expect(s.recorder.counters.get('reconnects')).toBe(1);
    const recovery = s.rt.observations.get(RECOVERY_OBSERVATION)!;
    expect(recovery.count).toBe(1);
    // Dropped at t0, back after the backoff plus 2.5 s on the fake clock.
    expect(recovery.max).toBeGreaterThanOrEqual(2500);
    expect(recovery.max).toBeLessThanOrEqual(2650);
    expect(s.rt.examples['not-back:connecting']).toEqual([connecting!.opts.clientKey]);
    // A join answered after the not-back count does not make its client "back" too.
    joining!.frame({ kind: 'joined', id: joining!.last('join').id, room: joining!.last('join').room, seq: 0 });
    await flush();
    expect(s.recorder.counters.get('reconnects')).toBe(1);
  });

  it('names each state a not-back client can be in', () => {
    expect(notBackReason({ state: 'idle', joinsFailed: 0 })).toBe('backoff');
    expect(notBackReason({ state: 'connecting', joinsFailed: 0 })).toBe('connecting');
    expect(notBackReason({ state: 'abandoning', joinsFailed: 0 })).toBe('welcoming');
    expect(notBackReason({ state: 'open', joinsFailed: 1 })).toBe('join_failed');
    expect(notBackReason({ state: 'closed', joinsFailed: 0 })).toBe('not_retrying');
  });
});
