import type { ScenarioDefinition } from './types.ts';

/**
 * Declare a scenario: the default export of a scenario file.
 *
 * ```ts
 * import { defineScenario } from 'wsbench';
 * export default defineScenario({ name: 'my-chat', description: '...', defaults: { clients: 500 } });
 * ```
 */
export function defineScenario<T extends ScenarioDefinition>(def: T): T {
  return Object.freeze({ ...def, __wsbenchScenario: true }) as T;
}

/** Every problem with a scenario's shape, each a sentence (empty when fine). */
export function validateScenarioShape(def: unknown, file: string): string[] {
  if (def === null || typeof def !== 'object') {
    return [`${file}: the default export is ${def === undefined ? 'missing' : typeof def}; export default defineScenario({...})`];
  }
  const d = def as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof d.name !== 'string' || !d.name) problems.push(`${file}: "name" must be a non-empty string`);
  if (typeof d.description !== 'string') problems.push(`${file}: "description" must be a string`);
  for (const fn of ['loop', 'checks', 'adapter', 'validate', 'derive', 'probe'] as const) {
    if (d[fn] !== undefined && typeof d[fn] !== 'function') problems.push(`${file}: "${fn}" must be a function`);
  }
  if (d.server !== undefined && typeof d.server !== 'function' && (d.server === null || typeof d.server !== 'object')) problems.push(`${file}: "server" must be an object or a function`);
  for (const obj of ['defaults', 'options'] as const) {
    if (d[obj] !== undefined && (d[obj] === null || typeof d[obj] !== 'object')) problems.push(`${file}: "${obj}" must be an object`);
  }
  if (d.faults !== undefined && typeof d.faults !== 'function' && (!Array.isArray(d.faults) || d.faults.some((f) => typeof f !== 'string'))) {
    problems.push(`${file}: "faults" must be an array of strings like "drop-all@5s"`);
  }
  return problems;
}
