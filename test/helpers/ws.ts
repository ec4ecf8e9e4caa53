import WebSocket from 'ws';
import { withTimeout } from './timeout.ts';

export interface TestClient {
  ws: WebSocket;
  /** Resolves with the close code and reason, whoever closes. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/**
 * Open a ws client to `url` (adding `?token=` when given) and resolve once it
 * is open; rejects after `timeoutMs` (default 5000). The caller closes it.
 */
export async function openClient(url: string, token?: string, timeoutMs = 5000): Promise<TestClient> {
  const u = new URL(url);
  if (token !== undefined) u.searchParams.set('token', token);
  const ws = new WebSocket(u);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} from ${url}`)));
        ws.once('error', reject);
      }),
      timeoutMs,
      `ws connect to ${url}`,
    );
  } catch (e) {
    ws.terminate();
    throw e;
  }
  return {
    ws,
    closed,
    close: () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
}
