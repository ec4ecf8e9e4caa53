export { freePort } from './ports.ts';
export { withTimeout, waitUntil } from './timeout.ts';
export { childPids, pidAlive, waitForPidGone, killPid } from './processes.ts';
export { redisSkipReason, startRedisForTest } from './redis.ts';
export { openClient, type TestClient } from './ws.ts';
export { FAKE_NODE, REAL_NODE, realServerExists } from './servers.ts';
