/**
 * Reconnection storm (issue #15, item 3): `wsbench run reconnect-storm` with the handshake and join
 * timeout of the first wave (5 s) and with the scenario's default now (30 s), one after the other
 * at each size, on the bundled server. Reports how many came back, when, what the others were doing
 * when the run ended (`reconnect.not_back.*`), loss, and the kernel's listen-queue overflows.
 *
 * WSB_STORM_CLIENTS: sizes (default 20000); WSB_STORM_TIMEOUTS: timeouts (default 5s,30s).
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { BenchContext } from './run.ts';
import { runWsbench } from './support/wsbench-cli.ts';

interface StormResult {
  clients: number;
  timeout: string;
  back: number;
  dropped: number;
  p50: number;
  p99: number;
  max: number;
  notBack: string;
  lost: number;
  duplicated: number;
  overflows: number;
  load: string;
  error?: string;
}

/** TcpExt ListenOverflows of the whole machine (NaN when /proc/net/netstat is not there). */
function kernelListenOverflows(): number {
  try {
    const [head, vals] = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'))
      .map((l) => l.split(' '));
    return Number(vals![head!.indexOf('ListenOverflows')]);
  } catch {
    return NaN;
  }
}

/** The exact command of one storm run (its args after `wsbench run`). */
export function stormArgs(clients: number, timeout: string): string[] {
  const workers = Math.max(2, Math.ceil(clients / 10_000));
  return ['reconnect-storm', '--clients', String(clients), '--rooms', String(Math.ceil(clients / 100)), '--ramp', '5000', '--duration', '15s', '--cooldown', '3s', '--server', `workers=${workers}`, '--server', 'heartbeat-ms=0', '--set', `request-timeout-ms=${timeout}`];
}

async function stormOnce(clients: number, timeout: string): Promise<StormResult> {
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' / ');
  const before = kernelListenOverflows();
  const base = { clients, timeout, load };
  try {
    const r = await runWsbench(stormArgs(clients, timeout), 600_000, { anyExit: true });
    const ev = (r.checks.find((c) => c.name === 'reconnect.all-back')?.evidence ?? {}) as Record<string, unknown>;
    const num = (k: string) => (typeof ev[k] === 'number' ? (ev[k] as number) : NaN);
    const notBack = Object.entries((ev.notBack ?? {}) as Record<string, number>)
      .map(([k, n]) => `${n.toLocaleString('en-US')} ${k}`)
      .join(', ');
    return { ...base, back: num('rejoined'), dropped: num('dropped'), p50: num('recoveryP50Ms'), p99: num('recoveryP99Ms'), max: num('recoveryMaxMs'), notBack, lost: r.ledger.lost, duplicated: r.ledger.duplicated, overflows: kernelListenOverflows() - before };
  } catch (e) {
    return { ...base, back: 0, dropped: clients, p50: NaN, p99: NaN, max: NaN, notBack: '', lost: NaN, duplicated: NaN, overflows: kernelListenOverflows() - before, error: (e as Error).message.slice(0, 200) };
  }
}

const ms = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');

export default async function storm(ctx: BenchContext): Promise<string> {
  const sizes = (process.env.WSB_STORM_CLIENTS ?? '20000').split(',').map(Number);
  const timeouts = (process.env.WSB_STORM_TIMEOUTS ?? '5s,30s').split(',');
  const rows: StormResult[] = [];
  for (const n of sizes) {
    for (const t of timeouts) {
      const r = await stormOnce(n, t);
      ctx.log(`storm ${n} timeout ${t}: ${r.back} of ${r.dropped} back, max ${ms(r.max)} ms; not back: ${r.notBack || '-'}${r.error ? ` (${r.error})` : ''}`);
      rows.push(r);
    }
  }
  return [
    '## Reconnection storm: who comes back, and why the others do not (issue #15, item 3)',
    '',
    `One run per row (not a median): \`wsbench run ${stormArgs(20_000, 'T').join(' ').replace('20000', 'N').replace('--rooms 200', '--rooms N/100').replace('workers=2', 'workers=max(2,N/10000)')}\`. T = 5s is the first wave's handshake and join timeout, 30s the scenario's default now. "Not back" is what the clients that had not rejoined were doing when the run ended, and why their last attempt failed.`,
    '',
    '| clients | timeout | back / dropped | recovery p50 / p99 / max (ms) | not back at the end | lost / duplicated | listen overflows | load average at start |',
    '| ---: | --- | ---: | --- | --- | --- | ---: | --- |',
    ...rows.map((r) => `| ${r.clients.toLocaleString('en-US')} | ${r.timeout} | ${r.back.toLocaleString('en-US')} / ${Number.isFinite(r.dropped) ? r.dropped.toLocaleString('en-US') : '-'} | ${ms(r.p50)} / ${ms(r.p99)} / ${ms(r.max)} | ${r.error ? `run failed: ${r.error}` : r.notBack || '-'} | ${r.lost} / ${r.duplicated} | ${r.overflows} | ${r.load} |`),
  ].join('\n');
}
