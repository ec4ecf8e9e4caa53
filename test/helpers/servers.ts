import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The stand-in node (test/helpers/fake-node.ts), for `TopologySpec.serverEntry`. */
export const FAKE_NODE = fileURLToPath(new URL('./fake-node.ts', import.meta.url));

/** The real bundled server entry (servers/main.ts). */
export const REAL_NODE = fileURLToPath(new URL('../../servers/main.ts', import.meta.url));

/** Whether servers/main.ts exists yet. */
export function realServerExists(): boolean {
  return existsSync(REAL_NODE);
}
