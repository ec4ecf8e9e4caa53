/**
 * The server process keeps V8's young generation at its initial size (about
 * 4 MiB): under a flood of large frames V8 otherwise grows it to 32 MiB, memory
 * no budget accounts for and that stays resident after the flood
 * (docs/SECURITY.md "Limits"). Called by the process entry points only
 * (servers/main.ts, the cluster worker), never by createReferenceServer, so an
 * embedding process keeps its own V8 settings.
 */
import v8 from 'node:v8';

/** Stop the young generation from growing (V8's semi-space growth factor 1). */
export function capYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
