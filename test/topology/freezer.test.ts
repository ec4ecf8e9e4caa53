import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isWsbenchError } from '../../src/errors.ts';
import { freezerFrom, withoutFreezeKeys } from '../../src/topology/freezer.ts';
import { killPid, waitUntil } from '../helpers/index.ts';

/** The scheduler state letter of a process (R, S, T = stopped, ...), from /proc. */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) killPid(pid);
});

function sleeper(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  started.push(child.pid!);
  return child.pid!;
}

describe('freezerFrom', () => {
  it('gives none without settings', () => {
    expect(freezerFrom({})).toBeUndefined();
    expect(freezerFrom({ 'freeze-pid': '0' })).toBeUndefined();
  });

  it('freezes and resumes a process by pid', async () => {
    const pid = sleeper();
    const f = freezerFrom({ 'freeze-pid': String(pid) })!;
    expect(f.what).toBe(`pid ${pid}`);
    await f.pause();
    await waitUntil(() => stateOf(pid) === 'T', 2000, 'stopped');
    await f.resume();
    await waitUntil(() => stateOf(pid) !== 'T', 2000, 'running again');
  });

  it('freezes and resumes through the user\'s commands', async () => {
    const pid = sleeper();
    const f = freezerFrom({ 'pause-command': `kill -STOP ${pid}`, 'resume-command': `kill -CONT ${pid}` })!;
    await f.pause();
    await waitUntil(() => stateOf(pid) === 'T', 2000, 'stopped');
    await f.resume();
    await waitUntil(() => stateOf(pid) !== 'T', 2000, 'running again');
  });

  it('a failing command is a harness error with its stderr', async () => {
    const f = freezerFrom({ 'pause-command': 'echo nope >&2; exit 3', 'resume-command': 'true' })!;
    const e = await f.pause().then(() => undefined, (err: unknown) => err);
    expect(isWsbenchError(e) && e.code).toBe('WSB_ERR_FREEZE_FAILED');
    expect((e as Error).message).toMatch(/exit 3\): nope/);
  });

  it('refuses half a command pair, both ways at once, and a pid that is no pid', () => {
    for (const bad of [{ 'pause-command': 'x' }, { 'resume-command': 'x' }, { 'freeze-pid': '12', 'pause-command': 'x', 'resume-command': 'y' }, { 'freeze-pid': 'abc' }]) {
      let code: string | undefined;
      try {
        freezerFrom(bad);
      } catch (e) {
        code = isWsbenchError(e) ? e.code : undefined;
      }
      expect(code, JSON.stringify(bad)).toBe('WSB_ERR_FREEZE');
    }
  });

  it('never hands the freezer keys to a bundled node', () => {
    expect(withoutFreezeKeys({ 'freeze-pid': '1', 'pause-command': 'a', 'resume-command': 'b', 'heartbeat-ms': '500' })).toEqual({ 'heartbeat-ms': '500' });
  });
});
