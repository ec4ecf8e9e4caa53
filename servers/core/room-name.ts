/**
 * Room name rules shared by both flavours (PROTOCOL.md "Room names"): non-empty,
 * at most `maxBytes` UTF-8 bytes, printable (no control, format or zero-width
 * characters, no lone surrogates), and not in the server's reserved space.
 */

/** Names starting with this are the server's own (Socket.IO's `@user:<id>` rooms); both flavours refuse them. */
export const RESERVED_ROOM_PREFIX = '@';

/**
 * Control characters (C0, DEL, C1), format characters (zero-width space and
 * joiners, bidi controls, the BOM: Unicode category Cf), line and paragraph
 * separators, and unpaired surrogates.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u;

/** Why `name` is not a usable room name, or undefined when it is. One text for both flavours. */
export function roomNameProblem(name: unknown, maxBytes: number): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'room must be a non-empty string';
  if (Buffer.byteLength(name) > maxBytes) return `room name longer than ${maxBytes} bytes`;
  if (UNPRINTABLE.test(name)) return 'room name must be printable: no control, zero-width or format characters';
  if (name.startsWith(RESERVED_ROOM_PREFIX)) return `room names starting with "${RESERVED_ROOM_PREFIX}" are reserved`;
  return undefined;
}
