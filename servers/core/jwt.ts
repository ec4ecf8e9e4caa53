/**
 * HS256 JSON Web Tokens with node:crypto only: sign, verify (timing-safe),
 * and the room allow-list of a token.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The development secret: the default of the reference server and of the
 * harness, so a newcomer's run works with no setup. Never use it in production.
 */
export const DEV_SECRET = 'wsbench-dev-secret-do-not-use-in-production';

/** The claims the reference server reads of a token. */
export interface TokenClaims {
  /** User id (required). */
  sub: string;
  /** Allowed rooms; a trailing `*` is a prefix match; absent = every room. */
  rooms?: string[];
  /** Expiry, seconds since the epoch (required in verified tokens). */
  exp?: number;
  [k: string]: unknown;
}

/** Claims of a verified token: `exp` is always there. */
export type VerifiedClaims = TokenClaims & { exp: number };

/** A verified token's claims, or why it was refused. */
export type VerifyResult = { ok: true; claims: VerifiedClaims } | { ok: false; reason: string };

const HEADER_B64 = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

/** The last secret's key object: the server verifies every token with one secret, so its key is prepared once. */
let lastSecret: string | undefined;
let lastKey: KeyObject | undefined;

function hmac(data: string, secret: string): Buffer {
  if (secret !== lastSecret || !lastKey) {
    lastKey = createSecretKey(Buffer.from(secret, 'utf8'));
    lastSecret = secret;
  }
  return createHmac('sha256', lastKey).update(data).digest();
}

/**
 * Sign an HS256 token. `exp` comes from the claims when given, else now plus
 * `opts.expiresInSec` (seconds, default 3600). `iat` is set to now.
 */
export function signToken(claims: TokenClaims, secret: string, opts: { expiresInSec?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const body = { iat: now, ...claims, exp: claims.exp ?? now + (opts.expiresInSec ?? 3600) };
  const payload = b64url(Buffer.from(JSON.stringify(body)));
  const input = `${HEADER_B64}.${payload}`;
  return `${input}.${b64url(hmac(input, secret))}`;
}

function decodeJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Clock skew allowed for `nbf`, seconds: a token minted on a host a little ahead is still taken. */
const NBF_LEEWAY_SEC = 5;

/** Verify signature (canonical base64url only), algorithm, `sub`, `exp`, `nbf` (and `rooms` shape). Never throws. */
export function verifyToken(token: string, secret: string, nowSec: number = Date.now() / 1000): VerifyResult {
  if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'missing token' };
  if (token.length > 8192) return { ok: false, reason: 'malformed token: too long' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token: expected three dot-separated parts' };
  const [h, p, s] = parts as [string, string, string];
  // Nearly every token carries the one standard header: known without decoding it.
  const header = h === HEADER_B64 ? { alg: 'HS256' } : (decodeJson(h) as { alg?: unknown } | undefined);
  if (!header || typeof header !== 'object') return { ok: false, reason: 'malformed token: bad header' };
  if (header.alg !== 'HS256') return { ok: false, reason: `unsupported algorithm ${JSON.stringify(header.alg)}; expected HS256` };
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return { ok: false, reason: 'malformed token: bad signature encoding' };
  const given = Buffer.from(s, 'base64url');
  // Only the canonical spelling: a signature whose unused low bits are set decodes to the
  // same bytes, so accepting it would make one token valid under several strings.
  if (given.toString('base64url') !== s) return { ok: false, reason: 'malformed token: non-canonical signature encoding' };
  const expected = hmac(`${h}.${p}`, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const claims = decodeJson(p) as Record<string, unknown> | undefined;
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return { ok: false, reason: 'malformed token: bad payload' };
  if (typeof claims.sub !== 'string' || claims.sub === '') return { ok: false, reason: 'token has no sub' };
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return { ok: false, reason: 'token has no exp' };
  if (claims.exp <= nowSec) return { ok: false, reason: 'token expired' };
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf))) return { ok: false, reason: 'token nbf must be a number' };
  if (typeof claims.nbf === 'number' && claims.nbf > nowSec + NBF_LEEWAY_SEC) return { ok: false, reason: 'token not valid yet (nbf in the future)' };
  if (claims.rooms !== undefined && (!Array.isArray(claims.rooms) || !claims.rooms.every((r) => typeof r === 'string'))) {
    return { ok: false, reason: 'token rooms must be an array of strings' };
  }
  return { ok: true, claims: claims as VerifiedClaims };
}

/** Whether the token's room list allows `room` (absent list = every room; trailing `*` = prefix). */
export function roomAllowed(claims: Pick<TokenClaims, 'rooms'>, room: string): boolean {
  const rooms = claims.rooms;
  if (rooms === undefined) return true;
  for (const r of rooms) {
    if (r.endsWith('*') ? room.startsWith(r.slice(0, -1)) : r === room) return true;
  }
  return false;
}
