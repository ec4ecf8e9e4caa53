/**
 * The README promises commands, flags and `--set` options; each must be run by
 * some test. This reads the README's `wsbench run` flag table, its list of common
 * `--set` options and its commands, and fails naming any that no test file passes
 * to the CLI. (Which test runs which is listed in test/README-coverage.md.)
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function testSources(dir = join(ROOT, 'test')): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? testSources(join(dir, e.name)) : /\.ts$/.test(e.name) && e.name !== 'readme-coverage.test.ts' ? readFileSync(join(dir, e.name), 'utf8') : ''))
    .join('\n');
}
const TESTS = testSources();

/** The section of the README from `heading` to the next heading of any level. */
function section(heading: string): string {
  const at = README.indexOf(heading);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const rest = README.slice(at + heading.length);
  return rest.slice(0, rest.search(/\n#{2,4} /) >>> 0);
}

describe('every README command and flag is run by a test', () => {
  it('the flags of `wsbench run`', () => {
    const rows = section('### `wsbench run <scenario>`').split('\n').filter((l) => l.startsWith('| `-'));
    const flags = [...new Set(rows.flatMap((l) => l.split('|')[1]!.match(/--[a-z][a-z-]*/g) ?? []))];
    expect(flags.length).toBeGreaterThan(35);
    expect(flags.filter((f) => !TESTS.includes(`'${f}'`))).toEqual([]);
  });

  it('the common `--set` options', () => {
    const para = section('### `wsbench run <scenario>`').split('Common scenario options for `--set`')[1]!.split('\n\n')[0]!;
    // The option names are the backticked words outside parentheses (inside are their values).
    const keys = [...para.replace(/\([^()]*\)/g, '').matchAll(/`([a-z][a-z-]+)`/g)].map((m) => m[1]!);
    expect(keys).toEqual(expect.arrayContaining(['max-inflight', 'backoff-base-ms', 'client', 'sio-names', 'transports']));
    expect(keys.filter((k) => !new RegExp(`'${k}=`).test(TESTS) && !new RegExp(`\`${k}=`).test(TESTS))).toEqual([]);
  });

  it('the commands', () => {
    for (const cmd of ['run', 'serve', 'list', 'report', 'compare', 'merge', 'capacity']) {
      expect(README).toContain(`wsbench ${cmd}`);
      expect(TESTS, cmd).toMatch(new RegExp(`\\[\\s*'${cmd}'[,\\]]|BIN, '${cmd}'`));
    }
  });
});
