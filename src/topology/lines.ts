import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** The last `max` lines seen, for error messages. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  /** The kept lines joined, each indented, or `(nothing)` when there were none. */
  format(indent = '  '): string {
    return this.lines.length === 0 ? `${indent}(nothing)` : this.lines.map((l) => indent + l).join('\n');
  }
  clear(): void {
    this.lines.length = 0;
  }
}

/** Call `onLine` with each line of `stream` (without its newline). */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', onLine);
  // readline re-emits stream errors; a dying child's pipe error is not ours to crash on.
  rl.on('error', () => {});
  stream.on('error', () => {});
}

/** Quote argv for a POSIX shell, so a command in an error message can be pasted as is. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (a !== '' && /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
