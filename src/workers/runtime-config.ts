/** What a worker runtime is built from: its slice of the run (the init message) and what the worker made of it. */
import type { Recorder } from '../metrics/types.ts';
import type { Transport } from '../protocol/types.ts';
import type { ScenarioDefinition } from '../scenario/types.ts';
import type { Clock } from '../executor/clock.ts';
import type { WorkerInit } from './messages.ts';

/** A worker's slice of the run, as its init message gave it, plus what the worker built from it. */
export type RuntimeConfig = Pick<WorkerInit, 'workerId' | 'options' | 'fromClient' | 'toClient' | 'urls' | 'tokens' | 'sourceAddresses' | 'spread' | 'nodeIdentity' | 'splitNodes' | 'urlNodes'> & {
  scenario: ScenarioDefinition;
  transport: Transport;
  recorder: Recorder;
  /** Time and timers (default the real clock; unit tests pass a fake one). */
  clock?: Clock;
};
