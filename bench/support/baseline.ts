/**
 * An older commit of this repository to measure against in the same run (before/after
 * ratios on a noisy machine): its src/ and servers/ unpacked into a temporary directory
 * with this checkout's bench/support (so the same commands drive both) and node_modules.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const made = new Map<string, string>();

process.once('exit', () => {
  for (const dir of made.values()) rmSync(dir, { recursive: true, force: true });
});

/**
 * The harness-child script of commit `ref` (unpacked once per process), or an Error saying why
 * not (not a git checkout, unknown ref).
 */
export function baselineChildScript(ref: string): string | Error {
  const dir = baselineDir(ref);
  return dir instanceof Error ? dir : join(dir, 'bench', 'support', 'harness-child.ts');
}

/**
 * The compiled reference server (dist/servers/main.js) of commit `ref`, built in its
 * unpacked directory, or an Error saying why not.
 */
export function baselineServerScript(ref: string): string | Error {
  const dir = baselineDir(ref);
  if (dir instanceof Error) return dir;
  try {
    if (!existsSync(join(dir, 'dist', 'servers', 'main.js'))) {
      const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', ref, 'scripts'], { maxBuffer: 16 * 2 ** 20 });
      execFileSync('tar', ['-x', '-C', dir], { input: tar });
      execFileSync(process.execPath, [join(dir, 'scripts', 'build.mjs'), '--quiet'], { cwd: dir, stdio: 'ignore' });
    }
    return join(dir, 'dist', 'servers', 'main.js');
  } catch (e) {
    return new Error(`cannot build ${ref}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The CLI entry (bin/wsbench.js) of commit `ref`, or an Error saying why not (compiled when baselineServerScript built it, else through tsx). */
export function baselineBin(ref: string): string | Error {
  const dir = baselineDir(ref);
  return dir instanceof Error ? dir : join(dir, 'bin', 'wsbench.js');
}

function baselineDir(ref: string): string | Error {
  const have = made.get(ref);
  if (have) return have;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'wsb-baseline-'));
    made.set(ref, dir);
    const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', ref, 'src', 'servers', 'bin', 'scenarios', 'package.json', 'tsconfig.json'], { maxBuffer: 256 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    cpSync(join(ROOT, 'bench', 'support'), join(dir, 'bench', 'support'), { recursive: true });
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    return dir;
  } catch (e) {
    return new Error(`cannot unpack ${ref}: ${(e as Error).message.split('\n')[0]}`);
  }
}
