/**
 * The Socket.IO v5 packet format over Engine.IO v4 (docs/PROTOCOL.md section 2;
 * socket.io-protocol v5): what the lean client writes and how it splits what it
 * reads. A packet is `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`,
 * carried in an Engine.IO message (`4`); binary attachments follow as binary
 * WebSocket frames.
 */

/** Engine.IO v4 packet types (the first character of a text frame). */
export const EIO_OPEN = 48; // '0'
/** Engine.IO close packet. */
export const EIO_CLOSE = 49; // '1'
/** Engine.IO ping packet (the server pings; v4). */
export const EIO_PING = 50; // '2'
/** Engine.IO pong packet. */
export const EIO_PONG = 51; // '3'
/** Engine.IO message packet (carries a Socket.IO packet). */
export const EIO_MESSAGE = 52; // '4'
/** Engine.IO upgrade packet. */
export const EIO_UPGRADE = 53; // '5'
/** Engine.IO noop packet. */
export const EIO_NOOP = 54; // '6'

/** Socket.IO v5 packet types (the character after the Engine.IO `4`). */
export const SIO_CONNECT = 0;
/** Socket.IO disconnect packet. */
export const SIO_DISCONNECT = 1;
/** Socket.IO event packet. */
export const SIO_EVENT = 2;
/** Socket.IO ack packet. */
export const SIO_ACK = 3;
/** Socket.IO connect-error packet (the namespace refused the connection). */
export const SIO_CONNECT_ERROR = 4;
/** Socket.IO event packet with binary attachments. */
export const SIO_BINARY_EVENT = 5;
/** Socket.IO ack packet with binary attachments. */
export const SIO_BINARY_ACK = 6;

/** A Socket.IO packet's header, read from `text` (the Engine.IO message's payload). */
export interface SioHeader {
  type: number;
  /** Binary attachments that follow (binary packets only), else 0. */
  attachments: number;
  /** Namespace, `/` when the packet names none. */
  nsp: string;
  /** Ack id, or -1. */
  id: number;
  /** Where the JSON data starts in `text` (= text.length when there is none). */
  dataStart: number;
}

/** Split a Socket.IO packet; null when it is not one. */
export function parseSioHeader(text: string): SioHeader | null {
  const type = text.charCodeAt(0) - 48;
  if (!(type >= SIO_CONNECT && type <= SIO_BINARY_ACK)) return null;
  let i = 1;
  let attachments = 0;
  if (type === SIO_BINARY_EVENT || type === SIO_BINARY_ACK) {
    const dash = text.indexOf('-', i);
    if (dash < 0) return null;
    attachments = Number(text.slice(i, dash));
    if (!Number.isSafeInteger(attachments) || attachments < 0) return null;
    i = dash + 1;
  }
  let nsp = '/';
  if (text.charCodeAt(i) === 47 /* / */) {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  let id = -1;
  const digitsFrom = i;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  if (i > digitsFrom) id = Number(text.slice(digitsFrom, i));
  return { type, attachments, nsp, id, dataStart: i };
}

/**
 * An Engine.IO message holding a Socket.IO EVENT for the default namespace: `event`
 * and `args` are JSON texts already (one JSON.stringify per request, not per packet part).
 */
export function eventPacket(ackId: number, event: string, args: string): string {
  return `42${ackId}[${event},${args}]`;
}

/** The CONNECT packet for the default namespace, with its `auth` payload (null = none). */
export function connectPacket(auth: Record<string, unknown> | null): string {
  return auth === null ? '40' : `40${JSON.stringify(auth)}`;
}

/** The client's DISCONNECT packet for the default namespace. */
export const DISCONNECT_PACKET = '41';
/** The client's answer to an Engine.IO ping. */
export const PONG_PACKET = '3';
