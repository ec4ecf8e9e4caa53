/**
 * Limits per identity (the token's `sub`), shared by every connection of that
 * identity on this node (docs/SECURITY.md "Limits per identity"): a token bucket
 * every inbound frame, event and ping also takes from, and a cap on concurrent
 * connections. An identity's record outlives its connections until its bucket
 * has refilled, so reconnecting never hands out a fresh bucket. Per node: two
 * nodes behind a balancer each grant the full limit.
 */
import { takeToken, type Bucket } from './rate-limit.ts';

/** One identity's shared state. */
export interface Identity extends Bucket {
  readonly user: string;
  /** Open connections of this identity on this node. */
  conns: number;
}

/**
 * Limits per identity (token `sub`) on this node: `--user-rate`, `--user-burst`, `--max-conns-per-user`, `--abuse`.
 */
export interface IdentityLimits {
  /** Frames per second per identity, 0 = no limit. */
  userRate: number;
  /** Bucket capacity in frames. */
  userBurst: number;
  /** Concurrent connections per identity. */
  maxConnsPerUser: number;
  /** Dropped frames within 10 s after which the caller closes the connection. */
  abuse: number;
}

/** The identities of this node with their shared bucket and connection count. */
export interface IdentityRegistry {
  /** Open a connection for `user`: its identity, or undefined when the identity has `maxConnsPerUser` open already. */
  open(user: string, now: number): Identity | undefined;
  /** The connection closed (call once per successful open). */
  release(id: Identity): void;
  /** Take a token from the identity's bucket (see takeToken). */
  take(id: Identity, now: number): 'ok' | 'dropped' | 'abuse';
  /** Forget identities with no connection whose bucket is full again (called by the sweep; exposed for tests). */
  sweep(now: number): void;
  /** Identities remembered (for /stats). */
  size(): number;
  /** Stop the sweep timer. */
  stop(): void;
}

/** How often idle identities are forgotten, ms. */
const SWEEP_MS = 5000;

/**
 * A registry of identities under `limits`; a timer (unref'd) forgets idle identities whose bucket is full again.
 */
export function createIdentityRegistry(limits: IdentityLimits): IdentityRegistry {
  const ids = new Map<string, Identity>();
  const bucketOpts = { rate: limits.userRate, burst: limits.userBurst, abuse: limits.abuse };
  const refilled = (id: Identity, now: number) => limits.userRate <= 0 || id.tokens + ((now - id.refillAt) * limits.userRate) / 1000 >= limits.userBurst;
  const sweep = (now: number) => {
    for (const [user, id] of ids) if (id.conns === 0 && refilled(id, now)) ids.delete(user);
  };
  const timer = setInterval(() => sweep(Date.now()), SWEEP_MS);
  timer.unref();
  return {
    open(user, now) {
      let id = ids.get(user);
      if (!id) ids.set(user, (id = { user, conns: 0, tokens: limits.userBurst, refillAt: now, abuseStart: 0, abuseCount: 0 }));
      if (id.conns >= limits.maxConnsPerUser) return undefined;
      id.conns++;
      return id;
    },
    release(id) {
      id.conns = Math.max(0, id.conns - 1);
    },
    take: (id, now) => takeToken(id, now, bucketOpts),
    sweep,
    size: () => ids.size,
    stop: () => clearInterval(timer),
  };
}

/**
 * Both buckets of a frame: the connection's (rate/burst) and its identity's
 * (userRate/userBurst). The worse verdict wins; the identity is only charged
 * when the connection's bucket let the frame through. `rate` 0 switches rate
 * limiting off altogether (both buckets), as it always did.
 */
export function admitFrame(conn: Bucket, id: Identity, registry: IdentityRegistry, now: number, opts: { rate: number; burst: number; abuse: number }): 'ok' | 'dropped' | 'abuse' {
  if (opts.rate <= 0) return 'ok';
  const own = takeToken(conn, now, opts);
  if (own !== 'ok') return own;
  return registry.take(id, now);
}
