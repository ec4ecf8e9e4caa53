/** Security-suite helpers: deep payloads, raw HTTP over TCP, logs captured per server. */
import net from 'node:net';

/** An array nested `depth` levels deep, built without recursion (`[[[...0...]]]`). */
export function nested(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Send `request` (raw bytes) to 127.0.0.1:`port`; resolve with everything the server wrote before closing (bounded by `timeoutMs`). */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('close', done);
    sock.on('error', () => {});
  });
}

/** A log sink that keeps every line (servers' `log` dependency). */
export function captureLog(): { lines: string[]; log: (l: string) => void } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l) };
}
