/** Picks the transport of a run: wsbench/1 or a scenario's custom codec over `ws`, or Socket.IO. */
import type { Transport } from './types.ts';
import type { ScenarioDefinition } from '../scenario/types.ts';
import { createWsTransport } from './ws-transport.ts';
import { nativeCodec } from './native.ts';
import { usageError } from '../errors.ts';

export async function createTransport(protocol: 'ws' | 'socketio', scenario: ScenarioDefinition, options: Readonly<Record<string, unknown>>): Promise<Transport> {
  if (protocol === 'socketio') {
    throw usageError('WSB_ERR_PROTOCOL', 'the socketio protocol is not available yet', 'use --protocol ws for now');
  }
  return createWsTransport(scenario.adapter ? scenario.adapter(options) : nativeCodec);
}

export type { Transport, FrameCodec, DecodedFrame, AdapterFactory } from './types.ts';
