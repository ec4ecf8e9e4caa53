/** Runs the CLI in this process with captured streams (no child process): for fast tests of flags and outputs. */
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/index.ts';
import type { CliIO, OutStream } from '../../src/cli/io.ts';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { stream: OutStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream: stream as unknown as OutStream, text: () => text };
}

/** `wsbench ...args` in-process; colour is off because the captured streams are not TTYs. */
export async function runCliInProcess(args: string[]): Promise<InProcessResult> {
  const out = capture();
  const err = capture();
  const io: CliIO = { stdout: out.stream, stderr: err.stream, setExitCode: () => {} };
  const code = await runCli(['node', 'wsbench', ...args], io);
  return { code, stdout: out.text(), stderr: err.text() };
}
