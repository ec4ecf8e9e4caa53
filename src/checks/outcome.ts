/**
 * The three outcomes of a check: passed, failed, or unverified (the run could not
 * tell, with the reason). An unverified check is never a pass: `passed` is false.
 */
import type { CheckResult, CheckStatus } from '../report/schema.ts';

/** A check's status, also for results written before `status` existed (`passed` decides). */
export function checkStatus(c: Pick<CheckResult, 'passed' | 'status'>): CheckStatus {
  return c.status ?? (c.passed ? 'passed' : 'failed');
}

/** A verified pass. */
export function passedCheck(name: string, detail: string, evidence?: Record<string, unknown>): CheckResult {
  return { name, passed: true, status: 'passed', detail, ...(evidence ? { evidence } : {}) };
}

/** A verified failure. */
export function failedCheck(name: string, detail: string, evidence?: Record<string, unknown>): CheckResult {
  return { name, passed: false, status: 'failed', detail, ...(evidence ? { evidence } : {}) };
}

/** The run could not tell: `reason` says why (also used as the detail). */
export function unverifiedCheck(name: string, reason: string, evidence?: Record<string, unknown>): CheckResult {
  return { name, passed: false, status: 'unverified', reason, detail: `unverified: ${reason}`, ...(evidence ? { evidence } : {}) };
}

/** Counts of each outcome. */
export function countOutcomes(checks: ReadonlyArray<Pick<CheckResult, 'passed' | 'status'>>): Record<CheckStatus, number> {
  const out: Record<CheckStatus, number> = { passed: 0, failed: 0, unverified: 0 };
  for (const c of checks) out[checkStatus(c)]++;
  return out;
}
