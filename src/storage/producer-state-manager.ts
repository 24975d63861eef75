/**
 * Idempotent-producer state of one partition: for every producer id its epoch and the metadata of its last
 * five batches (first/last sequence, first/last offset, max timestamp), so a retried batch is recognised and
 * answered with its original offsets, and a gap or a stale epoch is refused (Kafka's rules, see check()).
 *
 * On disk, in the partition directory: `<20-digit offset>.snapshot`, the state covering every batch below
 * that offset. Written when a segment rolls (offset = the new segment's base) and on a clean close (offset =
 * log end). Tributary's format (Kafka's tools never read it), big-endian:
 *   int16 version (1) | uint32 CRC-32C of everything after it | int32 producer count | per producer:
 *   int64 producerId | int16 epoch | int64 lastTimestamp | int32 batch count (<= 5) | per batch, oldest first:
 *   int32 firstSeq | int32 lastSeq | int64 firstOffset | int64 lastOffset | int64 maxTimestamp
 * Roll-time snapshots are written without fsync (a torn one fails its CRC and an older one is used); the
 * clean-close snapshot is written atomically and fsynced, since the clean-shutdown marker vouches for it.
 * On load the newest valid snapshot at or below the log end offset is read, newer ones are deleted, and the
 * batches from its offset to the log end are replayed from their headers (no decompression).
 *
 * Concurrency: owned by one Log on the single JS thread; check() and update() run inside Log.append.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { KafkaError } from '../errors.js';
import {
  OFFSET_ATTRIBUTES,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_PRODUCER_EPOCH,
  OFFSET_PRODUCER_ID,
  OFFSET_BASE_SEQUENCE,
  isControl,
  readInt64,
  writeInt64,
} from '../protocol/records/record-batch.js';
import { writeFileAtomicSync } from './file-io.js';
import { parseSegmentFileName, segmentFileName } from './log-segment.js';

export const SNAPSHOT_SUFFIX = '.snapshot';
/** Batches remembered per producer: a producer has at most 5 requests in flight per partition. */
export const MAX_BATCHES_PER_PRODUCER = 5;
const SNAPSHOT_VERSION = 1;
const INT32_MAX = 2147483647;
const NO_EPOCH = -1;
const HEADER_BYTES = 2 + 4 + 4;
const PRODUCER_BYTES = 8 + 2 + 8 + 4;
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
  /** maxTimestamp of the last batch: what expiration counts from. */
  lastTimestamp: number;
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

  /**
   * Validates an incoming batch against the producer's state. Returns the metadata of the batch it
   * duplicates (answer with the original offsets, append nothing), or null when it may be appended. Throws
   * INVALID_PRODUCER_EPOCH for an epoch older than the known one and OUT_OF_ORDER_SEQUENCE_NUMBER for a
   * sequence that does not follow the last one (a new epoch must start at 0). As in current Kafka, a
   * producer with no state here (new, expired, or its batches deleted) is accepted at any sequence.
   */
  check(producerId: bigint, epoch: number, firstSeq: number, lastSeq: number): BatchMetadata | null {
    const e = this.producers.get(producerId);
    if (!e) return null;
    if (epoch === e.epoch) {
      for (const b of e.batches) if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return b;
    }
    if (epoch < e.epoch) {
      throw new ProducerStateError('INVALID_PRODUCER_EPOCH', `Producer ${producerId} epoch ${epoch} is older than the current epoch ${e.epoch}`);
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

  /** Records an appended (or replayed) batch. A new epoch forgets the old epoch's batches. */
  update(producerId: bigint, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number, timestamp: number): void {
    let e = this.producers.get(producerId);
    if (!e) {
      e = { producerId, epoch, batches: [], lastTimestamp: timestamp };
      this.producers.set(producerId, e);
    } else if (e.epoch !== epoch) {
      e.epoch = epoch;
      e.batches = [];
    }
    if (e.batches.length >= MAX_BATCHES_PER_PRODUCER) e.batches.shift();
    e.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset, timestamp });
    e.lastTimestamp = timestamp;
  }

  /** Replays one batch from its header in `buf` at `at` (log recovery): no validation, as Kafka replays. */
  replayBatchHeader(buf: Buffer, at: number): void {
    if (buf.readInt32BE(at + OFFSET_PRODUCER_ID) < 0) return;
    // Transaction markers carry no sequence; transactions are not tracked here yet.
    if (isControl(buf.readInt16BE(at + OFFSET_ATTRIBUTES))) return;
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
    );
  }

  /** Forgets producers whose last batch is older than producer.id.expiration.ms; returns how many. */
  removeExpired(now: number): number {
    let removed = 0;
    for (const [id, e] of this.producers) {
      if (now - e.lastTimestamp >= this.expirationMs) {
        this.producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** The log start offset moved: producers whose batches all lie below it are forgotten (Kafka does the same). */
  truncateHead(logStartOffset: number): void {
    for (const [id, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      if (!last || last.lastOffset < logStartOffset) this.producers.delete(id);
    }
  }

  clear(): void {
    this.producers.clear();
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
      buf.writeInt32BE(e.batches.length, pos + 18);
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
    if (buf.length < HEADER_BYTES || buf.readInt16BE(0) !== SNAPSHOT_VERSION) return null;
    if ((crc32c(buf.subarray(6)) >>> 0) !== buf.readUInt32BE(2)) return null;
    const count = buf.readInt32BE(6);
    const out: ProducerStateEntry[] = [];
    let pos = HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      if (pos + PRODUCER_BYTES > buf.length) return null;
      const n = buf.readInt32BE(pos + 18);
      if (n < 0 || n > MAX_BATCHES_PER_PRODUCER || pos + PRODUCER_BYTES + n * BATCH_BYTES > buf.length) return null;
      const e: ProducerStateEntry = { producerId: buf.readBigInt64BE(pos), epoch: buf.readInt16BE(pos + 8), lastTimestamp: readInt64(buf, pos + 10), batches: [] };
      pos += PRODUCER_BYTES;
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
   * Replaces the state with the newest valid snapshot at or below `maxOffset`, deleting snapshots above it
   * and invalid ones, and drops producers expired at `now`. Returns the snapshot's offset, or -1 if none
   * (state empty): the caller replays batches from there.
   */
  loadLatestSnapshot(maxOffset: number, now: number): number {
    this.producers.clear();
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
      for (const e of entries) if (now - e.lastTimestamp < this.expirationMs) this.producers.set(e.producerId, e);
      return offset;
    }
    return -1;
  }

  /** Deletes snapshots below `offset`, the first segment's base: the batches after them are gone. */
  deleteSnapshotsBelow(offset: number): void {
    for (const o of this.listSnapshots()) if (o < offset) fs.rmSync(this.snapshotPath(o), { force: true });
  }
}
