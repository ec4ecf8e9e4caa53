/**
 * The grammar of the `slow` and `net` options (what a virtual client's conditions are made
 * of: src/workers/client-conditions.ts applies them), checked before a run starts.
 */
import type { CommonOptions } from './types.ts';
import { parseReadPace, READ_PACE_FORMS, type ReadPace } from '../protocol/read-pace.ts';
import { parseNetMix } from '../protocol/net-profile.ts';
import { parseShare, fail, ok, type Parsed } from '../units/index.ts';

type Options = Readonly<Record<string, unknown>> & CommonOptions;

/** `--set slow=...` read: the share of each slow room's members that are slow, and their pace. */
export interface SlowSpec {
  share: number;
  pace: ReadPace;
}

/** Read `--set slow=SHARE[,mode=MODE]` (empty = none; MODE defaults to `stalled`). */
export function parseSlow(text: string): Parsed<SlowSpec | undefined> {
  const t = String(text).trim();
  if (!t) return ok(undefined);
  const [shareText, ...rest] = t.split(',');
  const share = parseShare(shareText!);
  if (!share.ok) return fail(`slow "${t}": ${share.error}; e.g. slow=5%,mode=stalled`);
  let pace: ReadPace = { kind: 'stalled' };
  for (const part of rest) {
    const m = /^\s*mode\s*=\s*(.+)$/.exec(part);
    if (!m) return fail(`slow "${t}": "${part}" is not mode=MODE (${READ_PACE_FORMS})`);
    const p = parseReadPace(m[1]!);
    if (!p.ok) return fail(`slow "${t}": ${p.error}`);
    pace = p.value;
  }
  return ok({ share: share.value, pace });
}

/** Every problem of the `slow` and `net` options, each a sentence. */
export function conditionProblems(o: Options): string[] {
  const problems: string[] = [];
  const slow = parseSlow(String(o.slow ?? ''));
  if (!slow.ok) problems.push(`--set ${slow.error}`);
  const net = parseNetMix(String(o.net ?? ''));
  if (!net.ok) problems.push(`--set ${net.error}`);
  if ((o.slow || o.net) && o.client !== 'raw') problems.push(`--set slow and --set net need the lean client (client=raw, the default): the ${o.client} client cannot pace its socket`);
  else if ((o.slow || o.net) && String(o.transports).includes('polling')) problems.push(`--set slow and --set net need the lean client, which speaks WebSocket only: drop polling from --set transports`);
  return problems;
}

