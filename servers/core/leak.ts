/**
 * A deliberate memory leak, for testing leak detectors (`wsbench run soak`): retain
 * `kibPerSec` KiB every second, filled so the pages are really resident, up to a
 * hard cap so that even a forgotten `--leak-kib-per-sec` cannot take the machine down.
 * Off (0) by default; never part of normal serving.
 */

/** Most a deliberate leak may hold, bytes (1 GiB). */
export const LEAK_CAP_BYTES = 1024 * 1024 * 1024;

/** Start leaking; returns a stop function that also frees what was held. */
export function startLeak(kibPerSec: number, capBytes = LEAK_CAP_BYTES): () => void {
  if (kibPerSec <= 0) return () => {};
  let held: Buffer[] = [];
  let bytes = 0;
  const timer = setInterval(() => {
    const n = Math.min(kibPerSec * 1024, capBytes - bytes);
    if (n <= 0) return;
    held.push(Buffer.alloc(n, 1));
    bytes += n;
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    held = [];
  };
}
