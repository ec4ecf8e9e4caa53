/**
 * `npm run bench -- socketio`: the same workload through the real harness
 * (`wsbench run broadcast`, the CLI as a child process) against the bundled
 * server's ws flavour and its Socket.IO flavour, alternating within each
 * round: harness memory per client, deliveries per second, fan-out p99, and
 * the Socket.IO / ws ratios.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './run.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'wsbench.js');
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

function runOnce(protocol: 'ws' | 'socketio'): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'wsb-bench-sio-'));
  const out = join(dir, 'r.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', 'broadcast', '--protocol', protocol, ...WORKLOAD, '--out', out, '-q'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`wsbench run --protocol ${protocol} exited ${code}: ${stderr.slice(-500)}`);
        const r = JSON.parse(readFileSync(out, 'utf8'));
        resolve({
          rssPerClientKiB: r.generator.rssBytesPeak / CLIENTS / 1024,
          deliveriesPerSec: r.rates.deliveriesPerSec,
          fanoutP99Ms: r.metrics.fanout.p99 / 1000,
          exact: r.ledger.lost === 0 && r.ledger.duplicated === 0 && r.ledger.delivered === r.ledger.expected,
        });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

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
