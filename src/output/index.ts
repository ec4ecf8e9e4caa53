/**
 * src/output: renderers and writers, pure functions of a result (apart from the
 * JSON file writer and the progress printer, which only write what they render).
 */
export type * from './types.ts';
export { formatDuration, formatCount, formatRate, formatBytes, formatPercent, formatDeltaPct, formatClock } from './format.ts';
export { renderProgressLine } from './progress-line.ts';
export { createProgressPrinter } from './progress-printer.ts';
export { renderTable } from './table.ts';
export { writeJsonReport, readJsonReport, REPORT_ERROR_CODE } from './json-report.ts';
export { renderHtml, type HtmlOptions } from './html.ts';
export { renderJunit } from './junit.ts';
export { renderMarkdown } from './markdown.ts';
export { renderCompare, formatCompareValue } from './compare.ts';
export { verdictOf, formatGateActual, type Verdict } from './verdict.ts';
export { escapeHtml, escapeXml, escapeMarkdown } from './escape.ts';
export { renderVariants } from './variants.ts';
