/**
 * Client-side token minting: HS256 JSON Web Tokens (RFC 7519) signed with
 * node:crypto, for `--secret` and the bundled server.
 *
 * The harness mints tokens as any client of any server would, so it does not
 * import the reference server's code (servers/ and src/ stay apart); agreement
 * with the bundled server is by the standard, and test/protocol/jwt.test.ts
 * checks that the server verifies these tokens and that the default secrets match.
 */
import { createHmac } from 'node:crypto';

/**
 * The development secret, equal to the bundled server's default, so a newcomer's
 * run works with no setup. Never use it in production.
 */
export const DEV_SECRET = 'wsbench-dev-secret-do-not-use-in-production';

/** Claims of a minted token: `sub` (user id) is required; `exp` (seconds since the epoch) is set when absent. */
export interface TokenClaims {
  sub: string;
  /** Allowed rooms on the bundled server; a trailing `*` is a prefix match; absent = every room. */
  rooms?: string[];
  exp?: number;
  [k: string]: unknown;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * Sign `claims` with HMAC-SHA256. `iat` is now; `exp` is the claims' own, else now
 * plus `expiresInSec` (seconds, default 3600).
 */
export function mintToken(claims: TokenClaims, secret: string, { expiresInSec = 3600 }: { expiresInSec?: number } = {}): string {
  const iat = Math.floor(Date.now() / 1000);
  const payload = Buffer.from(JSON.stringify({ iat, ...claims, exp: claims.exp ?? iat + expiresInSec })).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url');
  return `${HEADER}.${payload}.${signature}`;
}
