import { defineScenario } from '../src/index.ts';

/**
 * Room broadcast: every client joins one room, the first member of each room
 * publishes at an open-model rate, every member receives every message.
 * Measures connect, join, ack and fan-out latency, and proves with the ledger
 * that every delivery arrived exactly once and in order.
 */
export default defineScenario({
  name: 'broadcast',
  description: 'clients in rooms, publishers at a fixed rate; fan-out latency and an exact delivery ledger',
  defaults: { clients: 1000, rooms: 10, duration: 20_000, rate: 100, publishers: 1 },
  options: {
    pingEvery: { type: 'duration', default: 0, description: 'each client sends an application ping this often (0 = never); measures rtt' },
  },
  async loop(vu) {
    const every = Number(vu.options.pingEvery);
    if (!every) {
      // Nothing to do per client: publishing is the open-model executor's job.
      await vu.sleep(60_000);
      return;
    }
    await vu.sleep(vu.random() * every);
    while (vu.running) {
      await vu.ping();
      await vu.sleep(every);
    }
  },
});
