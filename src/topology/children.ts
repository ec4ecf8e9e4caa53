/**
 * Safety net: every child process the topology module starts is registered here,
 * and a one-time `process.on('exit')` handler SIGKILLs whichever is still running
 * and runs the synchronous cleanups (temp dirs), so a harness that exits
 * without calling `stop()` leaves nothing behind.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
/** Children that lead their own process group (spawned detached): signalled as a group. */
const groups = new WeakSet<ChildProcess>();
const cleanups = new Set<() => void>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killAllChildrenSync);
}

/**
 * Track `child` until it exits. With `group`, the child leads its own process
 * group (spawned with `detached: true`) and the group-wide signals (SIGKILL,
 * SIGSTOP, SIGCONT) reach its own children too, e.g. cluster workers.
 */
export function trackChild(child: ChildProcess, opts: { group?: boolean } = {}): void {
  install();
  children.add(child);
  if (opts.group) groups.add(child);
  child.once('exit', () => children.delete(child));
}

/** Register a synchronous cleanup to run at process exit; returns its unregister function. */
export function atExit(fn: () => void): () => void {
  install();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * SIGKILL every tracked child that is still running and run the registered
 * cleanups. Synchronous, so it is safe in `process.on('exit')` and in signal
 * handlers of the CLI.
 */
export function killAllChildrenSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) signal(child, 'SIGKILL');
  }
  children.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort at exit
    }
  }
  cleanups.clear();
}

/** Resolves when `child` has exited (at once if it already has). */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * SIGTERM `child`, SIGKILL it if it is still running after `graceMs`, and
 * resolve once it has exited. A stopped (SIGSTOPped) child is continued so it
 * can act on the SIGTERM.
 */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitForExit(child);
  signal(child, 'SIGTERM');
  signal(child, 'SIGCONT');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    signal(child, 'SIGKILL');
    await exited;
  }
}

/** SIGKILL `child` and resolve once it has exited. */
export async function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = waitForExit(child);
  signal(child, 'SIGKILL');
  await exited;
}

const GROUP_SIGNALS = new Set<NodeJS.Signals>(['SIGKILL', 'SIGSTOP', 'SIGCONT']);

/**
 * Send `sig` to `child` unless it has exited; never throws. SIGKILL, SIGSTOP
 * and SIGCONT go to the whole process group of a child tracked with `group`
 * (a paused node must not keep serving from its workers); other signals go to
 * the child alone, which coordinates its own (graceful stop, drop-all).
 */
export function signal(child: ChildProcess, sig: NodeJS.Signals): boolean {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  if (groups.has(child) && GROUP_SIGNALS.has(sig) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, sig);
      return true;
    } catch {
      // fall back to the child alone
    }
  }
  try {
    return child.kill(sig);
  } catch {
    return false;
  }
}
