/**
 * Cluster worker entry (`--workers N`): started by startServer() in
 * servers/main.ts through `cluster.setupPrimary({ exec: this file })`. Runs one
 * reference server on the shared port with an IPC bus to the primary; with
 * `--ports per-worker` also on a port of its own (own-port.ts), whose URL it
 * reports to the primary in its `ready` message.
 */
import { createIpcBus } from '../core/cluster.ts';
import { resolveServerOptions, workerPortList, type ServerOptions } from '../core/options.ts';
import { listenOwnPort } from './own-port.ts';
import { createReferenceServer } from './server.ts';
import { createBus } from '../core/bus-factory.ts';
import { capYoungGeneration } from '../core/young-gen.ts';

const options = resolveServerOptions(JSON.parse(process.env.WSBENCH_SERVER_OPTIONS ?? '{}') as Partial<ServerOptions>);
if (options.inflightBytes > 0) capYoungGeneration();
const ipc = createIpcBus();
// With --redis every worker talks to Redis directly; the IPC channel still carries control and /stats.
const bus = await createBus(options, 'worker', { ipc });
const server = await createReferenceServer(options, { bus, statsProvider: () => ipc.clusterStats() });
// --ports per-worker: also accept on a port of our own (WSBENCH_WORKER_INDEX picks it from --worker-ports).
const index = Number(process.env.WSBENCH_WORKER_INDEX ?? 0);
const own = options.ports === 'per-worker'
  ? await listenOwnPort(server, workerPortList(options)[index] ?? 0, options.host, (l) => process.stderr.write(`${l}\n`))
  : undefined;

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  own?.close();
  server.close().then(() => (bus === ipc ? undefined : bus.close())).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`wsbench worker ${process.pid}: close failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
};
ipc.onControl({ stats: server.stats, dropAll: (code) => server.dropAll(code), shutdown });
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('SIGUSR2', () => server.dropAll(1012));
// The primary is gone (killed): leave no orphan.
process.on('disconnect', shutdown);
process.send?.({ wsb: 1, op: 'ready', url: server.url, port: server.port, ownUrl: own?.url });
