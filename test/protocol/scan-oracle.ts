/** Test oracle: a plainly written delivery scanner the fast one must agree with. */
import type { ScannedDelivery } from '../../src/protocol/native.ts';

const WSB = Buffer.from('"wsb":"');
const SEQ = Buffer.from('"seq":');
const ROOM = Buffer.from('"room":"');
const TYPE_MESSAGE = Buffer.from('"type":"message"');
const REPLAY = Buffer.from('"replay":true');

const vals = [0, 0, 0, 0];


/**
 * The first, indexOf-based reading of a delivery frame, kept as a test oracle for the
 * one-pass scanner. Reads a `message` frame carrying our tag from its bytes into `out`. Returns false
 * when the frame is anything else (or has an escaped room name), so the caller
 * falls back to the codec's `decode`.
 */
export function scanDeliveryOracle(buf: Buffer, out: ScannedDelivery): boolean {
  const w = buf.indexOf(WSB);
  if (w < 0 || buf.indexOf(TYPE_MESSAGE) < 0) return false;
  // Tag: four dot-separated decimal integers then a quote.
  let i = w + WSB.length;
  const len = buf.length;
  for (let k = 0; k < 4; k++) {
    let v = 0;
    let digits = 0;
    while (i < len) {
      const c = buf[i]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
      digits++;
    }
    if (digits === 0) return false;
    vals[k] = v;
    const sep = buf[i];
    if (k < 3 ? sep !== 46 /* . */ : sep !== 34 /* " */) return false;
    i++;
  }
  const s = buf.indexOf(SEQ);
  let seq = -1;
  if (s >= 0) {
    let j = s + SEQ.length;
    while (buf[j] === 32) j++;
    let v = 0;
    let digits = 0;
    while (j < len) {
      const c = buf[j]!;
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      j++;
      digits++;
    }
    if (digits > 0) seq = v;
  }
  const r = buf.indexOf(ROOM);
  if (r < 0) return false;
  const roomStart = r + ROOM.length;
  const roomEnd = buf.indexOf(34, roomStart);
  if (roomEnd < 0 || buf.lastIndexOf(92 /* \ */, roomEnd) >= roomStart) return false;
  out.roomStart = roomStart;
  out.roomEnd = roomEnd;
  out.seq = seq;
  out.node = vals[0]!;
  out.pub = vals[1]!;
  out.counter = vals[2]!;
  out.sendUs = vals[3]!;
  out.replay = buf.indexOf(REPLAY) >= 0;
  return true;
}
