import { defineScenario, METRIC } from '../src/index.ts';
import type { CheckResult, VirtualClient } from '../src/index.ts';
import { failedCheck, passedCheck, unverifiedCheck } from '../src/checks/outcome.ts';
import { CHAT, chatStateOf, otherUser, userOf } from '../src/scenario/chat-state.ts';

/**
 * A realistic chat mix in the Socket.IO vocabulary (docs/PROTOCOL.md section 2): every
 * user sits in a few rooms; it types (`typing` -> `user-typing` to the room), then posts
 * (a tagged `message`, on the engine's exactly-once ledger) after think times drawn from
 * an exponential distribution (the seeded per-client PRNG); some of its turns are
 * private messages (`private-message`) to other users, who may be offline and then get
 * them from the server's offline queue when they return; and a share of users go away
 * for a while and come back (presence: `user-left` / `user-joined`).
 *
 * Latency per feature: `fanout` (room messages), `chat.typing`, `chat.private` (live
 * private messages), `chat.offline` (queued private messages, from the recipient's return)
 * and `chat.presence`. Private messages have their own exact ledger: every accepted one
 * arrives once, live or from the offline queue.
 *
 * With --protocol ws (wsbench/1) only posts and coming and going run: the native
 * protocol has no typing indicators or private messages, and those checks are unverified.
 */
export default defineScenario({
  name: 'chat',
  description: 'a chat app: rooms, typing indicators, posts with think times, private messages (offline queue), users coming and going',
  defaults: { clients: 60, rooms: 8, rate: 0, warmup: 1000, duration: 15_000, cooldown: 3000, requestTimeoutMs: 5000 },
  publish: false,
  options: {
    roomsPerClient: { type: 'count', default: 3, description: 'rooms each user sits in', min: 1 },
    think: { type: 'duration', default: 3000, description: 'mean pause between a user’s turns (exponential, capped at 5x)', min: 50 },
    typing: { type: 'duration', default: 800, description: 'mean time a user types before posting (uniform 0.5x..1.5x)', min: 0 },
    typingOnly: { type: 'share', default: 0.15, description: 'share of typing bursts abandoned without a post' },
    privateShare: { type: 'share', default: 0.25, description: 'share of turns that are private messages instead of room posts' },
    offlineTarget: { type: 'share', default: 0.5, description: 'share of private messages sent to a user known to be away (in the same generator process) when there is one' },
    away: { type: 'share', default: 0.25, description: 'share of users who go away once during the run and come back' },
    awayFor: { type: 'duration', default: 3000, description: 'how long an away user stays offline', min: 0 },
    userId: { type: 'string', default: 'user-{client}', description: 'the server’s user id of client {client} (the sub of the minted tokens; match it to --token-claims)' },
  },
  // Presence frames are off by default on the bundled server; a chat app has them.
  server: { presence: 'on' },
  validate: (o) => (Number(o.awayFor) >= o.duration ? [`away-for ${o.awayFor} ms must be shorter than the duration (${o.duration} ms) so away users return within the run`] : []),
  async loop(vu) {
    const st = chatStateOf(vu);
    const o = vu.options;
    const sio = o.protocol === 'socketio';
    listen(vu);
    // Users start at different moments; away users pick theirs in the first half of the run.
    await vu.sleep(vu.random() * Number(o.think));
    if (st.awayAtUs === undefined) st.awayAtUs = vu.random() < Number(o.away) ? vu.nowUs() + vu.random() * (o.duration / 2) * 1000 : Infinity;
    while (vu.running) {
      if (vu.nowUs() >= st.awayAtUs) {
        st.awayAtUs = Infinity;
        await comeAndGo(vu, Number(o.awayFor));
        continue;
      }
      if (sio && vu.random() < Number(o.privateShare)) await sendPrivate(vu);
      else await typeAndPost(vu, sio);
      await vu.sleep(Math.min(5, -Math.log(1 - vu.random())) * Number(o.think));
    }
  },
  checks: (run) => chatChecks(run),
});

/** Register the handlers of the events a user receives (idempotent: one handler per event). */
function listen(vu: VirtualClient): void {
  const st = chatStateOf(vu);
  vu.onEvent('user-typing', (d) => {
    const { userId, roomId } = (d ?? {}) as { userId?: string; roomId?: string };
    const sent = CHAT.typingSentUs.get(`${userId}|${roomId}`);
    if (sent === undefined) return vu.count('chat.typing.unmatched');
    vu.count('chat.typing.received');
    vu.record(METRIC.chatTyping, vu.nowUs() - sent);
  });
  const presence = (kind: 'left' | 'joined') => (d: unknown) => {
    const { userId } = (d ?? {}) as { userId?: string };
    const mark = CHAT.presenceUs.get(`${kind}|${userId}`);
    if (mark === undefined) return vu.count('chat.presence.unmatched');
    vu.count(`chat.presence.${kind}`);
    vu.record(METRIC.chatPresence, vu.nowUs() - mark);
  };
  vu.onEvent('user-left', presence('left'));
  vu.onEvent('user-joined', presence('joined'));
  // wsbench/1: {"type":"presence","room","user","state":"join"|"leave"}.
  vu.onEvent('presence', (d) => {
    const { user, state } = (d ?? {}) as { user?: string; state?: string };
    if (state === 'join' || state === 'leave') presence(state === 'join' ? 'joined' : 'left')({ userId: user });
  });
  vu.onEvent('private-message', (d) => {
    const m = (d ?? {}) as { content?: { pm?: string; sentUs?: number }; offline?: boolean };
    const id = m.content?.pm;
    if (typeof id !== 'string') return vu.count('chat.pm.foreign');
    if (st.seenPm.has(id)) return vu.count('chat.pm.duplicated');
    st.seenPm.add(id);
    vu.count('chat.pm.received');
    if (m.offline === true) {
      vu.count('chat.pm.received_offline');
      if (st.returnedUs > 0) vu.record(METRIC.chatOffline, vu.nowUs() - st.returnedUs);
    } else if (typeof m.content?.sentUs === 'number') vu.record(METRIC.chatPrivate, vu.nowUs() - m.content.sentUs);
  });
}

/** Type in one of the user's rooms, then (mostly) post there. */
async function typeAndPost(vu: VirtualClient, sio: boolean): Promise<void> {
  const room = vu.rooms[Math.floor(vu.random() * vu.rooms.length)]!;
  if (sio) {
    CHAT.typingSentUs.set(`${userOf(vu.index, String(vu.options.userId))}|${room}`, vu.nowUs());
    if (await vu.emit('typing', { roomId: room })) vu.count('chat.typing.sent');
  }
  await vu.sleep((0.5 + vu.random()) * Number(vu.options.typing));
  if (!vu.running || vu.random() < Number(vu.options.typingOnly)) return;
  await vu.publish(room);
}

/** A private message to another user (often one who is away), with its own ledger. */
async function sendPrivate(vu: VirtualClient): Promise<void> {
  const st = chatStateOf(vu);
  const target = otherUser(vu, Number(vu.options.offlineTarget));
  const pm = `${vu.index}:${++st.pmCounter}`;
  const ack = (await vu.emit('private-message', { targetUserId: userOf(target, String(vu.options.userId)), content: { pm, sentUs: vu.nowUs() } }, { ack: true })) as { success?: boolean; delivered?: boolean; error?: string } | null;
  if (ack === null) return vu.count('chat.pm.unacked');
  if (ack.success !== true) return vu.count(ack.error === 'queue_full' ? 'chat.pm.queue_full' : 'chat.pm.refused');
  vu.count('chat.pm.sent');
  if (ack.delivered === false) vu.count('chat.pm.queued');
}

/** Go away for `ms` and come back: the others see `user-left` and `user-joined`. */
async function comeAndGo(vu: VirtualClient, ms: number): Promise<void> {
  const st = chatStateOf(vu);
  const user = userOf(vu.index, String(vu.options.userId));
  CHAT.away.add(vu.index);
  CHAT.presenceUs.set(`left|${user}`, vu.nowUs());
  vu.count('chat.away');
  await vu.disconnect();
  await vu.sleep(ms);
  const start = vu.nowUs();
  CHAT.presenceUs.set(`joined|${user}`, start);
  st.returnedUs = start;
  const back = await vu.reconnect();
  CHAT.away.delete(vu.index);
  vu.count(back ? 'chat.returned' : 'chat.return_failed');
}

/** The chat checks: room messages and private messages exactly once, offline delivery, every feature measured. */
function chatChecks(run: Parameters<NonNullable<Parameters<typeof defineScenario>[0]['checks']>>[0]): CheckResult[] {
  const c = (k: string) => run.counters[k] ?? 0;
  const out: CheckResult[] = [];
  const l = run.ledger;
  const ledgerEvidence = { ...l };
  if (l.expected === 0) out.push(unverifiedCheck('chat.messages-exactly-once', 'no room message was posted to members (raise --duration or lower --set think)', ledgerEvidence));
  else if (l.lost || l.duplicated || l.reordered) out.push(failedCheck('chat.messages-exactly-once', `${l.lost} lost, ${l.duplicated} duplicated, ${l.reordered} reordered of ${l.expected} expected room deliveries`, ledgerEvidence));
  else out.push(passedCheck('chat.messages-exactly-once', `all ${l.expected} expected room deliveries of ${c('messages.sent')} posts arrived once and in order (users away were not expected to get what was posted while they were gone)`, ledgerEvidence));
  if (run.target.protocol !== 'socketio') {
    const why = 'wsbench/1 has no private messages (nor typing indicators); run with --protocol socketio';
    out.push(unverifiedCheck('chat.private-exactly-once', why), unverifiedCheck('chat.offline-delivery', why), featuresCheck(run, c, false));
    return out;
  }
  out.push(privateLedger(c), offlineCheck(c), featuresCheck(run, c, true));
  return out;
}

/** Every private message the server accepted arrived exactly once (live or from the queue). */
function privateLedger(c: (k: string) => number): CheckResult {
  const name = 'chat.private-exactly-once';
  const sent = c('chat.pm.sent');
  const received = c('chat.pm.received');
  const dup = c('chat.pm.duplicated');
  const unacked = c('chat.pm.unacked');
  const evidence = { accepted: sent, received, duplicated: dup, unacked, queueFull: c('chat.pm.queue_full'), refused: c('chat.pm.refused') };
  if (sent === 0) return unverifiedCheck(name, 'no private message was accepted by the server (raise --set private-share or --duration)', evidence);
  if (dup > 0) return failedCheck(name, `${dup} private messages arrived more than once`, evidence);
  if (received < sent) return failedCheck(name, `${sent - received} of ${sent} accepted private messages never arrived${unacked ? ` (and ${unacked} more got no ack)` : ''}`, evidence);
  if (received > sent + unacked) return failedCheck(name, `${received - sent - unacked} private messages arrived that were never accepted`, evidence);
  if (unacked > 0) return unverifiedCheck(name, `${unacked} private messages got no ack within request-timeout-ms, so their fate cannot be told apart; ${received} arrived for ${sent} accepted`, evidence);
  return passedCheck(name, `all ${sent} accepted private messages arrived exactly once (${c('chat.pm.received_offline')} of them from the offline queue)`, evidence);
}

/** Private messages queued for away users were delivered from the queue on their return, every one. */
function offlineCheck(c: (k: string) => number): CheckResult {
  const name = 'chat.offline-delivery';
  const queued = c('chat.pm.queued');
  const got = c('chat.pm.received_offline');
  const evidence = { queued, deliveredOnReturn: got, away: c('chat.away'), returned: c('chat.returned'), returnFailed: c('chat.return_failed') };
  if (queued === 0) return unverifiedCheck(name, `no private message found its recipient offline (${c('chat.away')} users went away); raise --set away or --set offline-target`, evidence);
  if (got !== queued) return failedCheck(name, `${queued} private messages were queued for offline users but ${got} were delivered from the queue on their return`, evidence);
  return passedCheck(name, `all ${queued} private messages queued for offline users were delivered when they came back`, evidence);
}

/** Each feature was exercised and timed: its latency is in the report. */
function featuresCheck(run: { metrics: Record<string, { count: number } | undefined> }, c: (k: string) => number, socketIo: boolean): CheckResult {
  const name = 'chat.features-measured';
  const all: Array<[string, string, number]> = [
    ['room messages', METRIC.fanout, c('messages.sent')],
    ['typing', METRIC.chatTyping, c('chat.typing.sent')],
    ['private messages', METRIC.chatPrivate, c('chat.pm.sent') - c('chat.pm.queued')],
    ['offline delivery', METRIC.chatOffline, c('chat.pm.queued')],
    ['presence', METRIC.chatPresence, c('chat.away')],
  ];
  // wsbench/1 has room messages and presence only.
  const want = socketIo ? all : all.filter(([, m]) => m === METRIC.fanout || m === METRIC.chatPresence);
  const evidence = Object.fromEntries(want.map(([, m, n]) => [m, { attempts: n, samples: run.metrics[m]?.count ?? 0 }]));
  const missing = want.filter(([, m, n]) => n > 0 && !run.metrics[m]?.count).map(([what]) => what);
  const idle = want.filter(([, , n]) => n === 0).map(([what]) => what);
  if (missing.length) return failedCheck(name, `used but never seen by another user: ${missing.join(', ')}`, evidence);
  if (idle.length) return unverifiedCheck(name, `not exercised in this run: ${idle.join(', ')} (raise --duration, --clients or the shares)`, evidence);
  return passedCheck(name, `every feature was used and timed: ${want.map(([what, m]) => `${what} ${run.metrics[m]!.count}`).join(', ')}`, evidence);
}
