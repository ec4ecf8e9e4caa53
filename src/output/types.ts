/** Inputs of the renderers in src/output that are not the report itself. */

/** What the live progress line shows; the run module fills it once a second. */
export interface ProgressState {
  scenario: string;
  /** Current phase name (warmup, ramp, steady, cooldown, ...). */
  phase: string;
  elapsedMs: number;
  totalMs: number;
  clientsConnected: number;
  clientsTarget: number;
  /** Publishes per second during the last second. */
  sentPerSec: number;
  /** Deliveries per second during the last second. */
  receivedPerSec: number;
  /** Fan-out p99 over the measured samples so far, microseconds (0 when none yet). */
  fanoutP99Us: number;
  /** Errors of every kind so far. */
  errors: number;
}
