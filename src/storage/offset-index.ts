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
 * File handling, bulk writes and truncation: AbstractIndex.
 */
import { AbstractIndex } from './abstract-index.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex extends AbstractIndex {
  private positions = new Int32Array(this.relOffsets.length);

  private constructor(path: string, baseOffset: number, maxIndexBytes: number) {
    super(path, baseOffset, maxIndexBytes, OFFSET_INDEX_ENTRY_SIZE);
  }

  /** Opens (or creates) the index file and loads its entries. */
  static open(path: string, baseOffset: number, maxIndexBytes: number): OffsetIndex {
    return new OffsetIndex(path, baseOffset, maxIndexBytes).load();
  }

  /** Position of the last entry, or 0 when empty. */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1]!;
  }

  /** Adds an entry; ignored when full or when it would not increase (the index stays a valid search table). */
  append(offset: number, position: number): void {
    if (this.count >= this.maxEntries) return;
    const rel = offset - this.baseOffset;
    if (this.count > 0 && (rel <= this.relOffsets[this.count - 1]! || position <= this.positions[this.count - 1]!)) return;
    this.ensureRoom();
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.added();
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

  /** Drops entries pointing at or past a byte position of the log (log truncated there). */
  truncateToPosition(position: number): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! >= position) n--;
    this.truncateEntries(n);
  }

  /** Cheap consistency check against the log file: increasing entries, all inside the log. */
  isSane(logSize: number): boolean {
    for (let i = 1; i < this.count; i++) {
      if (this.relOffsets[i]! <= this.relOffsets[i - 1]! || this.positions[i]! <= this.positions[i - 1]!) return false;
    }
    return this.count === 0 || (this.relOffsets[0]! >= 0 && this.positions[this.count - 1]! < logSize);
  }

  protected override readEntry(buf: Buffer, at: number, i: number): void {
    this.relOffsets[i] = buf.readInt32BE(at);
    this.positions[i] = buf.readInt32BE(at + 4);
  }

  protected override writeEntry(buf: Buffer, at: number, i: number): void {
    buf.writeInt32BE(this.relOffsets[i]!, at);
    buf.writeInt32BE(this.positions[i]!, at + 4);
  }

  protected override resizeColumns(capacity: number): void {
    const pos = new Int32Array(capacity);
    pos.set(this.positions.subarray(0, this.count));
    this.positions = pos;
  }
}
