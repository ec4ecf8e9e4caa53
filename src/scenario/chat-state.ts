/**
 * What the `chat` scenario (scenarios/chat.ts) keeps between events: per user, and
 * per generator process (typing and presence events carry no time, so a receiver
 * times them against the sender's mark, which it can see when both live in the same
 * worker process; the others only count them as unmatched).
 */
import type { VirtualClient } from './types.ts';

/** One user's own state, across its loop's restarts and reconnects. */
export interface ChatUser {
  /** When this user goes away (monotonic us): undefined until drawn, Infinity for never or done. */
  awayAtUs: number | undefined;
  /** When it last started coming back (monotonic us), 0 = never. */
  returnedUs: number;
  /** Private messages this user sent so far (ids `index:n`). */
  pmCounter: number;
  /** Ids of the private messages it received, to find duplicates. */
  seenPm: Set<string>;
}

const users = new WeakMap<VirtualClient, ChatUser>();

/** The state of `vu`'s user, created on first use. */
export function chatStateOf(vu: VirtualClient): ChatUser {
  let s = users.get(vu);
  if (!s) users.set(vu, (s = { awayAtUs: undefined, returnedUs: 0, pmCounter: 0, seenPm: new Set() }));
  return s;
}

/** Marks shared by the users of one generator process. */
export const CHAT = {
  /** `userId|roomId` -> when that user last emitted `typing` there (monotonic us). */
  typingSentUs: new Map<string, number>(),
  /** `left|userId` / `joined|userId` -> when that user left / started to come back (monotonic us). */
  presenceUs: new Map<string, number>(),
  /** Client indices of the users of this process that are away now. */
  away: new Set<number>(),
};

/**
 * The user id of client `index` on the server: `template` with `{client}` replaced (default
 * `user-{client}`, the `sub` of the tokens wsbench mints without --token-claims).
 */
export function userOf(index: number, template = 'user-{client}'): string {
  return template.replace(/\{client\}/g, String(index));
}

/**
 * Another user for a private message: with probability `awayShare` one of this process's
 * away users (when there is one), otherwise any other client, drawn with `vu.random()`.
 */
export function otherUser(vu: VirtualClient, awayShare: number): number {
  const away = [...CHAT.away].filter((i) => i !== vu.index);
  if (away.length && vu.random() < awayShare) return away[Math.floor(vu.random() * away.length)]!;
  const n = vu.options.clients;
  if (n < 2) return vu.index;
  const k = Math.floor(vu.random() * (n - 1));
  return k >= vu.index ? k + 1 : k;
}
