import { usageError } from '../errors.ts';
import { durationProblem, parseDuration } from './duration.ts';
import type { FaultAction } from './types.ts';

/** The fault actions, in the order help text lists them. */
export const FAULT_KINDS = ['kill-node', 'restart-node', 'pause-node', 'restart-redis', 'drop-all'] as const;

/** The kind of a fault (`kill-node`, `restart-node`, `pause-node`, `restart-redis`, `drop-all`). */
export type FaultKind = FaultAction['kind'];

/** Accepted fault forms, for error messages and help text. */
export const FAULT_FORMS = [
  'kill-node[:N]@TIME            SIGKILL node N (default 0); it stays down',
  'restart-node[:N]@TIME[+DOWN]  stop node N gracefully, wait DOWN, start it again on the same port',
  'pause-node[:N]@TIME+DURATION  freeze node N (SIGSTOP) for DURATION, then resume it',
  'restart-redis@TIME[+DOWN]     stop the redis-server, wait DOWN, start it again on the same port',
  'drop-all[:N]@TIME             close every connection of node N (all nodes without N) with 1012',
].join('\n');

/** A fault with its start time, as parsed from the command line. */
export interface ScheduledFault {
  /** When to inject it, in milliseconds since the run started. */
  atMs: number;
  action: FaultAction;
}

/**
 * Parse a fault in the CLI syntax `ACTION[:TARGET]@TIME[+DURATION]`, e.g.
 * `kill-node:1@4s`, `restart-node:1@4s`, `pause-node:0@3s+2s`,
 * `restart-redis@5s+1s`, `drop-all@5s`.
 *
 * - TARGET is a node index (`1`) or node id (`n1`). It defaults to node 0 for
 *   kill-node, restart-node and pause-node; drop-all without a target hits
 *   every node; restart-redis takes none.
 * - TIME and DURATION are durations as {@link parseDuration} reads them (`500ms`, `4s`, `1m`).
 * - DURATION is required for pause-node, optional for restart-node and
 *   restart-redis (downtime, default 0), refused for kill-node and drop-all.
 *
 * @throws WsbenchError code `WSB_ERR_FAULT` (usage error, exit 2) naming the text, the bad part and the accepted forms
 */
export function parseFault(text: string): ScheduledFault {
  const fail = (problem: string) =>
    usageError('WSB_ERR_FAULT', `invalid fault "${text}": ${problem}`, `accepted forms:\n${FAULT_FORMS}`);

  const s = typeof text === 'string' ? text.trim() : '';
  if (s === '') throw fail('it is empty');
  const at = s.indexOf('@');
  if (at < 0) throw fail('missing "@TIME" (when to inject it, e.g. @4s)');
  const head = s.slice(0, at);
  const tail = s.slice(at + 1);
  if (tail.includes('@')) throw fail('more than one "@"');

  const colon = head.indexOf(':');
  const kind = (colon < 0 ? head : head.slice(0, colon)).trim();
  const targetText = colon < 0 ? undefined : head.slice(colon + 1).trim();
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw fail(`unknown action "${kind}" (one of ${FAULT_KINDS.join(', ')})`);
  }

  const plus = tail.indexOf('+');
  const timeText = (plus < 0 ? tail : tail.slice(0, plus)).trim();
  const durText = plus < 0 ? undefined : tail.slice(plus + 1).trim();
  const timeProblem = durationProblem(timeText);
  if (timeProblem !== undefined) throw fail(`bad time "${timeText}": ${timeProblem}`);
  const atMs = parseDuration(timeText);
  let durationMs: number | undefined;
  if (durText !== undefined) {
    const p = durationProblem(durText);
    if (p !== undefined) throw fail(`bad duration "+${durText}": ${p}`);
    durationMs = parseDuration(durText);
  }

  let node: number | undefined;
  if (targetText !== undefined) {
    if (kind === 'restart-redis') throw fail(`restart-redis takes no target, got ":${targetText}"`);
    const m = /^n?(\d+)$/.exec(targetText);
    if (!m) throw fail(`bad target ":${targetText}" (a node index like 1, or a node id like n1)`);
    node = Number(m[1]);
  }

  switch (kind as FaultKind) {
    case 'kill-node':
      if (durationMs !== undefined) throw fail('kill-node takes no duration (the node stays down; use restart-node:N@TIME+DOWN)');
      return { atMs, action: { kind: 'kill-node', node: node ?? 0 } };
    case 'restart-node':
      return { atMs, action: withDuration({ kind: 'restart-node', node: node ?? 0 }, durationMs) };
    case 'pause-node':
      if (durationMs === undefined) throw fail('pause-node needs a duration, e.g. pause-node:0@3s+2s');
      return { atMs, action: { kind: 'pause-node', node: node ?? 0, durationMs } };
    case 'restart-redis':
      return { atMs, action: withDuration({ kind: 'restart-redis' }, durationMs) };
    case 'drop-all':
      if (durationMs !== undefined) throw fail('drop-all takes no duration');
      return { atMs, action: node === undefined ? { kind: 'drop-all' } : { kind: 'drop-all', node } };
  }
  throw fail(`unknown action "${kind}"`);
}

function withDuration<T extends FaultAction>(action: T, durationMs: number | undefined): T {
  return durationMs === undefined ? action : { ...action, durationMs };
}

/** The fault written back in CLI syntax, for timelines and logs (inverse of {@link parseFault}). */
export function formatFault(action: FaultAction, atMs?: number): string {
  let s: string = action.kind;
  if ('node' in action && action.node !== undefined) s += `:${action.node}`;
  if (atMs !== undefined) s += `@${formatMs(atMs)}`;
  if ('durationMs' in action && action.durationMs !== undefined) s += `${atMs === undefined ? ' ' : ''}+${formatMs(action.durationMs)}`;
  return s;
}

function formatMs(ms: number): string {
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
