/**
 * Example: driving a server that speaks another JSON dialect ("acme-chat") with a
 * custom adapter. Copy this file, change the codec, and run it with
 *
 *   wsbench run examples/acme-chat.ts --target ws://127.0.0.1:8080/chat
 *
 * The acme dialect: {"op":"sub","ref":1,"channel":"c"} -> {"op":"subbed","ref":1,"channel":"c","n":members,"offset":seq};
 * {"op":"pub","ref":2,"channel":"c","body":{...}} -> {"op":"puback","ref":2,"offset":seq} and every subscriber gets
 * {"op":"event","channel":"c","offset":seq,"body":{...}}; {"op":"unsub"} -> {"op":"unsubbed"}; {"op":"hb"} -> {"op":"hb"}.
 * The token travels in the Authorization header. The harness only needs its own tag
 * (`body.wsb`) back, plus the room sequence (`offset`) for the exactly-once ledger.
 */
import { defineScenario, type DecodedFrame, type FrameCodec } from '../src/index.ts';

const acmeCodec: FrameCodec = {
  name: 'acme-chat',
  url: (target) => target,
  headers: (token): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {}),
  encodeJoin: (room, id) => JSON.stringify({ op: 'sub', ref: id, channel: room }),
  encodeLeave: (room, id) => JSON.stringify({ op: 'unsub', ref: id, channel: room }),
  encodePublish: (room, id, payload) => JSON.stringify({ op: 'pub', ref: id, channel: room, body: payload }),
  encodePing: (id) => JSON.stringify({ op: 'hb', ref: id }),
  decode(text): DecodedFrame | null {
    let f: any;
    try {
      f = JSON.parse(text);
    } catch {
      return null;
    }
    switch (f?.op) {
      case 'subbed':
        return { kind: 'joined', id: f.ref, room: f.channel, members: f.n, seq: f.offset };
      case 'unsubbed':
        return { kind: 'left', id: f.ref };
      case 'puback':
        return { kind: 'ack', id: f.ref, seq: f.offset };
      case 'event':
        return { kind: 'message', room: f.channel, seq: f.offset, tag: f.body?.wsb };
      case 'hb':
        return { kind: 'pong', id: f.ref };
      case 'err':
        return { kind: 'error', id: f.ref, code: String(f.reason ?? 'error') };
      default:
        return null;
    }
  },
};

export default defineScenario({
  name: 'acme-chat',
  description: 'broadcast against a server speaking the acme-chat dialect (custom adapter example)',
  defaults: { clients: 100, rooms: 5, duration: 5000, rate: 50 },
  adapter: () => acmeCodec,
  async loop(vu) {
    // One heartbeat a second per client: gives the `rtt` metric.
    while (vu.running) {
      await vu.ping();
      await vu.sleep(1000);
    }
  },
});
