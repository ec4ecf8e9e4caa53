/**
 * Fixture scenario: slow reading from a scenario's own loop (`vu.readSlowly`), no `--set slow`.
 * Every fourth client (never a room's publisher) stops reading 500 ms into the warm-up.
 */
import { defineScenario } from '../../src/index.ts';

export default defineScenario({
  name: 'stall-by-script',
  description: 'every fourth client stops reading, by script',
  defaults: { clients: 16, rooms: 4, rate: 200, payloadBytes: 32 * 1024, warmup: 1000, duration: 5000 },
  server: { rate: '1000', burst: '2000' },
  async loop(vu) {
    if (vu.index % 4 !== 3 || vu.index < vu.options.rooms) return void (await vu.sleep(60_000));
    await vu.sleep(500);
    vu.readSlowly('stalled');
    await vu.waitClosed(60_000);
    await vu.sleep(60_000);
  },
});
