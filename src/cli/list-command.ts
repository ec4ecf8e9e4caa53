/** `wsbench list`: the bundled scenarios, one line each. */
import { bundledScenarioNames, loadScenarioFile, resolveScenarioPath } from '../scenario/loader.ts';

export async function listCommand(): Promise<void> {
  const names = bundledScenarioNames();
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const def = await loadScenarioFile(resolveScenarioPath(name));
    process.stdout.write(`${name.padEnd(width)}  ${def.description}\n`);
  }
}
