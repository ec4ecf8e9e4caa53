import { createHmac } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { parseServerOptions, SERVER_OPTION_SPECS, DEFAULT_SERVER_OPTIONS, resolveServerOptions } from '../../servers/core/options.ts';
import { signToken, verifyToken, roomAllowed, DEV_SECRET } from '../../servers/core/jwt.ts';
import { RoomLog } from '../../servers/core/bus.ts';
import { parseServerArgs } from '../../servers/main.ts';

describe('options', () => {
  it('defaults match the contract', () => {
    const { options, errors } = parseServerOptions({});
    expect(errors).toEqual([]);
    expect(options).toMatchObject({
      port: 0, host: '127.0.0.1', secret: DEV_SECRET, auth: true, heartbeatMs: 30000, rate: 100, burst: 200, abuse: 400,
      maxPayload: 65536, retention: 1000, presence: false, workers: 1, nodeId: 'n0', delayMs: 0, maxRoomsPerConn: 1000,
      maxRoomName: 128, protocol: 'ws', dieWithParent: false,
    });
    expect(options.redis).toBeUndefined();
    for (const s of SERVER_OPTION_SPECS) {
      expect(s.key).toMatch(/^[a-z][a-z-]*$/);
      expect(s.description).toMatch(/default/);
      if (s.default !== undefined && s.type !== 'string') expect(DEFAULT_SERVER_OPTIONS[s.field]).toEqual(s.default);
    }
  });

  it('parses every type and derives abuse from burst', () => {
    const { options, errors } = parseServerOptions({ port: '8080', auth: 'off', presence: 'true', burst: '10', protocol: 'socketio', 'node-id': 'n3', redis: 'redis://127.0.0.1:6379' });
    expect(errors).toEqual([]);
    expect(options).toMatchObject({ port: 8080, auth: false, presence: true, burst: 10, abuse: 20, protocol: 'socketio', nodeId: 'n3', redis: 'redis://127.0.0.1:6379' });
    expect(resolveServerOptions({ burst: 7, abuse: 3 }).abuse).toBe(3);
  });

  it('reports every problem at once, naming key, value and what is allowed', () => {
    const { errors } = parseServerOptions({ port: '70000', auth: 'maybe', rate: '-1', protocol: 'http', colour: 'red', 'node-id': 'a b', redis: 'localhost' });
    expect(errors).toHaveLength(7);
    expect(errors.join('\n')).toMatch(/port: "70000".*0 to 65535/);
    expect(errors.join('\n')).toMatch(/auth: "maybe".*on or off/);
    expect(errors.join('\n')).toMatch(/protocol: "http".*ws, socketio/);
    expect(errors.join('\n')).toMatch(/unknown option "colour".*known options: port, host/);
    expect(errors.join('\n')).toMatch(/redis: "localhost"/);
  });

  it('parses argv: --k v, --k=v, bare booleans, missing values', () => {
    expect(parseServerArgs(['--port', '0', '--heartbeat-ms=5000', '--presence', '--auth', 'off', '--die-with-parent'])).toEqual({
      raw: { port: '0', 'heartbeat-ms': '5000', presence: 'true', auth: 'off', 'die-with-parent': 'true' }, errors: [], help: false,
    });
    const r = parseServerArgs(['--presence', 'false', '--rate', 'stray', '--burst']);
    expect(r.raw).toEqual({ presence: 'false', rate: 'stray' });
    expect(r.errors).toEqual([expect.stringMatching(/^burst: missing value/)]);
    expect(parseServerArgs(['stray']).errors).toHaveLength(1);
  });
});

describe('jwt', () => {
  it('signs and verifies HS256', () => {
    const t = signToken({ sub: 'u1', rooms: ['a', 'chat:*'] }, 's3cret', { expiresInSec: 60 });
    const v = verifyToken(t, 's3cret');
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.claims.sub).toBe('u1');
      expect(v.claims.exp).toBeGreaterThan(Date.now() / 1000 + 50);
    }
  });

  it('refuses bad signature, expiry, alg none, missing sub/exp and garbage', () => {
    const t = signToken({ sub: 'u1' }, 's3cret');
    expect(verifyToken(t, 'other')).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyToken(signToken({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 1 }, 's'), 's')).toEqual({ ok: false, reason: 'token expired' });
    const [, p] = t.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect(verifyToken(none, 's3cret').ok).toBe(false);
    expect(verifyToken(signToken({ sub: '' }, 's'), 's')).toMatchObject({ ok: false, reason: 'token has no sub' });
    for (const g of ['', 'a.b', 'a.b.c', '...', `${t}x`, t.replace(/\.[^.]+$/, '.!!')]) expect(verifyToken(g, 's3cret').ok).toBe(false);
    // A tampered payload with the original signature.
    const forged = `${t.split('.')[0]}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: 9e9 })).toString('base64url')}.${t.split('.')[2]}`;
    expect(verifyToken(forged, 's3cret').ok).toBe(false);
  });

  it('verifies a token whose header is spelled differently, and switches secrets', () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ typ: 'JWT', alg: 'HS256' })}.${b64({ sub: 'u2', exp: Math.floor(Date.now() / 1000) + 60 })}`;
    const t = `${input}.${createHmac('sha256', 'k1').update(input).digest('base64url')}`;
    expect(verifyToken(t, 'k1')).toMatchObject({ ok: true, claims: { sub: 'u2' } });
    expect(verifyToken(t, 'k2')).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyToken(t, 'k1').ok).toBe(true);
    const hs384 = `${b64({ alg: 'HS384', typ: 'JWT' })}.${input.split('.')[1]}.${t.split('.')[2]}`;
    expect(verifyToken(hs384, 'k1')).toEqual({ ok: false, reason: 'unsupported algorithm "HS384"; expected HS256' });
  });

  it('roomAllowed: absent list, exact names, trailing * prefix', () => {
    expect(roomAllowed({}, 'anything')).toBe(true);
    expect(roomAllowed({ rooms: ['a', 'chat:*'] }, 'a')).toBe(true);
    expect(roomAllowed({ rooms: ['a', 'chat:*'] }, 'ab')).toBe(false);
    expect(roomAllowed({ rooms: ['a', 'chat:*'] }, 'chat:1')).toBe(true);
    expect(roomAllowed({ rooms: ['*'] }, 'x')).toBe(true);
    expect(roomAllowed({ rooms: [] }, 'x')).toBe(false);
  });
});

describe('RoomLog (retention)', () => {
  it('keeps the last N in seq order, also when appends arrive out of order', () => {
    const log = new RoomLog(3);
    for (let i = 0; i < 10; i++) log.next('r');
    for (const s of [1, 2, 4, 3, 5, 7, 6, 8, 10, 9]) log.append('r', { seq: s, text: `m${s}` });
    const h = log.history('r', 0);
    expect(h.latest).toBe(10);
    expect(h.entries.map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(log.history('r', 9).entries.map((e) => e.seq)).toEqual([10]);
    expect(new RoomLog(0).history('r', 0)).toEqual({ latest: 0, entries: [] });
  });
});
