/**
 * Option merging: built-in defaults < scenario defaults < CLI flags and `--set`.
 * Every problem is collected and reported at once, each with what is allowed.
 */
import type { CommonOptions, OptionSpec, ScenarioDefinition } from './types.ts';
import { parseSocketIoNames } from '../protocol/socketio-names.ts';
import { mappedCodecProblems } from '../protocol/mapped.ts';
import { caProblem } from '../protocol/tls-client.ts';
import { conditionProblems } from './conditions.ts';
import { parseBool, parseBytes, parseCount, parseDuration, parseRate, parseShare, type Parsed } from '../units/index.ts';

/** Built-in defaults of the common options. */
export const DEFAULT_OPTIONS: CommonOptions = {
  clients: 1000,
  rooms: 10,
  duration: 20_000,
  warmup: 2000,
  cooldown: 1500,
  ramp: 1000,
  maxInflight: 256,
  rate: 100,
  payloadBytes: 100,
  publishers: 1,
  seed: 0,
  reconnect: true,
  backoffBaseMs: 100,
  backoffCapMs: 5000,
  jitter: 'full',
  requestTimeoutMs: 10_000,
  clientTimeoutMs: 0,
  transports: 'websocket',
  sioNames: '',
  wsFields: '',
  wsTypes: '',
  wsToken: 'query',
  adapter: '',
  client: 'raw',
  insecure: false,
  ca: '',
  compression: 'off',
  compressionBits: 15,
  binary: 'off',
  slow: '',
  slowAfter: 0,
  slowRooms: 1,
  net: '',
};

/** The common options as option specs: how each is parsed from a flag or `--set` value. */
export const COMMON_OPTION_SPECS: Record<keyof CommonOptions, OptionSpec> = {
  clients: { type: 'count', default: DEFAULT_OPTIONS.clients, description: 'virtual clients', min: 1 },
  rooms: { type: 'count', default: DEFAULT_OPTIONS.rooms, description: 'rooms the clients are spread over', min: 1 },
  duration: { type: 'duration', default: DEFAULT_OPTIONS.duration, description: 'measured steady phase', min: 1 },
  warmup: { type: 'duration', default: DEFAULT_OPTIONS.warmup, description: 'unmeasured warm-up after the ramp' },
  cooldown: { type: 'duration', default: DEFAULT_OPTIONS.cooldown, description: 'drain time after publishing stops' },
  ramp: { type: 'rate', default: DEFAULT_OPTIONS.ramp, description: 'new connections per second', min: 0.001 },
  maxInflight: { type: 'count', default: DEFAULT_OPTIONS.maxInflight, description: 'handshakes in flight per worker', min: 1 },
  rate: { type: 'rate', default: DEFAULT_OPTIONS.rate, description: 'publishes per second (open model)', min: 0 },
  payloadBytes: { type: 'bytes', default: DEFAULT_OPTIONS.payloadBytes, description: 'padding per payload', min: 0, max: 16 * 1024 * 1024 },
  publishers: { type: 'count', default: DEFAULT_OPTIONS.publishers, description: 'publishers per room', min: 0 },
  seed: { type: 'count', default: DEFAULT_OPTIONS.seed, description: 'random seed (0 = pick one)' },
  reconnect: { type: 'bool', default: DEFAULT_OPTIONS.reconnect, description: 'reconnect after unexpected closes' },
  backoffBaseMs: { type: 'duration', default: DEFAULT_OPTIONS.backoffBaseMs, description: 'reconnect backoff base', min: 1 },
  backoffCapMs: { type: 'duration', default: DEFAULT_OPTIONS.backoffCapMs, description: 'reconnect backoff cap', min: 1 },
  jitter: { type: 'string', default: DEFAULT_OPTIONS.jitter, description: 'backoff jitter', values: ['none', 'full', 'equal', 'decorrelated'] },
  requestTimeoutMs: { type: 'duration', default: DEFAULT_OPTIONS.requestTimeoutMs, description: 'timeout of joins, acks and pings', min: 1 },
  clientTimeoutMs: { type: 'duration', default: DEFAULT_OPTIONS.clientTimeoutMs, description: 'client-side liveness timeout (0 = off)', min: 0 },
  transports: { type: 'string', default: DEFAULT_OPTIONS.transports, description: 'Socket.IO transports', values: ['websocket', 'polling', 'polling,websocket', 'websocket,polling'] },
  wsFields: { type: 'string', default: DEFAULT_OPTIONS.wsFields, description: 'native field names, e.g. type=op,id=ref,room=channel,payload=body,seq=offset' },
  wsTypes: { type: 'string', default: DEFAULT_OPTIONS.wsTypes, description: 'native message type names, e.g. join=sub,joined=subbed,publish=pub,ack=puback,message=event,welcome=none' },
  wsToken: { type: 'string', default: DEFAULT_OPTIONS.wsToken, description: 'where a native client sends its token', values: ['query', 'header'] },
  adapter: { type: 'string', default: DEFAULT_OPTIONS.adapter, description: 'a module exporting a codec for the server\'s dialect (--adapter FILE)' },
  sioNames: { type: 'string', default: DEFAULT_OPTIONS.sioNames, description: 'Socket.IO event/field names, e.g. join=subscribe,publish=send' },
  insecure: { type: 'bool', default: DEFAULT_OPTIONS.insecure, description: 'raw client, wss: accept any server certificate (a self-signed test server)' },
  ca: { type: 'string', default: DEFAULT_OPTIONS.ca, description: 'raw client, wss: PEM file of the CA to trust (--ca FILE)' },
  compression: { type: 'string', default: DEFAULT_OPTIONS.compression, description: 'raw client: offer permessage-deflate', values: ['off', 'on', 'no-takeover'] },
  compressionBits: { type: 'count', default: DEFAULT_OPTIONS.compressionBits, description: 'raw client: LZ77 window bits asked of both sides (9..15)', min: 9, max: 15 },
  binary: { type: 'string', default: DEFAULT_OPTIONS.binary, description: 'wsbench/1 on the raw client: publish binary frames, the tag in a binary header', values: ['off', 'on'] },
  slow: { type: 'string', default: DEFAULT_OPTIONS.slow, description: 'slow consumers: SHARE[,mode=stalled|rate:32KiB/s|burst:200ms/2s], e.g. 5%,mode=stalled' },
  slowAfter: { type: 'duration', default: DEFAULT_OPTIONS.slowAfter, description: 'how long after joining a slow client starts reading slowly', min: 0 },
  slowRooms: { type: 'share', default: DEFAULT_OPTIONS.slowRooms, description: 'share of the rooms with slow members; the rest are the control group' },
  net: { type: 'string', default: DEFAULT_OPTIONS.net, description: 'network profiles: 3g, 4g, wifi, wifi-flaky, latency:80ms,jitter:20ms,bandwidth:1Mbit, or 70%:wifi,30%:3g' },
  client: { type: 'string', default: DEFAULT_OPTIONS.client, description: 'the client: raw (lean, default), ws (the ws package, --protocol ws) or socket.io-client (--protocol socketio)', values: ['raw', 'ws', 'socket.io-client'] },
};

/** kebab-case <-> camelCase, for `--set payload-bytes=200`. */
export function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
/** `maxInflight` -> `max-inflight` (the `--set` spelling of an option key). */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Parse one value per its spec (grammar: src/units). Durations count bare numbers as seconds unless the key ends in Ms. */
export function parseOptionValue(key: string, spec: OptionSpec, raw: unknown): Parsed<number | string | boolean> {
  if (typeof raw === 'number' || typeof raw === 'boolean') {
    return checkBounds(key, spec, { ok: true, value: raw });
  }
  const text = String(raw);
  let r: Parsed<number | string | boolean>;
  switch (spec.type) {
    case 'number': {
      const v = Number(text);
      r = text.trim() !== '' && Number.isFinite(v) ? { ok: true, value: v } : { ok: false, error: `"${text}" is not a number` };
      break;
    }
    case 'count':
      r = parseCount(text);
      break;
    case 'duration': {
      // Options are whole milliseconds; a bare number is seconds, or milliseconds for a `*Ms` key.
      const d = parseDuration(text, /Ms$/.test(key) ? 'milliseconds' : 'seconds');
      r = d.ok ? { ok: true, value: Math.round(d.value) } : d;
      break;
    }
    case 'rate':
      r = parseRate(text);
      break;
    case 'share':
      r = parseShare(text);
      break;
    case 'bool':
      r = parseBool(text);
      break;
    case 'bytes':
      r = parseBytes(text);
      break;
    case 'string':
      r = spec.values && !spec.values.includes(text) ? { ok: false, error: `"${text}" is not one of ${spec.values.join(', ')}` } : { ok: true, value: text };
      break;
  }
  return checkBounds(key, spec, r);
}

function checkBounds(key: string, spec: OptionSpec, r: Parsed<number | string | boolean>): Parsed<number | string | boolean> {
  if (!r.ok || typeof r.value !== 'number') return r;
  if (spec.min !== undefined && r.value < spec.min) return { ok: false, error: `${r.value} is below the minimum ${spec.min}` };
  if (spec.max !== undefined && r.value > spec.max) return { ok: false, error: `${r.value} is above the maximum ${spec.max}` };
  return r;
}

/** Options after every layer (defaults, scenario, flags, `--set`), with every problem found. */
export interface ResolvedOptions {
  options: Record<string, unknown> & CommonOptions;
  problems: string[];
}

/**
 * Merge the layers. `flags` are common options from CLI flags (camelCase keys, raw
 * strings); `sets` are `--set key=value` pairs for common or scenario options.
 */
export function resolveOptions(scenario: ScenarioDefinition, flags: Record<string, string | undefined>, sets: string[]): ResolvedOptions {
  const problems: string[] = [];
  const specs: Record<string, OptionSpec> = { ...COMMON_OPTION_SPECS, ...(scenario.options ?? {}) };
  const out: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const [k, spec] of Object.entries(specs)) out[k] = spec.default;
  for (const [k, v] of Object.entries(scenario.defaults ?? {})) {
    if (v === undefined) continue;
    const spec = specs[k];
    if (!spec) {
      problems.push(`scenario "${scenario.name}" sets a default for unknown option "${k}"`);
      continue;
    }
    const r = parseOptionValue(k, spec, v);
    if (r.ok) out[k] = r.value;
    else problems.push(`scenario default ${k}: ${r.error}`);
  }
  const apply = (origin: string, key: string, raw: string) => {
    const k = camel(key);
    const spec = specs[k];
    if (!spec) {
      const known = Object.keys(specs).map(kebab).sort().join(', ');
      problems.push(`${origin}: unknown option "${key}". Known options: ${known}`);
      return;
    }
    const r = parseOptionValue(k, spec, raw);
    explicit.add(k);
    if (r.ok) out[k] = r.value;
    else problems.push(`${origin}: ${r.error}${spec.values ? '' : ` (${spec.description})`}`);
  };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) apply(`--${kebab(k)}`, k, v);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set "${s}": expected KEY=VALUE, e.g. --set rooms=20`);
      continue;
    }
    const key = s.slice(0, eq).trim();
    apply(`--set ${key}`, key, s.slice(eq + 1).trim());
  }
  const options = out as Record<string, unknown> & CommonOptions;
  if (problems.length === 0 && scenario.derive) {
    for (const [k, v] of Object.entries(scenario.derive(options))) if (!explicit.has(k)) options[k] = v;
  }
  if (!options.seed) options.seed = 1 + Math.floor(Math.random() * 2 ** 31);
  if (options.backoffCapMs < options.backoffBaseMs) problems.push(`backoff-cap-ms (${options.backoffCapMs}) is below backoff-base-ms (${options.backoffBaseMs})`);
  if (options.sioNames) problems.push(...parseSocketIoNames(options.sioNames).problems);
  problems.push(...mappedCodecProblems(options.wsFields, options.wsTypes, options.wsToken));
  const ca = caProblem(options.ca);
  if (ca) problems.push(ca);
  problems.push(...conditionProblems(options));
  if (problems.length === 0 && scenario.validate) problems.push(...scenario.validate(options));
  return { options, problems };
}
