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

const INITIAL_BYTES = 256 * 1024;

export class ByteRing<R extends RingRecord> {
  private buf: Buffer;
  /** Records in write order; the front is the oldest still in the ring. */
  private fifo: R[] = [];
  private head = 0;
  private tail = 0;

  /** @param capacity largest size in bytes; @param onOverwrite called for each record a write overwrites. */
  constructor(readonly capacity: number, private readonly onOverwrite: (r: R) => void) {
    this.buf = Buffer.allocUnsafe(Math.min(capacity, INITIAL_BYTES));
  }

  /** Bytes allocated now (grows by doubling up to capacity). */
  get allocated(): number {
    return this.buf.length;
  }

  /** Store `text` (at most `capacity` bytes as UTF-8) and return its record, made by `make`. */
  write(text: string, len: number, make: (off: number) => R): R {
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

  /** The offset where `len` bytes go, overwriting (or growing) as needed. */
  private reserve(len: number): number {
    for (;;) {
      const f = this.front();
      if (!f) {
        if (this.tail + len > this.buf.length) this.tail = 0;
        if (len > this.buf.length) this.grow(len);
        return this.tail;
      }
      if (f.off >= this.tail) {
        // Wrapped (only ever at full capacity): free space runs from the write point to the oldest record.
        if (f.off - this.tail >= len) return this.tail;
        this.popFront();
        continue;
      }
      // Records lie in [front, tail): free space runs to the end, then from 0 to the front.
      if (this.buf.length - this.tail >= len) return this.tail;
      if (this.buf.length < this.capacity) this.grow(this.tail + len);
      else this.tail = 0;
    }
  }

  /** Double (at least to `need`, at most to capacity), keeping every offset. */
  private grow(need: number): void {
    let size = this.buf.length;
    while (size < need) size *= 2;
    size = Math.min(Math.max(size, this.buf.length * 2), this.capacity);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.buf.length);
    this.buf = next;
  }
}
