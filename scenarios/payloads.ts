import { defineScenario } from '../src/index.ts';

/** Payload sizes the `size` option takes, in bytes of padding. */
const SIZES: Record<string, number> = { '100B': 100, '4KiB': 4096, '64KiB': 65_536, '1MiB': 1_048_576 };
/** Publishes per second by size (all publishers together), so a 1 MiB variant does not flood a small machine. */
const RATES: Record<string, number> = { '100B': 100, '4KiB': 100, '64KiB': 20, '1MiB': 2 };

/**
 * Payload shapes side by side: one run per payload size (100 B, 4 KiB, 64 KiB, 1 MiB),
 * per frame kind (JSON text, or binary with the tag in a binary header) and per
 * compression offer (off, on), as variants (16 by default). Each reports deliveries per second,
 * fan-out percentiles, the generator's deliveries per CPU-second (the raw client's cost
 * of inflating, with compression on), and from the server's own metrics its CPU per MB
 * delivered and its memory per connection. The bundled server runs with
 * permessage-deflate on (it is used only where the client offers it) and accepts
 * frames up to 2 MiB. Narrow it with `--set size=4KiB --set binary=off --set compression=off,on`.
 */
export default defineScenario({
  name: 'payloads',
  description: 'payload sizes x text/binary x compression off/on side by side: deliveries/s, fan-out, client deliveries per CPU-second, server CPU per MB and RSS per connection',
  defaults: { clients: 200, rooms: 20, warmup: 1000, duration: 4000, cooldown: 1000, publishers: 1 },
  variants: ['size=100B,4KiB,64KiB,1MiB', 'binary=off,on', 'compression=off,on'],
  options: {
    size: { type: 'string', default: '4KiB', values: Object.keys(SIZES), description: 'payload size of the variant (sets payload-bytes, and the rate unless --rate is given)' },
  },
  derive: (o) => ({ payloadBytes: SIZES[String(o.size)] ?? o.payloadBytes, rate: RATES[String(o.size)] ?? o.rate }),
  server: { compression: 'on', 'max-payload': String(2 * 1024 * 1024), rate: '0' },
  async loop(vu) {
    // Publishing is the open-model executor's job; clients only receive.
    await vu.sleep(60_000);
  },
});
