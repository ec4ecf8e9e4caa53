import http from 'node:http';
import https from 'node:https';

/** An HTTP response as the topology reads it: status code and the whole body as text. */
export interface HttpResult {
  status: number;
  body: string;
}

/**
 * GET `url` over HTTP (or HTTPS, certificate not checked) without keep-alive (a pooled idle socket would hold
 * a draining node open), with an overall timeout in milliseconds. Rejects on
 * network errors and timeouts; any HTTP status resolves.
 */
export function httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // https: a bundled node started with `tls=on` carries the self-signed certificate it made itself.
    const get = url.startsWith('https:') ? (https.get as typeof http.get) : http.get;
    const req = get(url, { agent: false, headers: { connection: 'close' }, rejectUnauthorized: false } as http.RequestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** `http://host:port` of a ws/wss/http/https URL (the node's HTTP endpoints live on the same port). */
export function httpBase(url: string): string {
  const u = new URL(url);
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}`;
}
