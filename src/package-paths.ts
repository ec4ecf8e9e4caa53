/**
 * Where this package's files are, whether it runs from the TypeScript sources
 * (tests, `node --import tsx`) or from the compiled JavaScript in dist/ (the
 * `wsbench` command, built by scripts/build.mjs with the same layout, so
 * dist/src/cli/index.js is src/cli/index.ts compiled).
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** True when this module runs as compiled JavaScript from dist/. */
export const COMPILED = !import.meta.url.endsWith('.ts');

/** Extension of this package's own modules as they run: `.js` compiled, `.ts` from the sources. */
export const MODULE_EXT: '.js' | '.ts' = COMPILED ? '.js' : '.ts';

/** Root of this package (the folder holding package.json), ending in a separator. */
export const PACKAGE_ROOT = fileURLToPath(new URL(COMPILED ? '../../' : '../', import.meta.url));

/**
 * Path of one of this package's modules, given as its source path relative to the
 * package root (`'servers/main.ts'`), in the form that runs now: the source itself,
 * or its compiled twin under dist/.
 */
export function packageModule(sourcePath: string): string {
  return COMPILED ? `${PACKAGE_ROOT}dist/${sourcePath.replace(/\.ts$/, '.js')}` : `${PACKAGE_ROOT}${sourcePath}`;
}

/**
 * Node options a child process needs to run {@link packageModule} files: none when
 * compiled; from the sources, tsx's loader as an absolute URL resolved from this
 * package (so the child does not depend on its working directory having tsx).
 */
export function loaderArgs(): string[] {
  return COMPILED ? [] : ['--import', tsxLoaderUrl()];
}

/** tsx's `--import` entry resolved from this package, as a file URL. */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
