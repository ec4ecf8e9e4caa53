/**
 * A circular byte log: the in-memory retention's storage (servers/core/room-log.ts).
 * Retained frames live as bytes in one Buffer, off the V8 heap: a retention that
 * evicts as fast as it is filled then makes no old-generation garbage (a string
 * per message would be promoted, then die, and the heap would grow to several
 * times the budget before a full collection). The ring starts small and doubles
 * up to `capacity`; once full, a write overwrites the oldest records.
 */

/** One record's place in the ring. */
export interface RingRecord {
  off: number;
  len: number;
}

/**
 * The circular byte log of the module comment: records written in order into one Buffer of `capacity` bytes, the oldest overwritten first (`onOverwrite` tells the owner).
 */
export class ByteRing<R extends RingRecord> {
  private buf: Buffer = Buffer.alloc(0);
  /** Records in write order; the front is the oldest still in the ring. */
  private fifo: R[] = [];
  private head = 0;
  private tail = 0;

  /** @param capacity largest size in bytes; @param onOverwrite called for each record a write overwrites. */
  constructor(readonly capacity: number, private readonly onOverwrite: (r: R) => void) {}

  /** Bytes allocated now (0 before the first write, then capacity). */
  get allocated(): number {
    return this.buf.length;
  }

  /** Store `text` (at most `capacity` bytes as UTF-8) and return its record, made by `make`. */
  write(text: string, len: number, make: (off: number) => R): R {
    if (this.buf.length === 0) this.buf = Buffer.allocUnsafe(this.capacity);
    const off = this.reserve(len);
    this.buf.write(text, off, len, 'utf8');
    const rec = make(off);
    this.fifo.push(rec);
    this.tail = off + len;
    return rec;
  }

  read(r: RingRecord): string {
    return this.buf.toString('utf8', r.off, r.off + r.len);
  }

  private front(): R | undefined {
    return this.head < this.fifo.length ? this.fifo[this.head] : undefined;
  }

  private popFront(): void {
    const r = this.fifo[this.head]!;
    this.fifo[this.head++] = undefined as unknown as R;
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
    this.onOverwrite(r);
  }

  /** The offset where `len` bytes go, overwriting the oldest records as needed. */
  private reserve(len: number): number {
    for (;;) {
      const f = this.front();
      if (!f) {
        if (this.tail + len > this.buf.length) this.tail = 0;
        return this.tail;
      }
      if (f.off >= this.tail) {
        // Wrapped: free space runs from the write point to the oldest record.
        if (f.off - this.tail >= len) return this.tail;
        this.popFront();
        continue;
      }
      // Records lie in [front, tail): free space runs to the end, then from 0 to the front.
      if (this.buf.length - this.tail >= len) return this.tail;
      this.tail = 0;
    }
  }
}
