/**
 * wsbench's public API for scenario files:
 *
 * ```ts
 * import { defineScenario } from 'wsbench';
 * export default defineScenario({ name: 'my-scenario', description: '...', defaults: { clients: 500 } });
 * ```
 *
 * Every export is documented where it is declared (units and defaults included).
 * Metric and counter names (`run.metrics[METRIC.fanout]`, `run.counters[COUNTER.messagesSent]`)
 * are constants of `METRIC` and `COUNTER`, with their units.
 * Errors a program may catch are `WsbenchError`s with a stable `code` (docs/ERRORS.md).
 */
export { defineScenario } from './scenario/define.ts';
export type { ScenarioDefinition, CommonOptions, OptionSpec, VirtualClient, RunView, JitterPolicy, ProbeContext } from './scenario/types.ts';
export type { FrameCodec, DecodedFrame, AdapterFactory, PublishAck } from './protocol/types.ts';
export type { Report, CheckResult, MetricSummary, Ledger, ServerSide } from './report/schema.ts';
export { REPORT_SCHEMA } from './report/schema.ts';
export { METRIC, COUNTER, ENGINE_METRICS, type MetricName, type CounterName } from './metrics/names.ts';
export { WsbenchError, isWsbenchError, ERROR_CODES, EXIT, type ErrorCode, type ExitCode } from './errors.ts';
