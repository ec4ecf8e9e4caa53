/**
 * Picks the transport of a run: wsbench/1 or a scenario's custom codec over the raw
 * client (default) or the `ws` client (`--set client=ws`); Socket.IO over the lean
 * client (default) or socket.io-client (`--set client=socket.io-client`, and for
 * long-polling; `https:` targets go over the raw client's TLS).
 */
import type { Transport } from './types.ts';
import type { ScenarioDefinition } from '../scenario/types.ts';
import { createWsTransport } from './ws-transport.ts';
import { createRawTransport, type WireOptions } from './raw-transport.ts';
import { SessionCache, tlsClientOptionsOf } from './tls-client.ts';
import { deflateOfferOf } from './deflate.ts';
import { nativeCodec } from './native.ts';
import { createMappedCodec } from './mapped.ts';
import { parseSocketIoNames, type SocketIoNames } from './socketio-names.ts';
import { createLeanSocketIoTransport } from './socketio-lean.ts';
import { usageError } from '../errors.ts';

/**
 * The transport of a run for `protocol` and the run's options (`client`, `binary`, `compression`, `transports`, `sio-names`, `ws-fields`, `ws-types`, `ws-token`, TLS); a usage error (WSB_ERR_CONFIG, WSB_ERR_SOCKETIO_NAMES) when they do not go together.
 */
export async function createTransport(protocol: 'ws' | 'socketio', scenario: ScenarioDefinition, options: Readonly<Record<string, unknown>>): Promise<Transport> {
  if (protocol === 'socketio') {
    const { names, problems } = parseSocketIoNames(options.sioNames as string | undefined);
    if (problems.length) throw usageError('WSB_ERR_SOCKETIO_NAMES', problems.join('; '));
    const transports = String(options.transports ?? 'websocket')
      .split(',')
      .map((t) => t.trim()) as Array<'websocket' | 'polling'>;
    const wrongClient = clientProblem(protocol, options.client, options.binary, options.compression);
    if (wrongClient) throw usageError('WSB_ERR_CONFIG', wrongClient);
    if (options.binary === 'on' && transports.includes('polling')) throw usageError('WSB_ERR_CONFIG', '--set binary=on with --protocol socketio is the lean client\'s, which speaks the websocket transport only: drop polling from --set transports');
    // The lean client speaks the websocket transport only; long-polling is socket.io-client's.
    if (options.client === 'socket.io-client' || transports.includes('polling')) return libraryClient(names, transports);
    return createLeanSocketIoTransport({ names, tls: () => libraryClient(names, transports), wire: wireOf(options) });
  }
  const wrongClient = clientProblem(protocol, options.client, options.binary, options.compression);
  if (wrongClient) throw usageError('WSB_ERR_CONFIG', wrongClient);
  const renamed = Boolean(options.wsFields || options.wsTypes || options.wsToken === 'header');
  const codec = scenario.adapter
    ? scenario.adapter(options)
    : renamed
      ? createMappedCodec(options.wsFields as string, options.wsTypes as string, options.wsToken as string)
      : nativeCodec;
  if (options.binary === 'on' && (options.client === 'ws' || codec.name !== 'wsbench/1')) {
    throw usageError('WSB_ERR_CONFIG', `--set binary=on is wsbench/1 on the raw client only (not ${options.client === 'ws' ? 'client=ws' : `the codec ${codec.name}`})`);
  }
  if (options.client === 'ws') return createWsTransport(codec);
  return createRawTransport(codec, wireOf(options));
}

/** The raw client's TLS checks, a fresh TLS session cache and the compression offer, from a run's options. */
function wireOf(options: Readonly<Record<string, unknown>>): WireOptions {
  return { tls: tlsClientOptionsOf(options), sessions: new SessionCache(), deflate: deflateOfferOf(options), binary: options.binary === 'on' };
}

/** Why `--set client=<client>` (or `binary=on`, `compression`) does not go with `--protocol <protocol>`, or undefined when it does. */
export function clientProblem(protocol: 'ws' | 'socketio', client: unknown, binary?: unknown, compression?: unknown): string | undefined {
  if (compression !== undefined && compression !== 'off' && (client === 'ws' || client === 'socket.io-client')) return `--set compression=${String(compression)} is the raw client's (client=raw); client=${String(client)} does not offer permessage-deflate`;
  if (binary === 'on' && protocol === 'socketio' && client === 'socket.io-client') return '--set binary=on with --protocol socketio is the lean client\'s (client=raw, default), not client=socket.io-client';
  if (binary === 'on' && client === 'ws') return '--set binary=on is wsbench/1 on the raw client only (not client=ws)';
  if (protocol === 'socketio' && client === 'ws') return '--set client=ws is a client of --protocol ws; --protocol socketio takes client=raw (lean, default) or client=socket.io-client';
  if (protocol === 'ws' && client === 'socket.io-client') return '--set client=socket.io-client is a client of --protocol socketio; --protocol ws takes client=raw (default) or client=ws';
  return undefined;
}

/** socket.io-client, loaded only by runs that use it (it costs memory in every worker). */
async function libraryClient(names: SocketIoNames, transports: Array<'websocket' | 'polling'>): Promise<Transport> {
  const { createSocketIoTransport } = await import('./socketio-transport.ts');
  return createSocketIoTransport({ names, transports });
}

export type { Transport, FrameCodec, DecodedFrame, AdapterFactory } from './types.ts';
