/**
 * Admission of a new connection, shared by both flavours (docs/SECURITY.md):
 * verify the token (or name an anonymous user with auth off), then take a
 * connection slot of the identity (`max-conns-per-user`). The flavours differ
 * only in where the token comes from and how a refusal is written.
 */
import { verifyToken } from './jwt.ts';
import type { Identity, IdentityRegistry } from './identities.ts';

/**
 * The outcome of admitting a connection: its user, room allow-list, expiry and identity, or why it is refused.
 */
export type Admission =
  | {
      ok: true;
      user: string;
      /** The token's room allow-list (absent = every room). */
      rooms?: string[];
      /** Token expiry in ms since the epoch; Infinity with auth off (the connection never expires). */
      expMs: number;
      /** The identity's shared limits; release it when the connection ends. */
      identity: Identity;
    }
  | { ok: false; status: 401 | 429; code: 'unauthorized' | 'too_many_connections'; reason: string };

/** Admission of new connections, shared by both flavours (see the module comment). */
export interface Authenticator {
  /** Admit a connection presenting `token` (undefined = none; `malformed` says why a present token is unusable). */
  admit(token: string | undefined, malformed?: string): Admission;
}

/**
 * An authenticator: verifies HS256 tokens with `secret` (with `auth` off, names an anonymous user), then takes one of the identity's `maxConnsPerUser` slots; `onCapRefusal` is called for each refusal by that cap.
 */
export function createAuthenticator(opts: { auth: boolean; secret: string; maxConnsPerUser: number }, identities: IdentityRegistry, onCapRefusal: () => void): Authenticator {
  let anonCounter = 0;
  return {
    admit(token, malformed) {
      const verified = token ? verifyToken(token, opts.secret) : ({ ok: false, reason: malformed ?? 'missing token' } as const);
      let user: string;
      let rooms: string[] | undefined;
      let expMs = Infinity;
      if (verified.ok) {
        user = verified.claims.sub;
        rooms = verified.claims.rooms;
        if (opts.auth) expMs = verified.claims.exp * 1000;
      } else if (opts.auth) {
        return { ok: false, status: 401, code: 'unauthorized', reason: verified.reason };
      } else {
        user = `anon-${++anonCounter}`;
      }
      const identity = identities.open(user, Date.now());
      if (!identity) {
        onCapRefusal();
        return { ok: false, status: 429, code: 'too_many_connections', reason: `too many connections for this identity: at most ${opts.maxConnsPerUser} (max-conns-per-user)` };
      }
      return { ok: true, user, rooms, expMs, identity };
    },
  };
}
