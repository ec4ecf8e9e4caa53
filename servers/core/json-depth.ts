/**
 * The nesting-depth limit of decoded payloads (docs/SECURITY.md "Limits"). A
 * payload nested thousands of levels deep decodes fine but overflows the stack
 * of every recursive walker after it (JSON.stringify, the Socket.IO encoder), so
 * both flavours measure it right after decoding, without recursion.
 */

/**
 * Whether `value` nests arrays and objects deeper than `maxDepth` levels
 * (a scalar is depth 0, `[]` and `{}` depth 1). Iterative: safe on any input;
 * stops at the first level past the limit, so its cost is bounded by the size
 * of the value.
 */
export function deeperThan(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return true;
    // Bytes (a binary message's content) have no depth: never walk them byte by byte.
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The bad_request text both flavours send for a payload past the limit. */
export function depthMessage(maxDepth: number): string {
  return `payload nested deeper than ${maxDepth} levels (the server's max-depth)`;
}
