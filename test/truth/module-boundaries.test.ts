/**
 * The module rules docs/ARCHITECTURE.md states, checked on the imports of every .ts
 * file: servers/ never imports src/; metrics/ and checks/ depend on nothing above
 * them (type-only imports of shared types aside); no file of src/ imports another
 * in a cycle. A known break is listed by name, so a new one fails and a fixed one
 * must be taken off the list.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports and re-exports of `file` (paths relative to the repository root). */
function importsOf(file: string): Edge[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false);
  const out: Edge[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.')) out.push({ from: file, to: relative(ROOT, resolve(ROOT, dirname(file), spec.text)), typeOnly });
  };
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const c = st.importClause;
      const allTypes = Boolean(c?.isTypeOnly || (c && !c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(st.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(st)) add(st.moduleSpecifier, st.isTypeOnly);
  }
  return out;
}

const EDGES = [...tsFiles('src'), ...tsFiles('servers')].flatMap(importsOf);
/** `src/checks` for src/checks/ledger.ts; top-level files of src/ stand alone. */
const moduleOf = (p: string) => (p.split('/').length > 2 ? p.split('/').slice(0, 2).join('/') : p);

/** Breaks of the rules that exist today, named so that they are seen (see docs/ARCHITECTURE.md). */
const KNOWN: string[] = [];

describe('module boundaries (docs/ARCHITECTURE.md)', () => {
  it('servers/ never imports src/', () => {
    expect(EDGES.filter((e) => e.from.startsWith('servers/') && e.to.startsWith('src/')).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('metrics/ and checks/ depend on nothing above them', () => {
    const below: Record<string, string[]> = {
      'src/metrics': ['src/metrics', 'src/units', 'src/errors.ts', 'src/report'],
      'src/checks': ['src/checks', 'src/metrics', 'src/units', 'src/errors.ts', 'src/report'],
    };
    const breaks = EDGES.filter((e) => !e.typeOnly && below[moduleOf(e.from)] && !below[moduleOf(e.from)]!.includes(moduleOf(e.to))).map((e) => `${e.from} -> ${e.to}`);
    expect(breaks).toEqual(KNOWN);
  });

  it('no file of src/ imports another in a cycle (value imports)', () => {
    const next = new Map<string, string[]>();
    for (const e of EDGES) if (!e.typeOnly && e.from.startsWith('src/')) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const g of next.get(f) ?? []) {
        if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g].join(' -> '));
        else if (!state.has(g)) visit(g);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of next.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
