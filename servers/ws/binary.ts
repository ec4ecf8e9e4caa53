/**
 * wsbench/1 binary frames, the server's side (docs/PROTOCOL.md "Binary frames"): a
 * binary publish parsed into the same command as a JSON one (its payload a Buffer), and
 * binary room messages kept as latin1 strings (one char per byte) so that sequencing,
 * retention, the Redis bus and replays carry them exactly like JSON messages: a message
 * string starting with 0x02 (0x03 for a replay) is sent as a binary frame.
 */
import { roomNameProblem } from '../core/room-name.ts';
import type { FrameLimits, ParsedFrame } from './client-frame.ts';

const PUBLISH = 0x01;
const MESSAGE = 0x02;
const REPLAY = 0x03;

const fail = (message: string, id?: number): ParsedFrame => ({ ok: false, problem: id === undefined ? { message } : { id, message } });

/**
 * Parse a binary frame: `0x01, flags (bit 0: no echo), id (uint32 BE), room length
 * (1 byte), room (UTF-8), payload`. Never throws.
 */
export function parseBinaryPublish(data: Buffer, limits: FrameLimits): ParsedFrame {
  if (data.length < 8 || data[0] !== PUBLISH) return fail('binary frames must be publishes: 0x01, flags, id (uint32), room length, room, payload');
  const id = data.readUInt32BE(2);
  const roomEnd = 7 + data[6]!;
  if (data[6] === 0 || roomEnd > data.length) return fail('binary publish: the room length runs past the frame, or is 0', id);
  const room = data.toString('utf8', 7, roomEnd);
  if (Buffer.byteLength(room) !== roomEnd - 7) return fail('binary publish: the room name is not valid UTF-8', id);
  const problem = roomNameProblem(room, limits.maxRoomName);
  if (problem) return fail(problem, id);
  return { ok: true, cmd: { type: 'publish', id, room, payload: data.subarray(roomEnd), echo: (data[1]! & 1) === 0 } };
}

/** The text around the seq of a binary room message (`prefix + seq + suffix`, latin1), as the JSON ones have. */
export function binaryMessageParts(room: string, from: string, payload: Buffer): { prefix: string; suffix: string } {
  const roomBytes = Buffer.from(room, 'utf8');
  const fromBytes = Buffer.from(from, 'utf8').subarray(0, 255);
  const tail = Buffer.concat([Buffer.from([0, roomBytes.length]), roomBytes, Buffer.from([fromBytes.length]), fromBytes, payload]);
  return { prefix: String.fromCharCode(MESSAGE), suffix: tail.toString('latin1') };
}

/** Whether a stored room message is a binary one. */
export function isBinaryMessage(text: string): boolean {
  const k = text.charCodeAt(0);
  return k === MESSAGE || k === REPLAY;
}

/** What to hand `ws.send`: the string itself, or the bytes of a binary message. */
export function wireOf(text: string): string | Buffer {
  return isBinaryMessage(text) ? Buffer.from(text, 'latin1') : text;
}

/** A retained message as sent again on resume: `"replay":true` added, or the binary replay kind. */
export function replayOf(text: string): string {
  return isBinaryMessage(text) ? String.fromCharCode(REPLAY) + text.slice(1) : `${text.slice(0, -1)},"replay":true}`;
}
