/**
 * Finds and loads scenarios: a bundled name (scenarios/<name>.ts) or a path to a
 * user's .ts/.js file (loaded through tsx, imported only then, no build step). Syntax errors are
 * reported with the file and line, shape errors all at once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ScenarioDefinition } from './types.ts';
import { validateScenarioShape } from './define.ts';
import { usageError, type ErrorCode } from '../errors.ts';
import { COMPILED, MODULE_EXT, PACKAGE_ROOT } from '../package-paths.ts';

/** The bundled scenarios as they run: scenarios/*.ts, or their compiled twins in dist/scenarios/*.js. */
export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');

/** Bundled scenario names (files in scenarios/ not starting with `_`). */
export function bundledScenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(MODULE_EXT) && !f.startsWith('_'))
    .map((f) => f.slice(0, -MODULE_EXT.length))
    .sort();
}

/** Resolve a name or path to a file, or throw a usage error listing the bundled names. */
export function resolveScenarioPath(nameOrPath: string): string {
  const looksLikePath = /[\\/]/.test(nameOrPath) || ['.ts', '.js', '.mjs', '.mts'].includes(extname(nameOrPath));
  if (looksLikePath) {
    const p = resolve(nameOrPath);
    if (!existsSync(p)) throw usageError('WSB_ERR_SCENARIO', `scenario file not found: ${p}`, 'check the path, or run `wsbench list` for the bundled scenarios');
    return p;
  }
  const p = join(SCENARIO_DIR, `${nameOrPath}${MODULE_EXT}`);
  if (!existsSync(p)) {
    throw usageError('WSB_ERR_SCENARIO', `unknown scenario "${nameOrPath}"`, `bundled scenarios: ${bundledScenarioNames().join(', ')}; or give a path to a .ts/.js file`);
  }
  return p;
}

const cache = new Map<string, ScenarioDefinition>();

/**
 * Import a scenario file once (cached per path) and check its shape; throws WSB_ERR_SCENARIO listing every problem.
 */
export async function loadScenarioFile(path: string): Promise<ScenarioDefinition> {
  const hit = cache.get(path);
  if (hit) return hit;
  const mod = await importUserModule(path, 'scenario', 'WSB_ERR_SCENARIO');
  const problems = validateScenarioShape(mod.default, path);
  if (problems.length) throw usageError('WSB_ERR_SCENARIO', `scenario ${path} is not valid`, 'export default defineScenario({ name, description, ... })', problems);
  const def = mod.default as ScenarioDefinition;
  cache.set(path, def);
  return def;
}

/**
 * Import a user's .ts/.js module (`what` names it in errors): syntax errors with file and line
 * first, then load errors, each as a usage error with `code`. A CommonJS module's exports object
 * that wraps an ESM default is unwrapped.
 */
export async function importUserModule(path: string, what: string, code: ErrorCode): Promise<Record<string, unknown>> {
  if (isCompiledOwnModule(path)) return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const syntax = await syntaxProblems(path);
  if (syntax) throw usageError(code, `${what} ${path} has a syntax error:\n  ${syntax}`, 'fix the file and run again');
  try {
    // tsImport loads the file in its own namespace, as ESM or CommonJS by its package
    // (a user's .ts in a CommonJS project must not require() our ESM modules in a cycle).
    // tsx is imported here, only when a user's file is loaded: compiled wsbench runs without it.
    const { tsImport } = await import('tsx/esm/api');
    const mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
    const inner = mod.default as { default?: unknown; name?: unknown; __esModule?: unknown } | undefined;
    if (inner && typeof inner === 'object' && inner.name === undefined && (inner.default !== undefined || inner.__esModule)) return inner as Record<string, unknown>;
    return mod;
  } catch (e) {
    throw usageError(code, `could not load ${what} ${path}: ${describeLoadError(e)}`, 'fix the file and run again');
  }
}

/** A bundled scenario compiled into dist/ (plain JavaScript built with this package: no loader, no syntax check). */
function isCompiledOwnModule(path: string): boolean {
  return COMPILED && path.startsWith(`${PACKAGE_ROOT}dist`) && path.endsWith('.js');
}

/** Syntax errors with file:line:column, found before the module is imported (tsx's own are less clear). */
async function syntaxProblems(path: string): Promise<string | undefined> {
  if (!/\.(ts|mts|cts|js|mjs|cjs)$/.test(path)) return undefined;
  const { transformSync } = await import('esbuild');
  try {
    transformSync(readFileSync(path, 'utf8'), { loader: /\.[mc]?ts$/.test(path) ? 'ts' : 'js', sourcefile: path, format: 'esm', logLevel: 'silent' });
    return undefined;
  } catch (e) {
    return describeLoadError(e);
  }
}

/** esbuild/tsx errors carry file:line:column; keep the first useful lines only. */
function describeLoadError(e: unknown): string {
  const err = e as Error & { errors?: Array<{ text: string; location?: { file: string; line: number; column: number; lineText?: string } }> };
  if (Array.isArray(err.errors) && err.errors.length) {
    return err.errors
      .slice(0, 5)
      .map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column}: ${x.text}${x.location.lineText ? `\n    ${x.location.lineText}` : ''}` : x.text))
      .join('\n  ');
  }
  const lines = String(err?.message ?? e).split('\n').slice(0, 6).join('\n  ');
  const at = /\((\/[^)]+:\d+:\d+)\)/.exec(String(err?.stack ?? ''));
  return at && !lines.includes(at[1]!) ? `${lines}\n  at ${at[1]}` : lines;
}
