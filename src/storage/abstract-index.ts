/**
 * What the offset and time indexes of a segment share: a file of fixed-size big-endian entries, each holding
 * an int32 offset relative to the segment's base offset, mirrored in memory as typed-array columns.
 *
 * On-disk format: entries back to back, no header, no preallocation — the file holds exactly the entries
 * written, so a torn trailing entry (crash mid-write) is dropped on open. Subclasses define the entry layout
 * (readEntry/writeEntry) and the second column.
 *
 * Concurrency: owned by one LogSegment on the single JS thread. Lookups use the in-memory columns; appends are
 * synchronous positional writes (page cache), batched into one write between beginBulk() and endBulk() (index
 * rebuild); durability comes from sync(). After an unclean shutdown the loader rebuilds the index of every
 * segment it recovers.
 */
import * as fs from 'node:fs';
import { readFully, writeFully, type Fdatasync } from './file-io.js';

const INITIAL_CAPACITY = 64;

export abstract class AbstractIndex {
  /** Offset of each entry minus baseOffset. */
  protected relOffsets = new Int32Array(INITIAL_CAPACITY);
  protected count = 0;
  /** Entries already on disk; the rest are waiting for endBulk(). */
  private written = 0;
  private bulk = false;
  private fd: number;
  /** Entries allowed before the segment must roll (segment.index.bytes / entry size). */
  readonly maxEntries: number;

  /** Opens (or creates) the file; the subclass's open() then calls load(). */
  protected constructor(
    readonly path: string,
    readonly baseOffset: number,
    maxIndexBytes: number,
    private readonly entrySize: number,
  ) {
    this.fd = fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+');
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / entrySize));
  }

  /** Entry i's fields from buf[at..] into the columns. */
  protected abstract readEntry(buf: Buffer, at: number, i: number): void;
  /** Entry i's fields from the columns into buf[at..]. */
  protected abstract writeEntry(buf: Buffer, at: number, i: number): void;
  /** Reallocates the subclass's own column(s) to `capacity` entries, keeping the first `count`. */
  protected abstract resizeColumns(capacity: number): void;

  /** Reads the file's whole entries (cutting off a torn one); closes the file if that fails. */
  protected load(): this {
    try {
      const size = fs.fstatSync(this.fd).size;
      const entries = Math.floor(size / this.entrySize);
      if (entries > this.relOffsets.length) this.resize(entries);
      if (entries > 0) {
        const buf = Buffer.allocUnsafe(entries * this.entrySize);
        readFully(this.fd, buf, 0);
        for (let i = 0; i < entries; i++) this.readEntry(buf, i * this.entrySize, i);
      }
      this.count = entries;
      this.written = entries;
      if (size !== entries * this.entrySize) fs.ftruncateSync(this.fd, entries * this.entrySize);
      return this;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  get entries(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Offset of the last entry, or -1 when empty. */
  get lastOffset(): number {
    return this.count === 0 ? -1 : this.baseOffset + this.relOffsets[this.count - 1]!;
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relOffsets[i]!;
  }

  /** Room for one more entry at index `count` (the subclass then fills it and calls added()). */
  protected ensureRoom(): void {
    if (this.count === this.relOffsets.length) this.resize(this.count * 2);
  }

  /** Commits the entry just filled at index `count`: written now, or at endBulk(). */
  protected added(): void {
    this.count++;
    if (!this.bulk) this.writePending();
  }

  beginBulk(): void {
    this.bulk = true;
  }

  endBulk(): void {
    this.bulk = false;
    this.writePending();
  }

  /** Drops entries whose offset is >= offset. */
  truncateTo(offset: number): void {
    const rel = offset - this.baseOffset;
    let n = this.count;
    while (n > 0 && this.relOffsets[n - 1]! >= rel) n--;
    this.truncateEntries(n);
  }

  reset(): void {
    this.truncateEntries(0);
  }

  sync(fdatasync: Fdatasync): Promise<void> {
    return fdatasync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  protected truncateEntries(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.written > n) {
      this.written = n;
      fs.ftruncateSync(this.fd, n * this.entrySize);
    }
  }

  private writePending(): void {
    const n = this.count - this.written;
    if (n <= 0) return;
    const buf = Buffer.allocUnsafe(n * this.entrySize);
    for (let i = 0; i < n; i++) this.writeEntry(buf, i * this.entrySize, this.written + i);
    writeFully(this.fd, buf, this.written * this.entrySize);
    this.written = this.count;
  }

  private resize(capacity: number): void {
    const rel = new Int32Array(capacity);
    rel.set(this.relOffsets.subarray(0, this.count));
    this.relOffsets = rel;
    this.resizeColumns(capacity);
  }
}
