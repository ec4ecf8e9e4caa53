#!/usr/bin/env node
// Entry point: registers the tsx loader so the TypeScript sources (and users'
// own .ts scenario files) run without a build step, then hands over to the CLI.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/index.ts');
await main(process.argv);
