/**
 * Reject with a clear message when `promise` has not settled within `ms`
 * milliseconds, so a hung await fails the test that caused it instead of the
 * whole file timing out.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Poll `check` every `intervalMs` until it returns true; reject after `ms` milliseconds. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what = 'condition', intervalMs = 25): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become true within ${ms} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
