/** What this process may hold: the file-descriptor limit, read rather than assumed. */
import { readFileSync } from 'node:fs';

/** The soft open-files limit of this process (from /proc/self/limits), or 1024 when unknown. */
export function readFdLimit(): number {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const m = /Max open files\s+(\d+|unlimited)/.exec(text);
    if (m) return m[1] === 'unlimited' ? 1_000_000 : Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return 1024;
}

/** Clients one worker process may hold: three quarters of its descriptor limit, for headroom. */
export function clientsPerWorker(fdLimit = readFdLimit()): number {
  return Math.max(100, Math.floor(fdLimit * 0.75));
}
