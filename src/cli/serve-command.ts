/** `wsbench serve`: the bundled reference server in the foreground. Its flags are data from servers/core/options.ts. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { SERVER_OPTION_SPECS, parseServerOptions, startServer } from '../../servers/main.ts';
import { isErrorCode, usageError } from '../errors.ts';
import { processIO, type CliIO } from './io.ts';
import { makeSelfSigned } from '../../servers/core/tls.ts';

/**
 * The node id `wsbench serve` reports when `--node-id` is not given: host and pid, so
 * that several serve processes on one Redis (or behind one balancer) never share an id.
 * Characters the server refuses in an id become `-`; the host part is cut to fit 64.
 */
export function defaultNodeId(host = hostname(), pid = process.pid): string {
  const suffix = `-${pid}`;
  const clean = host.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64 - suffix.length) || 'node';
  return `${clean}${suffix}`;
}

/** Flags the harness sets itself (hidden from `serve --help`). */
const INTERNAL = new Set(['die-with-parent']);

/** Add every `wsbench serve` flag (from the server's option table) to `cmd`. */
export function addServerOptions(cmd: Command): Command {
  for (const spec of SERVER_OPTION_SPECS) {
    if (INTERNAL.has(spec.key)) continue;
    if (spec.type === 'bool') cmd.option(`--${spec.key}`, spec.description);
    else cmd.option(`--${spec.key} <${spec.type === 'int' ? 'n' : 'value'}>`, spec.key === 'node-id' ? 'node id reported in the welcome frame and /stats (default HOST-PID, unique per process)' : spec.description);
  }
  return cmd;
}

/** `wsbench serve`: start the bundled server in the foreground and print its URL and a development token to `cli.stdout`. */
export async function serveCommand(opts: Record<string, string | boolean | undefined>, cli: CliIO = processIO()): Promise<void> {
  const raw: Record<string, string> = {};
  for (const spec of SERVER_OPTION_SPECS) {
    const key = spec.key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = opts[key];
    if (v !== undefined) raw[spec.key] = String(v);
  }
  raw['node-id'] ??= defaultNodeId();
  const { options, errors } = parseServerOptions(raw);
  if (errors.length) throw usageError('WSB_ERR_SERVER_OPTIONS', errors.length === 1 ? errors[0]! : 'bad server options', 'see `wsbench serve --help`', errors.length > 1 ? errors : undefined);
  let started;
  let selfSigned = false;
  try {
    // One self-signed certificate for every worker process, in files the workers read.
    selfSigned = options.tls && !options.cert && !options.key;
    if (selfSigned) ({ certFile: options.cert, keyFile: options.key } = makeSelfSigned());
    started = await startServer(options);
  } catch (e) {
    const err = e as Error & { problems?: string[]; code?: string };
    if (err.problems) throw usageError(isErrorCode(err.code) ? err.code : 'WSB_ERR_SERVER_OPTIONS', err.problems.join('; '));
    throw e;
  }
  cli.stdout.write(`${started.url}\n`);
  cli.stdout.write(`token: ${started.token ?? '(auth off)'}\n`);
  if (started.workerUrls) cli.stdout.write(`workers: ${started.workerUrls.join(' ')}\n`);
  if (options.tls) cli.stderr.write(`TLS certificate: ${options.cert}${selfSigned ? ' (self-signed: clients accept it with --insecure, or trust it with --ca FILE)' : ''}\n`);
  // startServer installed the signal handlers: SIGTERM/SIGINT drain and exit 0.
}
