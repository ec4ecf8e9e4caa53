/**
 * src/metrics: histograms, counters, per-second series, exact merges,
 * coordinated-omission correction and generator self-health. The only module
 * that imports hdr-histogram-js.
 */
export type * from './types.ts';
export { LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS } from './hdr.ts';
export { createRecorder, clampUs } from './recorder.ts';
export { createAggregator } from './aggregator.ts';
export { summarize, summarizeHistogram, mergeEncoded, percentileOf, percentileSpectrum, peakRatePerSec, type SpectrumPoint } from './summary.ts';
export { createHealthMonitor, defaultCpuSource, type CpuSource, type HealthMonitorOptions, type HealthSampleDetail, type RunHealthMonitor } from './health.ts';
export { SATURATION, eventLoopDelayLimitUs, judgeSaturation, summarizeWorkerHealth, type WorkerHealthInput, type SaturationVerdict } from './saturation.ts';
