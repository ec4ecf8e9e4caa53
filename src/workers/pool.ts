/**
 * Coordinator side of the workers: forks one process per slice of clients (each
 * process may hold only so many descriptors), routes their messages, and makes
 * sure none outlives the run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loaderArgs, packageModule } from '../package-paths.ts';
import type { FromWorker, ToWorker } from './messages.ts';

const WORKER_MAIN = packageModule('src/workers/worker-main.ts');

/** The generator's worker processes (forked), addressed by id 0..size-1. */
export interface WorkerPool {
  size: number;
  send(workerId: number, msg: ToWorker): void;
  broadcast(msg: ToWorker): void;
  /** Stop every worker (disconnect, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/**
 * Fork `size` worker processes (src/workers/worker-main.ts, old-space 4096 MB each); messages go to `onMessage`, exits to `onExit`.
 */
export function createWorkerPool(
  size: number,
  onMessage: (msg: FromWorker) => void,
  onExit: (workerId: number, code: number | null, signal: string | null) => void,
): WorkerPool {
  const children: ChildProcess[] = [];
  let stopping = false;
  for (let i = 0; i < size; i++) {
    const child = fork(WORKER_MAIN, [], {
      // Compiled: no loader. From the sources: tsx, resolved from this package (not the cwd).
      execArgv: [...loaderArgs(), '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    child.on('message', (m) => onMessage(m as FromWorker));
    child.on('exit', (code, signal) => {
      if (!stopping) onExit(i, code, signal);
    });
    child.on('error', () => {
      /* reported through exit */
    });
    children.push(child);
  }
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  return {
    size,
    send(id, msg) {
      const c = children[id];
      if (c?.connected) c.send(msg);
    },
    broadcast(msg) {
      for (const c of children) if (c.connected) c.send(msg);
    },
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const t = setTimeout(() => c.kill('SIGKILL'), 3000);
              c.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              if (c.connected) c.disconnect();
              else c.kill('SIGTERM');
            }),
        ),
      );
      process.removeListener('exit', killAll);
    },
  };
}
