/**
 * Which node a client is on: the id the server names in its welcome frame, unless
 * two target URLs name the same id. Then the ids cannot tell the nodes apart (two
 * servers that all call themselves `n0`, or one server reached by two URLs), and
 * the run falls back to URL identity: the URL a client connected to is its node.
 *
 * Several URLs of one node (a bundled node with `--server ports=per-worker`:
 * one URL per cluster worker) are told apart by `urlNodes`, the node index of
 * each URL: an id seen on two URLs of the same node is not shared.
 */

/** What a welcome's node id means once it has been seen on a URL. */
export type NodeIdClaim = 'named' | 'shared-now' | 'shared';

/**
 * The node ids one worker has seen, per target URL. Once one id arrives from two
 * URLs, every later claim answers `shared` (the first time `shared-now`, so the
 * caller can move the clients it already keyed by name to their URL).
 */
export class NodeIdRegistry {
  private readonly urlOf = new Map<string, number>();
  /** The first id seen on two URLs, once one was. */
  sharedId: string | undefined;

  /** `urlNodes`: the node index of each URL (default: every URL its own node). */
  constructor(private readonly urlNodes: readonly number[] = []) {}

  /** Record that a client on URL `urlIndex` was welcomed by node `id`. */
  claim(id: string, urlIndex: number): NodeIdClaim {
    if (this.sharedId !== undefined) return 'shared';
    const node = nodeOfUrl(this.urlNodes, urlIndex);
    const first = this.urlOf.get(id);
    if (first === undefined) this.urlOf.set(id, node);
    else if (first !== node) {
      this.sharedId = id;
      return 'shared-now';
    }
    return 'named';
  }
}

/**
 * Node ids that clients learned behind more than one URL, from the workers'
 * per-client counts keyed `<url index>|<node id or empty>`: each with the URL indexes.
 */
export function sharedNodeIds(counts: Record<string, number>, urlNodes: readonly number[] = []): Array<{ id: string; urls: number[] }> {
  const urls = new Map<string, Set<number>>();
  const nodes = new Map<string, Set<number>>();
  for (const key of Object.keys(counts)) {
    const bar = key.indexOf('|');
    const id = key.slice(bar + 1);
    if (bar < 0 || id === '') continue;
    const url = Number(key.slice(0, bar));
    (urls.get(id) ?? urls.set(id, new Set()).get(id)!).add(url);
    (nodes.get(id) ?? nodes.set(id, new Set()).get(id)!).add(nodeOfUrl(urlNodes, url));
  }
  return [...urls].filter(([id]) => nodes.get(id)!.size > 1).map(([id, s]) => ({ id, urls: [...s].sort((a, b) => a - b) }));
}

/** The node index of URL `urlIndex`: `urlNodes[urlIndex]`, or the URL's own index when not given. */
function nodeOfUrl(urlNodes: readonly number[], urlIndex: number): number {
  return urlNodes[urlIndex] ?? urlIndex;
}

/**
 * The same counts keyed `<node index>|<node id>` instead of by URL index, so the
 * URLs of one node (its workers' ports) add up to that node.
 */
export function countsByNode(counts: Record<string, number>, urlNodes: readonly number[]): Record<string, number> {
  if (urlNodes.length === 0) return counts;
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    const bar = key.indexOf('|');
    const k = bar < 0 ? key : `${nodeOfUrl(urlNodes, Number(key.slice(0, bar)))}${key.slice(bar)}`;
    out[k] = (out[k] ?? 0) + n;
  }
  return out;
}

/** The same counts with the shared ids dropped from their keys, so each URL stands for one node. */
export function countsByUrl(counts: Record<string, number>, shared: ReadonlyArray<{ id: string }>): Record<string, number> {
  const ids = new Set(shared.map((s) => s.id));
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    const bar = key.indexOf('|');
    const k = ids.has(key.slice(bar + 1)) ? `${key.slice(0, bar)}|` : key;
    out[k] = (out[k] ?? 0) + n;
  }
  return out;
}

/** The report's note for ids shared by several URLs (empty when none is). */
export function sharedNodeIdNotes(shared: ReadonlyArray<{ id: string; urls: number[] }>, urls: readonly string[]): string[] {
  return shared.map(
    (s) =>
      `node id "${s.id}" was reported by ${s.urls.length} target URLs (${s.urls.map((i) => urls[i] ?? `#${i}`).join(', ')}): the ids cannot tell these nodes apart, so each URL counts as one node (local/remote by URL); give each server its own id`,
  );
}
