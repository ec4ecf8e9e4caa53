/** `wsbench list`: the bundled scenarios, one line each. */
import { bundledScenarioNames, loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts';
import { processIO, type CliIO } from './io.ts';

/** Print every bundled scenario's name and description to `cli.stdout`. */
export async function listCommand(cli: CliIO = processIO()): Promise<void> {
  const names = bundledScenarioNames();
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const def = await loadScenarioFile(resolveScenarioPath(name));
    cli.stdout.write(`${name.padEnd(width)}  ${def.description}\n`);
  }
}
