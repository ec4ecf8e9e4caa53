/**
 * Ctrl-C during a run: the first one asks for a clean stop (the run finishes its
 * current phase quickly and still writes a partial report), the second exits at once.
 */
import pc from 'picocolors';
import { EXIT } from '../errors.ts';

/** A Ctrl-C watch of one command. */
export interface InterruptWatch {
  /** Resolves on the first Ctrl-C. */
  interrupted: Promise<void>;
  /** Stop listening for Ctrl-C. */
  dispose(): void;
}

/** `what` says what a clean stop does, e.g. "writing a partial report". */
export function watchInterrupt(what: string, err: NodeJS.WritableStream = process.stderr): InterruptWatch {
  let resolve!: () => void;
  const interrupted = new Promise<void>((r) => (resolve = r));
  let count = 0;
  const onSigint = () => {
    count++;
    if (count > 1) process.exit(EXIT.interrupted);
    err.write(`\n${pc.yellow('interrupted')}: stopping cleanly and ${what} (Ctrl-C again to abort at once)\n`);
    resolve();
  };
  process.on('SIGINT', onSigint);
  return { interrupted, dispose: () => process.removeListener('SIGINT', onSigint) };
}
