/**
 * Gallery: a deliberately broken WebSocket server on raw node:net sockets, for the
 * `protocol` scenario's tests. Its handshake is right (correct Sec-WebSocket-Accept,
 * 400 without a key) but it breaks RFC 6455 in these known ways, each of which one
 * `rfc6455.*` check must catch:
 *   - it upgrades any Sec-WebSocket-Version (handshake-version);
 *   - it answers pings with an empty pong (ping-pong);
 *   - it answers a close 1000 with close 1001 (close-handshake);
 *   - it accepts unmasked frames, reserved bits and invalid UTF-8 without a word
 *     (unmasked-client-frame, reserved-bits, invalid-utf8);
 *   - it closes with 1000 on a reserved opcode (reserved-opcode-data/-control);
 *   - it echoes every data frame as it comes, so a fragmented message comes back in
 *     pieces, continuation frames included (echo-fragmented).
 * It does close with 1002 on control frames over 125 bytes (control-too-long passes),
 * so a run shows failures and passes side by side.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Start the broken server on 127.0.0.1 (ephemeral port). */
export async function startBrokenServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    serve(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One connection: the handshake, then frames. */
function serve(s: Socket): void {
  let buf = Buffer.alloc(0);
  let upgraded = false;
  s.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1];
      buf = buf.subarray(end + 4);
      if (!key) return void s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
    }
    for (;;) {
      const f = nextFrame(buf);
      if (!f) return;
      buf = buf.subarray(f.used);
      if (onFrame(s, f.b0, f.payload)) return;
    }
  });
}

/** React to one frame; true when the connection is finished. */
function onFrame(s: Socket, b0: number, payload: Buffer): boolean {
  const opcode = b0 & 0x0f;
  if (opcode === 0x9) {
    if (payload.length > 125) return closeWith(s, 1002);
    s.write(frame(0x8a, Buffer.alloc(0))); // wrong: a pong must carry the ping's payload
    return false;
  }
  if (opcode === 0x8) return closeWith(s, 1001); // wrong: should echo the code
  if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) return closeWith(s, 1000); // wrong: 1002
  if (opcode <= 0x2) s.write(frame(0x80 | opcode, payload)); // wrong: each fragment echoed as if it were whole
  return false;
}

function closeWith(s: Socket, code: number): boolean {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code);
  s.end(frame(0x88, p));
  return true;
}

/** An unmasked server frame with first byte `b0`. */
function frame(b0: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([b0, n]) : n < 65536 ? Buffer.from([b0, 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([b0, 127]), u64(n)]);
  return Buffer.concat([head, payload]);
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 0x100000000), 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}

/** One client frame (masked or not, which it does not check) from the front of `buf`. */
function nextFrame(buf: Buffer): { b0: number; payload: Buffer; used: number } | undefined {
  if (buf.length < 2) return undefined;
  let n = buf[1]! & 0x7f;
  let p = 2;
  if (n === 126) {
    if (buf.length < 4) return undefined;
    n = buf.readUInt16BE(2);
    p = 4;
  } else if (n === 127) {
    if (buf.length < 10) return undefined;
    n = buf.readUInt32BE(2) * 0x100000000 + buf.readUInt32BE(6);
    p = 10;
  }
  const masked = (buf[1]! & 0x80) !== 0;
  const mask = masked ? buf.subarray(p, p + 4) : undefined;
  if (masked) p += 4;
  if (buf.length < p + n) return undefined;
  const payload = Buffer.from(buf.subarray(p, p + n));
  if (mask) for (let k = 0; k < n; k++) payload[k] = payload[k]! ^ mask[k & 3]!;
  return { b0: buf[0]!, payload, used: p + n };
}
