/**
 * wsbench's public API for scenario files:
 *
 * ```ts
 * import { defineScenario } from 'wsbench';
 * export default defineScenario({ name: 'my-scenario', description: '...', defaults: { clients: 500 } });
 * ```
 */
export { defineScenario } from './scenario/define.ts';
export type { ScenarioDefinition, CommonOptions, OptionSpec, VirtualClient, RunView, JitterPolicy } from './scenario/types.ts';
export type { FrameCodec, DecodedFrame, AdapterFactory } from './protocol/types.ts';
export type { Report, CheckResult, MetricSummary, Ledger, ServerSide } from './report/schema.ts';
export { REPORT_SCHEMA } from './report/schema.ts';
