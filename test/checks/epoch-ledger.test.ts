/**
 * The seq ledger across a sequence epoch change (PROTOCOL.md `epoch`): a server that
 * began a room's seqs again (a restarted in-memory node) names a new epoch in its join
 * reply; each (room, epoch) is judged on its own. What a member never got of the old
 * epoch is lost; seq 1 of the new epoch is neither a duplicate nor a reorder. Also the
 * codecs carry the field both ways, and a server without it is judged as before.
 */
import { describe, expect, it } from 'vitest';
import { addReceiverEpochs, closeLedger, closeWindow, createReceiverRoom, mergeTallies, onDelivery, onJoined, parseSeqKey, seqKey, type ReceiverRoom, type RoomTally } from '../../src/checks/ledger.ts';
import { judgeLedger } from '../../src/checks/judge-ledger.ts';
import { readBacklog, roomMaxOf } from '../../src/checks/settle.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import { replyFrame } from '../../src/protocol/socketio-events.ts';

/** Tallies of these receivers as a worker makes them, plus acked maxima per (room, epoch). */
function tallies(receivers: ReceiverRoom[], acked: Array<[string, string | undefined, number]> = []): RoomTally[] {
  const byKey = new Map<string, RoomTally>();
  for (const r of receivers) addReceiverEpochs(byKey, r);
  const extra = acked.map(([room, epoch, maxSeq]) => ({ room, ...(epoch ? { epoch } : {}), activeReceivers: 0, sumJoinSeqActive: 0, expectedInactive: 0, delivered: 0, duplicated: 0, reordered: 0, unsequenced: 0, maxSeq }));
  mergeTallies(byKey, extra);
  return [...byKey.values()];
}

const deliver = (r: ReceiverRoom, seqs: number[]) => seqs.map((s) => onDelivery(r, s));

describe('seq ledger across an epoch change', () => {
  it('a member resuming into a new epoch: seq 1 again is ok, the old epoch closes at its last seq, a loss there is counted', () => {
    const a = createReceiverRoom('r', 0);
    onJoined(a, 0, 'E1');
    expect(deliver(a, [1, 2, 3, 4, 5])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    // The node restarts; the client resumes (no closeWindow) and the reply names a new epoch.
    onJoined(a, 0, 'E2');
    expect(deliver(a, [1, 2, 3])).toEqual(['ok', 'ok', 'ok']);
    // b never got seq 5 of the old epoch: the server lost it with its memory.
    const b = createReceiverRoom('r', 1);
    onJoined(b, 0, 'E1');
    deliver(b, [1, 2, 3, 4]);
    onJoined(b, 0, 'E2');
    deliver(b, [1, 2, 3]);
    const l = closeLedger(tallies([a, b]));
    expect(l.total).toEqual({ expected: 5 + 5 + 3 + 3, delivered: 5 + 4 + 3 + 3, lost: 1, duplicated: 0, reordered: 0, epochs: 1 });
    expect(l.rooms).toEqual([{ room: 'r', expected: 16, delivered: 15, lost: 1, duplicated: 0, reordered: 0, epochs: 1 }]);
  });

  it('without the epoch the same deliveries read as duplicates and reorders (as before: servers that name none)', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0);
    deliver(a, [1, 2, 3, 4, 5]);
    onJoined(a, 0);
    expect(deliver(a, [1, 2, 5])).toEqual(['reorder', 'reorder', 'dup']);
    const l = closeLedger(tallies([a]));
    expect(l.total).toMatchObject({ duplicated: 1, reordered: 2 });
    expect(l.total.epochs).toBeUndefined();
  });

  it('a resume into the new epoch is owed it from its start: what was replayed counts, what was not is lost', () => {
    const late = createReceiverRoom('r');
    onJoined(late, 0, 'E1');
    deliver(late, [1, 2]);
    // Others published 1..4 in E2 before this client came back; the server says joined at 4.
    onJoined(late, 4, 'E2');
    expect(late.joinSeq).toBe(0);
    expect(deliver(late, [1, 2, 3, 4, 5])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(closeLedger(tallies([late])).total).toMatchObject({ expected: 2 + 5, delivered: 7, lost: 0 });
    // A server that did not replay the new epoch's start: the member missed 1..4.
    const short = createReceiverRoom('r');
    onJoined(short, 0, 'E1');
    deliver(short, [1, 2]);
    onJoined(short, 4, 'E2');
    deliver(short, [5]);
    expect(closeLedger(tallies([short])).total).toMatchObject({ expected: 2 + 5, delivered: 3, lost: 4 });
  });

  it('the old epoch ends at its highest seq anyone saw or was acked: a member that saw less lost the rest', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0, 'E1');
    deliver(a, [1, 2]);
    onJoined(a, 0, 'E2');
    deliver(a, [1]);
    // A publisher was acked seq 6 in E1 and seq 1 in E2.
    const l = closeLedger(tallies([a], [['r', 'E1', 6], ['r', 'E2', 1]]));
    expect(l.total).toMatchObject({ expected: 6 + 1, delivered: 3, lost: 4, epochs: 1 });
  });

  it('a fresh join across an epoch change: the old window stops at its last delivery, the new one opens at the reply', () => {
    const r = createReceiverRoom('r');
    onJoined(r, 0, 'E1');
    deliver(r, [1, 2, 3]);
    closeWindow(r);
    onJoined(r, 7, 'E2');
    expect(r.joinSeq).toBe(7);
    expect(deliver(r, [8])).toEqual(['ok']);
    expect(closeLedger(tallies([r], [['r', 'E1', 9]])).total).toMatchObject({ expected: 3 + 1, delivered: 4, lost: 0 });
  });

  it('workers merge tallies per (room, epoch); a second restart opens a third sequence', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0, 'E1');
    deliver(a, [1]);
    onJoined(a, 0, 'E2');
    deliver(a, [1, 2]);
    onJoined(a, 0, 'E3');
    deliver(a, [1]);
    const b = createReceiverRoom('r');
    onJoined(b, 0, 'E3');
    deliver(b, [1]);
    const merged = new Map<string, RoomTally>();
    mergeTallies(merged, tallies([a]));
    mergeTallies(merged, tallies([b]));
    expect([...merged.keys()].map(parseSeqKey)).toEqual([
      { room: 'r', epoch: 'E1' },
      { room: 'r', epoch: 'E2' },
      { room: 'r', epoch: 'E3' },
    ]);
    expect(closeLedger(merged.values()).total).toMatchObject({ expected: 1 + 2 + 1 + 1, lost: 0, duplicated: 0, reordered: 0, epochs: 2 });
  });

  it('the judged ledger says the sequences began again', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0, 'E1');
    deliver(a, [1]);
    onJoined(a, 0, 'E2');
    deliver(a, [1]);
    const j = judgeLedger({ tallies: tallies([a]), windows: [], logs: [], untagged: 0 });
    expect(j.mode).toBe('seq');
    expect(j.total).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, epochs: 1 });
    expect(j.notes.join(' ')).toMatch(/began again 1 time.*each epoch was judged on its own/);
  });

  it('settling waits for the highest seq of the receiver\'s own epoch, not the old one', () => {
    const a = createReceiverRoom('r');
    onJoined(a, 0, 'E1');
    deliver(a, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    onJoined(a, 0, 'E2');
    deliver(a, [1, 2]);
    const src = { clients: [{ state: 'open', recv: new Map([['r', a]]) }], requests: { pending: new Map() }, tallies: () => tallies([a]) };
    expect(roomMaxOf(src.tallies())).toEqual({ [seqKey('r', 'E1')]: 9, [seqKey('r', 'E2')]: 2 });
    expect(readBacklog(src).receiversBehind).toBe(0);
    expect(readBacklog(src, { [seqKey('r', 'E2')]: 3 }).receiversBehind).toBe(1);
  });
});

describe('the epoch on the wire', () => {
  it('wsbench/1: joined and ack carry it; a resume join sends it with since', () => {
    expect(nativeCodec.decode('{"type":"joined","id":1,"room":"r","members":2,"seq":4,"epoch":"E"}')).toMatchObject({ kind: 'joined', seq: 4, epoch: 'E' });
    expect(nativeCodec.decode('{"type":"ack","id":2,"room":"r","seq":5,"epoch":"E"}')).toMatchObject({ kind: 'ack', seq: 5, epoch: 'E' });
    expect(nativeCodec.decode('{"type":"joined","id":1,"room":"r","seq":4}')).toMatchObject({ epoch: undefined });
    expect(JSON.parse(nativeCodec.encodeJoin('r', 3, 7, 'E'))).toEqual({ type: 'join', id: 3, room: 'r', since: 7, epoch: 'E' });
    expect(JSON.parse(nativeCodec.encodeJoin('r', 3))).toEqual({ type: 'join', id: 3, room: 'r' });
  });

  it('Socket.IO: the join-room and publish acks carry it', () => {
    expect(replyFrame('joined', 1, 'r', { success: true, seq: 3, members: 1, epoch: 'E' })).toMatchObject({ kind: 'joined', room: 'r', seq: 3, epoch: 'E' });
    expect(replyFrame('ack', 2, 'r', { success: true, seq: 4 })).toMatchObject({ kind: 'ack', seq: 4, epoch: undefined });
  });
});
