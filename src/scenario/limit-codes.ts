/**
 * Which error codes mean "rate limited". Servers spell it many ways
 * (`rate_limited`, `rate_limit_exceeded`, "Rate limit exceeded", `too_many_requests`,
 * `throttled`), so the default is a pattern; `--set limit-codes=` replaces it with a
 * comma-separated list of exact codes or a `/regex/` (case-insensitive).
 */

/** The default pattern (case-insensitive), matched anywhere in the code. */
export const DEFAULT_LIMIT_CODE_PATTERN = 'rate[ _-]?limit|too[ _-]?many|throttl';

/** A predicate on error codes from a `limit-codes` value; empty = the default pattern. */
export function limitCodeMatcher(spec = ''): (code: string) => boolean {
  const t = spec.trim();
  if (t === '') return regexMatcher(DEFAULT_LIMIT_CODE_PATTERN);
  const re = /^\/(.+)\/$/.exec(t);
  if (re) return regexMatcher(re[1]!);
  const codes = new Set(t.split(',').map((s) => s.trim()).filter(Boolean));
  return (code) => codes.has(code);
}

/** Why a `limit-codes` value cannot be used, or undefined when it can. */
export function limitCodesProblem(spec: string): string | undefined {
  const re = /^\/(.+)\/$/.exec(spec.trim());
  if (!re) return undefined;
  try {
    new RegExp(re[1]!, 'i');
    return undefined;
  } catch (e) {
    return `limit-codes "${spec}" is not a valid /regex/: ${(e as Error).message}`;
  }
}

function regexMatcher(source: string): (code: string) => boolean {
  const re = new RegExp(source, 'i');
  return (code) => re.test(code);
}
