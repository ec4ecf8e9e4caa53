/**
 * rate-limit against the limiters real servers have: the stated model (bucket or
 * fixed window), error codes in other spellings, figures printed rounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../src/report/schema.ts';
import { bracketBucketRate, closeDueUs, parseLimitModel, roundFigure, type SentFrame } from '../../src/scenario/limit-model.ts';
import { limitCodeMatcher, limitCodesProblem } from '../../src/scenario/limit-codes.ts';
import { runCli } from '../support/cli.ts';
import { startWindowLimiterServer, type GalleryServer } from '../gallery/window-limiter-server.ts';
import { startSocketIoChatServer } from '../gallery/socketio-chat-server.ts';

describe('limit models', () => {
  const fallback = { perSec: 100, burst: 200 };
  it('parses a bucket, a window and the default', () => {
    expect(parseLimitModel('', fallback)).toEqual({ ok: true, value: { kind: 'bucket', perSec: 100, burst: 200 } });
    expect(parseLimitModel('bucket:20/s,burst:40', fallback)).toEqual({ ok: true, value: { kind: 'bucket', perSec: 20, burst: 40 } });
    expect(parseLimitModel('window:100/60s', fallback)).toEqual({ ok: true, value: { kind: 'window', count: 100, windowMs: 60_000, closeOnRefusal: false } });
    expect(parseLimitModel('window:100/1m,close', fallback)).toEqual({ ok: true, value: { kind: 'window', count: 100, windowMs: 60_000, closeOnRefusal: true } });
  });

  it('refuses what it cannot read, naming the accepted forms', () => {
    for (const bad of ['leaky:5/s', 'window:100', 'window:0/60s', 'bucket:0/s', 'bucket:5/s,burst:x', 'window:5/1s,kick']) {
      const r = parseLimitModel(bad, fallback);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error).toContain('window:N/DURATION');
    }
  });

  it('prints figures rounded', () => {
    expect(roundFigure(100 / 60)).toBe('1.67');
    expect(roundFigure(16.666)).toBe('16.7');
    expect(roundFigure(110.00000001)).toBe('110');
    expect(roundFigure(90)).toBe('90');
  });
});

/**
 * One client sending `sendPerSec` to a token bucket of `perSec`/`burst` that handles each
 * frame `lagMs(t)` after it was sent (a server falling behind), acks seen `returnMs` later.
 * The bucket is the stated model itself, in the server's own clock.
 */
function simulate(o: { perSec: number; burst: number; sendPerSec: number; secs: number; lagMs: (tMs: number) => number; returnMs?: number }): SentFrame[] {
  const frames: SentFrame[] = [];
  let tokens = o.burst;
  let at = 0;
  let last = 0;
  for (let t = 0; t < o.secs * 1000; t += 1000 / o.sendPerSec) {
    const s = Math.max(last, t + o.lagMs(t)); // handled in order, never before it was sent
    tokens = Math.min(o.burst, tokens + ((s - at) * o.perSec) / 1000);
    at = last = s;
    const ok = tokens >= 1;
    if (ok) tokens -= 1;
    frames.push({ sentUs: t * 1000, ackUs: ok ? (s + (o.returnMs ?? 1)) * 1000 : null });
  }
  return frames;
}

describe('bracketing a bucket from send and ack times', () => {
  /** A backlog that grows 0.5 s per second from 1 s on: what over-counted a send-time window on a loaded runner. */
  const growing = (tMs: number) => Math.max(0, tMs - 1000) / 2;
  /** A server that stalls 100 ms in every 250 (a busy 2-core machine): frames wait until it resumes. */
  const stalls = (tMs: number) => (tMs % 250 < 100 ? 100 - (tMs % 250) : 0);

  it('a correct 100/s bucket is bracketed around 100/s: tightly when the server answers some frames at once, within ±10% when every frame waits 150 ms', () => {
    for (const [lagMs, within] of [[() => 0, 3], [stalls, 3], [() => 150, 10]] as const) {
      const b = bracketBucketRate(simulate({ perSec: 100, burst: 200, sendPerSec: 300, secs: 4, lagMs }), 200)!;
      expect(b.basis).toBe('refill');
      expect(b.lowPerSec).toBeLessThanOrEqual(100);
      expect(b.highPerSec!).toBeGreaterThanOrEqual(100);
      expect(b.lowPerSec).toBeGreaterThan(100 - within);
      expect(b.highPerSec!).toBeLessThan(100 + within);
    }
  });

  it('a send-time window over-counts a correct bucket under a growing backlog; the bracket still holds 100/s (wider, never above)', () => {
    const frames = simulate({ perSec: 100, burst: 200, sendPerSec: 300, secs: 4, lagMs: growing });
    const inWindow = frames.filter((f) => f.ackUs !== null && f.sentUs >= 1.25e6 && f.sentUs < 2.5e6).length;
    expect(inWindow / 1.25).toBeGreaterThan(130);
    const b = bracketBucketRate(frames, 200)!;
    expect(b.lowPerSec).toBeLessThanOrEqual(100);
    expect(b.highPerSec!).toBeGreaterThanOrEqual(100);
  });

  it('a leaky 130/s or a strict 80/s bucket falls outside 100/s ±10% with the server stalling; the leak even under a growing backlog', () => {
    for (const lagMs of [stalls, growing]) expect(bracketBucketRate(simulate({ perSec: 130, burst: 200, sendPerSec: 300, secs: 4, lagMs }), 200)!.lowPerSec).toBeGreaterThan(110);
    expect(bracketBucketRate(simulate({ perSec: 80, burst: 200, sendPerSec: 300, secs: 4, lagMs: stalls }), 200)!.highPerSec!).toBeLessThan(90);
  });

  it('no limit at all: the whole run bounds the rate from below only, far above the limit', () => {
    const b = bracketBucketRate(simulate({ perSec: 1e9, burst: 1e9, sendPerSec: 300, secs: 4, lagMs: () => 100 }), 200)!;
    expect(b.basis).toBe('whole');
    expect(b.highPerSec).toBeUndefined();
    expect(b.lowPerSec).toBeGreaterThan(200);
  });

  it('slow acks widen the bracket instead of moving it; nothing acked measures nothing', () => {
    const b = bracketBucketRate(simulate({ perSec: 100, burst: 200, sendPerSec: 300, secs: 4, lagMs: () => 0, returnMs: 200 }), 200)!;
    expect(b.maxSpanUs - b.minSpanUs).toBeGreaterThan(399_000);
    expect(b.lowPerSec).toBeLessThanOrEqual(100);
    expect(b.highPerSec!).toBeGreaterThanOrEqual(100);
    expect(bracketBucketRate([{ sentUs: 0, ackUs: null }], 200)).toBeUndefined();
  });

  it('the close is due at the frame that passes the abuse threshold, within the abuse window', () => {
    const f = (sentUs: number, acked: boolean): SentFrame => ({ sentUs, ackUs: acked ? sentUs + 1 : null });
    const frames = [f(0, true), f(1, false), f(2, true), f(3, false), f(4, false), f(5, false)];
    expect(closeDueUs(frames, 2)).toBe(4);
    expect(closeDueUs(frames, 0)).toBe(1);
    expect(closeDueUs(frames, 4)).toBeUndefined();
    // Drops more than the window apart never add up.
    expect(closeDueUs([f(0, false), f(20e6, false), f(40e6, false)], 1, 10_000)).toBeUndefined();
  });
});

describe('rate-limit error codes', () => {
  it('the default covers the common spellings and nothing else', () => {
    const m = limitCodeMatcher();
    for (const c of ['rate_limited', 'rate_limit_exceeded', 'Rate limit exceeded', 'RATE-LIMIT', 'too_many_requests', 'throttled']) expect(m(c), c).toBe(true);
    for (const c of ['forbidden', 'bad_request', 'not_joined', 'unknown']) expect(m(c), c).toBe(false);
  });

  it('a list matches exactly, a /regex/ as a pattern', () => {
    expect(limitCodeMatcher('slow_down, E429')('slow_down')).toBe(true);
    expect(limitCodeMatcher('slow_down')('rate_limited')).toBe(false);
    expect(limitCodeMatcher('/^slow/')('SLOW_DOWN')).toBe(true);
    expect(limitCodesProblem('/(/')).toMatch(/not a valid \/regex\//);
  });
});

describe('rate-limit against fixed-window servers of their own (100 per minute, their own error text, closing at the first refusal)', () => {
  let dir: string;
  const servers: Array<{ close(): Promise<void> }> = [];
  let good: Promise<{ code: number | null; report: Report }>;
  let broken: Promise<{ code: number | null; report: Report }>;
  let socketIo: Promise<{ code: number | null; report: Report }>;
  let brokenServer: GalleryServer;

  async function run(url: string, sets: string[], extra: string[] = []): Promise<{ code: number | null; report: Report }> {
    const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
    const args = ['run', 'rate-limit', '--quiet', ...extra, '--target', url, '--clients', '20', '--seed', '7', '--warmup', '300ms', '--duration', '4s', '--cooldown', '300ms', '--out', out];
    const r = await runCli([...args, ...sets.flatMap((s) => ['--set', s])], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    return { code: r.code, report: JSON.parse(readFileSync(out, 'utf8')) as Report };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsbench-limit-'));
    const ok = await startWindowLimiterServer({ count: 100, windowMs: 60_000 });
    // Broken: lets 30 more through per window, and names its refusal in a way no default matches.
    brokenServer = await startWindowLimiterServer({ count: 100, windowMs: 60_000, leak: 30, errorCode: 'slow_down', errorMessage: 'easy, tiger' });
    // A Socket.IO chat server: acks refusals with "Rate limit exceeded", lists no join-since.
    const sio = await startSocketIoChatServer({ count: 100, windowMs: 60_000 });
    servers.push(ok, brokenServer, sio);
    // All at once, to keep the suite short.
    good = run(ok.url, ['limit=window:100/60s,close']);
    broken = run(brokenServer.url, ['limit=window:100/60s,close']);
    socketIo = run(sio.url, ['limit=window:100/60s,close'], ['--protocol', 'socketio']);
    await Promise.allSettled([good, broken, socketIo]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const check = (r: Report, name: string) => r.checks.find((c) => c.name === name)!;

  it('a correct server passes every check, with figures printed rounded', async () => {
    const { code, report } = await good;
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(code).toBe(0);
    const acc = check(report, 'rate-limit.accepted-rate');
    expect(acc.evidence).toMatchObject({ limitPerWindow: 100, firstWindowMin: 100, anyWindowMax: 100 });
    expect(acc.detail).toContain('100 per 60 s, closing at the first refusal');
    expect(check(report, 'rate-limit.abusers-closed').evidence!.closed1008).toBeGreaterThan(0);
    expect(report.checks.map((c) => c.detail).join('\n')).not.toMatch(/\d\.\d{4,}/);
  });

  it('a leaky limiter fails accepted-rate; an unknown error code is named with a way out', async () => {
    const { code, report } = await broken;
    expect(code).toBe(1);
    const acc = check(report, 'rate-limit.accepted-rate');
    expect(acc.passed).toBe(false);
    expect(acc.evidence!.anyWindowMax).toBe(130);
    const errs = check(report, 'rate-limit.error-frames-capped');
    expect(errs.passed).toBe(false);
    expect(errs.detail).toContain('slow_down');
    expect(errs.detail).toContain('--set limit-codes=');
    expect(brokenServer.counts.closedForAbuse).toBeGreaterThan(0);
  });

  it('a Socket.IO chat server acking refusals with "Rate limit exceeded" and disconnecting passes', async () => {
    const { code, report } = await socketIo;
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(code).toBe(0);
    expect(check(report, 'rate-limit.error-frames-capped').evidence!.rateLimitedAcks).toBeGreaterThan(0);
    expect(report.counters['errors.Rate limit exceeded']).toBeGreaterThan(0);
    expect(check(report, 'rate-limit.accepted-rate').evidence).toMatchObject({ firstWindowMin: 100, anyWindowMax: 100 });
  });
});
