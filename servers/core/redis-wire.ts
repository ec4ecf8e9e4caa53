/**
 * What the Redis bus writes to Redis: the channel's wire format and the Lua
 * scripts that allocate, retain and publish in one step (servers/core/redis-bus.ts).
 * Pure: no connection here.
 */
import type { BusMessage } from './bus.ts';

/**
 * Retain an already allocated message and publish it.
 * KEYS[1] ret zset, KEYS[2] seq; ARGV: retention, seq, text, channel ('' = none), wire, ret ttl ms, seq ttl s.
 */
export const APPEND_PUBLISH = `
local n = tonumber(ARGV[1])
if n > 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  local c = redis.call('ZCARD', KEYS[1])
  if c > n then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, c - n - 1) end
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
redis.call('EXPIRE', KEYS[2], ARGV[7])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1`;

/**
 * Allocate the next seq, retain and publish the message in one step. Returns the seq.
 * KEYS[1] seq, KEYS[2] ret zset; ARGV: retention, text prefix, text suffix, channel ('' = none),
 * the wire header after the seq (see encodeBusMessage), ret ttl ms, seq ttl s.
 */
export const NEXT_APPEND = `
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[7])
local text = ARGV[2] .. seq .. ARGV[3]
local n = tonumber(ARGV[1])
if n > 0 then
  redis.call('ZADD', KEYS[2], seq, text)
  local c = redis.call('ZCARD', KEYS[2])
  if c > n then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, c - n - 1) end
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], 'm' .. seq .. ARGV[5] .. text) end
return seq`;

/** Read or set the epoch once per Redis lifetime. KEYS[1] epoch; ARGV[1] candidate value suffix. Returns {epoch value, now ms}. */
export const EPOCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('GET', KEYS[1])
if not e then
  e = tostring(now) .. ':' .. ARGV[1]
  redis.call('SET', KEYS[1], e)
end
return {e, tostring(now)}`;

/** Raise each seq key to at least its floor. KEYS seq keys; ARGV floors, in the same order. */
export const FLOORS = `
for i = 1, #KEYS do
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  local f = tonumber(ARGV[i])
  if f > cur then redis.call('SET', KEYS[i], f) end
end
return 1`;

/**
 * The header NEXT_APPEND puts between the seq and the text: ` ORIGIN ROOMLEN ROOM`
 * (so the script's publish decodes like encodeBusMessage's).
 */
export function wireHeader(origin: string, room: string): string {
  return ` ${origin} ${room.length} ${room}`;
}

/** Wire format on the channel: `KIND SEQ ORIGIN ROOMLEN ROOM` + frame text (room by length: it may hold any character). */
export function encodeBusMessage(msg: BusMessage): string {
  const seq = msg.kind === 'message' ? msg.seq : 0;
  return `${msg.kind === 'message' ? 'm' : 'p'}${seq}${wireHeader(msg.origin, msg.room)}${msg.text}`;
}

/** The message of one channel payload, or null when it is not in the wire format. */
export function decodeBusMessage(s: string): BusMessage | null {
  const a = s.indexOf(' ');
  const b = s.indexOf(' ', a + 1);
  const c = s.indexOf(' ', b + 1);
  if (a < 2 || b < 0 || c < 0) return null;
  const seq = Number(s.slice(1, a));
  const origin = s.slice(a + 1, b);
  const len = Number(s.slice(b + 1, c));
  const room = s.slice(c + 1, c + 1 + len);
  const text = s.slice(c + 1 + len);
  if (s[0] === 'm') return Number.isSafeInteger(seq) ? { kind: 'message', room, seq, text, origin } : null;
  if (s[0] === 'p') return { kind: 'presence', room, text, origin };
  return null;
}
