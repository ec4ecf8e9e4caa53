import { readdirSync, readFileSync } from 'node:fs';
import { waitUntil } from './timeout.ts';

/** True while a process with this pid exists (signal 0; a zombie not yet reaped still counts). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolve once no process has this pid; reject after `ms` milliseconds (default 10000). */
export function waitForPidGone(pid: number, ms = 10_000): Promise<void> {
  return waitUntil(() => !pidAlive(pid), ms, `process ${pid} to be gone`);
}

/** SIGKILL `pid` if it still exists; never throws. For test cleanup of processes the test started. */
export function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Pids of the live (non-zombie) child processes of this process, from /proc
 * (Linux); undefined where /proc is not available.
 */
export function childPids(parent = process.pid): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state, ppid, ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[1]) === parent && rest[0] !== 'Z') out.push(Number(name));
  }
  return out;
}
