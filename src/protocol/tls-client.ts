/**
 * TLS for the raw client (`wss:`): node:tls sockets that read into the transport's
 * shared buffer, with the session of the last handshake kept per target so that a
 * reconnection resumes it (as a browser does) instead of paying a full handshake.
 */
import tls from 'node:tls';
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** How the raw client checks a server's certificate. */
export interface TlsClientOptions {
  /** Accept any certificate (a self-signed test server). Default false. */
  insecure: boolean;
  /** PEM certificates trusted instead of the system's; undefined = Node's default CAs. */
  ca?: Buffer;
}

/** The default: verify against Node's CA store. */
export const VERIFY_TLS: TlsClientOptions = Object.freeze({ insecure: false });

/**
 * Read the TLS options of a run from its resolved options (`insecure`, `ca`: a PEM file,
 * read once per process). Throws when the file cannot be read.
 */
export function tlsClientOptionsOf(options: Readonly<Record<string, unknown>>): TlsClientOptions {
  const ca = typeof options.ca === 'string' && options.ca !== '' ? readFileSync(options.ca) : undefined;
  return { insecure: options.insecure === true, ca };
}

/** Why `--ca FILE` cannot be used, or undefined when it can (or is not set). */
export function caProblem(file: unknown): string | undefined {
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    const text = readFileSync(file, 'latin1');
    if (!text.includes('-----BEGIN CERTIFICATE-----')) return `--ca ${file}: no PEM certificate in the file (expected -----BEGIN CERTIFICATE-----)`;
  } catch (e) {
    return `--ca ${file}: cannot read it (${(e as Error).message}); give a PEM file of the CA that signed the server's certificate, or --insecure for a self-signed test server`;
  }
  return undefined;
}

/**
 * TLS sessions by target (`host:port`): the latest session a server issued, handed to the
 * next connection to the same target. One cache per process, shared by its clients.
 */
export class SessionCache {
  private readonly byTarget = new Map<string, Buffer>();

  get(target: string): Buffer | undefined {
    return this.byTarget.get(target);
  }

  set(target: string, session: Buffer): void {
    this.byTarget.set(target, session);
  }

  /** Forget a target's session (its server refused it, or the certificate changed). */
  delete(target: string): void {
    this.byTarget.delete(target);
  }

  get size(): number {
    return this.byTarget.size;
  }
}

/** Where a TLS socket keeps its cache entry's key (a symbol: no closure per connection). */
const kTarget = Symbol('wsbench.tlsTarget');
const kCache = Symbol('wsbench.tlsCache');
type CachedSocket = tls.TLSSocket & { [kTarget]: string; [kCache]: SessionCache };

function onSession(this: CachedSocket, session: Buffer): void {
  this[kCache].set(this[kTarget], session);
}

/** What connectTls needs besides the TLS options. */
export interface TlsConnect {
  host: string;
  port: number;
  localAddress?: string;
  /** The transport's shared read buffer (see net.Socket `onread`). */
  onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean };
}

/**
 * Open a TLS connection to `c.host:c.port`, offering the cached session of that target
 * and keeping the session the server issues for the next connection. SNI is sent for
 * host names (not for IP addresses, as RFC 6066 says).
 */
export function connectTls(c: TlsConnect, o: TlsClientOptions, cache: SessionCache): tls.TLSSocket {
  const target = `${c.host}:${c.port}`;
  const sock = tls.connect({
    host: c.host,
    port: c.port,
    localAddress: c.localAddress,
    servername: net.isIP(c.host) === 0 ? c.host : undefined,
    rejectUnauthorized: !o.insecure,
    ca: o.ca,
    session: cache.get(target),
    noDelay: true,
    onread: c.onread,
  } as tls.ConnectionOptions) as CachedSocket;
  sock[kTarget] = target;
  sock[kCache] = cache;
  sock.on('session', onSession);
  sock.setNoDelay(true);
  return sock;
}
