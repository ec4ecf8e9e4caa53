/**
 * TLS for the reference server (`--tls`): the certificate and key from `--cert`/`--key`, or
 * a self-signed certificate for 127.0.0.1 and localhost made at start with `openssl`
 * (Node has no certificate generator). Clients accept it with `--insecure`, or trust it
 * with `--ca` pointing at the certificate file the server logs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerConfigError } from './errors.ts';

/** PEM certificate and key for an HTTPS server. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Where the certificate is on disk (what `--ca` takes). */
  certFile: string;
  /** Where the key is on disk. */
  keyFile: string;
}

/** What the TLS options of the server say. */
export interface TlsOptionsIn {
  tls: boolean;
  cert?: string;
  key?: string;
}

/** The self-signed certificate of this process, made once. */
let selfSigned: TlsMaterial | undefined;

/**
 * The server's TLS material, or undefined with `tls` off. Throws a ServerConfigError when
 * a file cannot be read, or when no certificate was given and `openssl` is missing.
 */
export function serverTls(o: TlsOptionsIn): TlsMaterial | undefined {
  if (!o.tls) return undefined;
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new ServerConfigError('WSB_ERR_SERVER_OPTIONS', ['--cert and --key go together: give both PEM files, or neither for a self-signed certificate']);
    return { cert: readPem(o.cert, 'cert'), key: readPem(o.key, 'key'), certFile: o.cert, keyFile: o.key };
  }
  return makeSelfSigned();
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ServerConfigError('WSB_ERR_SERVER_OPTIONS', [`--${what} ${file}: ${(e as Error).message}`]);
  }
}

/**
 * A fresh P-256 key and a self-signed certificate for CN=localhost with the subject
 * alternative names localhost, 127.0.0.1 and ::1, valid 30 days, in a private temporary
 * directory (mode 0700) removed when the process exits: the certificate file is what
 * `--ca` can trust, and cluster workers read both files.
 */
export function makeSelfSigned(): TlsMaterial {
  if (selfSigned) return selfSigned;
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const missing = (e as { code?: string }).code === 'ENOENT';
    throw new ServerConfigError('WSB_ERR_SERVER_UNAVAILABLE', [
      missing ? '--tls without --cert/--key needs `openssl` on the PATH to make a self-signed certificate: install it, or give --cert FILE --key FILE' : `openssl could not make a certificate: ${(e as Error).message}`,
    ]);
  }
  const material = { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  selfSigned = material;
  return material;
}
