#!/usr/bin/env node
// Entry point: runs the compiled CLI in dist/ (built by scripts/build.mjs at
// `npm install`/`npm ci` through `prepare`, or by `npm run build`), with no
// TypeScript loader: users' .ts scenario files load through tsx only when given.
// Without dist/ (installed with --ignore-scripts), it says so and runs the
// TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `wsbench list | head`: the reader went away; that is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const compiled = new URL('../dist/src/cli/index.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(compiled))) {
  cli = await import(compiled.href);
} else {
  process.stderr.write('wsbench: dist/ is not built (run `npm run build` in the wsbench folder); running the TypeScript sources through tsx\n');
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/index.ts');
}
await cli.main(process.argv);
