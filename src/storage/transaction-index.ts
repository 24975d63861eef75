/**
 * The transaction index of one log segment: `<20-digit baseOffset>.txnindex`, the aborted transactions whose
 * ABORT marker lies in that segment, so a read_committed Fetch can list the aborted ranges it returns.
 *
 * On-disk format (Kafka's): 34-byte big-endian entries, back to back, no header:
 *   int16 version (0) | int64 producerId | int64 firstOffset | int64 lastOffset (the marker's offset) |
 *   int64 lastStableOffset (the LSO right after the abort completed)
 * The file is created on the first entry. A torn trailing entry (crash mid-write) is dropped on open. After an
 * unclean shutdown the loader rebuilds the index of every segment it recovers from the control batches.
 *
 * Concurrency: owned by one LogSegment on the single JS thread; lookups use an in-memory copy, appends are
 * synchronous positional writes, durability comes from sync() with the segment's other indexes.
 */
import * as fs from 'node:fs';
import { readInt64, writeInt64 } from '../protocol/records/record-batch.js';
import { readFully, writeFully, type Fdatasync } from './file-io.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
export const ABORTED_TXN_SIZE = 34;
const VERSION = 0;

/** A transaction completed by an ABORT marker (ProducerStateManager.applyMarker returns it). */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: number;
  /** The marker's offset. */
  lastOffset: number;
  /** The LSO right after the abort. */
  lastStableOffset: number;
}

export class TransactionIndex {
  private readonly entries: AbortedTxn[] = [];
  private fd = -1;
  private dirty = false;

  private constructor(readonly path: string) {}

  /** Loads the file if it exists (dropping a torn tail); creates nothing until the first append. */
  static open(file: string): TransactionIndex {
    const index = new TransactionIndex(file);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return index;
      throw err;
    }
    index.fd = fd;
    const size = fs.fstatSync(fd).size;
    const whole = size - (size % ABORTED_TXN_SIZE);
    const buf = Buffer.allocUnsafe(whole);
    const n = readFully(fd, buf, 0, whole);
    for (let pos = 0; pos + ABORTED_TXN_SIZE <= n; pos += ABORTED_TXN_SIZE) {
      if (buf.readInt16BE(pos) !== VERSION) break;
      index.entries.push({
        producerId: buf.readBigInt64BE(pos + 2),
        firstOffset: readInt64(buf, pos + 10),
        lastOffset: readInt64(buf, pos + 18),
        lastStableOffset: readInt64(buf, pos + 26),
      });
    }
    if (index.entries.length * ABORTED_TXN_SIZE !== size) {
      fs.ftruncateSync(fd, index.entries.length * ABORTED_TXN_SIZE);
      index.dirty = true;
    }
    return index;
  }

  get size(): number {
    return this.entries.length;
  }

  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  append(e: AbortedTxn): void {
    const last = this.entries[this.entries.length - 1];
    // Markers are appended in offset order; a replay must not duplicate what the file already holds.
    if (last && e.lastOffset <= last.lastOffset) return;
    if (this.fd < 0) this.fd = fs.openSync(this.path, 'w+');
    const buf = Buffer.allocUnsafe(ABORTED_TXN_SIZE);
    buf.writeInt16BE(VERSION, 0);
    buf.writeBigInt64BE(e.producerId, 2);
    writeInt64(buf, 10, e.firstOffset);
    writeInt64(buf, 18, e.lastOffset);
    writeInt64(buf, 26, e.lastStableOffset);
    writeFully(this.fd, buf, this.entries.length * ABORTED_TXN_SIZE);
    this.entries.push({ ...e });
    this.dirty = true;
  }

  /** Drops the entries whose marker offset is >= offset (the segment was truncated there). */
  truncateTo(offset: number): void {
    let n = this.entries.length;
    while (n > 0 && this.entries[n - 1]!.lastOffset >= offset) n--;
    if (n === this.entries.length) return;
    this.entries.length = n;
    if (this.fd >= 0) {
      fs.ftruncateSync(this.fd, n * ABORTED_TXN_SIZE);
      this.dirty = true;
    }
  }

  /** Forgets every entry (segment recovery rebuilds them). */
  reset(): void {
    this.entries.length = 0;
    if (this.fd >= 0) {
      fs.ftruncateSync(this.fd, 0);
      this.dirty = true;
    }
  }

  /**
   * Adds to `out` the entries overlapping [fetchOffset, upperBound); returns true when an entry shows that no
   * later segment can hold more (its lastStableOffset >= upperBound), as Kafka's lookup does.
   */
  collect(fetchOffset: number, upperBound: number, out: Array<{ producerId: bigint; firstOffset: number }>): boolean {
    for (const e of this.entries) {
      if (e.lastOffset >= fetchOffset && e.firstOffset < upperBound) out.push({ producerId: e.producerId, firstOffset: e.firstOffset });
      if (e.lastStableOffset >= upperBound) return true;
    }
    return false;
  }

  async sync(fdatasync: Fdatasync): Promise<void> {
    if (this.fd < 0 || !this.dirty) return;
    this.dirty = false;
    try {
      await fdatasync(this.fd);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
