/**
 * CPU time of a process tree over time, split into the bundled server (every process
 * whose command line, or an ancestor's, runs servers/main) and the rest (the harness:
 * the CLI, its coordinator and generator workers), sampled from /proc every `everyMs`:
 * what a `wsbench run` spends on each side during a window of its timeline.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SEC = 100;

/** What the sampler saw: its samples, and when the first generator worker process appeared (ms since the epoch, NaN if none). */
export interface TreeSamples {
  samples: TreeSample[];
  firstWorkerAtMs: number;
}

/** One sample: wall time (ms since the epoch) and cumulative CPU ms of each side. */
export interface TreeSample {
  atMs: number;
  serverMs: number;
  harnessMs: number;
}

interface ProcInfo {
  ppid: number;
  cpuMs: number;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SEC };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

const isServerCmd = (pid: number): boolean => /servers[/\\]main\.(js|ts)/.test(cmdline(pid));
/** A generator worker (src/workers/pool.ts forks worker-main). */
const isWorkerCmd = (pid: number): boolean => /workers[/\\]worker-main\.(js|ts)/.test(cmdline(pid));

/**
 * Sample the tree under `root` until stop() is called; a process that exited keeps its
 * last reading (its CPU does not vanish from the sums). The run's timeline counts from
 * when it forks its generator workers, so the first worker's appearance (within one
 * sample period) places the timeline on the wall clock.
 */
export function sampleTree(root: number, everyMs = 100): { stop(): TreeSamples } {
  const samples: TreeSample[] = [];
  let firstWorkerAtMs = NaN;
  const last = new Map<number, { cpuMs: number; server: boolean }>();
  const serverPids = new Set<number>();
  const tick = () => {
    const procs = new Map<number, ProcInfo>();
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const p = readProc(pid);
      if (p) procs.set(pid, p);
    }
    const inTree = (pid: number): boolean => {
      for (let p = pid, hops = 0; hops < 64; hops++) {
        if (p === root) return true;
        const info = procs.get(p);
        if (!info || info.ppid <= 1) return false;
        p = info.ppid;
      }
      return false;
    };
    const isServer = (pid: number): boolean => {
      for (let p = pid, hops = 0; hops < 64 && p !== root; hops++) {
        if (serverPids.has(p)) return true;
        if (isServerCmd(p)) {
          serverPids.add(p);
          return true;
        }
        const info = procs.get(p);
        if (!info) return false;
        p = info.ppid;
      }
      return false;
    };
    for (const [pid, info] of procs) {
      if (!inTree(pid)) continue;
      const known = last.get(pid);
      if (!known && Number.isNaN(firstWorkerAtMs) && isWorkerCmd(pid)) firstWorkerAtMs = Date.now();
      last.set(pid, { cpuMs: info.cpuMs, server: known?.server ?? isServer(pid) });
    }
    let serverMs = 0;
    let harnessMs = 0;
    for (const v of last.values()) {
      if (v.server) serverMs += v.cpuMs;
      else harnessMs += v.cpuMs;
    }
    samples.push({ atMs: Date.now(), serverMs, harnessMs });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { samples, firstWorkerAtMs };
    },
  };
}

/** CPU ms of each side between wall times `fromMs` and `toMs` (linear between samples). */
export function cpuBetween(samples: TreeSample[], fromMs: number, toMs: number): { serverMs: number; harnessMs: number } {
  const at = (t: number, k: 'serverMs' | 'harnessMs'): number => {
    if (samples.length === 0) return NaN;
    if (t <= samples[0]!.atMs) return samples[0]![k];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!;
      const b = samples[i]!;
      if (t <= b.atMs) return a[k] + ((b[k] - a[k]) * (t - a.atMs)) / Math.max(1, b.atMs - a.atMs);
    }
    return samples.at(-1)![k];
  };
  return { serverMs: at(toMs, 'serverMs') - at(fromMs, 'serverMs'), harnessMs: at(toMs, 'harnessMs') - at(fromMs, 'harnessMs') };
}
