/**
 * Byte rates (link bandwidths, read rates), returned in bytes per second:
 *
 *   byte-rate := decimal bit-unit [ "/s" ]  |  size [ "/s" ]
 *   bit-unit  := bit | kbit | Mbit | Gbit   (decimal: 1 kbit = 1000 bits)
 *
 * `1Mbit` is 125,000 bytes/s, `32KiB/s` and `32KiB` are 32,768 bytes/s (sizes as
 * in size.ts). A bare number is bytes per second.
 */
import { parseBytes } from './size.ts';
import { DECIMAL, fail, ok, type Parsed } from './parsed.ts';

const BITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const BIT_RATE = new RegExp(`^\\s*(${DECIMAL})\\s*(bit|kbit|mbit|gbit)(?:/s)?\\s*$`, 'i');

/** Read a byte rate in bytes per second (`1Mbit`, `500kbit/s`, `32KiB/s`, `4096`). */
export function parseByteRate(text: string): Parsed<number> {
  const bad = `"${text}" is not a byte rate; use bits per second (1Mbit, 500kbit) or a size per second (32KiB/s)`;
  const m = BIT_RATE.exec(String(text));
  if (m) return ok((Number(m[1]) * BITS[m[2]!.toLowerCase()]!) / 8);
  const size = parseBytes(String(text).replace(/\/s\s*$/, ''));
  return size.ok ? ok(size.value) : fail(bad);
}
