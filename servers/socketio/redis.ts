/**
 * Several Socket.IO nodes sharing one Redis: the adapter that relays room
 * broadcasts between nodes (`@socket.io/redis-adapter` over pub/sub, or
 * `@socket.io/redis-streams-adapter` over one stream), the offline queue in
 * Redis lists, and their health for /healthz.
 */
import { Redis } from 'ioredis';
import { redactIn, redactUrl } from '../core/redact.ts';
import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { ServerOptions } from '../core/options.ts';
import { createRedisQueue } from './offline-queue.ts';
import type { SocketIoCluster } from './server.ts';

/** Key prefix (pub/sub channels) and stream name of the adapters, so they never meet the native flavour's keys. */
const PUBSUB_KEY = 'wsb-sio';
const STREAM_NAME = 'wsb:sio:stream';
/** Entries kept in the stream (XADD MAXLEN ~): bounds Redis memory and the recovery horizon. */
const STREAM_MAX_LEN = 100_000;
/** How long a cross-node request (fetchSockets, serverSideEmit with ack) waits for the other nodes. */
const REQUESTS_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 5000;

/**
 * `retries`: how many reconnections a command waits through before it fails;
 * null = it waits for Redis to come back. The pub/sub adapter publishes without
 * handling the promise (@socket.io/redis-adapter 8.3), so a publish failing while
 * Redis is away would be an unhandled rejection and end the process: its client
 * never fails a command.
 */
function client(url: string, log: (l: string) => void, name: string, retries: number | null = 2): Redis {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: retries, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (n) => Math.min(100 * n, 2000) });
  let down = false;
  r.on('error', (e: Error) => {
    if (!down) log(`wsbench server: redis (${name}) ${e.message}`);
    down = true;
  });
  r.on('ready', () => (down = false));
  return r;
}

/**
 * Keep the reply promise of the publisher's last PUBLISH (the adapter drops it); the
 * returned function hands it over once (servers/socketio/relay-gate.ts).
 */
function capturePublishes(pub: Redis): () => Promise<unknown> | undefined {
  let last: Promise<unknown> | undefined;
  const publish = pub.publish.bind(pub) as (...args: unknown[]) => Promise<unknown>;
  (pub as unknown as { publish: (...args: unknown[]) => Promise<unknown> }).publish = (...args) => (last = publish(...args));
  return () => {
    const p = last;
    last = undefined;
    return p;
  };
}

/**
 * Connect to `options.redis` and build the Socket.IO adapter (`--adapter redis` or `redis-streams`), the offline queue in Redis and their health; on failure disconnects what it opened and throws naming the (redacted) URL.
 */
export async function createRedisCluster(options: ServerOptions, log: (l: string) => void): Promise<SocketIoCluster> {
  const url = options.redis!;
  const main = client(url, log, 'commands');
  const clients: Redis[] = [main];
  try {
    await main.connect();
    let adapter: SocketIoCluster['adapter'];
    let recovery: boolean;
    let takePublish: SocketIoCluster['takePublish'];
    if (options.adapter === 'redis-streams') {
      // One client: the adapter duplicates it for its blocking XREAD.
      adapter = createStreamsAdapter(main, { streamName: STREAM_NAME, maxLen: STREAM_MAX_LEN }) as SocketIoCluster['adapter'];
      recovery = true;
    } else {
      const pub = client(url, log, 'publisher', null);
      const sub = client(url, log, 'subscriber');
      clients.push(pub, sub);
      await Promise.all([pub.connect(), sub.connect()]);
      takePublish = capturePublishes(pub);
      adapter = createPubSubAdapter(pub, sub, { key: PUBSUB_KEY, requestsTimeout: REQUESTS_TIMEOUT_MS }) as SocketIoCluster['adapter'];
      // Pub/sub keeps nothing, so a session cannot be restored (the adapter does not implement it).
      recovery = false;
    }
    return {
      adapter,
      recovery,
      takePublish,
      queue: createRedisQueue(main, { maxPerUser: options.offlineMaxPerUser, maxBytes: options.offlineBytes, ttlMs: options.offlineTtlMs }, options.redisPrefix),
      health() {
        const bad = clients.find((c) => c.status !== 'ready');
        return bad ? { ok: false, reason: `redis ${bad.status}` } : { ok: true };
      },
      async close() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  } catch (err) {
    for (const c of clients) c.disconnect();
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${redactIn((err as Error).message, url)}`);
  }
}
