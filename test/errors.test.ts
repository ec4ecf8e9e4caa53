import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, isErrorCode } from '../src/errors.ts';

const root = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the error-code catalogue', () => {
  it('docs/ERRORS.md lists exactly the codes of ERROR_CODES, with their exit codes', () => {
    const doc = readFileSync(join(root, 'docs/ERRORS.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(WSB_ERR_[A-Z_]+)` \| (\d) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_CODES).map(([code, { exit }]) => [code, exit]));
  });

  it('every WSB_ERR_* code written in src/ and servers/ is in the catalogue', () => {
    const used = new Set(sources(join(root, 'src')).concat(sources(join(root, 'servers'))).flatMap((p) => readFileSync(p, 'utf8').match(/WSB_ERR_[A-Z_]+/g) ?? []));
    const unknown = [...used].filter((c) => !isErrorCode(c));
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(20);
  });
});
