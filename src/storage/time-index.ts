/**
 * The time index of one log segment: `<20-digit baseOffset>.timeindex`.
 *
 * On-disk format (Kafka's): a sequence of 12-byte big-endian entries
 *   int64 timestamp | int32 relativeOffset (offset - segment baseOffset)
 * An entry (t, o) says: the largest record timestamp in the segment up to and including the batch whose last
 * offset is o is t. Entries are added next to offset-index entries, only when the timestamp grew, plus one
 * final entry when the segment is rolled; both fields strictly increase. No preallocation; a torn trailing
 * entry is dropped on open.
 *
 * Concurrency: as OffsetIndex — owned by one LogSegment, in-memory copy for lookups, synchronous writes,
 * sync() for durability, rebuilt by recovery.
 */
import * as fs from 'node:fs';
import { readInt64, writeInt64 } from '../protocol/records/record-batch.js';
import { readFully, writeFully, type Fdatasync } from './file-io.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private timestamps: Float64Array;
  private relOffsets: Int32Array;
  private count = 0;
  private written = 0;
  private bulk = false;
  private fd: number;

  private constructor(
    readonly path: string,
    readonly baseOffset: number,
    fd: number,
    readonly maxEntries: number,
    capacity: number,
  ) {
    this.fd = fd;
    this.timestamps = new Float64Array(capacity);
    this.relOffsets = new Int32Array(capacity);
  }

  static open(path: string, baseOffset: number, maxIndexBytes: number): TimeIndex {
    const fd = fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+');
    try {
      const size = fs.fstatSync(fd).size;
      const entries = Math.floor(size / TIME_INDEX_ENTRY_SIZE);
      const idx = new TimeIndex(path, baseOffset, fd, Math.max(1, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_SIZE)), Math.max(64, entries));
      if (entries > 0) {
        const buf = Buffer.allocUnsafe(entries * TIME_INDEX_ENTRY_SIZE);
        readFully(fd, buf, 0);
        for (let i = 0; i < entries; i++) {
          idx.timestamps[i] = readInt64(buf, i * TIME_INDEX_ENTRY_SIZE);
          idx.relOffsets[i] = buf.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
        }
      }
      idx.count = entries;
      idx.written = entries;
      if (size !== entries * TIME_INDEX_ENTRY_SIZE) fs.ftruncateSync(fd, entries * TIME_INDEX_ENTRY_SIZE);
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

  /** Timestamp of the last entry, or -1 when empty. */
  get lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /** Offset of the last entry, or -1 when empty. */
  get lastOffset(): number {
    return this.count === 0 ? -1 : this.baseOffset + this.relOffsets[this.count - 1]!;
  }

  timestampAt(i: number): number {
    return this.timestamps[i]!;
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.relOffsets[i]!;
  }

  /**
   * Adds (timestamp, offset) if the timestamp is larger than the last entry's. `force` ignores maxEntries
   * (the final entry at roll time must fit even in a full index).
   */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    if (timestamp < 0 || (!force && this.count >= this.maxEntries)) return;
    const rel = offset - this.baseOffset;
    if (this.count > 0 && (timestamp <= this.timestamps[this.count - 1]! || rel < this.relOffsets[this.count - 1]!)) return;
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestamp;
    this.relOffsets[this.count] = rel;
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

  /**
   * The offset to start searching from for the first record with timestamp >= `timestamp`: the offset of the
   * last entry whose timestamp is strictly smaller (every record up to it is earlier), or -1 for "from the
   * segment start".
   */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : this.baseOffset + this.relOffsets[found]!;
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

  /** Increasing entries, offsets not before the segment and not past `nextOffset`. */
  isSane(nextOffset: number): boolean {
    for (let i = 1; i < this.count; i++) {
      if (this.timestamps[i]! <= this.timestamps[i - 1]! || this.relOffsets[i]! < this.relOffsets[i - 1]!) return false;
    }
    return this.count === 0 || (this.relOffsets[0]! >= 0 && this.baseOffset + this.relOffsets[this.count - 1]! < nextOffset);
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
      fs.ftruncateSync(this.fd, n * TIME_INDEX_ENTRY_SIZE);
    }
  }

  private writePending(): void {
    const n = this.count - this.written;
    if (n <= 0) return;
    const buf = Buffer.allocUnsafe(n * TIME_INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i++) {
      writeInt64(buf, i * TIME_INDEX_ENTRY_SIZE, this.timestamps[this.written + i]!);
      buf.writeInt32BE(this.relOffsets[this.written + i]!, i * TIME_INDEX_ENTRY_SIZE + 8);
    }
    writeFully(this.fd, buf, this.written * TIME_INDEX_ENTRY_SIZE);
    this.written = this.count;
  }

  private grow(): void {
    const ts = new Float64Array(this.timestamps.length * 2);
    ts.set(this.timestamps);
    const rel = new Int32Array(this.relOffsets.length * 2);
    rel.set(this.relOffsets);
    this.timestamps = ts;
    this.relOffsets = rel;
  }
}
