/**
 * Which ledger judges a run: the server's per-room seq when every delivery carried one
 * (src/checks/ledger.ts, room order), otherwise the harness's own tags
 * (src/checks/tag-ledger.ts, order per publisher). Also says when neither can judge.
 */
import type { Ledger, LedgerMode, RoomLedger } from '../report/schema.ts';
import { closeLedger, type RoomTally } from './ledger.ts';
import { closeTagLedger, type PublisherLog, type ReceiverLedger, type TagExample, type TagWindow } from './tag-ledger.ts';

/**
 * The books as judged: seq mode (room order) or tag mode (publisher order), totals, per-room and per-receiver detail, and why they could not judge, if so.
 */
export interface JudgedLedger {
  mode: LedgerMode;
  total: Ledger;
  rooms: RoomLedger[];
  /** Tag mode: receivers with a problem, worst first. */
  receivers: ReceiverLedger[];
  /** Tag mode: a few (receiver, publisher, counter) examples of each problem. */
  examples: TagExample[];
  /** Why the books cannot prove delivery either way, when they cannot. */
  unverifiable?: string;
  /** What the user should know about how the books were judged. */
  notes: string[];
}

/**
 * What the workers handed in for the books: seq tallies per room, tag windows per receiver, publish logs per publisher.
 */
export interface LedgerEvidence {
  tallies: Iterable<RoomTally>;
  windows: Iterable<TagWindow>;
  logs: Iterable<PublisherLog>;
  /** Deliveries whose payload carried no harness tag (`messages.untagged`). */
  untagged: number;
}

/** Close the books with the evidence the server gave. */
export function judgeLedger(e: LedgerEvidence): JudgedLedger {
  const tallies = [...e.tallies];
  const logs = [...e.logs];
  const seqLedger = closeLedger(tallies);
  const sawSeq = tallies.some((t) => t.maxSeq > 0);
  const published = logs.some((l) => l.count > 0);
  // Nothing published and nothing delivered: no evidence either way; today's seq books (all zero).
  if (seqLedger.exact && (sawSeq || !published)) {
    return { mode: 'seq', total: { ...seqLedger.total, mode: 'seq' }, rooms: seqLedger.rooms, receivers: [], examples: [], notes: epochNotes(seqLedger.total.epochs ?? 0) };
  }
  const tag = closeTagLedger(e.windows, logs);
  const notes: string[] = ['the server gives no per-room seq: the ledger judged delivery from the harness\'s own tags (order checked per publisher, not per room)'];
  if (!tag.selfEcho && tag.total.delivered > 0) notes.push('the server never delivered a publisher\'s own messages back to it: publishers were expected to receive only the others\'');
  if (tag.total.unjudged) notes.push(`${tag.total.unjudged} deliveries were published while a join or leave was in flight and are judged neither way (ledger.unjudged)`);
  if (tag.total.refused) notes.push(`the server refused ${tag.total.refused} publishes (an error frame for the publish, or a close while its ack was pending); they are expected by nobody (ledger.refused)`);
  if (tag.unknownPublisherDeliveries) notes.push(`${tag.unknownPublisherDeliveries} deliveries came from publishers of another shard; \`wsbench merge\` has both sides`);
  let unverifiable: string | undefined;
  if (e.untagged > 0 && tag.total.delivered === 0) unverifiable = `the server's ${e.untagged} messages carry no harness tag (the \`wsb\` field of the published payload) and no seq, so delivery cannot be judged`;
  else if (tag.total.expected === 0) unverifiable = 'no publish reached a certain member of its room, so delivery could not be judged';
  const total = tag.unknownPublisherDeliveries ? { ...tag.total, otherShards: tag.unknownPublisherDeliveries } : tag.total;
  return { mode: 'tag', total, rooms: tag.rooms, receivers: tag.receivers, examples: tag.examples, unverifiable, notes };
}

/** What the books say when some room's sequence began again (a new `epoch` from the server). */
function epochNotes(changes: number): string[] {
  if (changes === 0) return [];
  return [
    `room sequences began again ${changes} time(s) (ledger.epochs: the server named a new epoch in its join reply, as a restarted node that keeps its rooms in memory does); each epoch was judged on its own: what a member never got of an old epoch counts as lost, and the new epoch's seqs are neither duplicates nor reorders`,
  ];
}
