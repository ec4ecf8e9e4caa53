/**
 * A stand-in for servers/main.ts that follows the same process contract
 * (stdout line 1 the URL, line 2 the token, /healthz, /stats, SIGTERM drain
 * with 1001, SIGUSR2 closes everything with 1012, exit 2 on bad flags,
 * --die-with-parent), so the topology module can be tested without the real
 * server, and misbehaving nodes can be had on demand with `--fake-mode`:
 *
 * - `exit2`: refuse the flags (stderr says why, exit 2)
 * - `crash`: print some stderr and exit 1 before printing the URL
 * - `silent`: never print the URL
 * - `degraded`: /healthz answers 503 forever
 *
 * Run as `node --import tsx test/helpers/fake-node.ts --port 0 ...`.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';

const argv = process.argv.slice(2);
const flags: Record<string, string> = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (!a.startsWith('--')) {
    process.stderr.write(`unexpected argument "${a}"\n`);
    process.exit(2);
  }
  const next = argv[i + 1];
  if (next === undefined || next.startsWith('--')) flags[a.slice(2)] = 'true';
  else {
    flags[a.slice(2)] = next;
    i++;
  }
}

const mode = flags['fake-mode'] ?? 'ok';
const nodeId = flags['node-id'] ?? 'n0';
for (const key of ['port', 'heartbeat-ms']) {
  if (mode === 'exit2' || (flags[key] !== undefined && !/^\d+$/.test(flags[key]!))) {
    process.stderr.write(`invalid options\n${key}: ${JSON.stringify(flags[key])} is not allowed; expected an integer\n`);
    process.exit(2);
  }
}
if (mode === 'crash') {
  process.stderr.write('starting\nError: something broke on purpose\n');
  process.exit(1);
}
if (flags['die-with-parent'] !== undefined) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    const ok = mode !== 'degraded';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { status: 'ok' } : { status: 'degraded', reason: 'fake' }));
  } else if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ node: nodeId, connections: wss.clients.size, redis: flags.redis ?? null }));
  } else {
    res.writeHead(404);
    res.end();
  }
});
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'welcome', node: nodeId })));

process.on('SIGUSR2', () => {
  for (const ws of wss.clients) ws.close(1012, 'restarting');
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.close(1001, 'shutting down');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

server.listen(Number(flags.port ?? 0), flags.host ?? '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stderr.write(`fake node ${nodeId} listening on ${port}\n`);
  if (mode === 'silent') return;
  process.stdout.write(`ws://127.0.0.1:${port}/ws\ntoken: fake-token-${nodeId}\n`);
});
