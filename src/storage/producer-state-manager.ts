/**
 * Idempotent-producer state of one partition: for every producer id its epoch and the metadata of its last
 * five batches (first/last sequence, first/last offset, max timestamp), so a retried batch is recognised and
 * answered with its original offsets, and a gap or a stale epoch is refused (Kafka's rules, see check()).
 * Transactions: a transactional batch opens the producer's transaction at its first offset until a COMMIT or
 * ABORT control batch (applyMarker) completes it; the smallest first offset of the ongoing transactions is the
 * first unstable offset (the LSO when there is one). Markers also carry the coordinator epoch, remembered to
 * fence a zombie coordinator.
 *
 * On disk, in the partition directory: `<20-digit offset>.snapshot`, the state covering every batch below
 * that offset. Written when a segment rolls (offset = the new segment's base) and on a clean close (offset =
 * log end). Tributary's format (Kafka's tools never read it), big-endian:
 *   int16 version (2) | uint32 CRC-32C of everything after it | int32 producer count | per producer:
 *   int64 producerId | int16 epoch | int64 lastTimestamp | int32 coordinatorEpoch |
 *   int64 currentTxnFirstOffset (-1: none) | int32 batch count (<= 5) | per batch, oldest first:
 *   int32 firstSeq | int32 lastSeq | int64 firstOffset | int64 lastOffset | int64 maxTimestamp
 * Version 1 (before transactions) lacks coordinatorEpoch and currentTxnFirstOffset; it is still read.
 * Roll-time snapshots are written without fsync (a torn one fails its CRC and an older one is used); the
 * clean-close snapshot is written atomically and fsynced, since the clean-shutdown marker vouches for it.
 * On load the newest valid snapshot at or below the log end offset is read, newer ones are deleted, and the
 * batches from its offset to the log end are replayed from their headers (no decompression).
 *
 * Concurrency: owned by one Log on the single JS thread; check() and update() run inside Log.append. A
 * follower's appends (Log.appendAsFollower) go through replayBatchHeader, unchecked, as Kafka's replication
 * path does; Log.truncateTo reloads the newest snapshot at or below the new log end and replays from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { KafkaError } from '../errors.js';
import { decodeRecordBatch, readControlRecord } from '../protocol/records/record.js';
import {
  OFFSET_ATTRIBUTES,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_PRODUCER_EPOCH,
  OFFSET_PRODUCER_ID,
  OFFSET_BASE_SEQUENCE,
  isControl,
  isTransactional,
  readInt64,
  writeInt64,
} from '../protocol/records/record-batch.js';
import { writeFileAtomic, writeFileAtomicSync } from './file-io.js';
import { parseSegmentFileName, segmentFileName } from './log-segment.js';
import type { AbortedTxn } from './transaction-index.js';

export const SNAPSHOT_SUFFIX = '.snapshot';
/** Batches remembered per producer: a producer has at most 5 requests in flight per partition. */
export const MAX_BATCHES_PER_PRODUCER = 5;
const SNAPSHOT_VERSION = 2;
const INT32_MAX = 2147483647;
const NO_EPOCH = -1;
const HEADER_BYTES = 2 + 4 + 4;
const PRODUCER_BYTES_V1 = 8 + 2 + 8 + 4;
const PRODUCER_BYTES = 8 + 2 + 8 + 4 + 8 + 4;
const BATCH_BYTES = 4 + 4 + 8 + 8 + 8;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

export interface ProducerStateEntry {
  readonly producerId: bigint;
  epoch: number;
  /** Oldest first, at most MAX_BATCHES_PER_PRODUCER. */
  batches: BatchMetadata[];
  /** maxTimestamp of the last batch (or marker): what expiration counts from. */
  lastTimestamp: number;
  /** Coordinator epoch of the last marker, -1 before any. */
  coordinatorEpoch: number;
  /** First offset of the producer's ongoing transaction in this partition, -1 when none. */
  currentTxnFirstOffset: number;
}

/** A produce the partition refuses because of its producer's sequence or epoch. */
export class ProducerStateError extends KafkaError {}

/** The sequence `increment` after `seq`, wrapping from Int32.MAX to 0. */
export function incrementSequence(seq: number, increment: number): number {
  return seq > INT32_MAX - increment ? increment - (INT32_MAX - seq) - 1 : seq + increment;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export interface ProducerStateOptions {
  /** producer.id.expiration.ms: a producer silent this long is forgotten. */
  expirationMs?: number;
}

export class ProducerStateManager {
  private readonly producers = new Map<bigint, ProducerStateEntry>();
  /** producerId → first offset of its ongoing transaction; insertion order is offset order, so the first is the smallest. */
  private readonly ongoing = new Map<bigint, number>();
  readonly expirationMs: number;

  /** `dir` is the partition directory holding the snapshots. */
  constructor(
    readonly dir: string,
    opts: ProducerStateOptions = {},
  ) {
    this.expirationMs = opts.expirationMs ?? 86_400_000;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  entry(producerId: bigint): ProducerStateEntry | undefined {
    return this.producers.get(producerId);
  }

  activeProducers(): IterableIterator<ProducerStateEntry> {
    return this.producers.values();
  }

  /** The smallest first offset of an ongoing transaction, or -1 when none is ongoing. */
  get firstUnstableOffset(): number {
    // Asked for every partition of every fetch (the LSO): no iterator when nothing is ongoing.
    if (this.ongoing.size === 0) return -1;
    for (const first of this.ongoing.values()) return first;
    return -1;
  }

  /** Ongoing transactions, oldest first. */
  ongoingTransactions(): Array<{ producerId: bigint; firstOffset: number }> {
    return [...this.ongoing].map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
  }

  /**
   * Validates an incoming batch against the producer's state. Returns the metadata of the batch it
   * duplicates (answer with the original offsets, append nothing), or null when it may be appended. Throws
   * INVALID_PRODUCER_EPOCH for an epoch older than the known one and OUT_OF_ORDER_SEQUENCE_NUMBER for a
   * sequence that does not follow the last one (a new epoch must start at 0). As in current Kafka, a
   * producer with no state here (new, expired, or its batches deleted) is accepted at any sequence.
   * A non-transactional batch while the producer's transaction is ongoing is INVALID_TXN_STATE.
   */
  check(producerId: bigint, epoch: number, firstSeq: number, lastSeq: number, transactional = false): BatchMetadata | null {
    const e = this.producers.get(producerId);
    if (!e) return null;
    if (epoch === e.epoch) {
      for (const b of e.batches) if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return b;
    }
    if (epoch < e.epoch) {
      throw new ProducerStateError('INVALID_PRODUCER_EPOCH', `Producer ${producerId} epoch ${epoch} is older than the current epoch ${e.epoch}`);
    }
    if (!transactional && e.currentTxnFirstOffset >= 0) {
      throw new ProducerStateError('INVALID_TXN_STATE', `Producer ${producerId} sent a non-transactional batch during its transaction`);
    }
    if (epoch !== e.epoch) {
      if (firstSeq !== 0 && e.epoch !== NO_EPOCH) {
        throw new ProducerStateError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} starts epoch ${epoch} at sequence ${firstSeq}, not 0`);
      }
      return null;
    }
    const last = e.batches.length > 0 ? e.batches[e.batches.length - 1]!.lastSeq : -1;
    if (e.batches.length > 0 && !inSequence(last, firstSeq)) {
      throw new ProducerStateError('OUT_OF_ORDER_SEQUENCE_NUMBER', `Producer ${producerId} sent sequence ${firstSeq}; expected ${incrementSequence(last, 1)}`);
    }
    return null;
  }

  /**
   * Records an appended (or replayed) batch. A new epoch forgets the old epoch's batches. A transactional
   * batch opens the producer's transaction unless one is ongoing.
   */
  update(
    producerId: bigint, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number, timestamp: number,
    transactional = false,
  ): void {
    const e = this.entryForEpoch(producerId, epoch, timestamp);
    if (e.batches.length >= MAX_BATCHES_PER_PRODUCER) e.batches.shift();
    e.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset, timestamp });
    e.lastTimestamp = timestamp;
    if (transactional && e.currentTxnFirstOffset < 0) {
      e.currentTxnFirstOffset = firstOffset;
      this.ongoing.set(producerId, firstOffset);
    }
  }

  private entryForEpoch(producerId: bigint, epoch: number, timestamp: number): ProducerStateEntry {
    let e = this.producers.get(producerId);
    if (!e) {
      e = { producerId, epoch, batches: [], lastTimestamp: timestamp, coordinatorEpoch: -1, currentTxnFirstOffset: -1 };
      this.producers.set(producerId, e);
    } else if (e.epoch !== epoch) {
      e.epoch = epoch;
      e.batches = [];
    }
    return e;
  }

  /**
   * Validates a COMMIT/ABORT marker before it is written: INVALID_PRODUCER_EPOCH for an epoch older than the
   * producer's, TRANSACTION_COORDINATOR_FENCED for a coordinator epoch older than the last marker's.
   */
  checkMarker(producerId: bigint, epoch: number, coordinatorEpoch: number): void {
    const e = this.producers.get(producerId);
    if (!e) return;
    if (epoch < e.epoch) {
      throw new ProducerStateError('INVALID_PRODUCER_EPOCH', `Marker for producer ${producerId} has epoch ${epoch}, older than the current epoch ${e.epoch}`);
    }
    if (coordinatorEpoch < e.coordinatorEpoch) {
      throw new ProducerStateError('TRANSACTION_COORDINATOR_FENCED', `Marker for producer ${producerId} has coordinator epoch ${coordinatorEpoch}, older than ${e.coordinatorEpoch}`);
    }
  }

  /**
   * Records a written (or replayed) marker: the producer takes its epoch (a bump forgets the batches, like a
   * new epoch) and its transaction here completes. Returns the aborted range for the transaction index when
   * an ABORT completes an ongoing transaction, else null.
   */
  applyMarker(producerId: bigint, epoch: number, coordinatorEpoch: number, commit: boolean, markerOffset: number, timestamp: number): AbortedTxn | null {
    const e = this.entryForEpoch(producerId, epoch, timestamp);
    e.coordinatorEpoch = coordinatorEpoch;
    e.lastTimestamp = timestamp;
    const first = e.currentTxnFirstOffset;
    if (first < 0) return null;
    e.currentTxnFirstOffset = -1;
    this.ongoing.delete(producerId);
    if (commit) return null;
    const unstable = this.firstUnstableOffset;
    return { producerId, firstOffset: first, lastOffset: markerOffset, lastStableOffset: unstable >= 0 ? unstable : markerOffset + 1 };
  }

  /**
   * Replays one batch from its header in `buf` at `at` (log recovery): no validation, as Kafka replays. A
   * control batch must be whole in `buf` (`size` bytes): its marker type is read from its record. Returns the
   * aborted range an ABORT marker completes (the loader rebuilds transaction indexes from them).
   */
  replayBatchHeader(buf: Buffer, at: number, size = 0): AbortedTxn | null {
    if (buf.readInt32BE(at + OFFSET_PRODUCER_ID) < 0) return null;
    const attributes = buf.readInt16BE(at + OFFSET_ATTRIBUTES);
    if (isControl(attributes)) {
      let decoded;
      try {
        decoded = decodeRecordBatch(buf.subarray(at, at + size));
      } catch {
        return null; // the loader validated what it recovered; a marker it cannot read completes nothing
      }
      const { header, records } = decoded;
      const marker = records[0] ? readControlRecord(records[0]) : null;
      // Other control records (none written here) carry no transaction outcome.
      if (!marker || marker.type === 'UNKNOWN') return null;
      return this.applyMarker(header.producerId, header.producerEpoch, marker.coordinatorEpoch, marker.type === 'COMMIT', header.baseOffset, header.maxTimestamp);
    }
    const firstSeq = buf.readInt32BE(at + OFFSET_BASE_SEQUENCE);
    const delta = buf.readInt32BE(at + OFFSET_LAST_OFFSET_DELTA);
    const firstOffset = readInt64(buf, at);
    this.update(
      buf.readBigInt64BE(at + OFFSET_PRODUCER_ID),
      buf.readInt16BE(at + OFFSET_PRODUCER_EPOCH),
      firstSeq,
      incrementSequence(firstSeq, delta),
      firstOffset,
      firstOffset + delta,
      readInt64(buf, at + OFFSET_MAX_TIMESTAMP),
      isTransactional(attributes),
    );
    return null;
  }

  /**
   * Forgets producers whose last batch is older than producer.id.expiration.ms, except those with an ongoing
   * transaction (the coordinator's timeout aborts it); returns how many.
   */
  removeExpired(now: number): number {
    let removed = 0;
    for (const [id, e] of this.producers) {
      if (now - e.lastTimestamp >= this.expirationMs && e.currentTxnFirstOffset < 0) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The log start offset moved: producers whose batches all lie below it are forgotten (Kafka does the same).
   * Producers known only by a marker (no batch at their epoch) and those in a transaction are kept.
   */
  truncateHead(logStartOffset: number): void {
    for (const [id, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      if (last && last.lastOffset < logStartOffset && e.currentTxnFirstOffset < 0) this.producers.delete(id);
    }
  }

  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  // ---- snapshots ----

  snapshotPath(offset: number): string {
    return path.join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX));
  }

  /** Snapshot offsets present in the directory, ascending. */
  listSnapshots(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: number[] = [];
    for (const name of names) {
      const offset = parseSegmentFileName(name, SNAPSHOT_SUFFIX);
      if (offset >= 0) out.push(offset);
    }
    return out.sort((a, b) => a - b);
  }

  encode(): Buffer {
    let size = HEADER_BYTES;
    for (const e of this.producers.values()) size += PRODUCER_BYTES + e.batches.length * BATCH_BYTES;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    buf.writeInt32BE(this.producers.size, 6);
    let pos = HEADER_BYTES;
    for (const e of this.producers.values()) {
      buf.writeBigInt64BE(e.producerId, pos);
      buf.writeInt16BE(e.epoch, pos + 8);
      writeInt64(buf, pos + 10, e.lastTimestamp);
      buf.writeInt32BE(e.coordinatorEpoch, pos + 18);
      writeInt64(buf, pos + 22, e.currentTxnFirstOffset);
      buf.writeInt32BE(e.batches.length, pos + 30);
      pos += PRODUCER_BYTES;
      for (const b of e.batches) {
        buf.writeInt32BE(b.firstSeq, pos);
        buf.writeInt32BE(b.lastSeq, pos + 4);
        writeInt64(buf, pos + 8, b.firstOffset);
        writeInt64(buf, pos + 16, b.lastOffset);
        writeInt64(buf, pos + 24, b.timestamp);
        pos += BATCH_BYTES;
      }
    }
    buf.writeUInt32BE(crc32c(buf.subarray(6)) >>> 0, 2);
    return buf;
  }

  /** Parses a snapshot; null when it is torn, corrupt or of an unknown version. */
  static decode(buf: Buffer): ProducerStateEntry[] | null {
    if (buf.length < HEADER_BYTES) return null;
    const version = buf.readInt16BE(0);
    if (version !== 1 && version !== SNAPSHOT_VERSION) return null;
    if ((crc32c(buf.subarray(6)) >>> 0) !== buf.readUInt32BE(2)) return null;
    const producerBytes = version === 1 ? PRODUCER_BYTES_V1 : PRODUCER_BYTES;
    const count = buf.readInt32BE(6);
    const out: ProducerStateEntry[] = [];
    let pos = HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      if (pos + producerBytes > buf.length) return null;
      const n = buf.readInt32BE(pos + producerBytes - 4);
      if (n < 0 || n > MAX_BATCHES_PER_PRODUCER || pos + producerBytes + n * BATCH_BYTES > buf.length) return null;
      const e: ProducerStateEntry = {
        producerId: buf.readBigInt64BE(pos),
        epoch: buf.readInt16BE(pos + 8),
        lastTimestamp: readInt64(buf, pos + 10),
        batches: [],
        coordinatorEpoch: version === 1 ? -1 : buf.readInt32BE(pos + 18),
        currentTxnFirstOffset: version === 1 ? -1 : readInt64(buf, pos + 22),
      };
      pos += producerBytes;
      for (let j = 0; j < n; j++) {
        e.batches.push({
          firstSeq: buf.readInt32BE(pos),
          lastSeq: buf.readInt32BE(pos + 4),
          firstOffset: readInt64(buf, pos + 8),
          lastOffset: readInt64(buf, pos + 16),
          timestamp: readInt64(buf, pos + 24),
        });
        pos += BATCH_BYTES;
      }
      out.push(e);
    }
    return pos === buf.length ? out : null;
  }

  /** Writes `<offset>.snapshot`; `durable` fsyncs it (clean close), otherwise it is a plain write (roll). */
  writeSnapshot(offset: number, durable: boolean): void {
    const file = this.snapshotPath(offset);
    if (durable) writeFileAtomicSync(file, this.encode());
    else fs.writeFileSync(file, this.encode());
  }

  /**
   * writeSnapshot(offset, true) off the event loop (a clean close): its write and fsyncs run on libuv's pool,
   * and the directory's fsync is shared with the other partitions' (file-io syncDir). With 10,000 partitions
   * the synchronous form took the whole shutdown budget.
   */
  async writeSnapshotDurable(offset: number): Promise<void> {
    await writeFileAtomic(this.snapshotPath(offset), this.encode());
  }

  /**
   * Replaces the state with the newest valid snapshot at or below `maxOffset`, deleting snapshots above it
   * and invalid ones, and drops producers expired at `now`. Returns the snapshot's offset, or -1 if none
   * (state empty): the caller replays batches from there.
   */
  loadLatestSnapshot(maxOffset: number, now: number): number {
    this.clear();
    const offsets = this.listSnapshots();
    for (let i = offsets.length - 1; i >= 0; i--) {
      const offset = offsets[i]!;
      const file = this.snapshotPath(offset);
      if (offset > maxOffset) {
        fs.rmSync(file, { force: true });
        continue;
      }
      let entries: ProducerStateEntry[] | null = null;
      try {
        entries = ProducerStateManager.decode(fs.readFileSync(file));
      } catch {
        entries = null;
      }
      if (!entries) {
        fs.rmSync(file, { force: true });
        continue;
      }
      for (const e of entries) {
        if (now - e.lastTimestamp < this.expirationMs || e.currentTxnFirstOffset >= 0) this.producers.set(e.producerId, e);
      }
      const open = entries.filter((e) => e.currentTxnFirstOffset >= 0).sort((a, b) => a.currentTxnFirstOffset - b.currentTxnFirstOffset);
      for (const e of open) this.ongoing.set(e.producerId, e.currentTxnFirstOffset);
      return offset;
    }
    return -1;
  }

  /** Deletes snapshots below `offset`, the first segment's base: the batches after them are gone. */
  deleteSnapshotsBelow(offset: number): void {
    for (const o of this.listSnapshots()) if (o < offset) fs.rmSync(this.snapshotPath(o), { force: true });
  }
}
