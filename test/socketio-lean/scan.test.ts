/**
 * The lean Socket.IO client's receive fast path (src/protocol/socketio-scan.ts)
 * against the full parse (JSON.parse + eventFrame, what socket.io-client's path
 * reports) on generated room-message packets: whenever the scan answers, it must
 * answer what the parse says; and plain packets must take the fast path.
 */
import { describe, expect, it } from 'vitest';
import { scanSioDelivery, sioScanKeys, type SioScanned } from '../../src/protocol/socketio-scan.ts';
import { DEFAULT_SOCKETIO_NAMES, parseSocketIoNames, type SocketIoNames } from '../../src/protocol/socketio-names.ts';
import { eventFrame } from '../../src/protocol/socketio-events.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const out = (): SioScanned => ({ roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false, offsetStart: -1, offsetEnd: -1 });

/** A `new-message`-like packet (after the Engine.IO `4`), fields in random order, some odd on purpose. */
function packet(n: SocketIoNames, r: () => number): { text: string; plain: boolean } {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const odd = r() < 0.3;
  const room = odd && r() < 0.3 ? pick(['ro"om', 'r\\1', 'räum']) : `room-${Math.floor(r() * 50)}`;
  const tag = odd && r() < 0.3 ? pick(['1.2.3', 'x.1.2.3', '']) : `${Math.floor(r() * 9)}.${Math.floor(r() * 99)}.${Math.floor(r() * 1e6)}.${Math.floor(r() * 1e12)}`;
  const fields: Array<[string, unknown]> = [
    ['id', `n0-${Math.floor(r() * 1e6).toString(36)}`],
    [n.room, room],
    ['userId', odd ? pick(['a"b', 'seq', `"${n.room}":"x"`, 'wsb":"9.9.9.9"']) : `user-${Math.floor(r() * 100)}`],
    [n.content, r() < 0.1 ? 'no tag here' : { wsb: tag, pad: 'x'.repeat(Math.floor(r() * 300)) }],
    ['type', 'text'],
    [n.seq, r() < 0.1 ? undefined : Math.floor(r() * 1e6)],
    ['timestamp', 1_700_000_000_000 + Math.floor(r() * 1e6)],
  ];
  if (r() < 0.2) fields.push(['replay', r() < 0.8]);
  fields.sort(() => r() - 0.5);
  const msg = Object.fromEntries(fields.filter(([, v]) => v !== undefined));
  const args: unknown[] = [n.message, msg];
  if (r() < 0.5) args.push(Math.floor(r() * 1e9).toString(36));
  const plain = /^room-\d+$/.test(room) && /^\d+\.\d+\.\d+\.\d+$/.test(tag) && typeof msg[n.content] === 'object';
  return { text: `2${JSON.stringify(args)}`, plain };
}

/** Scan `count` generated packets; returns how many took the fast path and every disagreement with the parse. */
function check(n: SocketIoNames, seed: number, count: number): { fast: number; wrong: string[] } {
  const r = rng(seed);
  const keys = sioScanKeys(n);
  let fast = 0;
  const wrong: string[] = [];
  for (let k = 0; k < count; k++) {
    const { text, plain } = packet(n, r);
    const buf = Buffer.from(`4${text}`);
    const o = out();
    const hit = scanSioDelivery(buf, 1, buf.length, keys, o);
    if (plain && !hit) wrong.push(`missed the fast path: ${text}`);
    if (!hit) continue;
    fast++;
    const data = JSON.parse(text.slice(1)) as unknown[];
    const frame = eventFrame(n, data[0] as string, data[1]);
    const want = frame?.kind === 'message' ? { room: frame.room, seq: frame.seq ?? -1, tag: frame.tag, replay: frame.replay, offset: data.length > 2 ? data[data.length - 1] : undefined } : frame;
    const got = { room: buf.toString('utf8', o.roomStart, o.roomEnd), seq: o.seq, tag: [o.node, o.pub, o.counter, o.sendUs].join('.'), replay: o.replay, offset: o.offsetStart >= 0 ? buf.toString('latin1', o.offsetStart, o.offsetEnd) : undefined };
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${text}: scan ${JSON.stringify(got)}, parse ${JSON.stringify(want)}`);
  }
  return { fast, wrong };
}

describe('the Socket.IO delivery scan', () => {
  it('agrees with the full parse on generated packets, default names', () => {
    const { fast, wrong } = check(DEFAULT_SOCKETIO_NAMES, 7, 2000);
    expect(wrong).toEqual([]);
    expect(fast).toBeGreaterThan(1000);
  });

  it('agrees with the full parse with --set sio-names', () => {
    const { names } = parseSocketIoNames('message=event,room=channel,seq=offset,content=body');
    const { fast, wrong } = check(names, 11, 1000);
    expect(wrong).toEqual([]);
    expect(fast).toBeGreaterThan(500);
  });

  it('leaves other events, acks and other namespaces to the full parse', () => {
    const keys = sioScanKeys(DEFAULT_SOCKETIO_NAMES);
    const msg = '{"roomId":"room-1","content":{"wsb":"1.2.3.4","pad":""},"seq":1}';
    for (const text of [`2["other",${msg}]`, `23["new-message",${msg}]`, `2/chat,["new-message",${msg}]`, `3["new-message",${msg}]`]) {
      const buf = Buffer.from(text);
      expect(scanSioDelivery(buf, 0, buf.length, keys, out()), text).toBe(false);
    }
  });
});
