/**
 * Where a virtual client belongs: its rooms, whether it publishes, and the number a
 * server node's id becomes in publish tags. Pure functions of the client index and options.
 */
import type { CommonOptions } from '../scenario/types.ts';

/** A node id as a tag number: FNV-1a, 31 bits, the same in every worker process. */
export function nodeHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}

/** Room name of a client index: client i is a member of room (i mod rooms). */
export function roomName(i: number): string {
  return `room-${i}`;
}

/** The rooms client `index` joins: `roomsPerClient` of them (default 1), spread evenly over `rooms`. */
export function roomsOf(index: number, o: CommonOptions & Record<string, unknown>): string[] {
  const perClient = Math.max(1, Number(o.roomsPerClient ?? 1));
  const out: string[] = [];
  for (let k = 0; k < perClient && k < o.rooms; k++) out.push(roomName((index + k * Math.ceil(o.rooms / perClient)) % o.rooms));
  return out;
}

/** Client i publishes when it is one of the first `publishers` members of its room. */
export function isPublisher(index: number, o: CommonOptions): boolean {
  return Math.floor(index / o.rooms) < o.publishers;
}

/**
 * The target URL index of client `index`: round robin over each room's members (client i is
 * member number i div rooms of its room), not over client indices: with 10 rooms and 2 nodes
 * the latter would put every member of a room on the same node and no message would cross nodes.
 * `spread` (URL indices, repeated by weight) overrides plain round robin when not empty.
 */
export function nodeOf(index: number, rooms: number, spread: readonly number[], urlCount: number): number {
  const rank = Math.floor(index / Math.max(1, rooms));
  return spread.length ? spread[rank % spread.length]! : rank % urlCount;
}
