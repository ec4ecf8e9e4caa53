/**
 * wsbench's public API for scenario files:
 *
 * ```ts
 * import { defineScenario } from 'wsbench';
 * export default defineScenario({ name: 'my-scenario', description: '...', defaults: { clients: 500 } });
 * ```
 *
 * Every export is documented where it is declared (units and defaults included).
 * Errors a program may catch are `WsbenchError`s with a stable `code` (docs/ERRORS.md).
 */
export { defineScenario } from './scenario/define.ts';
export type { ScenarioDefinition, CommonOptions, OptionSpec, VirtualClient, RunView, JitterPolicy } from './scenario/types.ts';
export type { FrameCodec, DecodedFrame, AdapterFactory, PublishAck } from './protocol/types.ts';
export type { Report, CheckResult, MetricSummary, Ledger, ServerSide } from './report/schema.ts';
export { REPORT_SCHEMA } from './report/schema.ts';
export { WsbenchError, isWsbenchError, ERROR_CODES, EXIT, type ErrorCode, type ExitCode } from './errors.ts';
