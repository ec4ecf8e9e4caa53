/** What the report says about the tool itself. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PACKAGE_ROOT as root } from '../package-paths.ts';

let pkg: { name: string; version: string } | undefined;

/** This package's name and version (from package.json, read once). */
export function toolInfo(): { name: string; version: string } {
  pkg ??= JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}

let sha: string | null | undefined;
/** The git commit of the current directory's checkout, if any (what was tested, usually). */
export function gitSha(): string | undefined {
  if (sha === undefined) {
    try {
      sha = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).toString().trim() || null;
    } catch {
      sha = null;
    }
  }
  return sha ?? undefined;
}
