/**
 * What a Socket.IO client reports when its connection did not come up, worded the
 * same by both clients (socketio-lean.ts, socketio-transport.ts): a short stable
 * code for `errors.<code>` and a message saying what usually causes it.
 */

/** Why the connection failed, as the client saw it. */
export type ConnectFailureKind = 'handshake_refused' | 'connect_failed' | 'handshake_timeout';

/**
 * The error code and message of a failed Socket.IO connection.
 *
 * @param kind refused by the server (`connect_error`), no Socket.IO server answered, or too slow
 * @param msg what the client said (`websocket error`, the server's `connect_error` message, `timeout`)
 * @param cause what the transport underneath saw (e.g. `Unexpected server response: 400`), if anything
 * @param body the HTTP response body of a refused handshake, when the client could read it ('' otherwise)
 * @param path the Engine.IO path the client asked for (default `/socket.io`)
 */
export function connectFailure(kind: ConnectFailureKind, msg: string, cause: string | undefined, body: string, path: string): { code: string; detail: string } {
  // An Engine.IO v3 server (Socket.IO 2.x) answers v4's handshake with 400 / code 5.
  if (/"code":5\b|Unsupported protocol version/.test(body)) return { code: 'engine_io_v3', detail: engineIoV3(`${msg}: ${String(cause)} — the server refused Engine.IO v4`) };
  // socket.io-client's words for a CONNECT without a sid, which only a Socket.IO 2.x server sends.
  if (/Socket\.IO server in v2\.x/.test(msg)) return { code: 'engine_io_v3', detail: engineIoV3(msg) };
  if (kind === 'handshake_refused') return { code: kind, detail: `the server refused the handshake: ${msg}` };
  if (kind === 'handshake_timeout') return { code: kind, detail: msg };
  const hint400 = /\b400\b/.test(String(cause)) ? '; a Socket.IO 2.x server also answers 400: --set transports=polling shows its reason' : '';
  return {
    code: kind,
    detail: `${msg}${cause !== undefined ? `: ${cause}` : ''} (no Socket.IO server answered at path ${path}; check the URL's path, the default is /socket.io${hint400})`,
  };
}

/** The message naming an Engine.IO v3 server, after what the client saw (`seen`). */
export function engineIoV3(seen: string): string {
  return `${seen}; it is probably a Socket.IO 2.x server (Engine.IO v3), which wsbench does not speak (Socket.IO 3 and 4 only)`;
}
