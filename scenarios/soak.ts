import { defineScenario } from '../src/index.ts';
import type { CheckResult, ServerSide } from '../src/index.ts';

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/**
 * Soak: a steady load for a long time with churn (room joins and leaves, dropped
 * connections that come back), watching the server's memory through its own metrics
 * (`--scrape`; the bundled nodes' /metrics by default). A leak is memory that keeps
 * climbing through the whole window: its Theil-Sen slope (a single step of a growing
 * heap does not move it) above `max-slope`, with every quarter's floor at or above
 * the one before. The report keeps the slope, the floors and the series.
 */
export default defineScenario({
  name: 'soak',
  description: 'steady load with churn for a long time; the server memory slope (MiB/h) finds leaks',
  defaults: { clients: 500, rooms: 20, rate: 100, warmup: 15_000, duration: 600_000 },
  options: {
    maxSlope: { type: 'bytes', default: 10 * MIB, description: 'largest server memory growth per hour that is not a leak (bytes; 10MiB)' },
    noise: { type: 'bytes', default: 16 * MIB, description: 'memory growth over the window that is not yet evidence of a leak: a V8 heap grows for minutes before it settles (bytes; 16MiB)' },
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
    return [memorySlopeCheck(run.server, Number(run.options.maxSlope), Number(run.options.noise))];
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
 * the target reports it, else RSS. Failed: memory climbed through the whole window
 * (every quarter's floor at or above the one before), faster than `maxSlope` and by
 * more than `noiseBytes` in all. Unverified: it climbed, but by less than the noise a
 * young V8 heap shows. Passed otherwise: the slope is within `maxSlope`, or some
 * quarter's floor fell below an earlier one (no lasting climb).
 */
export function memorySlopeCheck(server: ServerSide | undefined, maxSlopeBytesPerHour: number, noiseBytes: number): CheckResult {
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
  const evidence = { memory: m.what, slopeBytesPerHour: m.slope, maxSlopeBytesPerHour, floorsBytes: m.floors, growthBytes: growth, noiseBytes, rssBytesStart: server.rssBytesStart, rssBytesEnd: server.rssBytesEnd };
  const shown = `${m.what} ${mib(m.slope)}/h, quarter floors ${m.floors.map(mib).join(' -> ')}`;
  if (m.slope <= maxSlopeBytesPerHour) return { name, passed: true, detail: `within ${limit}: ${shown}`, evidence };
  if (!m.rising) return { name, passed: true, detail: `no lasting climb: a quarter's floor fell below an earlier one (${shown}); the slope over ${limit} is GC sawtooth or a heap that grew once`, evidence };
  if (growth > noiseBytes) return { name, passed: false, detail: `climbed through the whole window, ${mib(growth)} in all: ${shown} (limit ${limit})`, evidence };
  return unverified(`${m.what} rose ${mib(growth)} through the window (${shown}): over ${limit}, but within the ${mib(noiseBytes)} a young V8 heap may grow, so a leak can be neither shown nor ruled out; run longer (the default 10 minutes) or lower --set noise`, evidence);
}
