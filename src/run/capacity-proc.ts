/**
 * Server CPU for capacity steps, read from Linux /proc. The bundled server's /stats
 * has its pid, RSS and counters but no CPU time, and it is scraped only once, after
 * the load stopped. So while a step's steady phase runs, this samples the CPU ticks
 * of every child process of this process (the bundled nodes are our children) and
 * their descendants (cluster workers); after the run, the pids in
 * `report.nodes[].stats.pid` pick the nodes out.
 *
 * Only for bundled servers on Linux: an external target's processes are not ours.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI Node runs on). */
export const USER_HZ = 100;

/** utime + stime of one process in ticks, or undefined when it cannot be read. */
export function readCpuTicks(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (every thread's `children` list), empty when unknown. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {
        // thread gone or kernel without CONFIG_PROC_CHILDREN
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

function treeTicks(pid: number, depth = 0): number | undefined {
  const own = readCpuTicks(pid);
  if (own === undefined) return undefined;
  if (depth > 3) return own;
  let sum = own;
  for (const c of childPids(pid)) sum += treeTicks(c, depth + 1) ?? 0;
  return sum;
}

/** CPU of the processes seen by a sampler, over the window between its first and last sample. */
export interface CpuWindow {
  /** Seconds between the first and the last sample. */
  seconds: number;
  /** Percent of one core used by each process (and its descendants), by pid. */
  cpuPercentByPid: Map<number, number>;
}

/** Samples CPU ticks of this process's children; `tick()` during the steady phase, `window()` after. */
export interface CpuSampler {
  tick(): void;
  window(): CpuWindow | undefined;
}

/** A sampler of the children of `parentPid` (default this process). `now` in milliseconds, for tests. */
export function createCpuSampler(parentPid = process.pid, now: () => number = () => Date.now()): CpuSampler {
  let first: { at: number; ticks: Map<number, number> } | undefined;
  let last: { at: number; ticks: Map<number, number> } | undefined;
  const sample = () => {
    const ticks = new Map<number, number>();
    for (const pid of childPids(parentPid)) {
      const t = treeTicks(pid);
      if (t !== undefined) ticks.set(pid, t);
    }
    return { at: now(), ticks };
  };
  return {
    tick() {
      const s = sample();
      if (!first) first = s;
      else last = s;
    },
    window() {
      if (!first || !last || last.at - first.at < 500) return undefined;
      const seconds = (last.at - first.at) / 1000;
      const cpuPercentByPid = new Map<number, number>();
      for (const [pid, t1] of last.ticks) {
        const t0 = first.ticks.get(pid);
        if (t0 !== undefined) cpuPercentByPid.set(pid, Math.round(((t1 - t0) / USER_HZ / seconds) * 1000) / 10);
      }
      return { seconds, cpuPercentByPid };
    },
  };
}
