/**
 * The grammar of slow reading and network profiles, and which clients they fall on:
 * pure functions, checked on known inputs.
 */
import { describe, expect, it } from 'vitest';
import { parseReadPace } from '../../src/protocol/read-pace.ts';
import { NET_PRESETS, netProfileOf, parseNetMix } from '../../src/protocol/net-profile.ts';
import { parseByteRate } from '../../src/units/index.ts';
import { parseSlow } from '../../src/scenario/conditions.ts';
import { conditionsOf, isSlowMember, slowRoomCount } from '../../src/workers/client-conditions.ts';
import { DEFAULT_OPTIONS, resolveOptions } from '../../src/scenario/options.ts';
import { METRIC } from '../../src/metrics/names.ts';
import broadcast from '../../scenarios/broadcast.ts';

const opts = (o: Record<string, unknown>) => ({ ...DEFAULT_OPTIONS, ...o }) as typeof DEFAULT_OPTIONS & Record<string, unknown>;

describe('byte rates and read paces', () => {
  it('reads bits per second, sizes per second and bare bytes; refuses the rest with the accepted forms', () => {
    expect(parseByteRate('1Mbit')).toEqual({ ok: true, value: 125_000 });
    expect(parseByteRate('500kbit/s')).toEqual({ ok: true, value: 62_500 });
    expect(parseByteRate('32KiB/s')).toEqual({ ok: true, value: 32_768 });
    expect(parseByteRate('4096')).toEqual({ ok: true, value: 4096 });
    expect(parseByteRate('fast')).toMatchObject({ ok: false, error: expect.stringMatching(/1Mbit.*32KiB\/s/) });
  });

  it('stalled, rate, burst and full; a zero rate or a half burst is refused, saying what to write', () => {
    expect(parseReadPace('stalled')).toEqual({ ok: true, value: { kind: 'stalled' } });
    expect(parseReadPace('rate:32KiB/s')).toEqual({ ok: true, value: { kind: 'rate', bytesPerSec: 32_768 } });
    expect(parseReadPace('burst:200ms/2s')).toEqual({ ok: true, value: { kind: 'burst', onMs: 200, offMs: 2000 } });
    expect(parseReadPace('rate:0')).toMatchObject({ ok: false, error: expect.stringMatching(/use stalled/) });
    expect(parseReadPace('burst:200ms')).toMatchObject({ ok: false, error: expect.stringMatching(/burst:200ms\/2s/) });
    expect(parseReadPace('slow')).toMatchObject({ ok: false, error: expect.stringMatching(/stalled, rate:32KiB\/s/) });
  });

  it('--set slow=SHARE[,mode=MODE], stalled by default', () => {
    expect(parseSlow('')).toEqual({ ok: true, value: undefined });
    expect(parseSlow('5%')).toEqual({ ok: true, value: { share: 0.05, pace: { kind: 'stalled' } } });
    expect(parseSlow('10%,mode=rate:1Mbit')).toEqual({ ok: true, value: { share: 0.1, pace: { kind: 'rate', bytesPerSec: 125_000 } } });
    expect(parseSlow('5%,speed=3')).toMatchObject({ ok: false, error: expect.stringMatching(/not mode=MODE/) });
  });
});

describe('network profiles', () => {
  it('presets, custom parameters and mixes by share', () => {
    expect(parseNetMix('3g')).toEqual({ ok: true, value: [{ share: 1, profile: NET_PRESETS['3g'] }] });
    const custom = parseNetMix('latency:80ms,jitter:20ms,bandwidth:1Mbit');
    expect(custom).toMatchObject({ ok: true, value: [{ share: 1, profile: { latencyMs: 80, jitterMs: 20, bandwidthBytesPerSec: 125_000 } }] });
    const mix = parseNetMix('70%:wifi,30%:latency:200ms,bandwidth:256kbit');
    expect(mix).toMatchObject({ ok: true, value: [{ share: 0.7, profile: NET_PRESETS.wifi }, { share: 0.3, profile: { latencyMs: 200, bandwidthBytesPerSec: 32_000 } }] });
    expect(parseNetMix('70%:wifi,50%:3g')).toMatchObject({ ok: false, error: expect.stringMatching(/120%, more than 100%/) });
    expect(parseNetMix('5g')).toMatchObject({ ok: false, error: expect.stringMatching(/neither a preset \(3g, 4g, wifi, wifi-flaky, loopback\)/) });
  });

  it('spreads clients over the mix within one client of each share; the rest stay on the bare loopback', () => {
    const mix = (parseNetMix('70%:wifi,20%:3g') as { value: Parameters<typeof netProfileOf>[0] }).value;
    const names = Array.from({ length: 1000 }, (_, i) => netProfileOf(mix, i)?.name ?? 'none');
    const count = (n: string) => names.filter((x) => x === n).length;
    expect(Math.abs(count('wifi') - 700)).toBeLessThanOrEqual(2);
    expect(Math.abs(count('3g') - 200)).toBeLessThanOrEqual(2);
    expect(Math.abs(count('none') - 100)).toBeLessThanOrEqual(2);
  });

  it('bad slow/net values and a client that cannot pace are refused before the run, all at once', () => {
    const r = resolveOptions(broadcast, {}, ['slow=lots', 'net=5g', 'client=ws']);
    expect(r.problems).toEqual([expect.stringMatching(/--set slow "lots"/), expect.stringMatching(/--set net "5g"/), expect.stringMatching(/need the lean client \(client=raw/)]);
  });
});

describe('which clients are slow', () => {
  it('the last share of each slow room, never a publisher; the other rooms are the control group', () => {
    const o = opts({ clients: 40, rooms: 4, publishers: 1, slowRooms: 0.5 });
    expect(slowRoomCount(o)).toBe(2);
    const slow = Array.from({ length: 40 }, (_, i) => i).filter((i) => isSlowMember(i, o, 0.2));
    // 10 members per room, 2 slow ones each in rooms 0 and 1: members 8 and 9.
    expect(slow).toEqual([32, 33, 36, 37]);
    // At least one per slow room, however small the share, but never the publisher.
    expect(Array.from({ length: 40 }, (_, i) => i).filter((i) => isSlowMember(i, o, 0.01))).toEqual([36, 37]);
    expect(isSlowMember(0, opts({ clients: 4, rooms: 4 }), 1)).toBe(false);
  });

  it('healthy clients are filed under their group fan-out metric', () => {
    const o = opts({ clients: 40, rooms: 4, slow: '20%', slowRooms: 0.5 });
    expect(conditionsOf(36, o)).toMatchObject({ slow: { kind: 'stalled' }, fanoutGroup: undefined });
    expect(conditionsOf(4, o)).toMatchObject({ slow: undefined, fanoutGroup: METRIC.fanoutSlowRooms });
    expect(conditionsOf(6, o)).toMatchObject({ slow: undefined, fanoutGroup: METRIC.fanoutControl });
    expect(conditionsOf(6, opts({ clients: 40, rooms: 4 }))).toBeUndefined();
  });
});
