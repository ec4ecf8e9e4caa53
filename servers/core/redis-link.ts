/**
 * The Redis bus's connections and their state machine (servers/core/redis-bus.ts):
 * a command connection (offline queue off, so a command while Redis is away fails
 * at once) and a subscriber, both reconnected by ioredis; after every (re)connect
 * the room seqs are restored, and after Redis lost its data publishes wait
 * RESTORE_SETTLE_MS.
 *
 *   connecting --cmd ready--> restoring --epoch unchanged--> ready
 *                                       --new epoch--------> settling --timer--> ready
 *   any --cmd close--> connecting;  any --close()--> closed
 */
import { Redis } from 'ioredis';
import { redactIn, redactUrl } from './redact.ts';
import { APPEND_PUBLISH, EPOCH, FLOORS, NEXT_APPEND } from './redis-wire.ts';

/**
 * After Redis lost its data, nodes refuse publishes for this long (milliseconds)
 * from the moment the new epoch was set, so every reconnecting node has raised
 * the room sequences to what it knows before anyone allocates again. Longer
 * than the reconnect back-off cap (RETRY_CAP_MS).
 */
export const RESTORE_SETTLE_MS = 1500;
/** Reconnect back-off cap in milliseconds (ioredis retries 50, 100, ... up to this). */
export const RETRY_CAP_MS = 500;
/** Rooms per FLOORS script call. */
const BATCH = 500;

/** Thrown (as a rejection) by bus operations while Redis is unavailable; the server answers `unavailable`. */
export class BusUnavailableError extends Error {
  readonly code = 'unavailable';
  constructor(reason: string) {
    super(reason);
    this.name = 'BusUnavailableError';
  }
}

/** Where the link is (see the diagram at the top of this file). */
export type LinkState = 'connecting' | 'restoring' | 'settling' | 'ready' | 'closed';

/** The command connection with the bus's scripts defined on it. */
export type ScriptedRedis = Redis & {
  wsbAppend(key: string, seqKey: string, retention: number, seq: number, text: string, channel: string, wire: string, retTtlMs: number, seqTtlS: number): Promise<number>;
  wsbEpoch(key: string, suffix: string): Promise<[string, string]>;
  wsbNextAppend(seqKey: string, retKey: string, retention: number, prefix: string, suffix: string, channel: string, header: string, retTtlMs: number, seqTtlS: number): Promise<number>;
};

/** Counters the link increments (part of RedisBusStats). */
export interface LinkCounters {
  refused: number;
  reconnects: number;
  restores: number;
}

/**
 * What the Redis link needs: the URL, the bus id and the keys and channel it restores and subscribes to.
 */
export interface RedisLinkOptions {
  /** `redis://...`; printed only redacted. */
  url: string;
  /** The bus id (connection names, the epoch's suffix). */
  id: string;
  /** The fan-out channel the subscriber subscribes to. */
  channel: string;
  epochKey: string;
  seqKey(room: string): string;
  /** Room seqs this node knows (restored as floors after every reconnect). */
  floors(): Array<[string, number]>;
  /** After the subscriber came back: read what was published meanwhile. */
  catchUp(): Promise<void>;
  /** A channel payload arrived. */
  onMessage(raw: string): void;
  counters: LinkCounters;
  log(line: string): void;
}

/** The Redis bus's two connections (commands, subscriber) and their state (see the module comment). */
export interface RedisLink {
  readonly cmd: ScriptedRedis;
  readonly sub: Redis;
  state(): LinkState;
  /** Why the link cannot serve now, undefined when it can (password redacted). */
  healthReason(): string | undefined;
  /** Throw BusUnavailableError (and count it) unless the link is ready for commands. */
  guard(): void;
  /** Rethrow a command failure, as BusUnavailableError when it is Redis being away. */
  unavailable(err: unknown): never;
  /** Resolves once both connections are ready and room seqs restored; rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The two connections, not connected yet (lazyConnect), scripts defined on the command one. */
function createConnections(url: string, id: string): { cmd: ScriptedRedis; sub: Redis } {
  const retryStrategy = (times: number) => Math.min(times * 50, RETRY_CAP_MS);
  const cmd = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Fail commands in flight when the connection drops instead of resending them
    // later: a resent INCR would allocate a seq nobody is waiting for.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy,
    connectionName: `${id}-cmd`,
  });
  const sub = new Redis(url, {
    lazyConnect: true,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    retryStrategy,
    connectionName: `${id}-sub`,
  });
  cmd.defineCommand('wsbAppend', { numberOfKeys: 2, lua: APPEND_PUBLISH });
  cmd.defineCommand('wsbEpoch', { numberOfKeys: 1, lua: EPOCH });
  cmd.defineCommand('wsbNextAppend', { numberOfKeys: 2, lua: NEXT_APPEND });
  return { cmd: cmd as ScriptedRedis, sub };
}

/** Create both connections and start connecting. */
export function createRedisLink(o: RedisLinkOptions): RedisLink {
  const { cmd, sub } = createConnections(o.url, o.id);
  const { counters, log } = o;
  const shownUrl = redactUrl(o.url);
  let state: LinkState = 'connecting';
  let subReady = false;
  let everSubReady = false;
  let everCmdReady = false;
  let lastError = '';
  let epoch: string | undefined;
  let settleTimer: NodeJS.Timeout | null = null;
  let restoreTimer: NodeJS.Timeout | null = null;
  const readyWaiters = new Set<() => void>();

  const isUp = () => state === 'ready' && subReady;
  const notifyReady = () => {
    if (isUp()) for (const w of [...readyWaiters]) w();
  };
  const becomeReady = () => {
    state = 'ready';
    notifyReady();
  };

  /** Raise every room seq this node knows to at least what it knows (Redis may have restarted empty); resolves with the settle wait in ms. */
  const restore = async (): Promise<number> => {
    const [value, nowStr] = await cmd.wsbEpoch(o.epochKey, o.id);
    const changed = epoch !== undefined && value !== epoch;
    epoch = value;
    const rooms = o.floors();
    for (let i = 0; i < rooms.length; i += BATCH) {
      const batch = rooms.slice(i, i + BATCH);
      await cmd.eval(FLOORS, batch.length, ...batch.map(([r]) => o.seqKey(r)), ...batch.map(([, max]) => max));
    }
    if (!changed) return 0;
    counters.restores++;
    log(`wsbench redis bus: Redis lost its data (new epoch); restored ${rooms.length} room seqs, publishes resume after ${RESTORE_SETTLE_MS} ms`);
    const created = Number(value.slice(0, value.indexOf(':')));
    return Math.max(0, created + RESTORE_SETTLE_MS - Number(nowStr));
  };

  const runRestore = () => {
    if (state === 'closed' || cmd.status !== 'ready') return;
    state = 'restoring';
    restore().then(
      (settleMs) => {
        if (state !== 'restoring') return;
        if (settleMs <= 0) return becomeReady();
        state = 'settling';
        settleTimer = setTimeout(() => {
          settleTimer = null;
          if (state === 'settling') becomeReady();
        }, settleMs);
        settleTimer.unref();
      },
      (err) => {
        lastError = (err as Error).message;
        log(`wsbench redis bus: restoring room seqs failed: ${lastError}; retrying`);
        if (state === 'restoring') state = 'connecting';
        restoreTimer = setTimeout(runRestore, RETRY_CAP_MS);
        restoreTimer.unref();
      },
    );
  };

  const onMessage = (_ch: string, raw: string) => o.onMessage(raw);
  sub.on('message', onMessage);
  cmd.on('ready', () => {
    if (everCmdReady) {
      counters.reconnects++;
      log('wsbench redis bus: command connection to Redis is back');
    }
    everCmdReady = true;
    runRestore();
  });
  sub.on('ready', () => {
    const again = everSubReady;
    if (again) counters.reconnects++;
    everSubReady = true;
    sub.subscribe(o.channel).then(
      async () => {
        subReady = true;
        notifyReady();
        if (again) {
          log('wsbench redis bus: subscriber connection to Redis is back; catching up');
          await o.catchUp().catch((err) => log(`wsbench redis bus: catch-up failed: ${(err as Error).message}`));
        }
      },
      (err) => {
        lastError = (err as Error).message;
        log(`wsbench redis bus: SUBSCRIBE failed: ${lastError}`);
        sub.disconnect(true);
      },
    );
  });
  const onDown = (which: 'cmd' | 'sub') => () => {
    if (which === 'sub') {
      if (subReady) log('wsbench redis bus: subscriber connection to Redis lost; reconnecting');
      subReady = false;
    } else if (state !== 'closed') {
      if (state !== 'connecting') log('wsbench redis bus: command connection to Redis lost; reconnecting');
      state = 'connecting';
      if (settleTimer) clearTimeout(settleTimer);
      settleTimer = null;
    }
  };
  cmd.on('close', onDown('cmd'));
  sub.on('close', onDown('sub'));
  const onError = (err: Error) => {
    lastError = redactIn(err.message, o.url);
  };
  cmd.on('error', onError);
  sub.on('error', onError);
  cmd.connect().catch(() => {});
  sub.connect().catch(() => {});

  const healthReason = (): string | undefined => {
    if (state === 'closed') return 'redis bus closed';
    const why = lastError ? `: ${lastError}` : '';
    if (state === 'connecting') return `redis unreachable at ${shownUrl} (${cmd.status})${why}`;
    if (state === 'restoring') return 'redis reconnected; restoring room sequences';
    if (state === 'settling') return 'redis lost its data; waiting for every node to restore room sequences';
    if (!subReady) return `redis subscription down at ${shownUrl} (${sub.status})${why}`;
    return undefined;
  };

  return {
    cmd,
    sub,
    state: () => state,
    healthReason,
    guard() {
      if (state !== 'ready') {
        counters.refused++;
        throw new BusUnavailableError(healthReason() ?? 'redis unavailable');
      }
    },
    unavailable(err: unknown): never {
      if (err instanceof BusUnavailableError) throw err;
      const msg = (err as Error).message ?? String(err);
      // Connection-level failures are Redis being away, not a bug: report them as unavailable.
      if (cmd.status !== 'ready' || /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE/.test(msg)) {
        counters.refused++;
        throw new BusUnavailableError(`redis unavailable: ${msg}`);
      }
      throw err;
    },
    ready(timeoutMs) {
      if (isUp()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          readyWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(done);
          reject(new Error(`Redis at ${shownUrl} not reachable within ${timeoutMs} ms${lastError ? `: ${lastError}` : ''}`));
        }, timeoutMs);
        readyWaiters.add(done);
      });
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      if (settleTimer) clearTimeout(settleTimer);
      if (restoreTimer) clearTimeout(restoreTimer);
      sub.off('message', onMessage);
      const quit = (r: Redis) => (r.status === 'ready' ? r.quit().then(() => {}, () => r.disconnect()) : Promise.resolve(r.disconnect()));
      await Promise.all([quit(cmd), quit(sub)]);
    },
  };
}
