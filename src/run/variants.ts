/**
 * Variants: `--set jitter=none,full` runs the scenario once per value, one after
 * another in one invocation, and the report compares them side by side. Only
 * options with a fixed set of values take lists (a comma is never part of one).
 */
import type { CheckStatus, Report, VariantSummary } from '../report/schema.ts';
import { checkStatus, countOutcomes } from '../checks/outcome.ts';
import type { OptionSpec, ScenarioDefinition } from '../scenario/types.ts';
import { COMMON_OPTION_SPECS, camel } from '../scenario/options.ts';
import { peakRatePerSec } from '../metrics/index.ts';
import { COUNTER } from '../metrics/names.ts';
import { trafficFigures } from './traffic-figures.ts';

/** Window over which the herd's peak arrival rate is measured. */
export const HERD_WINDOW_US = 100_000;

/** One run of a variant list: its label and the `--set` pairs it runs with. */
export interface Variant {
  /** e.g. `jitter=none`; empty for a run without variants. */
  label: string;
  sets: string[];
}

/**
 * The runs `--set` lists ask for (the product of every list of an option with fixed values); one variant with an empty label when there is no list.
 */
export function expandVariants(def: ScenarioDefinition, sets: string[]): Variant[] {
  const specs: Record<string, OptionSpec> = { ...COMMON_OPTION_SPECS, ...(def.options ?? {}) };
  let variants: Variant[] = [{ label: '', sets: [] }];
  for (const s of withScenarioVariants(def, sets)) {
    const eq = s.indexOf('=');
    const key = eq > 0 ? s.slice(0, eq).trim() : '';
    const parts = eq > 0 ? s.slice(eq + 1).split(',').map((p) => p.trim()) : [];
    const spec = specs[camel(key)];
    if (parts.length > 1 && spec?.values && parts.every((p) => spec.values!.includes(p))) {
      variants = variants.flatMap((v) => parts.map((p) => ({ label: [v.label, `${key}=${p}`].filter(Boolean).join(' '), sets: [...v.sets, `${key}=${p}`] })));
    } else {
      variants = variants.map((v) => ({ ...v, sets: [...v.sets, s] }));
    }
  }
  return variants;
}

/** The scenario's own `variants` lists first (those whose key the user did not `--set`), then the user's sets. */
function withScenarioVariants(def: ScenarioDefinition, sets: string[]): string[] {
  const keyOf = (s: string) => camel(s.slice(0, Math.max(0, s.indexOf('='))).trim());
  const given = new Set(sets.map(keyOf));
  return [...(def.variants ?? []).filter((s) => !given.has(keyOf(s))), ...sets];
}

/** One variant's verdict: a failed check or gate fails it; otherwise an unverified check leaves it unverified, never passed. */
export function variantVerdict(r: Pick<Report, 'checks' | 'gates'>): { verdict: CheckStatus; unverified: string[] } {
  const unverified = r.checks.filter((c) => checkStatus(c) === 'unverified').map((c) => c.name);
  const failed = countOutcomes(r.checks).failed > 0 || r.gates.some((g) => !g.passed);
  return { verdict: failed ? 'failed' : unverified.length ? 'unverified' : 'passed', unverified };
}

/** The side-by-side row of one variant (its judged report: the last trial, earlier trials' failed and unverified checks carried). */
export function summarizeVariant(label: string, r: Report): VariantSummary {
  const rec = r.metrics.reconnect;
  const { verdict, unverified } = variantVerdict(r);
  return {
    label,
    passed: verdict === 'passed',
    verdict,
    ...(unverified.length ? { unverified } : {}),
    herdPeakPerSec: rec ? peakRatePerSec(rec.hdr, HERD_WINDOW_US) : 0,
    ...(rec ? { reconnectP50Us: rec.p50, reconnectP99Us: rec.p99, reconnectMaxUs: rec.max } : {}),
    ...(r.observations?.[COUNTER.reconnectAttempts] ? { reconnectAttemptsMean: r.observations[COUNTER.reconnectAttempts].mean } : {}),
    ...(r.metrics.fanout ? { fanoutP99Us: r.metrics.fanout.p99 } : {}),
    lost: r.ledger.lost,
    duplicated: r.ledger.duplicated,
    traffic: trafficFigures(r),
  };
}
