/**
 * What the offset and time indexes of a segment share: a file of fixed-size big-endian entries, each holding
 * an int32 offset relative to the segment's base offset, mirrored in memory as typed-array columns.
 *
 * On-disk format: entries back to back, no header, no preallocation — the file holds exactly the entries
 * written, so a torn trailing entry (crash mid-write) is dropped on open. Subclasses define the entry layout
 * (readEntry/writeEntry) and the second column.
 *
 * No file descriptor is held: with 10,000 partitions, two open indexes per segment would cost 20,000
 * descriptors (more than the usual hard limit). Lookups use the in-memory columns; new entries stay in memory
 * and reach the file in one positional write (open, write, close) when the owner syncs the index (a rolled
 * segment, before the recovery point passes it), at endBulk() (index rebuild) and at close(). That is enough:
 * after an unclean shutdown the loader rebuilds the index of every segment at or above the recovery point,
 * and an index below it was synced, pending entries first. The file is created (empty) when the index is.
 *
 * Concurrency: owned by one LogSegment on the single JS thread.
 */
import * as fs from 'node:fs';
import { readFully, writeFully, type Fdatasync } from './file-io.js';

// Eight entries: a column of at most 64 bytes lives on the V8 heap, not in a malloc block of its own (10,000
// partitions would scatter 40,000 long-lived blocks over the native heap); columns double as entries come.
const INITIAL_CAPACITY = 8;

export abstract class AbstractIndex {
  /** Offset of each entry minus baseOffset. */
  protected relOffsets = new Int32Array(INITIAL_CAPACITY);
  protected count = 0;
  /** Entries already on disk; the rest are waiting for endBulk(). */
  private written = 0;
  private bulk = false;
  /** Entries allowed before the segment must roll (segment.index.bytes / entry size). */
  readonly maxEntries: number;

  /** The subclass's open() then calls load(), which creates the file if it is missing. */
  protected constructor(
    private filePath: string,
    readonly baseOffset: number,
    maxIndexBytes: number,
    private readonly entrySize: number,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / entrySize));
  }

  /** Where the index lives now (the segment's files may have been renamed: see moveTo). */
  get path(): string {
    return this.filePath;
  }

  /** The file was renamed (LogSegment.renameFiles); later writes go to the new name. */
  moveTo(newPath: string): void {
    this.filePath = newPath;
  }

  /** Entry i's fields from buf[at..] into the columns. */
  protected abstract readEntry(buf: Buffer, at: number, i: number): void;
  /** Entry i's fields from the columns into buf[at..]. */
  protected abstract writeEntry(buf: Buffer, at: number, i: number): void;
  /** Reallocates the subclass's own column(s) to `capacity` entries, keeping the first `count`. */
  protected abstract resizeColumns(capacity: number): void;

  /** Reads the file's whole entries (cutting off a torn one), creating an empty file if there is none. */
  protected load(): this {
    const fd = fs.openSync(this.filePath, fs.constants.O_RDWR | fs.constants.O_CREAT);
    try {
      const size = fs.fstatSync(fd).size;
      const entries = Math.floor(size / this.entrySize);
      if (entries > this.relOffsets.length) this.resize(entries);
      if (entries > 0) {
        const buf = Buffer.allocUnsafe(entries * this.entrySize);
        readFully(fd, buf, 0);
        for (let i = 0; i < entries; i++) this.readEntry(buf, i * this.entrySize, i);
      }
      this.count = entries;
      this.written = entries;
      if (size !== entries * this.entrySize) fs.ftruncateSync(fd, entries * this.entrySize);
      return this;
    } finally {
      fs.closeSync(fd);
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

  /** Commits the entry just filled at index `count`; it reaches the file at the next sync, endBulk() or close(). */
  protected added(): void {
    this.count++;
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

  /** Writes the pending entries, then fdatasyncs the file (through a descriptor held only meanwhile). */
  async sync(fdatasync: Fdatasync): Promise<void> {
    const fd = fs.openSync(this.filePath, 'r+');
    try {
      this.writePending(fd);
      await fdatasync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Writes the pending entries (a clean shutdown then trusts the file); nothing if the file is gone (deleted). */
  close(): void {
    if (this.written === this.count) return;
    let fd: number;
    try {
      fd = fs.openSync(this.filePath, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      this.writePending(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  protected truncateEntries(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.written > n) {
      this.written = n;
      fs.truncateSync(this.filePath, n * this.entrySize);
    }
  }

  private writePending(fd?: number): void {
    const n = this.count - this.written;
    if (n <= 0) return;
    const buf = Buffer.allocUnsafe(n * this.entrySize);
    for (let i = 0; i < n; i++) this.writeEntry(buf, i * this.entrySize, this.written + i);
    const own = fd === undefined ? fs.openSync(this.filePath, 'r+') : fd;
    try {
      writeFully(own, buf, this.written * this.entrySize);
    } finally {
      if (fd === undefined) fs.closeSync(own);
    }
    this.written = this.count;
  }

  private resize(capacity: number): void {
    const rel = new Int32Array(capacity);
    rel.set(this.relOffsets.subarray(0, this.count));
    this.relOffsets = rel;
    this.resizeColumns(capacity);
  }
}
