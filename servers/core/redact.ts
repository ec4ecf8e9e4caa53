/**
 * Secrets never leave the process: every URL the server prints (logs, `/healthz`,
 * error messages) goes through `redactUrl` first (docs/SECURITY.md).
 */

/** `url` with its password (and a user name alone, which Redis ACLs also treat as a secret) replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon === -1 ? `${scheme}***@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/** `text` with every occurrence of the secret parts of `url` (its password) replaced by `***`. */
export function redactIn(text: string, url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url);
  if (!m) return text;
  const auth = m[1]!;
  const colon = auth.indexOf(':');
  const secret = colon === -1 ? auth : auth.slice(colon + 1);
  let out = text.split(url).join(redactUrl(url));
  if (secret) {
    out = out.split(secret).join('***');
    try {
      const decoded = decodeURIComponent(secret);
      if (decoded) out = out.split(decoded).join('***');
    } catch {
      // A malformed escape cannot appear decoded anywhere.
    }
  }
  return out;
}
