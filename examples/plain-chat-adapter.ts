/**
 * An adapter module for `--adapter`: teaches wsbench the dialect of "plain-chat"
 * (test/gallery/plain-chat.ts), a server like many hand-written ones:
 *
 *   client: {"action":"subscribe","channel":"c"}      server: {"event":"subscribed"}
 *   client: {"action":"unsubscribe","channel":"c"}    server: {"event":"unsubscribed"}
 *   client: {"action":"say","channel":"c","data":{}}  every subscriber, the sender too: {"event":"chat","data":{}}
 *   over the limit:                                   {"event":"error","message":"Rate limit exceeded"}, close 1008
 *
 * No ids on replies (wsbench matches them to its requests in order), no room and no seq
 * on broadcasts (each client is in one room, so a message belongs to it; the ledger checks
 * the harness's own tags), no publish ack (the sender's own copy is its ack: `echo`).
 * Use it with any scenario:
 *
 *   wsbench run broadcast --target ws://127.0.0.1:8080/ --adapter examples/plain-chat-adapter.ts
 */
import type { DecodedFrame, FrameCodec } from '../src/index.ts';

const plainChat: FrameCodec = {
  name: 'plain-chat',
  // The sender gets its own copy of every message it says: that copy is its acknowledgement.
  publishAck: 'echo',
  encodeJoin: (room) => JSON.stringify({ action: 'subscribe', channel: room }),
  encodeLeave: (room) => JSON.stringify({ action: 'unsubscribe', channel: room }),
  // `payload` carries the harness's tag (`wsb`): send it as the body, it comes back unchanged.
  encodePublish: (room, _id, payload) => JSON.stringify({ action: 'say', channel: room, data: payload }),
  decode(text): DecodedFrame | null {
    let m: { event?: unknown; data?: { wsb?: unknown }; message?: unknown };
    try {
      m = JSON.parse(text);
    } catch {
      return null;
    }
    switch (m?.event) {
      case 'subscribed':
        return { kind: 'joined' };
      case 'unsubscribed':
        return { kind: 'left' };
      case 'chat':
        return { kind: 'message', tag: typeof m.data?.wsb === 'string' ? m.data.wsb : undefined };
      case 'error': {
        const message = String(m.message ?? '');
        // The server's own words for "slow down" become the code wsbench's rate-limit scenario counts.
        return { kind: 'error', code: /rate limit/i.test(message) ? 'rate_limited' : 'server_error', message };
      }
      default:
        return null;
    }
  },
};

export default plainChat;
