/**
 * The delivery verdict of merged shard reports (`wsbench merge`).
 *
 * With the server's seq, each shard's books are complete for its own receivers (a
 * receiver expects every seq of its room, whoever published it), so the shards'
 * ledgers add. With the harness's tags (a server without seq) a shard can judge only
 * the publishes of its own clients: it holds their publisher logs, while the other
 * shards' publishes reach its receivers without the log that says what was owed
 * (counted as `ledger.otherShards`). A shard report carries neither its publisher
 * logs nor its receivers' per-publisher windows, and their times are each machine's
 * own monotonic clock, so the merge cannot close the books between shards: the merged
 * delivery check is then unverified, with the reason, never passed.
 */
import type { CheckResult, Report } from '../report/schema.ts';
import { unverifiedCheck } from './outcome.ts';

/** The name of the delivery check (src/checks/builtin.ts). */
export const DELIVERY_CHECK = 'delivery.exactly-once-in-order';

/**
 * The merged run's own delivery check, when the shards' checks cannot speak for it:
 * unverified for tag-mode shards (more than one). Undefined when the shards' ledgers add
 * exactly (seq mode, or a single report).
 */
export function mergedDeliveryCheck(reports: ReadonlyArray<Pick<Report, 'ledger'>>): CheckResult | undefined {
  if (reports.length < 2 || !reports.some((r) => r.ledger.mode === 'tag')) return undefined;
  const crossing = reports.reduce((a, r) => a + (r.ledger.otherShards ?? 0), 0);
  const seen = crossing > 0 ? `${crossing.toLocaleString('en-US')} deliveries crossed between shards and` : 'deliveries between shards';
  return unverifiedCheck(
    DELIVERY_CHECK,
    `tag ledger across ${reports.length} shards: each shard judged only its own clients' publishes; ${seen} cannot be judged, because a shard report keeps neither its publishers' logs nor its receivers' windows (and each machine times them on its own clock). Run unsharded, or against a server with seq, to judge all of them`,
    { shards: reports.length, crossShardDeliveries: crossing, shardLedgers: reports.map((r) => r.ledger) },
  );
}
