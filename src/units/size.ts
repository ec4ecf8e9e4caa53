/**
 * Sizes in bytes: `100`, `4KiB`, `64k`, `1MiB` (case-insensitive; k/kb/kib are 1024
 * and m/mb/mib 1024² bytes). A bare number is bytes everywhere.
 */
import { fail, ok, type Parsed } from './parsed.ts';

const UNIT_BYTES: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };

/** Read a whole size in bytes. */
export function parseBytes(text: string): Parsed<number> {
  const m = /^\s*(\d+)\s*([a-z]+)?\s*$/i.exec(String(text));
  const scale = m ? UNIT_BYTES[(m[2] ?? 'b').toLowerCase()] : undefined;
  if (!m || scale === undefined) return fail(`"${text}" is not a size; use bytes (100) or 4KiB, 1MiB`);
  return ok(Number(m[1]) * scale);
}
