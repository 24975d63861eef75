/**
 * The offset index of one log segment: `<20-digit baseOffset>.index`.
 *
 * On-disk format (Kafka's): a sequence of 8-byte big-endian entries
 *   int32 relativeOffset (offset - segment baseOffset) | int32 position (byte position of a batch in the .log)
 * The entry's offset is the LAST offset of the batch that starts at `position`. The index is sparse (one entry
 * per index.interval.bytes of log) and both fields strictly increase. No preallocation: the file holds exactly
 * the entries written, so a torn trailing entry (crash mid-write) is dropped on open.
 *
 * Concurrency: owned by one LogSegment on the single JS thread. Lookups use an in-memory copy; appends are
 * synchronous positional writes (page cache); durability comes from sync(), called when the segment is rolled
 * or flushed. After an unclean shutdown the loader rebuilds the index of every segment it recovers.
 */
import * as fs from 'node:fs';
import { readFully, writeFully, type Fdatasync } from './file-io.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private relOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;
  /** Entries already on disk; the rest are waiting for endBulk(). */
  private written = 0;
  private bulk = false;
  private fd: number;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    fd: number,
    /** Entries allowed before the segment must roll (segment.index.bytes / 8). */
    readonly maxEntries: number,
    capacity: number,
  ) {
    this.fd = fd;
    this.relOffsets = new Int32Array(capacity);
    this.positions = new Int32Array(capacity);
  }

  /** Opens (or creates) the index file and loads its entries. */
  static open(path: string, baseOffset: number, maxIndexBytes: number): OffsetIndex {
    const fd = fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+');
    try {
      const size = fs.fstatSync(fd).size;
      const entries = Math.floor(size / OFFSET_INDEX_ENTRY_SIZE);
      const idx = new OffsetIndex(path, baseOffset, fd, Math.max(1, Math.floor(maxIndexBytes / OFFSET_INDEX_ENTRY_SIZE)), Math.max(64, entries));
      if (entries > 0) {
        const buf = Buffer.allocUnsafe(entries * OFFSET_INDEX_ENTRY_SIZE);
        readFully(fd, buf, 0);
        for (let i = 0; i < entries; i++) {
          idx.relOffsets[i] = buf.readInt32BE(i * 8);
          idx.positions[i] = buf.readInt32BE(i * 8 + 4);
        }
      }
      idx.count = entries;
      idx.written = entries;
      if (size !== entries * OFFSET_INDEX_ENTRY_SIZE) fs.ftruncateSync(fd, entries * OFFSET_INDEX_ENTRY_SIZE);
      return idx;
    } catch (err) {
      fs.closeSync(fd);
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

  /** Position of the last entry, or 0 when empty. */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1]!;
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relOffsets[i]!;
  }

  positionAt(i: number): number {
    return this.positions[i]!;
  }

  /** Adds an entry; ignored when full or when it would not increase (the index stays a valid search table). */
  append(offset: number, position: number): void {
    if (this.count >= this.maxEntries) return;
    const rel = offset - this.baseOffset;
    if (this.count > 0 && (rel <= this.relOffsets[this.count - 1]! || position <= this.positions[this.count - 1]!)) return;
    if (this.count === this.relOffsets.length) this.grow();
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.count++;
    if (!this.bulk) this.writePending();
  }

  /** Appends between beginBulk() and endBulk() are written with one write (index rebuild). */
  beginBulk(): void {
    this.bulk = true;
  }

  endBulk(): void {
    this.bulk = false;
    this.writePending();
  }

  /** Byte position to start scanning from for `offset`: the entry with the largest offset <= offset, else 0. */
  lookup(offset: number): number {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffsets[mid]! <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  /** Drops entries whose offset is >= offset. */
  truncateTo(offset: number): void {
    const rel = offset - this.baseOffset;
    let n = this.count;
    while (n > 0 && this.relOffsets[n - 1]! >= rel) n--;
    this.truncateEntries(n);
  }

  /** Drops entries pointing at or past a byte position of the log (log truncated there). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.truncateEntries(n);
  }

  reset(): void {
    this.truncateEntries(0);
  }

  /** Cheap consistency check against the log file: increasing entries, all inside the log. */
  isSane(logSize: number): boolean {
    for (let i = 1; i < this.count; i++) {
      if (this.relOffsets[i]! <= this.relOffsets[i - 1]! || this.positions[i]! <= this.positions[i - 1]!) return false;
    }
    return this.count === 0 || (this.relOffsets[0]! >= 0 && this.positions[this.count - 1]! < logSize);
  }

  sync(fdatasync: Fdatasync): Promise<void> {
    return fdatasync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private truncateEntries(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.written > n) {
      this.written = n;
      fs.ftruncateSync(this.fd, n * OFFSET_INDEX_ENTRY_SIZE);
    }
  }

  private writePending(): void {
    const n = this.count - this.written;
    if (n <= 0) return;
    const buf = Buffer.allocUnsafe(n * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i++) {
      buf.writeInt32BE(this.relOffsets[this.written + i]!, i * 8);
      buf.writeInt32BE(this.positions[this.written + i]!, i * 8 + 4);
    }
    writeFully(this.fd, buf, this.written * OFFSET_INDEX_ENTRY_SIZE);
    this.written = this.count;
  }

  private grow(): void {
    const rel = new Int32Array(this.relOffsets.length * 2);
    rel.set(this.relOffsets);
    const pos = new Int32Array(this.positions.length * 2);
    pos.set(this.positions);
    this.relOffsets = rel;
    this.positions = pos;
  }
}
