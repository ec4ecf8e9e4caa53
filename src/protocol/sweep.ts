/**
 * A set of items visited on one shared interval, for per-connection deadlines: one
 * timer for all connections instead of a Timeout object each (120+ bytes, kept by
 * the socket once set). The timer runs only while the set is not empty, unref'd.
 */
export class Sweep<T> {
  private readonly items = new Set<T>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param everyMs how often every item is visited, ms (the deadlines' resolution)
   * @param visit called with each item and `performance.now()`; it may delete the item
   */
  constructor(
    private readonly everyMs: number,
    private readonly visit: (item: T, nowMs: number) => void,
  ) {}

  add(item: T): void {
    this.items.add(item);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.run(), this.everyMs);
      this.timer.unref();
    }
  }

  delete(item: T): void {
    this.items.delete(item);
    if (this.items.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private run(): void {
    const now = performance.now();
    for (const item of this.items) this.visit(item, now);
  }
}
