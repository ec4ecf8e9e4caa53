/**
 * The receive fast path of the lean Socket.IO client: a room-message event
 * (`42["new-message",{...},"<offset>"]` by default) read from its bytes in one
 * pass, without building the string or parsing the JSON, as raw-scan.ts does for
 * wsbench/1. Event and field names come from `--set sio-names`.
 *
 * Keys are found at their first occurrence after a quote, which for valid JSON is
 * always a key or a string's end, never inside a string (a quote there is escaped).
 * Anything unexpected (an escaped room name, no tag, a packet with an ack id or a
 * namespace) returns false, and the caller parses the packet in full.
 */
import type { ScannedDelivery } from './raw-scan.ts';
import { at, nextQuote, readDelivery } from './raw-scan.ts';
import type { SocketIoNames } from './socketio-names.ts';

const Q = 34; // "

/** The byte patterns of one run's names, built once per transport. */
export interface SioScanKeys {
  /** `2["<message event>",{`: a Socket.IO EVENT for the default namespace, without an ack id. */
  prefix: Uint8Array;
  /** Key bytes after the opening quote, with what follows the key. */
  room: Uint8Array;
  seq: Uint8Array;
  wsb: Uint8Array;
  replay: Uint8Array;
}

/** What a scan found besides the delivery: the packet's offset (connection state recovery), or -1s. */
export interface SioScanned extends ScannedDelivery {
  offsetStart: number;
  offsetEnd: number;
}

/** The scan's byte patterns for a run's names (`--set sio-names`). */
export function sioScanKeys(n: SocketIoNames): SioScanKeys {
  const b = (s: string) => new Uint8Array(Buffer.from(s));
  return {
    prefix: b(`2[${JSON.stringify(n.message)},{`),
    room: b(`${n.room}":"`),
    seq: b(`${n.seq}":`),
    wsb: b('wsb":"'),
    replay: b('replay":true'),
  };
}

/**
 * Scan the Socket.IO packet in `buf[start, end)` (after the Engine.IO `4`). True when it
 * is a tagged room message: `out` then holds the room's byte range, seq (-1 if none),
 * tag, replay flag and the trailing offset's byte range (-1 if the last argument is no string).
 */
export function scanSioDelivery(buf: Buffer, start: number, end: number, keys: SioScanKeys, out: SioScanned): boolean {
  if (!at(buf, start, end, keys.prefix)) return false;
  let wsb = -1;
  let seq = -1;
  let room = -1;
  let replay = false;
  const r0 = keys.room[0];
  const s0 = keys.seq[0];
  for (let i = nextQuote(buf, start + keys.prefix.length, end); i >= 0; i = nextQuote(buf, i + 1, end)) {
    const j = i + 1;
    const c = buf[j];
    if (c === r0 && room < 0 && at(buf, j, end, keys.room)) room = j + keys.room.length;
    else if (c === s0 && seq < 0 && at(buf, j, end, keys.seq)) seq = j + keys.seq.length;
    else if (c === 119 /* w */ && wsb < 0 && at(buf, j, end, keys.wsb)) wsb = j + keys.wsb.length;
    else if (c === 114 /* r */ && !replay && at(buf, j, end, keys.replay)) replay = true;
  }
  if (!readDelivery(buf, end, wsb, room, seq, replay, out)) return false;
  trailingString(buf, start, end, out);
  return true;
}

/** The last array element's string body, when the packet ends with `,"<offset>"]`. */
function trailingString(buf: Buffer, start: number, end: number, out: SioScanned): void {
  out.offsetStart = out.offsetEnd = -1;
  if (end - start < 4 || buf[end - 1] !== 93 /* ] */ || buf[end - 2] !== Q) return;
  let i = end - 3;
  while (i > start && buf[i] !== Q) {
    if (buf[i] === 92 /* \ */) return;
    i--;
  }
  if (buf[i - 1] !== 44 /* , */) return;
  out.offsetStart = i + 1;
  out.offsetEnd = end - 2;
}
