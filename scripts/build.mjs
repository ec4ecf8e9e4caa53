#!/usr/bin/env node
/**
 * `npm run build` (also run by `prepare`, i.e. on `npm install` / `npm ci` in a
 * clone, and before the tests and benches): compiles src/, servers/ and
 * scenarios/ to JavaScript in dist/, one .js file per .ts file in the same
 * layout (dist/src/cli/index.js for src/cli/index.ts), so that paths relative to
 * `import.meta.url` keep working and bin/, generator workers and server nodes
 * run without a TypeScript loader.
 *
 * Relative `.ts` imports are rewritten to `.js`; packages stay imports. Files are
 * written only when their content changed, each through a temporary file and a
 * rename, so a wsbench already running from dist/ never reads half a file.
 * Compiled files no longer backed by a source are removed.
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist');
/** Folders compiled, relative to the package root. */
const SOURCE_DIRS = ['src', 'servers', 'scenarios'];

/** Every .ts file (not .d.ts) under `dir`, as absolute paths. */
function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every file under `dir` (absolute paths); none when it does not exist. */
function allFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

/** esbuild plugin: every import stays an import; a relative `.ts` one points at the `.js` twin. */
const keepImports = {
  name: 'keep-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const rewritten = /^\.\.?\//.test(args.path) ? args.path.replace(/\.([mc]?)ts$/, '.$1js') : args.path;
      return { path: rewritten, external: true };
    });
  },
};

/** Write `text` to `path` unless it already holds exactly that; atomically (temporary file + rename). */
function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return true;
}

const started = Date.now();
const entryPoints = SOURCE_DIRS.flatMap((d) => tsFiles(join(ROOT, d)));
const result = await build({
  entryPoints,
  outdir: OUT,
  outbase: ROOT,
  bundle: true,
  plugins: [keepImports],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  write: false,
  logLevel: 'warning',
});
const wanted = new Set();
let written = 0;
for (const f of result.outputFiles) {
  wanted.add(f.path);
  if (writeIfChanged(f.path, f.text)) written++;
}
let removed = 0;
for (const f of allFiles(OUT)) {
  if (!wanted.has(f) && f.endsWith('.js')) {
    rmSync(f);
    removed++;
  }
}
if (!process.argv.includes('--quiet')) {
  const rel = relative(ROOT, OUT) + sep;
  console.log(`wsbench build: ${entryPoints.length} files -> ${rel} (${written} written, ${removed} removed) in ${Date.now() - started} ms`);
}
