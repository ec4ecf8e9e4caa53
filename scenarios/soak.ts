import { defineScenario } from '../src/index.ts';
import type { CheckResult, ServerSide } from '../src/index.ts';

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/**
 * Soak: a steady load for a long time (15 minutes by default) with churn (room joins
 * and leaves, dropped connections that come back), watching the server's memory
 * through its own metrics (`--scrape`; the bundled nodes' /metrics by default). A leak
 * is memory whose floors keep climbing through the window by more than `noise`, at a
 * Theil-Sen slope (a single step of a growing heap does not move it) over `max-slope`.
 * The report keeps the slope, the floors and the series.
 */
export default defineScenario({
  name: 'soak',
  description: 'steady load with churn for a long time; the server memory slope (MiB/h) finds leaks',
  defaults: { clients: 500, rooms: 20, rate: 100, warmup: 15_000, duration: 900_000 },
  options: {
    maxSlope: { type: 'bytes', default: 32 * MIB, description: 'largest server memory growth per hour that is not a leak (bytes; 32MiB); a window resolves noise/duration, so 32MiB needs 15 minutes' },
    noise: { type: 'bytes', default: 8 * MIB, description: 'drift of the memory floors that is not yet evidence of a leak: a V8 heap wanders by megabytes before it settles (bytes; 8MiB)' },
    churnShare: { type: 'share', default: 0.2, description: 'share of clients that churn (the rest stay and receive)' },
    think: { type: 'duration', default: 5000, description: 'pause between a churning client’s actions', min: 100 },
    dropShare: { type: 'share', default: 0.25, description: 'share of churn actions that drop the connection (it comes back) instead of joining and leaving a room' },
  },
  async loop(vu) {
    const o = vu.options;
    const think = Number(o.think);
    if (vu.random() >= Number(o.churnShare)) {
      await vu.sleep(vu.random() * think);
      while (vu.running) {
        await vu.ping();
        await vu.sleep(think);
      }
      return;
    }
    await vu.sleep(vu.random() * think);
    while (vu.running) {
      if (vu.random() < Number(o.dropShare)) {
        vu.dropConnection();
      } else {
        const extra = `soak-churn-${Math.floor(vu.random() * o.rooms)}`;
        await vu.join(extra);
        await vu.sleep(think * vu.random());
        await vu.leave(extra);
      }
      await vu.sleep(think);
    }
  },
  checks(run) {
    return [memorySlopeCheck(run.server, Number(run.options.maxSlope), Number(run.options.noise), run.durationMs)];
  },
});

/** The memory series a verdict reads: live memory (heap + Buffers) when the target reports it, else RSS. */
function memoryOf(server: ServerSide): { what: string; slope?: number; floors?: number[]; rising?: boolean } {
  if (server.heapSlopeBytesPerHour !== undefined && server.heapFloorsBytes) {
    return { what: 'live memory (V8 heap in use + Buffers)', slope: server.heapSlopeBytesPerHour, floors: server.heapFloorsBytes, rising: server.heapFloorsRising };
  }
  return { what: 'resident memory (RSS)', slope: server.rssSlopeBytesPerHour, floors: server.rssFloorsBytes, rising: server.rssFloorsRising };
}

/**
 * The leak verdict from the scraped server memory: live memory (heap + Buffers) when
 * the target reports it, else RSS. The floors are the lowest memory of each eighth of
 * the measured window (what survives its GCs).
 * - Failed: the floors climbed (last above first, rising overall) by more than
 *   `noiseBytes`, and the slope is over `maxSlope`: a leak.
 * - Passed: no such climb, and the window resolves `maxSlope` (noise / window <= maxSlope).
 * - Unverified: no climb beyond the noise, but the window is too short to rule out a
 *   leak of `maxSlope` (a young V8 heap drifts by megabytes); it says how long is enough.
 */
export function memorySlopeCheck(server: ServerSide | undefined, maxSlopeBytesPerHour: number, noiseBytes: number, windowMs: number): CheckResult {
  const name = 'server.memory-slope';
  const limit = `${mib(maxSlopeBytesPerHour)}/h`;
  const unverified = (reason: string, evidence: Record<string, unknown>): CheckResult =>
    ({ name, passed: false, status: 'unverified', reason, detail: `unverified: ${reason}`, evidence }) as CheckResult;
  const m = server ? memoryOf(server) : undefined;
  if (!server || !m || m.slope === undefined || !m.floors) {
    const why = !server
      ? 'no server metrics were read (an external target needs --scrape URL)'
      : `too few memory samples in the measured window (${server.scrapes} scrapes, ${server.failures} failed${server.errors?.length ? `: ${server.errors.join('; ')}` : ''})`;
    return unverified(`${why}; the leak check needs the server's memory every second`, { maxSlopeBytesPerHour });
  }
  const growth = m.floors.at(-1)! - m.floors[0]!;
  // The slowest leak this window can tell from drift: the noise allowance spread over the window.
  const resolution = noiseBytes / Math.max(1e-9, windowMs / 3_600_000);
  const evidence = { memory: m.what, slopeBytesPerHour: m.slope, maxSlopeBytesPerHour, floorsBytes: m.floors, growthBytes: growth, noiseBytes, resolutionBytesPerHour: Math.round(resolution), rssBytesStart: server.rssBytesStart, rssBytesEnd: server.rssBytesEnd };
  const shown = `${m.what} ${mib(m.slope)}/h, floors ${m.floors.map(mib).join(' ')}`;
  if (m.rising && growth > noiseBytes && m.slope > maxSlopeBytesPerHour) {
    return { name, passed: false, detail: `climbed through the window, ${mib(growth)} in all: ${shown} (limit ${limit})`, evidence };
  }
  if (resolution <= maxSlopeBytesPerHour) return { name, passed: true, detail: `no climb beyond ${mib(noiseBytes)} over ${Math.round(windowMs / 60_000)} min, so no leak of ${limit} or more: ${shown}`, evidence };
  const needMin = Math.ceil((noiseBytes / maxSlopeBytesPerHour) * 60);
  return unverified(`no climb beyond ${mib(noiseBytes)} (${shown}), which rules out leaks of ${mib(resolution)}/h or more, not ${limit}: that needs a measured window of at least ${needMin} min (--duration), or raise --set max-slope`, evidence);
}
