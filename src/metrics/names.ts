/**
 * The names of what the engine measures, with their units: latency metrics
 * (`report.metrics.<name>`, HDR histograms in microseconds) and counters
 * (`report.counters.<name>`, plain counts). Code writes and reads these through
 * the constants so a rename is one edit; gates, the report's docs (README
 * "The report") and the renderers use the same names.
 */

/** Latency metrics the engine records; every value is in microseconds. */
export const METRIC = {
  /** TCP connect plus WebSocket upgrade (or Socket.IO handshake) of one client. */
  connect: 'connect',
  /** Raw client: start of a connection to TCP connected. */
  connectTcp: 'connect.tcp',
  /** Raw client, `wss:`: TCP connected to TLS handshake done. */
  connectTls: 'connect.tls',
  /** Raw client: TLS done (or TCP connected) to the 101 response. */
  connectUpgrade: 'connect.upgrade',
  /** `join` sent to `joined` received. */
  join: 'join',
  /** `publish` sent to its ack (only publishes that asked for one). */
  ack: 'ack',
  /** Scheduled publish time to each delivery, one-way (all nodes). */
  fanout: 'fanout',
  /** `fanout` of deliveries published on the receiver's own node. */
  fanoutLocal: 'fanout.local',
  /** `fanout` of deliveries published on another node (through the bus). */
  fanoutRemote: 'fanout.remote',
  /** Application ping to pong. */
  rtt: 'rtt',
  /** Unexpected drop to rejoined. */
  reconnect: 'reconnect',
  /** A zombie's last pong to the server's close of it. */
  eviction: 'eviction',
  /** Silence before a client gave up on a frozen server (client-side liveness timeout). */
  detect: 'detect',
  /** An open-model publish's actual send minus its scheduled send: what the generator adds. */
  sendLag: 'send.lag',
  /** `fanout` at arrival in the socket, before a network profile's receive delay (only with `--set net`). */
  fanoutArrival: 'fanout.arrival',
  /** `fanout` of healthy clients in rooms without slow consumers (only with `--set slow` and control rooms). */
  fanoutControl: 'fanout.control',
  /** `fanout` of healthy clients in rooms with slow consumers (only with `--set slow`). */
  fanoutSlowRooms: 'fanout.slow-rooms',
  /** `chat`: a `typing` emitted to each `user-typing` received (receivers in the sender's generator process). */
  chatTyping: 'chat.typing',
  /** `chat`: a private message sent to its live delivery (recipient online). */
  chatPrivate: 'chat.private',
  /** `chat`: a returning user's reconnect start to each private message delivered from the offline queue. */
  chatOffline: 'chat.offline',
  /** `chat`: a user leaving or starting to return to each `user-left`/`user-joined` received (receivers in its generator process). */
  chatPresence: 'chat.presence',
} as const;

/** A latency metric name, e.g. `fanout.local`. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * Every latency metric the engine can record (the keys `report.metrics` may have);
 * scenarios and protocol adapters cannot add others. Which of them one run has depends
 * on the run: `reconnect` needs drops, `eviction` zombies, `detect` a silent server,
 * `fanout.local`/`fanout.remote` several nodes, `rtt` a dialect with a ping, `send.lag`
 * an open-model publish rate. In the documented order, which tables and pages follow.
 */
export const ENGINE_METRICS: readonly string[] = Object.values(METRIC);

/** Counters the engine keeps; every value is a count (of events, messages or seqs). */
export const COUNTER = {
  /** Publishes sent. */
  messagesSent: 'messages.sent',
  /** Deliveries received (room messages, replays included). */
  messagesReceived: 'messages.received',
  /** Sends the generator could not make on time (more than 1 s late), never fired in a burst. */
  messagesDropped: 'messages.dropped',
  /** Deliveries marked as replays of the retention (resumes). */
  messagesReplayed: 'messages.replayed',
  /** Room messages without the harness's tag (not ours, or a dialect that drops it). */
  messagesUntagged: 'messages.untagged',
  /** Connections opened (handshake done). */
  connectionsOpened: 'connections.opened',
  /** Connection attempts that failed. */
  connectionsFailed: 'connections.failed',
  /** Raw client, `wss:`: TLS handshakes that resumed a session. */
  tlsResumed: 'tls.resumed',
  /** Raw client, `wss:`: full TLS handshakes (no session resumed). */
  tlsFull: 'tls.full',
  /** Raw client: connections that agreed permessage-deflate (parameters: `compression.<param>` counters). */
  compressionNegotiated: 'compression.negotiated',
  /** Raw client: connections whose offer of permessage-deflate the server declined. */
  compressionDeclined: 'compression.declined',
  /** Clients that rejoined after an unexpected drop. */
  reconnects: 'reconnects',
  /** Reconnect attempts, failed ones included. */
  reconnectAttempts: 'reconnect.attempts',
  /** Zombies the server evicted. */
  evictions: 'evictions',
  /** Clients made zombies (stopped answering heartbeats). */
  zombies: 'zombies',
  /** Zombies the server never evicted. */
  zombiesNotEvicted: 'zombies.not_evicted',
  /** Healthy (non-zombie) clients the server dropped. */
  healthyDropped: 'healthy.dropped',
  /** Connections a scenario dropped on purpose. */
  clientDrops: 'client.drops',
  /** Seqs the server said it no longer holds (gap frames). */
  ledgerGaps: 'ledger.gaps',
  /** Deliveries seen twice (the ledger's `duplicated`, counted as they happen). */
  ledgerDuplicated: 'ledger.duplicated',
  /** Deliveries seen out of order (the ledger's `reordered`, counted as they happen). */
  ledgerReordered: 'ledger.reordered',
  /** Clients' client-side liveness timeouts that fired. */
  errorsHeartbeatTimeout: 'errors.heartbeat_timeout',
  /** Frames a client did not expect (an answer to no request). */
  errorsUnexpectedMessage: 'errors.unexpected_message',
  /** Uncaught exceptions in a worker. */
  errorsUncaught: 'errors.uncaught',
  /** Exceptions thrown by a scenario's client loop. */
  errorsScenarioLoop: 'errors.scenario_loop',
  /** Tagged messages without a room that reached a client in several rooms (or none): not fileable. */
  errorsMessageWithoutRoom: 'errors.message_without_room',
} as const;

/** A counter name of {@link COUNTER}. */
export type CounterName = (typeof COUNTER)[keyof typeof COUNTER];

/**
 * Counter families: `errors.<code>` (transport and server errors by code),
 * `close.<code>` (closes by the server, by code) and `events.<name>` (other frames
 * the server pushed, by name).
 */
export const COUNTER_FAMILY = { errors: 'errors', close: 'close', events: 'events' } as const;

/** The prefix of the `errors.<code>` counters. */
export const ERROR_COUNTER_PREFIX = `${COUNTER_FAMILY.errors}.`;

/** The prefix of the `close.<code>` counters. */
export const CLOSE_COUNTER_PREFIX = `${COUNTER_FAMILY.close}.`;

/** Whether `name` counts errors: `errors` itself or one of `errors.<code>`. */
export function isErrorCounter(name: string): boolean {
  return name === COUNTER_FAMILY.errors || name.startsWith(ERROR_COUNTER_PREFIX);
}

/** Sum of every error counter ({@link isErrorCounter}) of `counters`. */
export function sumErrorCounters(counters: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const [name, v] of Object.entries(counters)) if (isErrorCounter(name)) n += v;
  return n;
}

/** The counter of one error code, e.g. `errors.ECONNRESET`. */
export function errorCounter(code: string): string {
  return `${COUNTER_FAMILY.errors}.${code}`;
}

/** The counter of one close code or reason, e.g. `close.1006`. */
export function closeCounter(code: number | string): string {
  return `${COUNTER_FAMILY.close}.${code}`;
}

/** The counter of one kind of other pushed frame, e.g. `events.presence`. */
export function eventCounter(name: string): string {
  return `${COUNTER_FAMILY.events}.${name}`;
}

/** The prefix of the `reconnect.not_back.<reason>` counters: dropped clients not back when the run ended, by what they were doing. */
export const NOT_BACK_COUNTER_PREFIX = 'reconnect.not_back.';

/** The counter of one reason a dropped client was not back at the end, e.g. `reconnect.not_back.connecting`. */
export function notBackCounter(reason: string): string {
  return `${NOT_BACK_COUNTER_PREFIX}${reason}`;
}

/** Per-client observation (ms): a dropped client's drop to its rejoin, every reconnect of the run (warm-up and cool-down included). */
export const RECOVERY_OBSERVATION = 'reconnect.recovery_ms';

/** Counters a gate or SLO may name although no run had to produce them (they read 0 when absent). */
export function isKnownCounterName(name: string): boolean {
  const [family] = name.split('.');
  return family === COUNTER_FAMILY.errors || family === COUNTER_FAMILY.close || name.startsWith('connections.') || name.startsWith('messages.');
}
