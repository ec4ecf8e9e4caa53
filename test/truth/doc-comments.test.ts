/**
 * Doc comments on exports (docs/STYLE.md, issue #18): every export of the public
 * surface (src/index.ts, followed to its declarations) and every export anywhere in
 * src/ has one. `npx tsx test/truth/undocumented.ts src` prints the
 * count for the whole tree.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicSurface, undocumentedExports } from './undocumented.ts';

/** Trees whose exports must all be documented: the whole harness (new code keeps it so). */
const DOCUMENTED = ['src'];

const dir = mkdtempSync(join(tmpdir(), 'wsbench-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('doc comments on exports', () => {
  it('finds an undocumented export and accepts documented ones (the lister itself)', () => {
    const file = join(dir, 'sample.ts');
    writeFileSync(
      file,
      [
        '/** Documented. */',
        'export const a = 1;',
        'export const b = 2;',
        '// a line comment is not a doc comment',
        'export function c(): void {}',
        '/** One comment covers the overloads. */',
        'export function d(x: number): number;',
        'export function d(x: string): string;',
        'export function d(x: unknown): unknown { return x; }',
        'const e = 1;',
        'export { e };',
      ].join('\n'),
    );
    expect(undocumentedExports([file]).map((u) => `${u.name}:${u.line}`)).toEqual(['b:3', 'c:5']);
  });

  it('every export of src/index.ts (the API scenario files use) is documented where it is declared', () => {
    const { exported, undocumented } = publicSurface('src/index.ts');
    expect(exported).toEqual(expect.arrayContaining(['defineScenario', 'ScenarioDefinition', 'VirtualClient', 'WsbenchError', 'METRIC', 'COUNTER']));
    expect(undocumented).toEqual([]);
  });

  it(`every export of ${DOCUMENTED.join(', ')} is documented`, () => {
    const missing = undocumentedExports(DOCUMENTED);
    expect(missing.map((u) => `${u.file}:${u.line} ${u.name}`)).toEqual([]);
  });
});
