import net from 'node:net';
import { harnessError, usageError } from '../errors.ts';
import { PROBE_TIMEOUT_MS } from './defaults.ts';

const DEFAULT_PORTS: Record<string, number> = { 'ws:': 80, 'http:': 80, 'wss:': 443, 'https:': 443 };

/** Host and port a target URL connects to; throws a usage error naming every malformed URL. */
export function targetAddresses(urls: string[]): Array<{ url: string; host: string; port: number }> {
  const problems: string[] = [];
  const out: Array<{ url: string; host: string; port: number }> = [];
  for (const url of urls) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      problems.push(`"${url}" is not a URL (expected ws://HOST:PORT/PATH or http://HOST:PORT)`);
      continue;
    }
    const def = DEFAULT_PORTS[u.protocol];
    if (def === undefined) {
      problems.push(`"${url}" has scheme ${u.protocol} (expected ws:, wss:, http: or https:)`);
      continue;
    }
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    out.push({ url, host, port: u.port === '' ? def : Number(u.port) });
  }
  if (problems.length > 0) {
    throw usageError('WSB_ERR_TARGET_URL', problems.length === 1 ? problems[0]! : `${problems.length} bad target URLs`, 'pass URLs like ws://127.0.0.1:8080/ws', problems);
  }
  return out;
}

/** Why a TCP connect to `host:port` failed, or undefined when it connected within `timeoutMs`. Never throws. */
export function tcpProbe(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer from ${where} within ${timeoutMs / 1000} s — is a firewall dropping packets?`), timeoutMs);
    sock.once('connect', () => done(undefined));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      switch (e.code) {
        case 'ECONNREFUSED':
          return done(`connection refused at ${where} — is the server running?`);
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          return done(`host ${host} not found (DNS)`);
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
          return done(`no route to ${where}`);
        default:
          return done(`cannot connect to ${where}: ${e.code ?? e.message}`);
      }
    });
  });
}

/**
 * Check that every target URL accepts TCP connections (nothing more: no
 * upgrade, no HTTP request), all in parallel.
 *
 * @throws usage error `WSB_ERR_TARGET_URL` for malformed URLs; harness error
 *   `WSB_ERR_TARGET_UNREACHABLE` (exit 3) naming every unreachable URL and why
 */
export async function probeTargets(urls: string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  const addrs = targetAddresses(urls);
  const results = await Promise.all(addrs.map((a) => tcpProbe(a.host, a.port, timeoutMs)));
  const problems = addrs.flatMap((a, i) => (results[i] === undefined ? [] : [`${a.url}: ${results[i]}`]));
  if (problems.length > 0) {
    throw harnessError(
      'WSB_ERR_TARGET_UNREACHABLE',
      problems.length === 1 ? `target unreachable: ${problems[0]}` : `${problems.length} targets unreachable:\n  ${problems.join('\n  ')}`,
      'start the server first, or drop the target option to use the bundled server',
    );
  }
}
