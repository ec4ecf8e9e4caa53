/**
 * Options of the reference server: one spec per option (the `wsbench serve`
 * flags and `servers/main.ts` flags are exactly these keys), defaults in one
 * place, and a parser that reports every problem at once.
 */
import { DEV_SECRET } from './jwt.ts';

/** Server flavour: `ws` (wsbench/1) or `socketio`. */
export type ServerProtocol = 'ws' | 'socketio';

/** Resolved server options (camelCase of the spec keys). */
export interface ServerOptions {
  /** TCP port, 0 = ephemeral. Default 0. */
  port: number;
  /** Interface to bind. Default 127.0.0.1. */
  host: string;
  /** HS256 secret for tokens. Default DEV_SECRET. */
  secret: string;
  /** Check tokens in the upgrade. Default true. */
  auth: boolean;
  /** WebSocket ping interval in milliseconds, 0 = no heartbeat. Default 30000. */
  heartbeatMs: number;
  /** Token-bucket refill in frames per second per connection, 0 = no limit. Default 100. */
  rate: number;
  /** Token-bucket capacity in frames. Default 200. */
  burst: number;
  /** Dropped frames within 10 s after which the connection is closed with 1008. Default 2 x burst. */
  abuse: number;
  /** Largest inbound frame in bytes; larger closes with 1009. Default 65536. */
  maxPayload: number;
  /** Messages retained per room for resume, 0 = keep nothing. Default 1000. */
  retention: number;
  /** Send presence frames on join and leave. Default false. */
  presence: boolean;
  /** Processes sharing the port (Node cluster). Default 1. */
  workers: number;
  /** With workers > 1: `shared` (the primary accepts on one port) or `per-worker` (each worker also listens on its own port). */
  ports: 'shared' | 'per-worker';
  /** With ports=per-worker: comma-separated ports of the workers, in worker order (default: ephemeral). */
  workerPorts?: string;
  /** Node id reported in the welcome frame and /stats. Default `n0`. */
  nodeId: string;
  /** Artificial delay in milliseconds before each publish is acked and fanned out. Default 0. */
  delayMs: number;
  /** Test fixture: KiB retained on purpose every second (a deliberate leak, capped at 1 GiB), 0 = off. Default 0. */
  leakKibPerSec: number;
  /** ws flavour: bytes queued on one socket after which a member that does not read is cut; 0 = never (a weak server). */
  slowConsumerBytes: number;
  /** Rooms one connection may be in at once. Default 1000. */
  maxRoomsPerConn: number;
  /** Longest room name in UTF-8 bytes. Default 128. */
  maxRoomName: number;
  /** Flavour: `ws` (wsbench/1) or `socketio`. Default ws. */
  protocol: ServerProtocol;
  /** Redis URL for several nodes; undefined = single node. */
  redis?: string;
  /** Prefix of every Redis key and channel (per-deployment namespace). Default `wsb:`. */
  redisPrefix: string;
  /** Exit when stdin reaches EOF (no orphan when the parent dies). Default false. */
  dieWithParent: boolean;
  /** Time in milliseconds a client has to send complete HTTP (upgrade) request headers. Default 10000. */
  headersTimeoutMs: number;
  /** On SIGTERM or close(), time in milliseconds to wait for connections to close before cutting them. Default 5000. */
  drainTimeoutMs: number;
  /** Socket.IO flavour: Engine.IO pingTimeout in milliseconds (how long a ping waits for its pong). Default 20000. */
  pingTimeoutMs: number;
  /** Socket.IO flavour: connection state recovery window in milliseconds, 0 = off. Default 120000. */
  recoveryMs: number;
  /** Socket.IO flavour with `redis`: `redis` (@socket.io/redis-adapter, pub/sub) or `redis-streams`. Default redis. */
  adapter: 'redis' | 'redis-streams';
  /** Deepest nesting of arrays and objects in a decoded payload; deeper answers bad_request. Default 32. */
  maxDepth: number;
  /** Frames (and events, pings) per second shared by every connection of one identity (token `sub`) on a node, 0 = no limit. Default 1000. */
  userRate: number;
  /** The identity bucket's capacity in frames. Default 2000. */
  userBurst: number;
  /** Concurrent connections of one identity on a node. Default 100. */
  maxConnsPerUser: number;
  /** Bytes of retained messages per node (all rooms); the oldest are evicted first. Default 64 MiB. */
  retentionBytes: number;
  /** Bytes of retained messages per room. Default 4 MiB. */
  roomRetentionBytes: number;
  /** Age in milliseconds after which a retained message is evicted, and an idle room with no member forgotten. Default 3600000 (1 h). */
  retentionAgeMs: number;
  /** Socket.IO flavour: private messages queued per offline user. Default 100. */
  offlineMaxPerUser: number;
  /** Socket.IO flavour: bytes of queued private messages per node (or per Redis prefix). Default 16 MiB. */
  offlineBytes: number;
  /** Socket.IO flavour: how long a queued private message waits for its user, in milliseconds. Default 86400000 (24 h). */
  offlineTtlMs: number;
  /** Expiry of a room's Redis seq key after its last publish, in seconds. Default 604800 (7 days). */
  redisTtlS: number;
  /** Socket.IO flavour, single node: bytes of broadcast packets kept for connection state recovery. Default 16 MiB. */
  recoveryBytes: number;
  /** Bytes of traffic in flight (socket reads, frames being decoded) after which the node stops reading until they fall, and the headroom of the RSS backstop (servers/core/memory-guard.ts); 0 = off. Default 16 MiB. */
  inflightBytes: number;
  /** RSS allowed beyond the stores for traffic in motion (socket buffers, parser copies, allocator slack): part of the RSS backstop's ceiling (servers/core/memory-guard.ts). Default 48 MiB. */
  trafficBytes: number;
  /** Serve `wss:`/`https:` (servers/core/tls.ts): self-signed certificate unless `cert`/`key`. Default false. */
  tls: boolean;
  /** PEM certificate file for `tls`; undefined = self-signed. */
  cert?: string;
  /** PEM key file for `tls`; undefined = self-signed. */
  key?: string;
  /** permessage-deflate for clients that offer it (both flavours). Default false. */
  compression: boolean;
}

/** How an option's value is parsed: integer, bare boolean flag, on|off, text or one of `values`. */
export type OptionType = 'int' | 'bool' | 'onoff' | 'string' | 'enum';

/** One server option: its flag, field, type, bounds, default and help text. */
export interface ServerOptionSpec {
  /** Kebab-case key, the same as the `wsbench serve` / servers/main.ts flag. */
  key: string;
  /** The ServerOptions field it sets. */
  field: keyof ServerOptions;
  type: OptionType;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Inclusive bounds for `int`. */
  min?: number;
  max?: number;
  /** Default value; undefined when the default is derived (see description) or absent. */
  default: string | number | boolean | undefined;
  /** One line, with the unit and the default. */
  description: string;
}

/**
 * Every option of the reference server (the `wsbench serve` and servers/main.ts flags), with its default.
 */
export const SERVER_OPTION_SPECS: readonly ServerOptionSpec[] = [
  { key: 'port', field: 'port', type: 'int', min: 0, max: 65535, default: 0, description: 'TCP port to listen on, 0 = ephemeral (default 0)' },
  { key: 'host', field: 'host', type: 'string', default: '127.0.0.1', description: 'interface to bind (default 127.0.0.1)' },
  { key: 'secret', field: 'secret', type: 'string', default: DEV_SECRET, description: 'HS256 secret for JWTs (default: the development secret the harness knows)' },
  { key: 'auth', field: 'auth', type: 'onoff', default: true, description: 'check the JWT in the HTTP upgrade, on|off (default on)' },
  { key: 'heartbeat-ms', field: 'heartbeatMs', type: 'int', min: 0, max: 3_600_000, default: 30000, description: 'WebSocket ping interval in ms, 0 = off; a peer silent for a whole interval is dropped (default 30000)' },
  { key: 'rate', field: 'rate', type: 'int', min: 0, max: 10_000_000, default: 100, description: 'inbound frames per second per connection (token refill), 0 = no limit (default 100)' },
  { key: 'burst', field: 'burst', type: 'int', min: 1, max: 10_000_000, default: 200, description: 'token-bucket capacity in frames (default 200)' },
  { key: 'abuse', field: 'abuse', type: 'int', min: 1, max: 100_000_000, default: undefined, description: 'dropped frames within 10 s before closing with 1008 (default 2 x burst)' },
  { key: 'max-payload', field: 'maxPayload', type: 'int', min: 64, max: 104_857_600, default: 65536, description: 'largest inbound frame in bytes, larger closes with 1009 (default 65536)' },
  { key: 'retention', field: 'retention', type: 'int', min: 0, max: 1_000_000, default: 1000, description: 'messages kept per room for resume, 0 = keep nothing (default 1000)' },
  { key: 'presence', field: 'presence', type: 'bool', default: false, description: 'send presence frames on join and leave (default off)' },
  { key: 'workers', field: 'workers', type: 'int', min: 1, max: 64, default: 1, description: 'processes sharing the port under Node cluster (default 1)' },
  { key: 'ports', field: 'ports', type: 'enum', values: ['shared', 'per-worker'], default: 'shared', description: 'with workers > 1: shared = the primary accepts every connection on one port; per-worker = each worker also accepts on a port of its own, listed at start and in /stats (default shared)' },
  { key: 'worker-ports', field: 'workerPorts', type: 'string', default: undefined, description: 'with ports=per-worker: the workers\' ports, comma-separated, one per worker (default ephemeral)' },
  { key: 'node-id', field: 'nodeId', type: 'string', default: 'n0', description: 'node id reported in the welcome frame and /stats (default n0)' },
  { key: 'leak-kib-per-sec', field: 'leakKibPerSec', type: 'int', min: 0, max: 102_400, default: 0, description: 'test fixture: retain this many KiB every second on purpose (a deliberate memory leak for `wsbench run soak`, capped at 1 GiB; default 0 = off)' },
  { key: 'slow-consumer-bytes', field: 'slowConsumerBytes', type: 'int', min: 0, max: 68_719_476_736, default: 16_777_216, description: 'bytes queued on one socket (Socket.IO: Engine.IO write buffer + websocket) after which a member that does not read is cut, 0 = never cut (a deliberately weak server for `wsbench run slow-consumer`; default 16777216 = 16 MiB)' },
  { key: 'delay-ms', field: 'delayMs', type: 'int', min: 0, max: 60_000, default: 0, description: 'artificial delay in ms before each publish is acked and fanned out, to simulate a slow server (default 0)' },
  { key: 'max-rooms-per-conn', field: 'maxRoomsPerConn', type: 'int', min: 1, max: 1_000_000, default: 1000, description: 'rooms one connection may be in at once (default 1000)' },
  { key: 'max-room-name', field: 'maxRoomName', type: 'int', min: 1, max: 4096, default: 128, description: 'longest room name in UTF-8 bytes (default 128)' },
  { key: 'protocol', field: 'protocol', type: 'enum', values: ['ws', 'socketio'], default: 'ws', description: 'server flavour: ws (wsbench/1) or socketio (default ws)' },
  { key: 'redis', field: 'redis', type: 'string', default: undefined, description: 'Redis URL shared by several nodes (redis://HOST:PORT); default none = single node' },
  { key: 'redis-prefix', field: 'redisPrefix', type: 'string', default: 'wsb:', description: 'prefix of every Redis key and channel, so deployments sharing a Redis do not mix (default wsb:)' },
  { key: 'die-with-parent', field: 'dieWithParent', type: 'bool', default: false, description: 'exit when stdin reaches EOF, so a dead harness leaves no orphan (default off)' },
  { key: 'headers-timeout-ms', field: 'headersTimeoutMs', type: 'int', min: 100, max: 600_000, default: 10000, description: 'time in ms a client has to send complete upgrade request headers (default 10000)' },
  { key: 'drain-timeout-ms', field: 'drainTimeoutMs', type: 'int', min: 0, max: 600_000, default: 5000, description: 'on SIGTERM, time in ms to wait for connections to close before cutting them (default 5000)' },
  { key: 'ping-timeout-ms', field: 'pingTimeoutMs', type: 'int', min: 100, max: 600_000, default: 20000, description: 'socketio: Engine.IO pingTimeout in ms; heartbeat-ms is the pingInterval (default 20000)' },
  { key: 'recovery-ms', field: 'recoveryMs', type: 'int', min: 0, max: 86_400_000, default: 120000, description: 'socketio: connection state recovery window in ms, 0 = off (default 120000)' },
  { key: 'adapter', field: 'adapter', type: 'enum', values: ['redis', 'redis-streams'], default: 'redis', description: 'socketio with --redis: redis (@socket.io/redis-adapter, pub/sub) or redis-streams (default redis)' },
  { key: 'max-depth', field: 'maxDepth', type: 'int', min: 1, max: 1000, default: 32, description: 'deepest nesting of arrays/objects in a payload, deeper answers bad_request (default 32)' },
  { key: 'user-rate', field: 'userRate', type: 'int', min: 0, max: 10_000_000, default: 1000, description: 'frames per second shared by every connection of one identity (token sub) on this node, pings included, 0 = no limit (default 1000)' },
  { key: 'user-burst', field: 'userBurst', type: 'int', min: 1, max: 10_000_000, default: 2000, description: 'capacity of the per-identity bucket in frames (default 2000)' },
  { key: 'max-conns-per-user', field: 'maxConnsPerUser', type: 'int', min: 1, max: 1_000_000, default: 100, description: 'concurrent connections of one identity on this node; more are refused (default 100)' },
  { key: 'retention-bytes', field: 'retentionBytes', type: 'int', min: 0, max: 68_719_476_736, default: 67_108_864, description: 'bytes of retained messages per node, oldest evicted first (default 67108864 = 64 MiB)' },
  { key: 'room-retention-bytes', field: 'roomRetentionBytes', type: 'int', min: 0, max: 68_719_476_736, default: 4_194_304, description: 'bytes of retained messages per room (default 4194304 = 4 MiB)' },
  { key: 'retention-age-ms', field: 'retentionAgeMs', type: 'int', min: 1000, max: 2_592_000_000, default: 3_600_000, description: 'retained messages older than this are evicted, idle rooms with no member forgotten, in ms (default 3600000)' },
  { key: 'offline-max-per-user', field: 'offlineMaxPerUser', type: 'int', min: 0, max: 1_000_000, default: 100, description: 'socketio: private messages queued per offline user; a full queue refuses with queue_full (default 100)' },
  { key: 'offline-bytes', field: 'offlineBytes', type: 'int', min: 0, max: 68_719_476_736, default: 16_777_216, description: 'socketio: bytes of queued private messages per node (default 16777216 = 16 MiB)' },
  { key: 'offline-ttl-ms', field: 'offlineTtlMs', type: 'int', min: 1000, max: 2_592_000_000, default: 86_400_000, description: 'socketio: a queued private message expires after this many ms (default 86400000)' },
  { key: 'recovery-bytes', field: 'recoveryBytes', type: 'int', min: 0, max: 68_719_476_736, default: 16_777_216, description: 'socketio: bytes of packets kept for connection state recovery, oldest dropped first (default 16777216 = 16 MiB)' },
  { key: 'inflight-bytes', field: 'inflightBytes', type: 'int', min: 0, max: 68_719_476_736, default: 16_777_216, description: 'bytes of traffic in flight (socket reads, frames being decoded) after which the node stops reading from sockets until they fall to half; also pauses reading when RSS nears idle + the memory caps + this (the RSS backstop); 0 = off (default 16777216 = 16 MiB)' },
  { key: 'traffic-bytes', field: 'trafficBytes', type: 'int', min: 0, max: 68_719_476_736, default: 50_331_648, description: 'RSS allowed beyond the memory caps for traffic in motion (socket buffers, parser copies, allocator slack): the RSS backstop pauses reading near idle + the caps + --inflight-bytes + this; off with --inflight-bytes 0 (default 50331648 = 48 MiB)' },
  { key: 'tls', field: 'tls', type: 'bool', default: false, description: 'serve wss:// (https:// for socketio) with a self-signed certificate made at start, or --cert/--key (default off)' },
  { key: 'cert', field: 'cert', type: 'string', default: undefined, description: 'with --tls: PEM certificate file (default: a self-signed certificate for localhost and 127.0.0.1)' },
  { key: 'key', field: 'key', type: 'string', default: undefined, description: 'with --tls: PEM private key file of --cert (default: the self-signed certificate\'s)' },
  { key: 'compression', field: 'compression', type: 'onoff', default: false, description: 'permessage-deflate for clients that offer it, on|off (default off)' },
  { key: 'redis-ttl-s', field: 'redisTtlS', type: 'int', min: 60, max: 31_536_000, default: 604_800, description: 'Redis keys of a room expire this many seconds after its last publish (default 604800 = 7 days)' },
];

/** Defaults of every option (abuse derived from burst by resolveServerOptions). */
export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  port: 0,
  host: '127.0.0.1',
  secret: DEV_SECRET,
  auth: true,
  heartbeatMs: 30000,
  rate: 100,
  burst: 200,
  abuse: 400,
  maxPayload: 65536,
  retention: 1000,
  presence: false,
  workers: 1,
  ports: 'shared',
  workerPorts: undefined,
  nodeId: 'n0',
  delayMs: 0,
  leakKibPerSec: 0,
  slowConsumerBytes: 16_777_216,
  maxRoomsPerConn: 1000,
  maxRoomName: 128,
  protocol: 'ws',
  redis: undefined,
  redisPrefix: 'wsb:',
  dieWithParent: false,
  headersTimeoutMs: 10000,
  drainTimeoutMs: 5000,
  pingTimeoutMs: 20000,
  recoveryMs: 120000,
  adapter: 'redis',
  maxDepth: 32,
  userRate: 1000,
  userBurst: 2000,
  maxConnsPerUser: 100,
  retentionBytes: 67_108_864,
  roomRetentionBytes: 4_194_304,
  retentionAgeMs: 3_600_000,
  offlineMaxPerUser: 100,
  offlineBytes: 16_777_216,
  offlineTtlMs: 86_400_000,
  redisTtlS: 604_800,
  recoveryBytes: 16_777_216,
  inflightBytes: 16_777_216,
  trafficBytes: 50_331_648,
  tls: false,
  cert: undefined,
  key: undefined,
  compression: false,
});

/** Fill a partial option set with the defaults; `abuse` defaults to 2 x burst. */
export function resolveServerOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<ServerOptions>;
  const burst = defined.burst ?? DEFAULT_SERVER_OPTIONS.burst;
  return { ...DEFAULT_SERVER_OPTIONS, abuse: 2 * burst, ...defined };
}

/** The ports of `worker-ports`, one per worker (empty when not given: ephemeral). */
export function workerPortList(options: Pick<ServerOptions, 'workerPorts'>): number[] {
  return options.workerPorts === undefined ? [] : options.workerPorts.split(',').map(Number);
}

function workerPortsProblems(options: ServerOptions): string[] {
  const ports = workerPortList(options);
  if (options.ports !== 'per-worker' || options.workers < 2) return ['worker-ports: needs --ports per-worker and --workers 2 or more'];
  if (ports.length !== options.workers) return [`worker-ports: ${ports.length} port(s) given for ${options.workers} workers; give one per worker`];
  if (ports.some((p) => p > 65535)) return ['worker-ports: a port is above 65535'];
  return [];
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
const NODE_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parse raw option strings (keys as the flags, without dashes). Returns the
 * resolved options and every problem found; options are only meaningful when
 * `errors` is empty.
 */
export function parseServerOptions(raw: Record<string, string>): { options: ServerOptions; errors: string[] } {
  const errors: string[] = [];
  const out: Partial<ServerOptions> = {};
  const known = SERVER_OPTION_SPECS.map((s) => s.key);
  for (const [key, value] of Object.entries(raw)) {
    const spec = SERVER_OPTION_SPECS.find((s) => s.key === key);
    if (!spec) {
      errors.push(`unknown option "${key}" (value ${JSON.stringify(value)}); known options: ${known.join(', ')}`);
      continue;
    }
    const v = String(value).trim();
    const set = (x: unknown) => ((out as Record<string, unknown>)[spec.field] = x);
    switch (spec.type) {
      case 'int': {
        const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
        const min = spec.min ?? Number.MIN_SAFE_INTEGER;
        const max = spec.max ?? Number.MAX_SAFE_INTEGER;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
          errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected an integer from ${min} to ${max}`);
        } else set(n);
        break;
      }
      case 'bool':
      case 'onoff': {
        const w = v.toLowerCase();
        if (TRUE_WORDS.has(w)) set(true);
        else if (FALSE_WORDS.has(w)) set(false);
        else errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected ${spec.type === 'onoff' ? 'on or off' : 'true or false (or on/off, yes/no, 1/0)'}`);
        break;
      }
      case 'enum': {
        if (spec.values?.includes(v)) set(v);
        else errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected one of ${spec.values?.join(', ')}`);
        break;
      }
      case 'string': {
        if (v === '') {
          errors.push(`${key}: an empty value is not allowed; expected a non-empty string`);
        } else if (key === 'node-id' && !NODE_ID_RE.test(v)) {
          errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected 1-64 characters from A-Z a-z 0-9 _ . -`);
        } else if (key === 'redis' && !/^rediss?:\/\/\S+$/.test(v)) {
          errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected a URL like redis://127.0.0.1:6379`);
        } else if (key === 'redis-prefix' && !/^[A-Za-z0-9_.:-]{1,64}$/.test(v)) {
          errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected 1-64 characters from A-Z a-z 0-9 _ . : -`);
        } else if (key === 'worker-ports' && !/^\d{1,5}(,\d{1,5})*$/.test(v)) {
          errors.push(`${key}: ${JSON.stringify(value)} is not allowed; expected ports separated by commas, like 4001,4002`);
        } else set(v);
        break;
      }
    }
  }
  const options = resolveServerOptions(out);
  if (options.workerPorts !== undefined) errors.push(...workerPortsProblems(options));
  return { options, errors };
}
