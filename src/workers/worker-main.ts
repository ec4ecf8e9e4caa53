/**
 * Entry of a worker process (forked by src/workers/pool.ts; compiled, or through tsx from the sources).
 * Receives `init` and phase messages, runs its slice of the virtual clients, and
 * reports an encoded metrics snapshot once a second.
 */
import { createHealthMonitor, createRecorder } from '../metrics/index.ts';
import { loadScenarioFile } from '../scenario/loader.ts';
import { applyAdapterOption } from '../scenario/adapter-file.ts';
import { createTransport } from '../protocol/index.ts';
import { WorkerRuntime } from './runtime.ts';
import { readFdLimit } from './limits.ts';
import type { FromWorker, Phase, ToWorker, WorkerInit } from './messages.ts';
import { COUNTER } from '../metrics/names.ts';
import { readBacklog, roomMaxOf, settleLedger, shortfallOf, watchProgress, SETTLE_MAX_MS } from '../checks/settle.ts';

let rt: WorkerRuntime | undefined;
let init: WorkerInit | undefined;
let measured = false;
/** Resolves the finish phase's wait for the coordinator's highest seqs per room. */
let onSettle: ((roomMax: Record<string, number>) => void) | undefined;
/** Watches deliveries from the cool-down on, so the settle knows how long they have been quiet. */
let quietWatch: ReturnType<typeof watchProgress> | undefined;
const recorder = createRecorder();
const health = createHealthMonitor();
let snapshotTimer: NodeJS.Timeout | undefined;

function send(msg: FromWorker): void {
  // The coordinator may be gone (Ctrl-C twice, a crash): then there is no one to tell.
  if (process.connected) process.send!(msg, undefined, undefined, () => {});
}

function flush(): void {
  if (!init || !rt) return;
  send({ type: 'snapshot', workerId: init.workerId, phase: rt.phase, measured, metrics: recorder.snapshot(), health: health.sample(), status: rt.status() });
}

async function onInit(msg: WorkerInit): Promise<void> {
  init = msg;
  const scenario = await applyAdapterOption(await loadScenarioFile(msg.scenario.path), msg.options, msg.protocol);
  const transport = await createTransport(msg.protocol, scenario, msg.options);
  rt = new WorkerRuntime({
    workerId: msg.workerId,
    options: msg.options,
    scenario,
    transport,
    fromClient: msg.fromClient,
    toClient: msg.toClient,
    urls: msg.urls,
    tokens: msg.tokens,
    sourceAddresses: msg.sourceAddresses,
    spread: msg.spread,
    nodeIdentity: msg.nodeIdentity,
    splitNodes: msg.splitNodes,
    urlNodes: msg.urlNodes,
    recorder,
  });
  snapshotTimer = setInterval(flush, 1000);
  send({ type: 'ready', workerId: msg.workerId, fdLimit: readFdLimit() });
}

async function onPhase(phase: Phase): Promise<void> {
  if (!rt || !init) return;
  flush();
  rt.phase = phase;
  const o = init.options;
  const share = (init.toClient - init.fromClient) / Math.max(1, o.clients);
  switch (phase) {
    case 'ramp': {
      // Connect and join latencies are the ramp's measurements; no messages flow yet.
      measured = true;
      const r = await rt.runRamp(o.ramp * share);
      send({ type: 'ramp-done', workerId: init.workerId, ...r });
      return;
    }
    case 'warmup':
    case 'steady': {
      measured = phase === 'steady';
      if (rt.cfg.scenario.publish !== false) {
        const totalPublishers = Math.min(o.clients, o.rooms * o.publishers);
        rt.startPublishing(totalPublishers > 0 ? (o.rate * rt.publishers.length) / totalPublishers : 0);
      }
      rt.startLoops();
      return;
    }
    case 'cooldown':
      measured = false;
      rt.stopPublishing();
      rt.stopLoops();
      rt.catchUpSlow();
      // When deliveries go quiet during the cool-down, the settle below need not wait again.
      quietWatch = watchProgress(() => readBacklog(rt!));
      return;
    case 'finish': {
      measured = false;
      // Deliveries still in flight arrive before the books close (src/checks/settle.ts):
      // first what this worker knows of, then up to the highest seq any worker knows.
      const budgetMs = Math.min(o.requestTimeoutMs, SETTLE_MAX_MS);
      const before = quietWatch?.mark();
      quietWatch?.stop();
      const first = await settleLedger(() => readBacklog(rt!), { timeoutMs: budgetMs, before });
      const known = new Promise<Record<string, number> | null>((r) => (onSettle = r));
      send({ type: 'room-max', workerId: init.workerId, roomMax: roomMaxOf(rt.tallies()) });
      const roomMax = await Promise.race([known, new Promise<null>((r) => setTimeout(() => r(null), SETTLE_MAX_MS + 5000).unref())]);
      const second = roomMax ? await settleLedger(() => readBacklog(rt!, roomMax), { timeoutMs: Math.max(0, budgetMs - first.waitedMs), quietMs: 0 }) : first;
      const settle = shortfallOf({ ...second, waitedMs: first.waitedMs + (second === first ? 0 : second.waitedMs) });
      const tallies = rt.tallies();
      const tagLedger = rt.tagLedger();
      const nodeClients = rt.nodeClients();
      rt.noteUnevictedZombies();
      rt.noteSkipped();
      rt.noteNotBack();
      await rt.closeAll();
      flush();
      if (snapshotTimer) clearInterval(snapshotTimer);
      health.stop();
      send({ type: 'final', workerId: init.workerId, ...(settle ? { settle } : {}), tallies, tagLedger, errorExamples: rt.errorExamples, nodeClients, examples: rt.examples, observations: Object.fromEntries(rt.observations) });
      return;
    }
  }
}

process.on('message', (msg: ToWorker) => {
  const run = async () => {
    switch (msg.type) {
      case 'init':
        return onInit(msg);
      case 'phase':
        return onPhase(msg.phase);
      case 'zombify':
        return rt?.zombify(msg.clients);
      case 'settle':
        return onSettle?.(msg.roomMax);
    }
  };
  run().catch((e: Error & { code?: string }) => {
    send({ type: 'fatal', workerId: init?.workerId ?? -1, message: e.message, code: e.code });
  });
});

// Ctrl-C in a terminal signals the whole process group: the coordinator drives a clean
// stop (final snapshot and ledger), so the worker ignores SIGINT and waits to be told.
process.on('SIGINT', () => {});
// The coordinator going away (crash, second Ctrl-C) must not leave this process behind.
process.on('disconnect', () => process.exit(0));
// A client failure must never take the worker down: count it and carry on.
let reportedUncaught = false;
process.on('uncaughtException', (e) => {
  recorder.count(COUNTER.errorsUncaught);
  if (!reportedUncaught) {
    reportedUncaught = true;
    process.stderr.write(`wsbench worker ${init?.workerId ?? '?'}: unexpected error, counted as errors.uncaught: ${e.stack ?? e.message}\n`);
  }
});
