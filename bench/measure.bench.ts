/**
 * `npm run bench -- measure`: does `wsbench compare` tell noise from regression
 * (issue #14)? Ten pairs of identical runs of
 * `wsbench run broadcast --clients 200 --duration 5s` are compared (each pair must
 * compare clean, exit 0), and each pair's first run is compared with a run against
 * `--server delay-ms=20` (must be flagged every time). Also the generator's own
 * figures of those runs: `send.lag` p99 and the event-loop delay p99 (net).
 *
 * WSB_MEASURE_TRIES sets the number of tries (default 10).
 */
import os from 'node:os';
import { compareReports } from '../src/gates/index.ts';
import type { Report } from '../src/report/schema.ts';
import { median } from './support/stats.ts';
import { runWsbench } from './support/wsbench-cli.ts';
import type { BenchContext } from './run.ts';

const COMMAND = ['broadcast', '--clients', '200', '--duration', '5s'];

/** Names of the rows `wsbench compare base next` (default --max-regression 10%) flags; empty = exit 0. */
function flagged(base: Report, next: Report): string[] {
  return compareReports(base, next, { thresholdPct: 10 })
    .filter((r) => r.regression)
    .map((r) => r.name);
}

export default async function measure(ctx: BenchContext): Promise<string> {
  const tries = Number(process.env.WSB_MEASURE_TRIES ?? 10);
  const loadAtStart = os.loadavg()[0]!;
  let clean = 0;
  let caught = 0;
  const noiseRows: string[] = [];
  const missed: string[] = [];
  const sendLagP99: number[] = [];
  const loopP99: number[] = [];
  const naiveFlags: number[] = [];
  for (let i = 0; i < tries; i++) {
    const a = await runWsbench(COMMAND);
    const b = await runWsbench(COMMAND);
    const d = await runWsbench([...COMMAND, '--server', 'delay-ms=20']);
    const same = flagged(a, b);
    if (same.length === 0) clean++;
    else noiseRows.push(...same);
    const slow = flagged(a, d);
    if (slow.length > 0) caught++;
    else missed.push(`try ${i + 1}`);
    // What the raw comparison (every percentile, no intervals) would have flagged between the identical runs.
    naiveFlags.push(compareReports(a, b).filter((r) => r.unit === 'us' && r.next > r.base * 1.1).length);
    for (const r of [a, b]) {
      if (r.metrics['send.lag']) sendLagP99.push(r.metrics['send.lag'].p99);
      loopP99.push(r.generator.eventLoopDelayP99Us);
    }
    ctx.log(`try ${i + 1}: identical runs ${same.length ? `flagged ${same.join(', ')}` : 'clean'}; delay-ms=20 ${slow.length ? `flagged (${slow.slice(0, 4).join(', ')}${slow.length > 4 ? ', ...' : ''})` : 'MISSED'}`);
  }
  const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
  return [
    '## Compare: noise or regression (issue #14)',
    '',
    `\`wsbench run ${COMMAND.join(' ')}\` on this shared 2-core machine (other helpers' tests running; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end), compared with \`wsbench compare\`'s default \`--max-regression 10%\` (src/gates/noise.ts, method in docs/CI.md).`,
    '',
    '| what | result |',
    '|---|---|',
    `| two identical runs compare clean (exit 0) | ${clean} of ${tries} |`,
    `| rows flagged in the identical pairs that were not clean | ${noiseRows.length ? noiseRows.join(', ') : 'none'} |`,
    `| a run against \`--server delay-ms=20\` flagged | ${caught} of ${tries}${missed.length ? ` (missed: ${missed.join(', ')})` : ''} |`,
    `| latency rows above +10% between identical runs without intervals (the old compare), median per pair | ${median(naiveFlags)} |`,
    `| \`send.lag\` p99, median of ${sendLagP99.length} runs (min..max) | ${ms(median(sendLagP99))} (${ms(Math.min(...sendLagP99))}..${ms(Math.max(...sendLagP99))}) |`,
    `| generator event-loop delay p99 (net of the 10 ms interval), median (min..max) | ${ms(median(loopP99))} (${ms(Math.min(...loopP99))}..${ms(Math.max(...loopP99))}) |`,
    '',
  ].join('\n');
}
