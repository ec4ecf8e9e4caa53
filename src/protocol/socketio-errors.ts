/**
 * What a Socket.IO client reports when its connection did not come up, worded the
 * same by both clients (socketio-lean.ts, socketio-transport.ts): a short stable
 * code for `errors.<code>` and a message saying what usually causes it.
 *
 * Refusals are counted by reason, as the raw ws path counts them: a `connect_error`
 * from the server's middleware by its message (`handshake_refused_rate_limit_exceeded`
 * for "Rate limit exceeded"), an HTTP refusal of the polling request or the WebSocket
 * upgrade by its status (`http_429`), with the server's words in the detail.
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
  if (kind === 'handshake_refused') return { code: refusalCode(msg), detail: `the server refused the handshake: ${msg}` };
  if (kind === 'handshake_timeout') return { code: kind, detail: msg };
  const status = httpStatusOf(cause);
  const hint400 = status === '400' ? '; a Socket.IO 2.x server also answers 400: --set transports=polling shows its reason' : '';
  const seen = `${msg}${cause !== undefined ? `: ${cause}` : ''}`;
  // Refused with a status that says why (401, 403, 429, 503, ...): the server's answer, not a wrong path.
  if (status && !PATH_STATUSES.has(status)) return { code: `http_${status}`, detail: `the server refused the handshake with HTTP ${status}: ${seen}${body && !seen.includes(body) ? ` (${body.slice(0, 120)})` : ''}` };
  return {
    code: status ? `http_${status}` : kind,
    detail: `${seen} (no Socket.IO server answered at path ${path}; check the URL's path, the default is /socket.io${hint400})`,
  };
}

/** Statuses a server gives a request it has no Socket.IO endpoint for (wrong path, other protocol). */
const PATH_STATUSES = new Set(['400', '404', '405']);

/** The HTTP status in what the transport saw: `Unexpected server response: 429...` (WebSocket) or a bare `429` (polling). */
export function httpStatusOf(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  const m = /^(\d{3})$/.exec(cause.trim()) ?? /Unexpected server response: (\d{3})/.exec(cause);
  return m?.[1];
}

/** Distinct refusal reasons counted per process; later new ones share `handshake_refused_other` (a message may carry ids). */
export const MAX_REFUSAL_REASONS = 16;
const refusalReasons = new Set<string>();

/**
 * The `errors.<code>` of a `connect_error` refusal: `handshake_refused_` and the message
 * in lower case, words joined by `_`, at most 40 characters ("Rate limit exceeded" ->
 * `handshake_refused_rate_limit_exceeded`); plain `handshake_refused` for an empty one.
 */
export function refusalCode(message: string): string {
  const slug = message.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40).replace(/_+$/, '');
  if (!slug || slug === 'connect_error') return 'handshake_refused';
  if (!refusalReasons.has(slug)) {
    if (refusalReasons.size >= MAX_REFUSAL_REASONS) return 'handshake_refused_other';
    refusalReasons.add(slug);
  }
  return `handshake_refused_${slug}`;
}

/** The message naming an Engine.IO v3 server, after what the client saw (`seen`). */
export function engineIoV3(seen: string): string {
  return `${seen}; it is probably a Socket.IO 2.x server (Engine.IO v3), which wsbench does not speak (Socket.IO 3 and 4 only)`;
}
