/**
 * Flags shared by every command that generates load (`run`, `capacity`): the shape of
 * the load, and where it goes and how clients authenticate. Options are data here so
 * the commands cannot drift apart.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';

/** Commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --clients, --rooms, --warmup, --cooldown, --ramp, --rate, --payload-bytes, --publishers, --seed. */
export function addLoadShapeOptions(cmd: Command): Command {
  return cmd
    .option('--clients <n>', 'virtual clients (default 1000; 10k style suffixes work)')
    .option('--rooms <n>', 'rooms the clients are spread over (default 10)')
    .option('--warmup <time>', 'unmeasured warm-up after the ramp (default 2s)')
    .option('--cooldown <time>', 'drain time after publishing stops (default 1.5s)')
    .option('--ramp <rate>', 'new connections per second (default 1000)')
    .option('--rate <rate>', 'publishes per second, all publishers together, open model (default 100)')
    .option('--payload-bytes <size>', 'padding bytes per published payload (default 100)')
    .option('--publishers <n>', 'publishers per room (default 1)')
    .option('--seed <n>', 'seed for every random choice (default: random, recorded in the report)');
}

/** --protocol, --adapter, --target, tokens, --spread, --node-identity, --skip-unreachable, --server, --nodes, --redis, --set, --workers, --scrape. */
export function addTargetOptions(cmd: Command): Command {
  // --adapter is the option `adapter` (as `--set adapter=FILE`), with its path made absolute here.
  const addSet = (kv: string) => cmd.setOptionValue('set', [...((cmd.getOptionValue('set') as string[] | undefined) ?? []), kv]);
  cmd.on('option:adapter', (file: string) => addSet(`adapter=${resolve(file)}`));
  // --insecure and --ca are the options `insecure` and `ca` (as `--set`), the path made absolute.
  cmd.on('option:insecure', () => addSet('insecure=true'));
  cmd.on('option:ca', (file: string) => addSet(`ca=${resolve(file)}`));
  return cmd
    .addOption(new Option('--protocol <name>', 'wire protocol').choices(['ws', 'socketio']).default('ws'))
    .option('--adapter <file>', 'a module exporting a codec for your server\'s JSON dialect, applied to any scenario (see "Testing your own server")')
    .option('--target <url>', 'an external server instead of the bundled one (repeatable: clients are spread round robin)', collect, [])
    .option('--insecure', 'wss: accept any server certificate, e.g. `wsbench serve --tls`\'s self-signed one (raw client)')
    .option('--ca <file>', 'wss: trust the CA in this PEM file instead of Node\'s CA store (raw client)')
    .option('--token <jwt>', 'one token for every client (external servers)')
    .option('--token-file <file>', 'tokens, one per line, one per client')
    .option('--secret <secret>', 'mint HS256 tokens with this secret (claims: sub user-<i>, or --token-claims)')
    .option('--token-claims <json>', 'claims of minted tokens, {client} and {worker} replaced, e.g. \'{"sub":"user-{client}","userId":"user-{client}"}\'')
    .option('--token-ttl <time>', 'lifetime of minted tokens (default 1h)')
    .option('--server <key=value>', 'an option of the bundled server, as `wsbench serve` flags (repeatable), e.g. heartbeat-ms=0', collect, [])
    .option('--spread <how>', 'how clients are spread over several --target URLs: round-robin (default) or weighted:3,1')
    .addOption(new Option('--node-identity <from>', 'how a client learns its node: server (the welcome frame names it; default) or url').choices(['server', 'url']).default('server'))
    .option('--skip-unreachable', 'with several --target URLs, go on with the reachable ones when some are down at start')
    .option('--nodes <n>', 'bundled server nodes (processes) sharing a Redis (default 1, or the scenario\'s)')
    .option('--redis <url>', 'use this Redis for a multi-node bundled server instead of starting redis-server')
    .option('--set <key=value>', 'a scenario option (repeatable), e.g. --set jitter=full', collect, [])
    .option('--workers <n>', 'generator worker processes (default: as many as the descriptor limit needs)')
    .option('--scrape <url>', 'read the target\'s Prometheus endpoint every second into the report (repeatable; default: the bundled nodes\' /metrics; off to disable)', collect, [])
    .option('--scrape-series <name>', 'another series to read from the scraped endpoints, summed over targets (repeatable)', collect, []);
}
