import { defineScenario } from '../src/index.ts';

/**
 * Join churn: clients connect, join their room, then in a closed loop leave it and
 * join another one after a think time. Measures connect and join latency under
 * churn; the ledger still holds every membership window to exactly-once delivery.
 */
export default defineScenario({
  name: 'joins',
  description: 'connection ramp then join/leave churn in a closed loop; connect and join latency',
  defaults: { clients: 1000, rooms: 50, duration: 15_000, rate: 20 },
  options: {
    think: { type: 'duration', default: 1000, description: 'pause between a client’s leave/join cycles', min: 0 },
    churnShare: { type: 'share', default: 0.5, description: 'share of clients that churn (the rest stay put and receive)' },
  },
  async loop(vu) {
    const o = vu.options;
    if (vu.random() >= Number(o.churnShare)) {
      await vu.sleep(60_000);
      return;
    }
    const think = Number(o.think);
    await vu.sleep(vu.random() * think);
    while (vu.running) {
      const extra = `churn-${Math.floor(vu.random() * o.rooms)}`;
      await vu.join(extra);
      await vu.sleep(think);
      await vu.leave(extra);
      await vu.sleep(think * vu.random());
    }
  },
});
