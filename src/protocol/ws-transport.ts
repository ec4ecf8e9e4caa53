/**
 * Plain WebSocket transport (the `ws` client) driven by a FrameCodec: the
 * built-in wsbench/1 codec or a scenario's custom dialect.
 */
import WebSocket from 'ws';
import { scanDelivery, type ScannedDelivery } from './native.ts';
import type { ClientConnection, ConnectionEvents, ConnectOptions, FrameCodec, Transport } from './types.ts';

const scanned: ScannedDelivery = { roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false };

/** Short stable token for a client-side failure, used as `errors.<code>`. */
export function errorCode(err: Error & { code?: string }): string {
  const m = /Unexpected server response: (\d+)/.exec(err.message);
  if (m) return `http_${m[1]}`;
  if (/handshake has timed out/i.test(err.message)) return 'handshake_timeout';
  if (/closed before the connection was established/i.test(err.message)) return 'aborted';
  if (err.code) return err.code;
  return 'unknown';
}

/** A transport on the `ws` client (`--set client=ws`) speaking `codec`. */
export function createWsTransport(codec: FrameCodec): Transport {
  const fast = codec.name === 'wsbench/1';
  return {
    name: codec.name,
    awaitsWelcome: codec.awaitsWelcome ?? false,
    publishAck: codec.publishAck,
    roomField: codec.roomField,
    connect(opts: ConnectOptions, ev: ConnectionEvents): ClientConnection {
      const own = codec.forConnection?.() ?? codec;
      const url = codec.url ? codec.url(opts.url, opts.token) : withToken(opts.url, opts.token);
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: opts.handshakeTimeoutMs,
        localAddress: opts.localAddress,
        headers: codec.headers?.(opts.token),
        autoPong: false,
      });
      let answerPings = true;
      let failed = false;
      ws.on('ping', (data) => {
        const answer = answerPings && ws.readyState === WebSocket.OPEN;
        if (answer) ws.pong(data);
        ev.onHeartbeat(answer);
      });
      ws.on('open', () => ev.onOpen());
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          ev.onError('binary_frame', 'the server sent a binary frame where text was expected');
          return;
        }
        if (fast && scanDelivery(data, scanned)) {
          ev.onDelivery(
            data.toString('utf8', scanned.roomStart, scanned.roomEnd),
            scanned.seq,
            scanned.node,
            scanned.pub,
            scanned.counter,
            scanned.sendUs,
            scanned.replay,
          );
          return;
        }
        const frame = own.decode(data.toString('utf8'));
        if (frame === null) ev.onError('bad_frame', `could not decode a frame from the server: ${data.toString('utf8', 0, Math.min(80, data.length))}`);
        else ev.onFrame(frame);
      });
      // Keep what the server said when it refused the upgrade: the status and the first bytes of the body.
      ws.on('unexpected-response', (req, res) => {
        let said = '';
        const report = () => {
          if (failed) return;
          failed = true;
          const text = said.replace(/\s+/g, ' ').trim().slice(0, 160);
          ev.onError(`http_${res.statusCode}`, `Unexpected server response: ${res.statusCode}${text ? `: ${text}` : ''}`);
          req.destroy();
          ws.terminate();
        };
        res.on('data', (d: Buffer) => {
          said += d.toString('utf8');
          if (said.length >= 160) report();
        });
        res.on('end', report);
        res.on('error', report);
      });
      ws.on('error', (err: Error & { code?: string }) => {
        if (failed) return;
        failed = true;
        ev.onError(errorCode(err), err.message);
      });
      ws.on('close', (code: number, reason: Buffer) => ev.onClose(code, reason.toString()));
      const send = (text: string) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
      };
      return {
        join: (room, id, since, epoch) => send(own.encodeJoin(room, id, since, epoch)),
        leave: (room, id) => send(own.encodeLeave(room, id)),
        publish: (room, id, tag, pad) => send(own.encodePublish(room, id, { wsb: tag, pad })),
        ping: (id) => {
          if (!own.encodePing) return false;
          send(own.encodePing(id));
          return true;
        },
        close: (code = 1000) => {
          if (ws.readyState === WebSocket.OPEN) ws.close(code);
          else ws.terminate();
        },
        terminate: () => ws.terminate(),
        stopHeartbeat: () => {
          answerPings = false;
        },
        get isOpen() {
          return ws.readyState === WebSocket.OPEN;
        },
      };
    },
  };
}

function withToken(url: string, token: string | undefined): string {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
