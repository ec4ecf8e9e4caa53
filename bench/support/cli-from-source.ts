/**
 * The CLI from the TypeScript sources, as `bin/wsbench.js` ran it before the build
 * step: `node --import tsx bench/support/cli-from-source.ts run ...`. Workers and
 * nodes it starts then load through tsx too (src/package-paths.ts). For comparisons only.
 */
import { main } from '../../src/cli/index.ts';

await main(process.argv);
