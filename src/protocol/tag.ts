/**
 * The harness's own tag, embedded by publishers in every payload (`wsb` field):
 * `<node>.<publisher>.<counter>.<sendUs>`, all decimal integers. `sendUs` is the
 * scheduled send time from `process.hrtime` in microseconds: monotonic and shared by
 * every process of one machine, so receivers in other processes can compute one-way
 * latency without the server's cooperation. The clock is `nowUs` of src/executor/clock.ts.
 */

export function encodeTag(node: number, publisher: number, counter: number, sendUs: number): string {
  return `${node}.${publisher}.${counter}.${sendUs}`;
}

/**
 * A harness tag's parts: node, publisher (global client index), counter, and `sendUs` (scheduled send time, monotonic us).
 */
export interface ParsedTag {
  node: number;
  publisher: number;
  counter: number;
  sendUs: number;
}

/** Parse a tag string; null when it is not one of ours. */
export function parseTag(tag: string): ParsedTag | null {
  const parts = tag.split('.');
  if (parts.length !== 4) return null;
  const n = parts.map(Number);
  if (n.some((x) => !Number.isInteger(x) || x < 0)) return null;
  return { node: n[0]!, publisher: n[1]!, counter: n[2]!, sendUs: n[3]! };
}

/** `padding`'s strings by size. */
const padCache = new Map<number, string>();
/** `bytes` characters of `x` (none for 0 or less), cached per size. */
export function padding(bytes: number): string {
  let p = padCache.get(bytes);
  if (p === undefined) {
    p = 'x'.repeat(Math.max(0, bytes));
    padCache.set(bytes, p);
  }
  return p;
}
