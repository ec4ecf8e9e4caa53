import { defineScenario } from '../src/index.ts';
import { usageError } from '../src/errors.ts';
import { checkStatus } from '../src/checks/outcome.ts';
import { runConformance } from '../src/protocol/rfc6455-cases.ts';

/** The bundled server's default largest inbound frame (servers/core/options.ts `max-payload`). */
const BUNDLED_MAX_PAYLOAD = 65536;

/**
 * RFC 6455 conformance of any ws:// or wss:// server, on raw sockets and without
 * needing an echo: the handshake (Sec-WebSocket-Accept, version negotiation, bad
 * upgrade requests), ping/pong, the close handshake and close codes, and the
 * server's reaction to protocol violations (1002, 1007, 1009). When the server
 * echoes, message sizes and fragmentation are checked too; otherwise those checks
 * are unverified. One check per case (`rfc6455.*`); no load is generated.
 *
 *   wsbench run protocol --target ws://127.0.0.1:8080/
 */
export default defineScenario({
  name: 'protocol',
  description: 'RFC 6455 conformance: handshake, ping/pong, close codes, violations -> 1002/1007/1009, echo cases when the server echoes',
  defaults: { clients: 1, warmup: 0, duration: 1, cooldown: 0 },
  options: {
    caseTimeout: { type: 'duration', default: 2000, description: 'bound of each case (handshake, answer, close)', min: 100 },
    echoWait: { type: 'duration', default: 1000, description: 'how long to wait for an echo before deciding the server does not echo', min: 50 },
    maxMessage: { type: 'bytes', default: 0, description: 'the server’s largest message (0 = unknown; the bundled server’s max-payload by default), for the 1009 case', min: 0 },
    oversizeProbe: { type: 'bytes', default: 4 * 1024 * 1024, description: 'with an unknown limit: the message size sent to find one', min: 1024, max: 256 * 1024 * 1024 },
    insecure: { type: 'bool', default: false, description: 'wss:// without certificate verification (a self-signed test server)' },
  },
  // No client of the bundled server carries a token here: the probes speak raw RFC 6455.
  server: { auth: 'off' },
  async probe(ctx) {
    if (ctx.target.protocol !== 'ws') throw usageError('WSB_ERR_CONFIG', 'the protocol scenario checks plain WebSocket servers (--protocol ws)', 'drop --protocol socketio, or point --target at a ws:// endpoint');
    const o = ctx.options;
    const stated = Number(o.maxMessage);
    const bundledLimit = Number(ctx.server['max-payload'] ?? BUNDLED_MAX_PAYLOAD);
    const withToken = (u: string) => (ctx.token ? `${u}${u.includes('?') ? '&' : '?'}token=${encodeURIComponent(ctx.token)}` : u);
    const checks = [];
    for (const u of ctx.urls.map(withToken)) {
      ctx.info(`RFC 6455 conformance of ${u}`);
      const found = await runConformance({
        url: u,
        insecure: Boolean(o.insecure),
        caseTimeoutMs: Number(o.caseTimeout),
        echoWaitMs: Number(o.echoWait),
        maxMessageBytes: stated > 0 ? stated : ctx.target.kind === 'bundled' ? bundledLimit : 0,
        oversizeProbeBytes: Number(o.oversizeProbe),
        onCase: (c) => ctx.info(`  ${checkStatus(c).padEnd(10)} ${c.name}`),
      });
      // With several targets, each check names its URL.
      checks.push(...(ctx.urls.length > 1 ? found.map((c) => ({ ...c, name: `${c.name}@${u}` })) : found));
    }
    return checks;
  },
});
