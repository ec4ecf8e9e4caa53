import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { killPid, redisSkipReason, waitForPidGone } from '../helpers/index.ts';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/exit-without-stop.ts', import.meta.url));

async function pidsLeftBy(args: string[]): Promise<number[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as number[];
}

/** Wait for every pid to go; on failure kill the ones still there (they are our orphans) and fail. */
async function expectAllGone(pids: number[]): Promise<void> {
  const results = await Promise.allSettled(pids.map((pid) => waitForPidGone(pid, 3000)));
  const left = pids.filter((_, i) => results[i]!.status === 'rejected');
  for (const pid of left) killPid(pid);
  expect(left).toEqual([]);
}

describe('exit safety net', () => {
  it('a harness that exits without stop() leaves no node behind', async () => {
    const pids = await pidsLeftBy([]);
    expect(pids).toHaveLength(1);
    await expectAllGone(pids);
  });

  it.skipIf(redisSkipReason())('nor a redis-server', async () => {
    const pids = await pidsLeftBy(['redis']);
    expect(pids).toHaveLength(3);
    await expectAllGone(pids);
  });
});
