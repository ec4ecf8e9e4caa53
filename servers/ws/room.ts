/**
 * A room of the native flavour in one process: its live members, members whose
 * join is in progress (they buffer what arrives meanwhile), and the local seq
 * order of its messages; plus the pure replay computation of a join with `since`.
 */
import { SeqOrder } from '../core/seq-order.ts';
import { replayOf } from './binary.ts';

/** A message waiting for its turn (or buffered for a member whose join is in progress). */
export interface Held<C> {
  seq: number;
  text: string;
  /** The sender, when it published with echo:false. */
  except: C | null;
}

/** A join in progress: live messages that arrive meanwhile. */
export interface PendingJoin<C> {
  buffer: Held<C>[];
}

/** One room of the native flavour in this process (see the module comment). */
export class Room<C> {
  readonly members = new Set<C>();
  readonly pending = new Map<C, PendingJoin<C>>();
  /** Messages delivered locally in seq order; starts at 0 (holding) until the first join tells where the room stands. */
  readonly order: SeqOrder<Held<C>>;
  gapTimer: NodeJS.Timeout | null = null;
  constructor(
    readonly name: string,
    fanout: (room: Room<C>, h: Held<C>) => void,
  ) {
    this.order = new SeqOrder<Held<C>>(0, (h) => fanout(this, h));
  }
  /** Members, live and joining. */
  size(): number {
    return this.members.size + this.pending.size;
  }
  /** Stop the gap timer (when the room is forgotten or the server closes). */
  stopTimer(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = null;
  }
}

/** `{"type":"gap",...}` for seqs from..to of `room`. */
export function gapFrame(room: string, from: number, to: number): string {
  return JSON.stringify({ type: 'gap', room, from, to });
}

/**
 * The frames a member joining with `since` gets right after `joined` (PROTOCOL.md
 * "Resume"): every message after `since` up to `seq` that `held` has, marked
 * `"replay":true`, in seq order, and a `gap` for each run of seqs it does not have.
 * `held` maps seq to the message frame text. Pure.
 */
export function replayFrames(room: string, since: number, seq: number, held: ReadonlyMap<number, string>): string[] {
  const out: string[] = [];
  if (since >= seq) return out;
  let expect = since + 1;
  const seqs = [...held.keys()].filter((s) => s > since && s <= seq).sort((a, b) => a - b);
  for (const s of seqs) {
    if (s > expect) out.push(gapFrame(room, expect, s - 1));
    out.push(replayOf(held.get(s)!));
    expect = s + 1;
  }
  if (expect <= seq) out.push(gapFrame(room, expect, seq));
  return out;
}
