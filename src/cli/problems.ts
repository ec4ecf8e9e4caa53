/**
 * Every problem of a command line, collected so that a command reports them all
 * at once instead of stopping at the first.
 */
import { isWsbenchError, usageError, type WsbenchError } from '../errors.ts';
import type { Parsed } from '../units/index.ts';

/** The usage errors of one command line, kept until {@link ProblemList.throwIfAny}. */
export class ProblemList {
  private readonly errors: WsbenchError[] = [];

  /** Keep a usage error. */
  add(e: WsbenchError): void {
    this.errors.push(e);
  }

  /** Read one flag's value; a bad value is kept as `WSB_ERR_FLAG` and gives undefined. */
  flag<T>(flag: string, text: string | undefined, parse: (text: string) => Parsed<T>): T | undefined {
    if (text === undefined) return undefined;
    const r = parse(text);
    if (r.ok) return r.value;
    this.add(usageError('WSB_ERR_FLAG', `${flag}: ${r.error}`));
    return undefined;
  }

  /** Run `fn`; a usage error (exit 2) it throws is kept and gives undefined, anything else propagates. */
  async attempt<T>(fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (!isWsbenchError(e) || e.exitCode !== 2) throw e;
      this.add(e);
      return undefined;
    }
  }

  /**
   * Throw what was kept: one error as it is (its code, message and hint), several as
   * one `WSB_ERR_FLAG` error listing every problem of every error.
   * @param command the command, for the hint (e.g. `run`)
   */
  throwIfAny(command: string): void {
    if (this.errors.length === 0) return;
    if (this.errors.length === 1) throw this.errors[0]!;
    // The same problem found twice (e.g. once per `--set k=a,b` variant) is listed once.
    const problems = [...new Set(this.errors.flatMap((e) => (e.problems.length ? e.problems : [e.message])))];
    if (problems.length === 1) throw this.errors[0]!;
    throw usageError('WSB_ERR_FLAG', `${problems.length} problems with the command line`, `fix them all; \`wsbench ${command} --help\` lists the flags`, problems);
  }
}
