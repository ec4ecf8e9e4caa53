/**
 * wsbench/1 with other names: for a server of the same shape whose fields and
 * message types are called something else, chosen per run with no code:
 *
 *   --set ws-fields=type=op,id=ref,room=channel,payload=body,seq=offset,members=n
 *   --set ws-types=join=sub,joined=subbed,publish=pub,ack=puback,message=event,ping=hb,pong=hb,welcome=none
 *   --set ws-token=header
 *
 * `welcome=none` means the server sends no welcome frame (clients join at once); `ack=none` that
 * it acknowledges no publish (publishes are judged by their deliveries only).
 * A message frame without the room field belongs to the receiving client's only room; when
 * the client is in several, it is counted as `errors.message_without_room` and the field named.
 * Frames are parsed with JSON.parse (the zero-parse fast path knows only wsbench/1's names).
 */
import type { DecodedFrame, FrameCodec } from './types.ts';

/** wsbench/1 field names that `--set ws-fields=KEY=NAME,...` can rename. */
export const FIELD_KEYS = ['type', 'id', 'room', 'payload', 'seq', 'since', 'members', 'node', 'code', 'message', 'from', 'to', 'replay'] as const;
/**
 * wsbench/1 message types that `--set ws-types=KEY=NAME,...` can rename (`welcome=none`, `ack=none`: the server sends none).
 */
export const TYPE_KEYS = ['welcome', 'join', 'joined', 'leave', 'left', 'publish', 'ack', 'message', 'gap', 'ping', 'pong', 'error'] as const;
type FieldKey = (typeof FIELD_KEYS)[number];
type TypeKey = (typeof TYPE_KEYS)[number];

function parsePairs<K extends string>(what: string, text: string | undefined, keys: readonly K[], problems: string[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const part of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq) as K;
    if (eq <= 0 || !keys.includes(key) || !part.slice(eq + 1)) {
      problems.push(`${what} "${part}": expected KEY=NAME with KEY one of ${keys.join(', ')}`);
      continue;
    }
    out[key] = part.slice(eq + 1);
  }
  return out;
}

/** Validate the renaming options; every problem at once. */
export function mappedCodecProblems(fields?: string, types?: string, token?: string): string[] {
  const problems: string[] = [];
  parsePairs('ws-fields', fields, FIELD_KEYS, problems);
  parsePairs('ws-types', types, TYPE_KEYS, problems);
  if (token !== undefined && token !== '' && token !== 'query' && token !== 'header') problems.push(`ws-token "${token}": expected query or header`);
  return problems;
}

/** The wsbench/1 codec with the field and type names of `--set ws-fields`, `ws-types` and `ws-token`; throws on a bad pair. */
export function createMappedCodec(fields?: string, types?: string, token?: string): FrameCodec {
  const problems: string[] = [];
  const f = { ...Object.fromEntries(FIELD_KEYS.map((k) => [k, k])), ...parsePairs('ws-fields', fields, FIELD_KEYS, problems) } as Record<FieldKey, string>;
  const t = { ...Object.fromEntries(TYPE_KEYS.map((k) => [k, k])), ...parsePairs('ws-types', types, TYPE_KEYS, problems) } as Record<TypeKey, string>;
  if (problems.length) throw new Error(problems.join('; '));
  // Server-to-client type names -> meaning; a name shared by ping and pong reads as pong.
  const incoming = new Map<string, TypeKey>();
  for (const k of ['welcome', 'joined', 'left', 'ack', 'message', 'gap', 'pong', 'error'] as const) incoming.set(t[k], k);
  const msg = (type: TypeKey, body: Record<string, unknown>) => JSON.stringify({ [f.type]: t[type], ...body });
  return {
    name: 'wsbench/1 (renamed)',
    awaitsWelcome: t.welcome !== 'none',
    publishAck: t.ack === 'none' ? 'none' : 'frame',
    roomField: f.room,
    url: token === 'header' ? (target) => target : undefined,
    headers: token === 'header' ? (tok): Record<string, string> => (tok ? { authorization: `Bearer ${tok}` } : {}) : undefined,
    encodeJoin: (room, id, since) => msg('join', { [f.id]: id, [f.room]: room, ...(since === undefined ? {} : { [f.since]: since }) }),
    encodeLeave: (room, id) => msg('leave', { [f.id]: id, [f.room]: room }),
    encodePublish: (room, id, payload) => msg('publish', { [f.id]: id, [f.room]: room, [f.payload]: payload }),
    encodePing: (id) => msg('ping', { [f.id]: id }),
    decode(text: string): DecodedFrame | null {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return null;
      }
      if (m === null || typeof m !== 'object') return null;
      const kind = incoming.get(String(m[f.type]));
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
      const id = m[f.id] as string | number | undefined;
      const room = m[f.room] === undefined ? undefined : String(m[f.room]);
      switch (kind) {
        case 'welcome':
          return { kind, node: m[f.node] === undefined ? undefined : String(m[f.node]) };
        case 'joined':
          return { kind, id, room, members: num(m[f.members]), seq: num(m[f.seq]) };
        case 'left':
          return { kind, id };
        case 'ack':
          return { kind, id, seq: num(m[f.seq]) };
        case 'message': {
          const p = m[f.payload] as { wsb?: unknown } | undefined;
          return { kind, room, seq: num(m[f.seq]), tag: p && typeof p.wsb === 'string' ? p.wsb : undefined, replay: m[f.replay] === true };
        }
        case 'gap':
          return { kind, room: String(m[f.room]), from: Number(m[f.from]), to: Number(m[f.to]) };
        case 'pong':
          return { kind, id };
        case 'error':
          return { kind, id, code: String(m[f.code] ?? 'error'), message: typeof m[f.message] === 'string' ? (m[f.message] as string) : undefined };
        default:
          return typeof m[f.type] === 'string' ? { kind: 'other', name: String(m[f.type]) } : null;
      }
    },
  };
}
