/**
 * src/gates: CI performance gates (`fanout.p99 < 50ms`, `errors.rate < 0.1%`,
 * `fanout.p99 regress < 10%`), their verdicts over one or several trials, and
 * baseline comparison.
 */
export type { Gate, GateOp, GateUnit, GateStat, GateSubject, SpecialRate, CompareRow } from './types.ts';
export { parseGate, parseGates, parseGatesFile, formatGate, formatSubject, GateSyntaxError, GATE_SYNTAX_CODE } from './parse.ts';
export { evaluateGates, validateGateMetrics, validateGateMetricNames, ENGINE_METRICS, gatesNeedBaseline, readSubject, errorRate, measuredSeconds, isImplicitZeroCounter, formatValue, median, GATE_METRIC_CODE } from './evaluate.ts';
export { checkBaselineCompatible, assertBaselineCompatible, baselineWarnings, compareReports, BASELINE_CODE } from './baseline.ts';
