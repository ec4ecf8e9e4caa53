import { describe, expect, it } from 'vitest';
import { DEV_SECRET, mintToken } from '../../src/protocol/jwt.ts';
import { DEV_SECRET as SERVER_DEV_SECRET, verifyToken } from '../../servers/core/jwt.ts';

describe("the harness's token minting agrees with the bundled server", () => {
  it('the default secrets are the same', () => {
    expect(DEV_SECRET).toBe(SERVER_DEV_SECRET);
  });

  it('the server verifies minted tokens and reads their claims; exp defaults to now + expiresInSec', () => {
    const before = Math.floor(Date.now() / 1000);
    const token = mintToken({ sub: 'user-7', rooms: ['room-*'] }, 's3cret', { expiresInSec: 120 });
    const r = verifyToken(token, 's3cret');
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.claims).toMatchObject({ sub: 'user-7', rooms: ['room-*'] });
      expect(r.claims.exp - before).toBeGreaterThanOrEqual(119);
      expect(r.claims.exp - before).toBeLessThanOrEqual(121);
    }
    expect(verifyToken(token, 'other')).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyToken(mintToken({ sub: 'u', exp: before - 1 }, 's'), 's')).toEqual({ ok: false, reason: 'token expired' });
  });
});
