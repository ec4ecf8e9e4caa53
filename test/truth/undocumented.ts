/**
 * Lists exported declarations without a doc comment (`/** ... *\/` right above them),
 * so the count can be seen and kept at zero where it must be (docs/STYLE.md: "doc
 * comments on every export, with units and defaults").
 *
 *   npx tsx test/truth/undocumented.ts [DIR_OR_FILE ...]     (default: src)
 *
 * prints `file:line name` per undocumented export and the count; exit 0 either way.
 * Re-exports (`export { x } from`) are judged where `x` is declared; `publicSurface`
 * follows them from src/index.ts.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One exported declaration without a doc comment. */
export interface Undocumented {
  /** Path relative to the working directory. */
  file: string;
  /** 1-based line of the declaration. */
  line: number;
  name: string;
}

interface Declared {
  name: string;
  line: number;
  documented: boolean;
}

const parsed = new Map<string, ts.SourceFile>();

function parse(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) parsed.set(file, (sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)));
  return sf;
}

const hasDoc = (node: ts.Node): boolean => ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d));
const isExported = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** The names a top-level statement declares and exports, each with whether it has a doc comment. */
function declaredExports(sf: ts.SourceFile): Declared[] {
  const out: Declared[] = [];
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  for (const st of sf.statements) {
    if (!isExported(st)) {
      if (ts.isExportAssignment(st)) out.push({ name: 'default', line: line(st), documented: hasDoc(st) });
      continue;
    }
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) out.push({ name: d.name.text, line: line(st), documented: hasDoc(st) });
    } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) {
      const name = st.name.text;
      const prev = out.find((d) => d.name === name); // overloads: one doc comment covers them
      if (prev) prev.documented ||= hasDoc(st);
      else out.push({ name, line: line(st), documented: hasDoc(st) });
    }
  }
  return out;
}

/** Every exported declaration without a doc comment in these files and directories (recursively, .ts only). */
export function undocumentedExports(paths: string[]): Undocumented[] {
  const out: Undocumented[] = [];
  for (const file of tsFiles(paths)) {
    for (const d of declaredExports(parse(file))) if (!d.documented) out.push({ file: relative(process.cwd(), file), line: d.line, name: d.name });
  }
  return out;
}

/** The exports of `indexFile` (followed through re-exports to their declarations) that have no doc comment. */
export function publicSurface(indexFile: string): { exported: string[]; undocumented: Undocumented[] } {
  const exported: string[] = [];
  const undocumented: Undocumented[] = [];
  const sf = parse(resolve(indexFile));
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st) || !st.exportClause || !ts.isNamedExports(st.exportClause) || !st.moduleSpecifier) continue;
    const target = resolve(dirname(sf.fileName), (st.moduleSpecifier as ts.StringLiteral).text);
    for (const el of st.exportClause.elements) {
      const name = (el.propertyName ?? el.name).text;
      exported.push(el.name.text);
      const d = declaredExports(parse(target)).find((x) => x.name === name);
      if (!d || !d.documented) undocumented.push({ file: relative(process.cwd(), target), line: d?.line ?? 0, name });
    }
  }
  return { exported, undocumented };
}

function tsFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    if (statSync(p).isDirectory()) out.push(...tsFiles(readdirSync(p).map((f) => join(p, f))));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const list = undocumentedExports(process.argv.length > 2 ? process.argv.slice(2) : ['src']);
  for (const u of list) console.log(`${u.file}:${u.line} ${u.name}`);
  console.log(`${list.length} exports without a doc comment`);
}
