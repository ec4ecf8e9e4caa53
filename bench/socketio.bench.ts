/**
 * `npm run bench -- socketio`: the same workload through the real harness
 * (`wsbench run broadcast`, the CLI as a child process) against the bundled
 * server's ws flavour and its Socket.IO flavour, alternating within each
 * round: harness memory per client, deliveries per second, fan-out p99, and
 * the Socket.IO / ws ratios.
 */
import type { BenchContext } from './run.ts';
import { median } from './support/stats.ts';
import { runWsbench } from './support/wsbench-cli.ts';

const CLIENTS = 1000;
const ROOMS = 10;
const RATE = 200;
const WORKLOAD = ['--clients', String(CLIENTS), '--rooms', String(ROOMS), '--rate', String(RATE), '--duration', '4s', '--warmup', '1s', '--cooldown', '1s', '--workers', '1'];
/** Rounds at most (each round runs both flavours), so the section stays under about 3 minutes. */
const MAX_ROUNDS = 3;

type Ctx = BenchContext;

interface Sample {
  rssPerClientKiB: number;
  deliveriesPerSec: number;
  fanoutP99Ms: number;
  exact: boolean;
}

async function runOnce(protocol: 'ws' | 'socketio'): Promise<Sample> {
  const r = await runWsbench(['broadcast', '--protocol', protocol, ...WORKLOAD], 60_000);
  return {
    rssPerClientKiB: r.generator.rssBytesPeak / CLIENTS / 1024,
    deliveriesPerSec: r.rates.deliveriesPerSec,
    fanoutP99Ms: r.metrics.fanout!.p99 / 1000,
    exact: r.ledger.lost === 0 && r.ledger.duplicated === 0 && r.ledger.delivered === r.ledger.expected,
  };
}

export default async function socketioBench(ctx: Ctx): Promise<string> {
  const rounds = Math.max(1, Math.min(ctx.runs, MAX_ROUNDS));
  const got: Record<'ws' | 'socketio', Sample[]> = { ws: [], socketio: [] };
  for (let i = 0; i < rounds; i++) {
    // Alternate which flavour goes first, so drift on the shared machine hits both.
    const order: Array<'ws' | 'socketio'> = i % 2 ? ['socketio', 'ws'] : ['ws', 'socketio'];
    for (const p of order) {
      const s = await runOnce(p);
      got[p].push(s);
      ctx.log(`round ${i + 1} ${p}: ${s.rssPerClientKiB.toFixed(1)} KiB/client, ${Math.round(s.deliveriesPerSec)} deliveries/s, fanout p99 ${s.fanoutP99Ms.toFixed(2)} ms, ledger ${s.exact ? 'exact' : 'NOT exact'}`);
    }
  }
  const m = (p: 'ws' | 'socketio', k: keyof Omit<Sample, 'exact'>) => median(got[p].map((s) => s[k]));
  const row = (label: string, k: keyof Omit<Sample, 'exact'>, digits: number) => {
    const w = m('ws', k);
    const s = m('socketio', k);
    return `| ${label} | ${w.toFixed(digits)} | ${s.toFixed(digits)} | ${(s / w).toFixed(2)} |`;
  };
  const exact = [...got.ws, ...got.socketio].every((s) => s.exact);
  return [
    '## Harness: ws vs Socket.IO flavour (same workload, same run)',
    '',
    `\`wsbench run broadcast\` with ${CLIENTS} clients in ${ROOMS} rooms, ${RATE} publishes/s (100-byte padding), 4 s measured, one generator process, against the bundled server in each flavour; medians of ${rounds} rounds, flavours alternating. ` +
      'Harness memory is the generator process\'s peak RSS divided by the clients (so it includes the process\'s fixed baseline).',
    '',
    '| metric | ws | socketio | socketio / ws |',
    '| --- | ---: | ---: | ---: |',
    row('harness RSS per client (KiB)', 'rssPerClientKiB', 1),
    row('deliveries per second', 'deliveriesPerSec', 0),
    row('fan-out p99 (ms)', 'fanoutP99Ms', 2),
    '',
    `Delivery ledger exact in every run: ${exact ? 'yes' : 'NO'}.`,
  ].join('\n');
}
