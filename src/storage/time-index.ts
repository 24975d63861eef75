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
 * sync() for durability, rebuilt by recovery. File handling, bulk writes and truncation: AbstractIndex.
 */
import { readInt64, writeInt64 } from '../protocol/records/record-batch.js';
import { AbstractIndex } from './abstract-index.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex extends AbstractIndex {
  private timestamps = new Float64Array(this.relOffsets.length);

  private constructor(path: string, baseOffset: number, maxIndexBytes: number) {
    super(path, baseOffset, maxIndexBytes, TIME_INDEX_ENTRY_SIZE);
  }

  static open(path: string, baseOffset: number, maxIndexBytes: number): TimeIndex {
    return new TimeIndex(path, baseOffset, maxIndexBytes).load();
  }

  /** Timestamp of the last entry, or -1 when empty. */
  get lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  /**
   * Adds (timestamp, offset) if the timestamp is larger than the last entry's. `force` ignores maxEntries
   * (the final entry at roll time must fit even in a full index).
   */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    if (timestamp < 0 || (!force && this.count >= this.maxEntries)) return;
    const rel = offset - this.baseOffset;
    if (this.count > 0 && (timestamp <= this.timestamps[this.count - 1]! || rel < this.relOffsets[this.count - 1]!)) return;
    this.ensureRoom();
    this.timestamps[this.count] = timestamp;
    this.relOffsets[this.count] = rel;
    this.added();
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

  /** Increasing entries, offsets not before the segment and not past `nextOffset`. */
  isSane(nextOffset: number): boolean {
    for (let i = 1; i < this.count; i++) {
      if (this.timestamps[i]! <= this.timestamps[i - 1]! || this.relOffsets[i]! < this.relOffsets[i - 1]!) return false;
    }
    return this.count === 0 || (this.relOffsets[0]! >= 0 && this.baseOffset + this.relOffsets[this.count - 1]! < nextOffset);
  }

  protected override readEntry(buf: Buffer, at: number, i: number): void {
    this.timestamps[i] = readInt64(buf, at);
    this.relOffsets[i] = buf.readInt32BE(at + 8);
  }

  protected override writeEntry(buf: Buffer, at: number, i: number): void {
    writeInt64(buf, at, this.timestamps[i]!);
    buf.writeInt32BE(this.relOffsets[i]!, at + 8);
  }

  protected override resizeColumns(capacity: number): void {
    const ts = new Float64Array(capacity);
    ts.set(this.timestamps.subarray(0, this.count));
    this.timestamps = ts;
  }
}
