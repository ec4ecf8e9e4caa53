/**
 * What both flavours do the same way around connections and shutdown: the
 * default diagnostics sink, waiting for the last connection to go (drain), a
 * close that runs once, and the /stats document with a flavour's extra sections.
 */
import type { ServerMetrics, ServerStats } from './metrics.ts';

/** Where diagnostics go when the caller gives no `log`: one line on stderr. */
export function stderrLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Waits for a server's last connection to close. */
export interface ConnectionDrain {
  /** Call after a connection went, with the number still open: at 0 every waiter is released. */
  left(open: number): void;
  /** Resolves when `left(0)` is called or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void>;
}

/** A drain with no one waiting yet. */
export function createConnectionDrain(): ConnectionDrain {
  const waiters: Array<() => void> = [];
  return {
    left(open) {
      if (open === 0) for (const w of waiters.splice(0)) w();
    },
    async wait(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        waiters.push(r);
        timer = setTimeout(r, timeoutMs);
      });
      clearTimeout(timer);
    },
  };
}

/** Steps of a server's shutdown, in order (see closeServer). */
export interface ShutdownSteps {
  /** Refuse new connections and stop timers (sync). */
  stopAccepting(): void;
  /** Ask every open connection to go. */
  closeConnections(): void;
  /** Connections still open. */
  open(): number;
  drain: ConnectionDrain;
  drainTimeoutMs: number;
  /** After the drain (or its timeout): cut what is left, stop the HTTP server, release everything. */
  release(): Promise<void>;
}

/**
 * The shutdown both flavours share: stop accepting, ask connections to close, wait
 * for them up to `drainTimeoutMs`, then release. Returns a function that runs it
 * once and hands every caller the same promise.
 */
export function onceClose(steps: (drainTimeoutMs: number | undefined) => ShutdownSteps): (opts?: { drainTimeoutMs?: number }) => Promise<void> {
  let closed: Promise<void> | null = null;
  return (opts = {}) => {
    closed ??= (async () => {
      const s = steps(opts.drainTimeoutMs);
      s.stopAccepting();
      s.closeConnections();
      if (s.open() > 0) await s.drain.wait(s.drainTimeoutMs);
      await s.release();
    })();
    return closed;
  };
}

/** The /stats document: the common counters and sizes, plus a flavour's own sections (undefined ones left out). */
export function statsWith(metrics: ServerMetrics, extra: () => Record<string, unknown | undefined>): () => ServerStats {
  return () => {
    const out: Record<string, unknown> = { ...metrics.stats() };
    for (const [k, v] of Object.entries(extra())) if (v !== undefined) out[k] = v;
    return out as unknown as ServerStats;
  };
}
