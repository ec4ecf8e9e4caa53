/**
 * `--adapter FILE`: a user's module that exports a codec for their server's dialect,
 * applied to whichever scenario runs (bundled or their own), so no scenario has to be
 * re-exported to speak another dialect. Bad modules fail before any worker starts,
 * with WSB_ERR_ADAPTER and what to export.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AdapterFactory, FrameCodec } from '../protocol/types.ts';
import type { ScenarioDefinition } from './types.ts';
import { importUserModule } from './loader.ts';
import { usageError } from '../errors.ts';

const CODE = 'WSB_ERR_ADAPTER';
const HINT = 'export default a codec { name, encodeJoin, encodeLeave, encodePublish, decode } or a function (options) => codec (see README, "Testing your own server")';
const REQUIRED = ['encodeJoin', 'encodeLeave', 'encodePublish', 'decode'] as const;
const OPTIONAL_FNS = ['url', 'headers', 'encodePing', 'forConnection'] as const;
const ACK_MODES = ['frame', 'echo', 'none'];

/** Every problem with a codec's shape, each a sentence naming the file (empty when fine). */
export function codecProblems(codec: unknown, file: string): string[] {
  if (codec === null || typeof codec !== 'object') return [`${file}: the codec is ${codec === null ? 'null' : typeof codec}, expected an object`];
  const c = codec as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof c.name !== 'string' || !c.name) problems.push(`${file}: the codec's "name" must be a non-empty string (it is shown in reports)`);
  for (const fn of REQUIRED) if (typeof c[fn] !== 'function') problems.push(`${file}: the codec has no "${fn}" function`);
  for (const fn of OPTIONAL_FNS) if (c[fn] !== undefined && typeof c[fn] !== 'function') problems.push(`${file}: the codec's "${fn}" must be a function`);
  if (c.publishAck !== undefined && !ACK_MODES.includes(String(c.publishAck))) problems.push(`${file}: publishAck "${String(c.publishAck)}" must be one of ${ACK_MODES.join(', ')}`);
  if (c.awaitsWelcome !== undefined && typeof c.awaitsWelcome !== 'boolean') problems.push(`${file}: awaitsWelcome must be true or false`);
  return problems;
}

/** The codec factory a module exports: its default export, or a named `adapter` or `codec`. */
function factoryOf(mod: Record<string, unknown>): AdapterFactory | undefined {
  const exported = mod.default ?? mod.adapter ?? mod.codec;
  if (typeof exported === 'function') return exported as AdapterFactory;
  if (exported !== null && typeof exported === 'object') return () => exported as FrameCodec;
  return undefined;
}

/**
 * Load the adapter module at `file` (relative to the working directory) and check the codec it
 * builds for `options`; throws a usage error (WSB_ERR_ADAPTER) listing every problem.
 */
export async function loadAdapterFile(file: string, options: Readonly<Record<string, unknown>>): Promise<AdapterFactory> {
  const path = resolve(file);
  if (!existsSync(path)) throw usageError(CODE, `adapter file not found: ${path}`, 'give the path of a .ts or .js module that exports a codec');
  const mod = await importUserModule(path, 'adapter', CODE);
  const factory = factoryOf(mod);
  if (!factory) throw usageError(CODE, `adapter ${path} exports no codec (exports: ${Object.keys(mod).join(', ') || 'none'})`, HINT);
  let codec: unknown;
  try {
    codec = factory(options);
  } catch (e) {
    throw usageError(CODE, `adapter ${path}: building the codec threw: ${(e as Error).message}`, 'fix the module and run again');
  }
  const problems = codecProblems(codec, path);
  if (problems.length) throw usageError(CODE, problems.length === 1 ? problems[0]! : `adapter ${path} is not a valid codec`, HINT, problems.length > 1 ? problems : undefined);
  return factory;
}

/**
 * The scenario as it runs with the run's options: with `--adapter` (option `adapter`), its codec
 * replaces the scenario's own and the wsbench/1 renaming flags. Problems (wrong protocol, a bad
 * module) are thrown as usage errors.
 */
export async function applyAdapterOption(def: ScenarioDefinition, options: Readonly<Record<string, unknown>>, protocol: 'ws' | 'socketio'): Promise<ScenarioDefinition> {
  const file = typeof options.adapter === 'string' ? options.adapter : '';
  if (!file) return def;
  if (protocol !== 'ws') throw usageError(CODE, `--adapter ${file}: adapters encode WebSocket frames and cannot drive --protocol ${protocol}`, 'for a Socket.IO server rename its events with --set sio-names=..., or drop --adapter');
  if (options.wsFields || options.wsTypes) throw usageError(CODE, `--adapter ${file} and --set ws-fields/ws-types both describe the server's dialect`, 'give one: the adapter module, or the renamed wsbench/1 fields and types');
  return { ...def, adapter: await loadAdapterFile(file, options) };
}
