/**
 * The native flavour's door: an HTTP upgrade to /ws is admitted (token from
 * `Authorization: Bearer` or `?token=`, identity slot) and handed to ws, or
 * refused with a plain HTTP status and a reason.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Admission, Authenticator } from '../core/auth.ts';
import type { IdentityRegistry } from '../core/identities.ts';

/** The path the native flavour serves WebSocket on. */
export const WS_PATH = '/ws';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** Answer an upgrade request with `status` and `reason` as a plain-text body, then end the socket (at most 1 s later). */
export function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** The token of an upgrade request: `Authorization: Bearer T`, else the `token` query parameter, else undefined. */
export function upgradeToken(url: string, authorization: string | undefined): string | undefined {
  if (authorization && /^Bearer\s+/i.test(authorization)) return authorization.replace(/^Bearer\s+/i, '').trim();
  const q = url.indexOf('?');
  return q === -1 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined);
}

/** What admission of an upgrade needs: the ws server, authenticator, identities and callbacks. */
export interface UpgradeDeps {
  wss: WebSocketServer;
  authenticator: Authenticator;
  identities: IdentityRegistry;
  /** True once the server is shutting down (upgrades get 503). */
  closing(): boolean;
  /** Called for every refused upgrade. */
  onReject(): void;
  /** A socket that errs before or during the upgrade (ws closes it itself). */
  onSocketError(): void;
  /** The upgrade succeeded: the socket and its admission. */
  accept(ws: WebSocket, adm: Extract<Admission, { ok: true }>): void;
}

/** The `upgrade` listener of the HTTP server. */
export function createUpgradeHandler(d: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const reject = (socket: Duplex, status: number, reason: string) => {
    socket.on('error', d.onSocketError);
    d.onReject();
    rejectUpgrade(socket, status, reason);
  };
  return (req, socket, head) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (d.closing()) return reject(socket, 503, 'server shutting down');
    if (path !== WS_PATH) return reject(socket, 404, `no WebSocket endpoint at ${path.slice(0, 64)}; use ${WS_PATH}`);
    const adm = d.authenticator.admit(upgradeToken(url, req.headers.authorization));
    if (!adm.ok) return reject(socket, adm.status, adm.reason);
    // Without verifyClient (none is given) ws answers or refuses the upgrade synchronously, so
    // whether it called back is known when handleUpgrade returns: no listener per socket is
    // needed to give the identity slot back, and errors of a refused socket go to ws's own
    // listener. Corked, the 101 response and the welcome leave in one write (one system
    // call, one wake-up of the peer, instead of two); the bytes on the wire are the same.
    let accepted = false;
    const corkable = typeof (socket as Partial<Duplex>).cork === 'function';
    if (corkable) socket.cork();
    try {
      d.wss.handleUpgrade(req, socket, head, (ws) => {
        accepted = true;
        d.accept(ws, adm);
      });
    } finally {
      if (corkable) socket.uncork();
      if (!accepted) d.identities.release(adm.identity);
    }
  };
}
