/**
 * Which Socket.IO client a run gets: the lean one by default, socket.io-client with
 * `--set client=socket.io-client` or long-polling, and a clear exit 2 for a client
 * that does not go with the protocol.
 */
import { describe, expect, it } from 'vitest';
import { createTransport } from '../../src/protocol/index.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import type { ScenarioDefinition } from '../../src/scenario/types.ts';
import { runCli } from '../support/cli.ts';

const scenario: ScenarioDefinition = { name: 'selection', description: 'test', publish: false };
const transportFor = (protocol: 'ws' | 'socketio', sets: string[]) => createTransport(protocol, scenario, resolveOptions(scenario, {}, sets).options);

describe('the Socket.IO client of a run', () => {
  it('is the lean client by default, socket.io-client on request or for long-polling', async () => {
    expect((await transportFor('socketio', [])).name).toBe('socket.io');
    expect((await transportFor('socketio', ['client=socket.io-client'])).name).toBe('socket.io-client');
    expect((await transportFor('socketio', ['transports=polling,websocket'])).name).toBe('socket.io-client');
    expect((await transportFor('ws', [])).name).toBe('wsbench/1');
  });

  it('a client of the other protocol is refused: WSB_ERR_CONFIG in the API, exit 2 from the CLI', async () => {
    await expect(transportFor('socketio', ['client=ws'])).rejects.toMatchObject({ code: 'WSB_ERR_CONFIG' });
    await expect(transportFor('ws', ['client=socket.io-client'])).rejects.toMatchObject({ code: 'WSB_ERR_CONFIG' });
    const r = await runCli(['run', 'broadcast', '--protocol', 'socketio', '--set', 'client=ws', '--clients', '2'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/client=ws is a client of --protocol ws/);
  });
});
