/**
 * A scenario check the run could not carry out (nothing to judge, or a phase that
 * could not run): outcome `unverified` with its reason, never a pass. It also says
 * `passed: false`, for readers that know only passed and failed.
 */
import type { CheckResult } from '../report/schema.ts';

/** An unverified check; `detail` defaults to "unverified: REASON". */
export function unverifiedCheck(name: string, reason: string, detail = `unverified: ${reason}`): CheckResult {
  // Spread, so that the outcome fields pass through where the schema does not declare them yet.
  const outcome = { status: 'unverified' as const, reason };
  return { name, passed: false, detail, ...outcome };
}
