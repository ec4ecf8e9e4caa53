/**
 * How many processes a bundled node needs for the clients it will hold: each
 * client is one socket, so one descriptor, in whichever server process accepted
 * it. The engine plans its generator processes the same way (src/workers/limits.ts).
 */
import { usageError } from '../errors.ts';
import { clientsPerWorker } from '../workers/limits.ts';
import type { Protocol } from './types.ts';

/** What the bundled server needs to know to size itself. */
export interface ServerSizingInput {
  /** Clients the whole run opens (all nodes together). */
  clients: number;
  /** Bundled nodes the clients are spread over (round robin). */
  nodes: number;
  /** The descriptor limit a node process inherits from this one (see readFdLimit()). */
  fdLimit: number;
  protocol: Protocol;
  /** The `workers` server option the user gave (`--server workers=N`), raw; undefined = not given. */
  workers?: string;
}

/** The plan: the `workers` option each node gets (undefined = leave the server's default, 1) and why. */
export interface ServerSizing {
  workers?: number;
  /** A line for the report's notes when wsbench chose the workers itself. */
  note?: string;
}

/** The most cluster workers the bundled server accepts (servers/core/options.ts). */
const MAX_SERVER_WORKERS = 64;

/**
 * Plan the cluster workers of each bundled node so that no server process holds
 * more clients than its descriptor limit allows (three quarters of it, as the
 * engine's workers). Without `--server workers=N` wsbench picks the smallest N
 * that fits; a given N that is too small, or a Socket.IO node (one process only)
 * that cannot hold its share, is refused before anything starts.
 *
 * @throws usage error `WSB_ERR_SERVER_SIZE` naming the `--server workers=N` or `--nodes N` needed
 */
export function planServerWorkers(input: ServerSizingInput): ServerSizing {
  const perProcess = clientsPerWorker(input.fdLimit);
  const perNode = Math.ceil(input.clients / Math.max(1, input.nodes));
  const needed = Math.max(1, Math.ceil(perNode / perProcess));
  const why = `${perNode} clients per node, at most ${perProcess} per server process by the descriptor limit (${input.fdLimit})`;
  if (needed === 1) return {};
  if (input.protocol === 'socketio') {
    const nodes = Math.ceil(input.clients / perProcess);
    throw usageError('WSB_ERR_SERVER_SIZE', `the bundled Socket.IO server runs in one process per node and cannot hold ${why}`, `spread the clients over more nodes: --nodes ${nodes} (or raise the limit with ulimit -n)`);
  }
  if (needed > MAX_SERVER_WORKERS) {
    throw usageError('WSB_ERR_SERVER_SIZE', `the bundled server would need ${needed} workers per node for ${why}, more than its ${MAX_SERVER_WORKERS}`, 'raise the descriptor limit (ulimit -n) or use more nodes (--nodes N)');
  }
  if (input.workers !== undefined) {
    const given = Number(input.workers);
    // A malformed value is the server's to refuse, with its own message.
    if (Number.isInteger(given) && given < needed) {
      throw usageError('WSB_ERR_SERVER_SIZE', `--server workers=${given} is too few for ${why}`, `use --server workers=${needed} or more, or fewer clients`);
    }
    return {};
  }
  return { workers: needed, note: `bundled server: ${needed} cluster workers per node (${why}); set --server workers=N to choose` };
}
