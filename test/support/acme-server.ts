/**
 * A small server speaking the acme-chat dialect (see examples/acme-chat.ts), for
 * testing the custom-adapter hook. Options make it misbehave on purpose.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export interface AcmeServer {
  url: string;
  /** Connections accepted per client source address (the socket's remote address). */
  remotes: Map<string, number>;
  close(): Promise<void>;
}

export async function startAcmeServer(opts: { dropEvery?: number; garbage?: boolean } = {}): Promise<AcmeServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/chat' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const channels = new Map<string, { seq: number; members: Set<WebSocket> }>();
  let published = 0;
  const remotes = new Map<string, number>();
  wss.on('connection', (ws, req) => {
    const from = req.socket.remoteAddress ?? '?';
    remotes.set(from, (remotes.get(from) ?? 0) + 1);
    if (!String(req.headers.authorization ?? '').startsWith('Bearer ')) {
      ws.close(4001, 'no token');
      return;
    }
    ws.on('message', (data) => {
      let f: any;
      try {
        f = JSON.parse(String(data));
      } catch {
        ws.send(JSON.stringify({ op: 'err', reason: 'bad_json' }));
        return;
      }
      const ch = (name: string) => channels.get(name) ?? channels.set(name, { seq: 0, members: new Set() }).get(name)!;
      switch (f.op) {
        case 'sub': {
          const c = ch(f.channel);
          c.members.add(ws);
          ws.send(JSON.stringify({ op: 'subbed', ref: f.ref, channel: f.channel, n: c.members.size, offset: c.seq }));
          break;
        }
        case 'unsub':
          ch(f.channel).members.delete(ws);
          ws.send(JSON.stringify({ op: 'unsubbed', ref: f.ref }));
          break;
        case 'pub': {
          const c = ch(f.channel);
          const offset = ++c.seq;
          ws.send(JSON.stringify({ op: 'puback', ref: f.ref, offset }));
          published++;
          const frame = JSON.stringify({ op: 'event', channel: f.channel, offset, body: f.body });
          let i = 0;
          for (const m of c.members) {
            i++;
            if (opts.dropEvery && (published * 31 + i) % opts.dropEvery === 0) continue;
            if (m.readyState === WebSocket.OPEN) m.send(frame);
          }
          if (opts.garbage) ws.send('{"op":');
          break;
        }
        case 'hb':
          ws.send(JSON.stringify({ op: 'hb', ref: f.ref }));
          break;
      }
    });
    ws.on('close', () => {
      for (const c of channels.values()) c.members.delete(ws);
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/chat`,
    remotes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

// Startable alone for trying the example by hand: node --import tsx test/support/acme-server.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startAcmeServer();
  console.log(s.url);
}
