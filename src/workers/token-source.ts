/**
 * The token each virtual client presents: none, one for all, one per client from a
 * list, or minted (HS256) from a claims template per client.
 */
import type { TokenSource } from './messages.ts';
import { mintToken, type TokenClaims } from '../protocol/jwt.ts';

/** Replace `{client}` and `{worker}` in every string of a claims template. */
export function fillClaims(template: unknown, client: number, worker: number): unknown {
  if (typeof template === 'string') return template.replace(/\{client\}/g, String(client)).replace(/\{worker\}/g, String(worker));
  if (Array.isArray(template)) return template.map((v) => fillClaims(v, client, worker));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillClaims(v, client, worker)]));
  return template;
}

/** Hands out tokens for one worker's clients; the claims template is parsed once, on first mint. */
export class TokenMinter {
  private claimsTemplate: unknown;

  constructor(
    private readonly source: TokenSource,
    /** First global client index of this worker (list tokens are taken from here on). */
    private readonly fromClient: number,
    private readonly workerId: number,
  ) {}

  /** The token of global client `i`, or undefined when clients present none. */
  tokenFor(i: number): string | undefined {
    const t = this.source;
    switch (t.mode) {
      case 'none':
        return undefined;
      case 'single':
        return t.token;
      case 'list':
        return t.tokens[(i - this.fromClient) % t.tokens.length];
      case 'mint':
        return mintToken(t.claims ? (fillClaims((this.claimsTemplate ??= JSON.parse(t.claims)), i, this.workerId) as TokenClaims) : { sub: `user-${i}` }, t.secret, { expiresInSec: t.expiresInSec });
    }
  }
}
