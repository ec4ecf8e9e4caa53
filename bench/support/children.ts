/** Spawning bench/support/harness-child.ts roles and talking to them (one JSON line per command). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./harness-child.ts', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** The first line the child printed by itself (the server's port), if any. */
  first: Promise<Record<string, unknown>>;
  ask(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Start a role; `gc` passes --expose-gc so memory is measured after collection; `script` runs
 * another checkout's harness-child (support/baseline.ts) instead of this one's.
 */
export function startChild(role: 'harness' | 'server' | 'publisher' | 'sio-server' | 'sio-publisher', gc = false, script = CHILD): Child {
  // WSB_BENCH_HARNESS_ARGS: extra node flags for the harness role, e.g. --cpu-prof.
  const extra = role === 'harness' && process.env.WSB_BENCH_HARNESS_ARGS ? process.env.WSB_BENCH_HARNESS_ARGS.split(' ') : [];
  const proc = spawn(process.execPath, [...(gc ? ['--expose-gc'] : []), ...extra, '--max-old-space-size=8192', '--import', 'tsx', script], {
    env: { ...process.env, WSB_BENCH_ROLE: role },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const queue: Array<(l: Record<string, unknown>) => void> = [];
  let resolveFirst!: (l: Record<string, unknown>) => void;
  const first = new Promise<Record<string, unknown>>((r) => (resolveFirst = r));
  let gotFirst = role !== 'server' && role !== 'sio-server';
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line);
    } catch {
      return;
    }
    if (!gotFirst) {
      gotFirst = true;
      return resolveFirst(v);
    }
    queue.shift()?.(v);
  });
  return {
    proc,
    first,
    ask(cmd, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${role}: ${String(cmd.cmd)} timed out after ${timeoutMs} ms`)), timeoutMs);
        queue.push((v) => {
          clearTimeout(t);
          if (v.error) reject(new Error(`${role}: ${String(v.error)}`));
          else resolve(v);
        });
        proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
      });
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.stdin!.end();
      });
    },
  };
}

