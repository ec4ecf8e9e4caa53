/**
 * `npm run bench -- sendlag`: how late the open-model scheduler sends (issue #14).
 * The arrival loop of src/executor/arrival.ts alone, on the real clock, at 200
 * sends per second: with its default `setImmediate` finish (spinUs 1000) and on
 * millisecond timers only (spinUs 0), plus the CPU it costs at 10 sends/s. Also
 * the event-loop delay an idle process reads (net of the 10 ms sampling interval).
 */
import os from 'node:os';
import { createArrival } from '../src/executor/arrival.ts';
import { realClock } from '../src/executor/clock.ts';
import { createHealthMonitor } from '../src/metrics/index.ts';
import { median, percentile } from './support/stats.ts';
import type { BenchContext } from './run.ts';

/** Lags (us) of `n` sends at `ratePerSec`, and the process CPU share while they ran. */
function lags(ratePerSec: number, n: number, spinUs: number): Promise<{ lagsUs: number[]; cpuShare: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = realClock.nowUs();
  return new Promise((resolve) => {
    const out: number[] = [];
    const a = createArrival({
      ratePerSec,
      clock: realClock,
      spinUs,
      fire: (at) => {
        out.push(realClock.nowUs() - at);
        if (out.length === n) {
          a.stop();
          const used = process.cpuUsage(cpu0);
          resolve({ lagsUs: out, cpuShare: (used.user + used.system) / (realClock.nowUs() - t0) });
        }
        return true;
      },
      onDropped: () => {},
    });
  });
}

export default async function sendlag(ctx: BenchContext): Promise<string> {
  const rows: string[] = [];
  for (const [label, spinUs] of [
    ['timer, then setImmediate for the last 1 ms (default)', 1000],
    ['millisecond timers only', 0],
  ] as const) {
    const p50: number[] = [];
    const p99: number[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const { lagsUs } = await lags(200, 400, spinUs);
      p50.push(percentile(lagsUs, 50));
      p99.push(percentile(lagsUs, 99));
    }
    rows.push(`| ${label} | ${median(p50).toFixed(0)} | ${median(p99).toFixed(0)} (${Math.min(...p99).toFixed(0)}..${Math.max(...p99).toFixed(0)}) |`);
    ctx.log(`${label}: p50 ${median(p50)} us, p99 ${median(p99)} us`);
  }
  const idle = await lags(10, 20, 1000);
  const monitor = createHealthMonitor();
  const idleP99: number[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    monitor.sample();
    await new Promise((res) => setTimeout(res, 1000));
    idleP99.push(monitor.sample().eventLoopDelayP99Us);
  }
  monitor.stop();
  return [
    '## Send lag of the open-model scheduler (issue #14)',
    '',
    `src/executor/arrival.ts alone at 200 sends/s, 400 sends per run, medians of ${ctx.runs} runs on this shared machine (1-minute load average ${os.loadavg()[0]!.toFixed(1)} on 2 cores when it finished: other helpers' suites run beside it).`,
    '',
    '| scheduler | send.lag p50 (us) | send.lag p99 (us), median (min..max) |',
    '|---|---|---|',
    ...rows,
    '',
    `At 10 sends/s the default scheduler used ${(idle.cpuShare * 100).toFixed(1)}% of a core (it polls only in the last millisecond before a send). An idle process's event-loop delay p99, net of the 10 ms sampling interval: median ${median(idleP99)} us over ${ctx.runs} one-second windows (min ${Math.min(...idleP99)} us; before the fix every reading also included the 10,000 us interval).`,
    '',
  ].join('\n');
}
