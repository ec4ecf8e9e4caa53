/**
 * Picks the transport of a run: wsbench/1 or a scenario's custom codec over the raw
 * client (default) or the `ws` client (`--set client=ws`), or Socket.IO.
 */
import type { Transport } from './types.ts';
import type { ScenarioDefinition } from '../scenario/types.ts';
import { createWsTransport } from './ws-transport.ts';
import { createRawTransport } from './raw-transport.ts';
import { nativeCodec } from './native.ts';
import { createMappedCodec } from './mapped.ts';
import { createSocketIoTransport, parseSocketIoNames } from './socketio-transport.ts';
import { usageError } from '../errors.ts';

export async function createTransport(protocol: 'ws' | 'socketio', scenario: ScenarioDefinition, options: Readonly<Record<string, unknown>>): Promise<Transport> {
  if (protocol === 'socketio') {
    const { names, problems } = parseSocketIoNames(options.sioNames as string | undefined);
    if (problems.length) throw usageError('WSB_ERR_SOCKETIO_NAMES', problems.join('; '));
    const transports = String(options.transports ?? 'websocket')
      .split(',')
      .map((t) => t.trim()) as Array<'websocket' | 'polling'>;
    return createSocketIoTransport({ names, transports });
  }
  const renamed = Boolean(options.wsFields || options.wsTypes || options.wsToken === 'header');
  const codec = scenario.adapter
    ? scenario.adapter(options)
    : renamed
      ? createMappedCodec(options.wsFields as string, options.wsTypes as string, options.wsToken as string)
      : nativeCodec;
  return options.client === 'ws' ? createWsTransport(codec) : createRawTransport(codec);
}

export type { Transport, FrameCodec, DecodedFrame, AdapterFactory } from './types.ts';
