/**
 * Freezing an external target, for the frozen-server phase of `heartbeat`: the
 * bundled server is paused with SIGSTOP by wsbench itself; a server of the user's
 * is paused only the way the user says, by its pid (SIGSTOP/SIGCONT, same
 * machine) or by a pause and a resume command (`docker pause NAME`, `kill -STOP -PGID`).
 * The settings travel with the scenario's server options under these keys.
 */
import { spawn } from 'node:child_process';
import { harnessError, usageError } from '../errors.ts';
import { trackChild } from './children.ts';

/** Server-option keys that configure the freezer; never passed to a bundled node. */
export const FREEZE_KEYS = ['freeze-pid', 'pause-command', 'resume-command'] as const;

/** How long a pause or resume command may run, in milliseconds. */
export const FREEZE_COMMAND_TIMEOUT_MS = 10_000;

/** Pauses and resumes an external target for `pause-node` (by pid with SIGSTOP/SIGCONT, or by the user's commands). */
export interface Freezer {
  /** In words, for notes and errors: "pid 4242" or "pause-command `docker pause app`". */
  what: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * The freezer the settings describe, or undefined when they give none.
 *
 * @throws usage error `WSB_ERR_FREEZE` for a pid that is not a positive integer, or a
 *   pause command without a resume command (or the reverse)
 */
export function freezerFrom(settings: Record<string, string | undefined>): Freezer | undefined {
  const pidText = settings['freeze-pid'];
  const pauseCmd = settings['pause-command'] || undefined;
  const resumeCmd = settings['resume-command'] || undefined;
  if (pidText !== undefined && pidText !== '' && pidText !== '0') {
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) throw usageError('WSB_ERR_FREEZE', `freeze-pid "${pidText}" is not a process id`, 'pass the pid of the server process, e.g. --set freeze-pid=$(pgrep -f my-server)');
    if (pauseCmd || resumeCmd) throw usageError('WSB_ERR_FREEZE', 'freeze-pid and pause/resume commands were both given', 'give one way to freeze the server');
    return { what: `pid ${pid}`, pause: () => signalPid(pid, 'SIGSTOP'), resume: () => signalPid(pid, 'SIGCONT') };
  }
  if (!pauseCmd && !resumeCmd) return undefined;
  if (!pauseCmd || !resumeCmd) throw usageError('WSB_ERR_FREEZE', `${pauseCmd ? 'pause-command' : 'resume-command'} was given without ${pauseCmd ? 'resume-command' : 'pause-command'}`, 'give both, e.g. --set pause-command="docker pause app" --set resume-command="docker unpause app"');
  return { what: `pause-command \`${pauseCmd}\``, pause: () => runCommand(pauseCmd), resume: () => runCommand(resumeCmd) };
}

/** Whether the settings give a usable freezer (never throws: freezerFrom() says what is wrong). */
export function canFreeze(settings: Record<string, string | undefined>): boolean {
  try {
    return freezerFrom(settings) !== undefined;
  } catch {
    return false;
  }
}

/** Settings without the freezer's keys (what a bundled node may be given). */
export function withoutFreezeKeys(server: Record<string, string>): Record<string, string> {
  const out = { ...server };
  for (const k of FREEZE_KEYS) delete out[k];
  return out;
}

async function signalPid(pid: number, sig: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  try {
    process.kill(pid, sig);
  } catch (e) {
    throw harnessError('WSB_ERR_FREEZE_FAILED', `cannot send ${sig} to pid ${pid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'is the server running on this machine, as this user?');
  }
}

/** Run `command` in a shell; resolves when it exits 0, throws with its stderr otherwise. */
function runCommand(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), FREEZE_COMMAND_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(harnessError('WSB_ERR_FREEZE_FAILED', `\`${command}\` could not run: ${e.message}`));
    });
    // 'close', not 'exit': only then has all of stderr been read (a failure message could lose its text).
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(harnessError('WSB_ERR_FREEZE_FAILED', `\`${command}\` failed (${sig ?? `exit ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`, 'check the command by hand'));
    });
  });
}
