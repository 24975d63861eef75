/**
 * The log of one partition: a directory `<topic>-<partition>/` of LogSegments ordered by base offset; the
 * last one (the active segment) takes appends.
 *
 * On disk: the segment files (see log-segment.ts) and producer state snapshots (producer-state-manager.ts:
 * one when a segment rolls, one at the log end on a clean close). The log start offset and recovery point
 * live in the data directory's checkpoint files, written by the LogManager (log start offset through the
 * onLogStartOffsetChange hook, synchronously, before segments below it are deleted).
 *
 * Concurrency contract: single JS thread. append() and read() are synchronous and complete before any other
 * callback runs, so readers see whole appends or nothing. flush() is the only asynchronous I/O on the data
 * path: callers in the same event-loop turn share one fdatasync (group commit), and a flush requested while
 * another is in flight waits for it and then covers everything appended before its own call. Segments leave
 * the log synchronously (retention, DeleteRecords); their files are closed and unlinked only after any
 * in-flight fdatasync that may use their descriptors has finished.
 *
 * Replication (docs/CLUSTER.md). Nothing here changes a log that does not use it: its high watermark is the
 * log end. The leader epoch cache (leader-epoch-cache.ts, file `leader-epoch-checkpoint`) records where each
 * leader epoch starts: append() assigns its leaderEpoch when newer than the latest (a single node writes one
 * `0 0` entry once). The follower side, all synchronous except the truncations' promises:
 *   appendAsFollower(records): { firstOffset, lastOffset } — the leader's batches as fetched, not re-stamped;
 *     must start at logEndOffset (UnexpectedAppendOffsetError); updates epochs and producer state unchecked.
 *   truncateTo(offset): Promise<void> / truncateFullyAndStartAt(offset): Promise<void> — the in-memory change
 *     is immediate (readers see the old or the new log); the promise resolves once it is durable.
 *   endOffsetForEpoch(epoch): { leaderEpoch, endOffset }; latestEpoch; assignLeaderEpoch(epoch) on becoming
 *     leader (the epoch starts at the log end even before an append; markers then carry it).
 * A replicated log (enableReplication(), or LogManager option `replicated`) has an explicit high watermark:
 * updateHighWatermark(hw) (follower: any value, clamped to [logStartOffset, logEndOffset]) and
 * maybeIncrementHighWatermark(hw) (leader: forward only); both wake onAppend listeners when it moves. The LSO
 * is then at most the high watermark, retention deletes no segment above it, and DeleteRecords(-1) means it.
 * read() still serves up to the log end (followers); consumer fetches must pass maxOffset = highWatermark
 * (or lastStableOffset). The LogManager checkpoints the high watermark (replication-offset-checkpoint).
 *
 * Transactions (KIP-98): a transactional batch opens its producer's transaction at its first offset (producer
 * state); the last stable offset (LSO) is the smallest first offset of an ongoing transaction, else the high
 * watermark. The transaction coordinator completes a transaction here with writeTxnMarker, which appends a
 * COMMIT/ABORT control batch (and, for ABORT, records the aborted range in the segment's .txnindex); then
 * read_committed fetches read below lastStableOffset and skip abortedTransactions(...). The API it uses:
 *   writeTxnMarker(m: { producerId: bigint; producerEpoch: number; coordinatorEpoch: number; commit: boolean;
 *     timestamp: number; leaderEpoch?: number }): number — the marker's offset (stamped with leaderEpoch, default
 *     the last append's); throws a KafkaError (INVALID_PRODUCER_EPOCH,
 *     TRANSACTION_COORDINATOR_FENCED) for a stale epoch. Callers await flush() afterwards.
 *   get lastStableOffset(): number
 *   abortedTransactions(fetchOffset, upperBound): Array<{ producerId: bigint; firstOffset: number }>
 * Markers wake onAppend listeners, so read_committed long-polls see the LSO move.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BATCH_HEADER_SIZE,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BATCH_LENGTH,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_BASE_SEQUENCE,
  OFFSET_PARTITION_LEADER_EPOCH,
  OFFSET_PRODUCER_EPOCH,
  OFFSET_PRODUCER_ID,
  OFFSET_RECORDS_COUNT,
  TIMESTAMP_TYPE_MASK,
  isControl,
  isCrcValid,
  isTransactional,
  readInt64,
  setBaseOffset,
  setPartitionLeaderEpoch,
  updateCrc,
  writeInt64,
} from '../protocol/records/record-batch.js';
import { defaultFdatasync, syncDir, syncDirSync, type Fdatasync } from './file-io.js';
import type { LogConfig } from './log-config.js';
import { CLEANED_SUFFIX, DELETED_SUFFIX, LogSegment, SWAP_SUFFIX, type TimestampAndOffset } from './log-segment.js';
import { KafkaError } from '../errors.js';
import { buildControlBatch } from '../protocol/records/record.js';
import { LeaderEpochCache, type EpochEndOffset } from './leader-epoch-cache.js';
import { ProducerStateManager, incrementSequence } from './producer-state-manager.js';
import { CorruptRecordError, OffsetOutOfRangeError, StorageError } from './storage-error.js';

const INT32_MAX = 2147483647;
const EMPTY = Buffer.alloc(0);
const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};

/** The logger shape storage uses (pino's is compatible). */
export interface StorageLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The LogAppendTime stamped on the batches, or -1 for CreateTime topics (and for duplicates). */
  logAppendTime: number;
  /** The batch repeats one of its producer's last five: nothing was written; the offsets are the original's. */
  duplicate?: boolean;
}

export type AppendListener = (log: Log) => void;

/**
 * A one-shot wake-up for a long poll over many logs (a Fetch): `wake` runs on the next append or high-watermark
 * move of any log it waits on, unless `done` is set by then. Nothing to undo when the poll ends: the log drops it
 * at its next notification or sweep.
 */
export interface AppendWaiter {
  done: boolean;
  /** Returns false to stay registered on `log` for its next notification (the poll is not interested in this one). */
  wake(log: Log): boolean | void;
}

export interface LogInit {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  /** At least one; ordered by base offset; the last is active. */
  segments: LogSegment[];
  logStartOffset: number;
  recoveryPoint: number;
  /** Segments (not the active one) whose files and indexes are not known to be durable yet. */
  unsyncedSegments?: LogSegment[];
  /** The partition directory's entries are not known to be durable (new log or new segment files). */
  dirDirty?: boolean;
  /** The partition directory itself is new: its entry in the data directory must be made durable too. */
  parentDirDirty?: boolean;
  now?: () => number;
  fdatasync?: Fdatasync;
  /** Told how long each flush took, in ms (the broker's log flush latency metric). */
  onFlush?: (ms: number) => void;
  logger?: StorageLogger;
  /** Persist the new log start offset; called synchronously before segments below it are deleted. */
  onLogStartOffsetChange?: (log: Log) => void;
  /**
   * Called synchronously by truncateTo/truncateFullyAndStartAt once the log is cut; their promise also waits for
   * the returned one. The LogManager persists the lowered recovery point here (a stale, higher checkpointed one
   * would make the next unclean start trust rewritten data) and stops a log-cleaner pass over the old data.
   */
  onTruncate?: (log: Log) => Promise<void>;
  /** Idempotent-producer state, rebuilt up to the log end by the loader; empty when not given. */
  producerState?: ProducerStateManager;
  /** The leader epoch cache (loaded or rebuilt by the loader); when not given, the directory's file or empty. */
  leaderEpochCache?: LeaderEpochCache;
  /** Replicated: the high watermark is a field (see updateHighWatermark) instead of the log end. */
  replicated?: boolean;
  /** The high watermark restored from replication-offset-checkpoint, if any (clamped to the log). */
  highWatermark?: number;
}

/** What appendAsFollower appended: the first batch's base offset and the last batch's last offset. */
export interface FollowerAppendResult {
  firstOffset: number;
  lastOffset: number;
}

/**
 * A follower's fetched batches do not start at its log end offset (Kafka's UnexpectedAppendOffsetException: a
 * replica-fetcher bug, not a disk failure, hence not a StorageError).
 */
export class UnexpectedAppendOffsetError extends KafkaError {
  constructor(
    topicPartition: string,
    readonly firstOffset: number,
    readonly expectedOffset: number,
  ) {
    super('UNKNOWN_SERVER_ERROR', `follower append to ${topicPartition} starts at offset ${firstOffset}, but the log end offset is ${expectedOffset}`);
  }
}

export class Log {
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  /** Replaceable at runtime (AlterConfigs); read on every append. */
  config: LogConfig;
  logStartOffset: number;
  /** Every offset below it is durable, and every segment not containing it has durable indexes. */
  recoveryPoint: number;
  readonly producerState: ProducerStateManager;
  /** Start offset of every leader epoch that wrote here (leader-epoch-checkpoint). */
  readonly leaderEpochCache: LeaderEpochCache;

  private readonly segments: LogSegment[];
  private replicated: boolean;
  /** The high watermark of a replicated log (unused otherwise: it is the log end). */
  private hw: number;
  /** A checkpointed high watermark not applied yet (the log is not replicated yet): enableReplication() uses it. */
  private restoredHighWatermark: number | undefined;
  /** Counts truncations: a sync that started before one must not move the recovery point. */
  private truncations = 0;
  private nextOffset: number;
  private readonly now: () => number;
  private readonly fdatasync: Fdatasync;
  private readonly onFlush: ((ms: number) => void) | undefined;
  private readonly logger: StorageLogger | undefined;
  private readonly onLogStartOffsetChange: ((log: Log) => void) | undefined;
  private readonly onTruncate: ((log: Log) => Promise<void>) | undefined;
  private readonly listeners = new Set<AppendListener>();
  /** One-shot waiters (wakeOnAppend), some possibly done already; swept when the array reaches waiterSweepAt. */
  private waiters: AppendWaiter[] = [];
  private waiterSweepAt = 8;
  /** The partition leader epoch stamped on markers: the one of the last append (single node: constant). */
  private leaderEpochForMarkers = 0;

  // Group commit state: `gen` counts changes needing durability, `durableGen` is the last one made durable.
  private gen = 0;
  private durableGen = 0;
  private inflight: Promise<void> | null = null;
  private inflightGen = -1;
  private pending: Promise<void> | null = null;
  private readonly unsynced: LogSegment[];
  private dirDirty: boolean;
  private parentDirDirty: boolean;
  private unflushed = 0;
  private lastFlush: number;
  private readonly deletions = new Set<Promise<void>>();
  private closed = false;

  constructor(init: LogInit) {
    if (init.segments.length === 0) throw new Error('a log needs at least one segment');
    this.dir = init.dir;
    this.topic = init.topic;
    this.partition = init.partition;
    this.config = init.config;
    this.segments = init.segments;
    this.nextOffset = this.active.nextOffset;
    this.logStartOffset = init.logStartOffset;
    this.recoveryPoint = Math.min(init.recoveryPoint, this.nextOffset);
    this.now = init.now ?? Date.now;
    this.fdatasync = init.fdatasync ?? defaultFdatasync;
    this.onFlush = init.onFlush;
    this.logger = init.logger;
    this.onLogStartOffsetChange = init.onLogStartOffsetChange;
    this.onTruncate = init.onTruncate;
    this.producerState = init.producerState ?? new ProducerStateManager(init.dir);
    this.leaderEpochCache = init.leaderEpochCache ?? LeaderEpochCache.load(init.dir) ?? LeaderEpochCache.empty(init.dir);
    this.replicated = init.replicated ?? false;
    this.hw = this.replicated ? this.clampHighWatermark(init.highWatermark ?? this.logStartOffset) : this.nextOffset;
    this.restoredHighWatermark = this.replicated ? undefined : init.highWatermark;
    this.unsynced = [...(init.unsyncedSegments ?? [])];
    this.dirDirty = init.dirDirty ?? false;
    this.parentDirDirty = init.parentDirDirty ?? false;
    this.lastFlush = this.now();
    if (this.unsynced.length > 0 || this.dirDirty || this.parentDirDirty || this.recoveryPoint < this.nextOffset) this.gen = 1;
    this.active.rollJitterMs = this.jitter();
  }

  get logEndOffset(): number {
    return this.nextOffset;
  }

  /** The log end offset, unless the log is replicated: then the offset below which every replica has the data. */
  get highWatermark(): number {
    return this.replicated ? this.hw : this.nextOffset;
  }

  /** The first offset of the oldest ongoing transaction if below the high watermark, else the high watermark. */
  get lastStableOffset(): number {
    const hw = this.highWatermark;
    const unstable = this.producerState.firstUnstableOffset;
    return unstable >= 0 && unstable < hw ? unstable : hw;
  }

  get isReplicated(): boolean {
    return this.replicated;
  }

  /**
   * Makes the high watermark an explicit field: the checkpointed one if the LogManager restored one, else
   * `initial`, else the log end offset (what the high watermark of the non-replicated log was). Idempotent.
   */
  enableReplication(initial?: number): void {
    if (this.replicated) return;
    this.hw = this.clampHighWatermark(this.restoredHighWatermark ?? initial ?? this.nextOffset);
    this.restoredHighWatermark = undefined;
    this.replicated = true;
  }

  /** What replication-offset-checkpoint should hold for this log: its HW if replicated, a restored one not applied yet, else undefined. */
  get checkpointHighWatermark(): number | undefined {
    return this.replicated ? this.hw : this.restoredHighWatermark;
  }

  /**
   * Sets the high watermark of a replicated log (a follower takes its leader's, which may be lower than the
   * current one), clamped to [logStartOffset, logEndOffset]; wakes onAppend listeners when it moves. Returns
   * the high watermark. Ignored (returns the log end) when the log is not replicated.
   */
  updateHighWatermark(hw: number): number {
    if (!this.replicated) return this.nextOffset;
    const next = this.clampHighWatermark(hw);
    if (next !== this.hw) {
      this.hw = next;
      if (this.listeners.size > 0 || this.waiters.length > 0) this.notify();
    }
    return this.hw;
  }

  /** The leader's update: moves the high watermark forward only (clamped to the log end). Returns whether it moved. */
  maybeIncrementHighWatermark(hw: number): boolean {
    if (!this.replicated || hw <= this.hw) return false;
    const before = this.hw;
    return this.updateHighWatermark(hw) !== before;
  }

  private clampHighWatermark(hw: number): number {
    return Math.min(Math.max(hw, this.logStartOffset), this.nextOffset);
  }

  /** The newest leader epoch that wrote to this log, -1 when none. */
  get latestEpoch(): number {
    return this.leaderEpochCache.latestEpoch;
  }

  /**
   * Becoming leader at `epoch` (Kafka assigns the epoch's start at the log end then, before any append, so a
   * follower asking for the previous epoch's end gets this offset). Markers written next carry this epoch.
   * Ignored when the epoch is not newer than the latest.
   */
  assignLeaderEpoch(epoch: number): void {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    if (epoch < 0 || epoch <= this.leaderEpochCache.latestEpoch) return;
    this.leaderEpochCache.assign(epoch, this.nextOffset);
    this.leaderEpochForMarkers = epoch;
  }

  /** OffsetsForLeaderEpoch: where `epoch` ends in this log (Kafka's semantics: LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.leaderEpochCache.endOffsetFor(epoch, this.nextOffset);
  }

  get topicPartition(): string {
    return `${this.topic}-${this.partition}`;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** The segments, oldest first (the last is active). For the log cleaner; do not keep across event-loop turns. */
  segmentList(): readonly LogSegment[] {
    return this.segments;
  }

  /** Records appended since the last completed flush (flush.messages). */
  get unflushedMessages(): number {
    return this.unflushed;
  }

  /** Wall clock of the last completed flush (flush.ms). */
  get lastFlushTime(): number {
    return this.lastFlush;
  }

  /** Something appended (or a segment rolled) is not durable yet. */
  get isDirty(): boolean {
    return this.gen !== this.durableGen;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Appends one or more concatenated, already validated v2 batches as received: stamps baseOffset and
   * partitionLeaderEpoch in place (and LogAppendTime when the topic uses it and the batch is not stamped yet),
   * rolls the segment first if segment.bytes / segment.ms / index space / offset range says so, and writes
   * all bytes with one write. Wakes onAppend listeners.
   *
   * A batch with a producer id (idempotent) must come alone; its sequence is checked against the producer
   * state first (ProducerStateManager.check): a duplicate is answered with the original offsets and not
   * written, a gap or stale epoch throws.
   */
  append(records: Buffer, opts: { leaderEpoch: number; recordCount?: number }): AppendResult {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    if (records.length === 0) throw new CorruptRecordError('no record batch to append');
    // The high half of the producer id is negative exactly when there is none: no bigint on the common path.
    const idempotent = records.length >= BATCH_HEADER_SIZE && records.readInt32BE(OFFSET_PRODUCER_ID) >= 0 && !isControl(records.readInt16BE(OFFSET_ATTRIBUTES));
    let producerId = -1n;
    let producerEpoch = -1;
    let firstSeq = -1;
    let lastSeq = -1;
    let transactional = false;
    if (idempotent) {
      if (records.readInt32BE(OFFSET_BATCH_LENGTH) + LOG_OVERHEAD !== records.length) {
        throw new KafkaError('INVALID_RECORD', 'a batch with a producer id must be the only batch of its partition in a produce request');
      }
      producerId = records.readBigInt64BE(OFFSET_PRODUCER_ID);
      producerEpoch = records.readInt16BE(OFFSET_PRODUCER_EPOCH);
      firstSeq = records.readInt32BE(OFFSET_BASE_SEQUENCE);
      lastSeq = incrementSequence(firstSeq, records.readInt32BE(OFFSET_LAST_OFFSET_DELTA));
      transactional = isTransactional(records.readInt16BE(OFFSET_ATTRIBUTES));
      const dup = this.producerState.check(producerId, producerEpoch, firstSeq, lastSeq, transactional);
      if (dup) return { baseOffset: dup.firstOffset, lastOffset: dup.lastOffset, logAppendTime: -1, duplicate: true };
    }
    // Before the data: a failure to persist the epoch writes nothing (an epoch starting at the log end is harmless).
    if (opts.leaderEpoch >= 0 && opts.leaderEpoch > this.leaderEpochCache.latestEpoch) this.leaderEpochCache.assign(opts.leaderEpoch, this.nextOffset);
    const w = this.write(records, opts.leaderEpoch, opts.recordCount, false);
    if (idempotent) this.producerState.update(producerId, producerEpoch, firstSeq, lastSeq, w.baseOffset, w.lastOffset, w.maxTimestamp, transactional);
    if (this.listeners.size > 0 || this.waiters.length > 0) this.notify();
    return { baseOffset: w.baseOffset, lastOffset: w.lastOffset, logAppendTime: w.logAppendTime };
  }

  /**
   * Completes the producer's transaction in this partition: appends a COMMIT/ABORT control batch (built with
   * buildControlBatch) and, for an ABORT of an ongoing transaction, records the aborted range in the active
   * segment's transaction index; the LSO moves past the transaction. Returns the marker's offset. Throws
   * INVALID_PRODUCER_EPOCH if the epoch is older than the producer's (TRANSACTION_COORDINATOR_FENCED for an
   * older coordinator epoch). Callers await flush() afterwards.
   */
  writeTxnMarker(m: { producerId: bigint; producerEpoch: number; coordinatorEpoch: number; commit: boolean; timestamp: number; leaderEpoch?: number }): number {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    this.producerState.checkMarker(m.producerId, m.producerEpoch, m.coordinatorEpoch);
    const batch = buildControlBatch(m.commit ? 'COMMIT' : 'ABORT', m.producerId, m.producerEpoch, m.coordinatorEpoch, 0, m.timestamp);
    const epoch = m.leaderEpoch ?? this.leaderEpochForMarkers;
    if (epoch >= 0 && epoch > this.leaderEpochCache.latestEpoch) this.leaderEpochCache.assign(epoch, this.nextOffset);
    const w = this.write(batch, epoch, 1, false);
    const aborted = this.producerState.applyMarker(m.producerId, m.producerEpoch, m.coordinatorEpoch, m.commit, w.baseOffset, w.maxTimestamp);
    if (aborted) this.active.txnIndex.append(aborted);
    if (this.listeners.size > 0 || this.waiters.length > 0) this.notify();
    return w.baseOffset;
  }

  /** Aborted transactions overlapping [fetchOffset, upperBound): for a read_committed Fetch response. */
  abortedTransactions(fetchOffset: number, upperBound: number): Array<{ producerId: bigint; firstOffset: number }> {
    const out: Array<{ producerId: bigint; firstOffset: number }> = [];
    for (let i = this.segmentIndexFor(fetchOffset); i < this.segments.length; i++) {
      if (this.segments[i]!.txnIndex.collect(fetchOffset, upperBound, out)) break;
    }
    return out;
  }

  /**
   * The follower's append: `records` are whole v2 batches fetched from the leader, offsets and
   * partitionLeaderEpoch already set, written as they are (not re-stamped; CRCs checked). The first batch must
   * start at the log end offset (else UnexpectedAppendOffsetError) and offsets must increase (gaps allowed: a
   * compacted leader log has them). Each batch updates the leader epoch cache (an epoch newer than the latest
   * starts at its base offset) and the producer state without the checks that could refuse it (data batches
   * record the producer's last batches and open transactions; COMMIT/ABORT markers complete them, an ABORT
   * also entering the active segment's transaction index, as writeTxnMarker does). Rolls like append() and
   * wakes onAppend listeners.
   */
  appendAsFollower(records: Buffer): FollowerAppendResult {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    if (records.length === 0) throw new CorruptRecordError('no record batch to append');
    const w = this.write(records, -1, undefined, true);
    const cache = this.leaderEpochCache;
    let assigned = false;
    let pos = 0;
    while (pos < records.length) {
      const size = records.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      const epoch = records.readInt32BE(pos + OFFSET_PARTITION_LEADER_EPOCH);
      if (epoch >= 0 && epoch > cache.latestEpoch) assigned = cache.assign(epoch, readInt64(records, pos), false) || assigned;
      if (epoch >= 0) this.leaderEpochForMarkers = epoch;
      const aborted = this.producerState.replayBatchHeader(records, pos, size);
      if (aborted) this.active.txnIndex.append(aborted);
      pos += size;
    }
    if (this.listeners.size > 0 || this.waiters.length > 0) this.notify();
    if (assigned) cache.flush();
    return { firstOffset: w.baseOffset, lastOffset: w.lastOffset };
  }

  /**
   * Validates and writes batches (see append): the leader's path stamps offsets, the leader epoch and
   * LogAppendTime; the follower's (`asFollower`) keeps what the batches carry and checks their offsets and CRCs.
   * Wakes nobody, updates no producer state.
   */
  private write(
    records: Buffer, leaderEpoch: number, recordCount: number | undefined, asFollower: boolean,
  ): { baseOffset: number; lastOffset: number; logAppendTime: number; maxTimestamp: number } {
    if (!asFollower) this.leaderEpochForMarkers = leaderEpoch;
    const now = this.now();
    const logAppend = !asFollower && this.config.messageTimestampType === 'LogAppendTime';
    const baseOffset = this.nextOffset;
    let logAppendTime = -1;
    let offset = baseOffset;
    let maxTimestamp = -1;
    let batchRecords = 0;
    let pos = 0;
    while (pos < records.length) {
      if (records.length - pos < BATCH_HEADER_SIZE) throw new CorruptRecordError(`${records.length - pos} trailing bytes are not a batch`);
      const size = records.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE || size > records.length - pos) throw new CorruptRecordError(`batch at byte ${pos} declares ${size} bytes`);
      if (records[pos + OFFSET_MAGIC] !== CURRENT_MAGIC) throw new CorruptRecordError(`batch at byte ${pos} is not magic v2`);
      if (!asFollower && pos > 0 && records.readInt32BE(pos + OFFSET_PRODUCER_ID) >= 0 && !isControl(records.readInt16BE(pos + OFFSET_ATTRIBUTES))) {
        throw new KafkaError('INVALID_RECORD', 'a batch with a producer id must be the only batch of its partition in a produce request');
      }
      const delta = records.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
      if (delta < 0) throw new CorruptRecordError(`batch at byte ${pos} has lastOffsetDelta ${delta}`);
      if (asFollower) {
        const base = readInt64(records, pos);
        if (pos === 0 && base !== baseOffset) throw new UnexpectedAppendOffsetError(this.topicPartition, base, baseOffset);
        if (base < offset) throw new CorruptRecordError(`batch at byte ${pos} has base offset ${base}, below the previous batch's end ${offset}`);
        if (!isCrcValid(records, pos)) throw new CorruptRecordError(`batch at byte ${pos} (offset ${base}) fails its CRC`);
        offset = base;
      } else {
        setBaseOffset(records, pos, offset);
        setPartitionLeaderEpoch(records, pos, leaderEpoch);
      }
      if (logAppend) {
        const attributes = records.readInt16BE(pos + OFFSET_ATTRIBUTES);
        if ((attributes & TIMESTAMP_TYPE_MASK) === 0) {
          records.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, pos + OFFSET_ATTRIBUTES);
          writeInt64(records, pos + OFFSET_MAX_TIMESTAMP, now);
          updateCrc(records, pos);
        }
        if (logAppendTime < 0) logAppendTime = readInt64(records, pos + OFFSET_MAX_TIMESTAMP);
      }
      const ts = readInt64(records, pos + OFFSET_MAX_TIMESTAMP);
      if (ts > maxTimestamp) maxTimestamp = ts;
      batchRecords += records.readInt32BE(pos + OFFSET_RECORDS_COUNT);
      offset += delta + 1;
      pos += size;
    }
    const lastOffset = offset - 1;
    this.maybeRoll(records.length, maxTimestamp, lastOffset, now);
    this.active.append(records, this.config.indexIntervalBytes, now);
    this.nextOffset = offset;
    this.gen++;
    this.unflushed += recordCount ?? batchRecords;
    if (this.unflushed >= this.config.flushMessages) this.flushInBackground();
    return { baseOffset, lastOffset, logAppendTime, maxTimestamp };
  }

  private maybeRoll(size: number, maxTimestamp: number, lastOffset: number, now: number): void {
    const seg = this.active;
    if (seg.size === 0) return;
    const cfg = this.config;
    if (
      seg.size + size > cfg.segmentBytes ||
      seg.offsetIndex.isFull ||
      seg.timeIndex.isFull ||
      lastOffset - seg.baseOffset > INT32_MAX ||
      seg.timeWaitedForRoll(now, maxTimestamp) > this.maxSegmentMs - seg.rollJitterMs
    ) {
      this.roll(now);
    }
  }

  /** Starts a new active segment at the log end offset. */
  roll(now = this.now()): void {
    const old = this.active;
    if (old.size === 0) return;
    old.onBecomeInactive();
    // The state covering everything below the new segment: recovery replays from here, not from the start.
    try {
      this.producerState.writeSnapshot(this.nextOffset, false);
    } catch (err) {
      this.logger?.warn({ err, topic: this.topic, partition: this.partition }, 'producer state snapshot failed; recovery will replay further back');
    }
    const seg = LogSegment.create(this.dir, this.nextOffset, this.config.segmentIndexBytes, now);
    seg.rollJitterMs = this.jitter();
    this.segments.push(seg);
    this.unsynced.push(old);
    this.dirDirty = true;
    this.gen++;
    // Like Kafka, make the finished segment durable soon rather than at the next requested flush.
    this.flushInBackground();
  }

  /** segment.ms; for a compacted topic at most max.compaction.lag.ms, so the head becomes cleanable in time (Kafka's rule). */
  private get maxSegmentMs(): number {
    const cfg = this.config;
    return cfg.cleanupPolicy.includes('compact') ? Math.min(cfg.segmentMs, cfg.maxCompactionLagMs) : cfg.segmentMs;
  }

  private jitter(): number {
    const j = Math.min(this.config.segmentJitterMs, this.config.segmentMs);
    return j > 0 && Number.isFinite(j) ? Math.floor(Math.random() * j) : 0;
  }

  /** Resolves once everything appended before the call is on disk (one shared fdatasync per event-loop turn). */
  flush(): Promise<void> {
    if (this.gen === this.durableGen) return RESOLVED;
    if (this.inflight && this.inflightGen === this.gen) return this.inflight;
    if (!this.pending) {
      const prior = this.inflight;
      this.pending = (async () => {
        if (prior) await prior.catch(noop);
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.pending = null;
        await this.runSync();
      })();
    }
    return this.pending;
  }

  private flushInBackground(): void {
    this.flush().catch((err: unknown) => this.logger?.error({ err, topic: this.topic, partition: this.partition }, 'background flush failed'));
  }

  private runSync(): Promise<void> {
    const gen = this.gen;
    const target = this.nextOffset;
    const truncations = this.truncations;
    const unflushed = this.unflushed;
    const segments = this.unsynced.splice(0);
    const dir = this.dirDirty;
    const parentDir = this.parentDirDirty;
    const active = this.active;
    this.dirDirty = false;
    this.parentDirDirty = false;
    const run = async (): Promise<void> => {
      const started = this.onFlush ? performance.now() : 0;
      try {
        const syncs: Promise<void>[] = segments.map((s) => s.sync(this.fdatasync, true));
        syncs.push(active.sync(this.fdatasync, false));
        if (dir) syncs.push(syncDir(this.dir, this.fdatasync));
        if (parentDir) syncs.push(syncDir(path.dirname(this.dir), this.fdatasync));
        await Promise.all(syncs);
      } catch (err) {
        this.unsynced.unshift(...segments.filter((s) => !s.isClosed && this.segments.includes(s)));
        if (dir) this.dirDirty = true;
        if (parentDir) this.parentDirDirty = true;
        throw new StorageError(`fdatasync of ${this.topicPartition} failed: ${(err as Error).message}`, { cause: err });
      }
      if (gen > this.durableGen) this.durableGen = gen;
      // After a truncation, `target` may name offsets that were removed (or rewritten since).
      if (target > this.recoveryPoint && truncations === this.truncations) this.recoveryPoint = target;
      this.unflushed = Math.max(0, this.unflushed - unflushed);
      this.lastFlush = this.now();
      this.onFlush?.(performance.now() - started);
    };
    const p = run();
    this.inflight = p;
    this.inflightGen = gen;
    p.then(
      () => this.clearInflight(p),
      () => this.clearInflight(p),
    );
    return p;
  }

  private clearInflight(p: Promise<void>): void {
    if (this.inflight === p) this.inflight = null;
  }

  /**
   * Whole batches starting with the batch that contains `offset`, from one segment, at most maxBytes — except
   * that with minOneBatch a first batch bigger than maxBytes is returned whole (KIP-74). Empty at the log end.
   * `maxOffset` (read_committed: the LSO, always a batch boundary) excludes the batches at or above it.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset = this.nextOffset, alloc?: (size: number) => Buffer): Buffer {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    if (offset < this.logStartOffset || offset > this.nextOffset) {
      throw new OffsetOutOfRangeError(this.topicPartition, offset, this.logStartOffset, this.nextOffset);
    }
    if (offset >= maxOffset || offset === this.nextOffset) return EMPTY;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const position = seg.translateOffset(offset);
      if (position < 0) continue;
      let limit = maxBytes;
      if (maxOffset < seg.nextOffset) {
        // The bound is the start of the batch holding maxOffset, in this segment: whole batches stay below it.
        const bound = seg.translateOffset(maxOffset) - position;
        if (bound <= 0) return EMPTY;
        if (bound < limit) limit = bound;
      }
      return seg.read(position, limit, minOneBatch, alloc);
    }
    return EMPTY;
  }

  /** Index of the segment whose base offset is the largest <= offset (0 if offset precedes them all). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** ListOffsets by time: the earliest record (exact offset) at or after logStartOffset with timestamp >= ts. */
  offsetForTimestamp(ts: number): TimestampAndOffset | null {
    for (const seg of this.segments) {
      if (seg.maxTimestampSoFar < ts || seg.nextOffset <= this.logStartOffset) continue;
      const found = seg.findOffsetByTimestamp(ts, this.logStartOffset);
      if (found) return found;
    }
    return null;
  }

  /** ListOffsets MAX_TIMESTAMP (-3, KIP-734): the first record with the largest timestamp, or null if none. */
  offsetOfMaxTimestamp(): TimestampAndOffset | null {
    let best: LogSegment | undefined;
    for (const seg of this.segments) if (seg.maxTimestampSoFar > (best?.maxTimestampSoFar ?? -1)) best = seg;
    return best ? best.offsetOfMaxTimestamp() : null;
  }

  /**
   * DeleteRecords: moves the log start offset up to `offset` (-1: the high watermark), persists it, and deletes
   * segments wholly below it. Returns the new low watermark.
   */
  deleteRecordsBefore(offset: number): number {
    const target = offset === -1 ? this.highWatermark : offset;
    if (target < 0 || target > this.highWatermark) {
      throw new OffsetOutOfRangeError(this.topicPartition, offset, this.logStartOffset, this.highWatermark);
    }
    if (target > this.logStartOffset) {
      this.logStartOffset = target;
      this.onLogStartOffsetChange?.(this);
      this.producerState.truncateHead(target);
      this.afterLogStartOffsetIncrease();
    }
    this.deleteSegmentsBelowLogStart();
    return this.logStartOffset;
  }

  /** Bytes of all segment .log files. */
  size(): number {
    let total = 0;
    for (const seg of this.segments) total += seg.size;
    return total;
  }

  /**
   * Deletes old segments by retention.ms (largest record timestamp older than that) and retention.bytes (oldest
   * first while the log stays at or above the limit), plus segments below the log start offset. Never the
   * active segment; nothing by time/size unless cleanup.policy includes delete. Returns segments deleted.
   */
  applyRetention(now: number): number {
    if (this.closed) return 0;
    let deleted = this.deleteSegmentsBelowLogStart();
    const cfg = this.config;
    if (!cfg.cleanupPolicy.includes('delete')) return deleted;
    if (cfg.retentionMs >= 0 && Number.isFinite(cfg.retentionMs)) {
      while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.highWatermark && now - this.segments[0]!.largestTimestamp > cfg.retentionMs) {
        this.deleteOldestSegment('retention.ms');
        deleted++;
      }
    }
    if (cfg.retentionBytes >= 0) {
      let excess = this.size() - cfg.retentionBytes;
      while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.highWatermark && excess - this.segments[0]!.size >= 0) {
        excess -= this.segments[0]!.size;
        this.deleteOldestSegment('retention.bytes');
        deleted++;
      }
    }
    return deleted;
  }

  /** The leader epoch cache and the high watermark follow a log start offset that moved up. */
  private afterLogStartOffsetIncrease(): void {
    if (this.replicated && this.hw < this.logStartOffset) this.hw = this.logStartOffset;
    try {
      this.leaderEpochCache.truncateFromStart(this.logStartOffset);
    } catch (err) {
      // Harmless if stale: the loader clamps the cache to the log start offset again.
      this.logger?.warn({ err, topic: this.topic, partition: this.partition }, 'could not update the leader epoch checkpoint');
    }
  }

  private deleteSegmentsBelowLogStart(): number {
    let deleted = 0;
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.logStartOffset) {
      this.deleteOldestSegment('log start offset');
      deleted++;
    }
    return deleted;
  }

  private deleteOldestSegment(reason: string): void {
    const seg = this.segments.shift()!;
    const i = this.unsynced.indexOf(seg);
    if (i >= 0) this.unsynced.splice(i, 1);
    if (this.segments[0]!.baseOffset > this.logStartOffset) {
      this.logStartOffset = this.segments[0]!.baseOffset;
      this.afterLogStartOffsetIncrease();
    }
    this.producerState.truncateHead(this.logStartOffset);
    try {
      this.producerState.deleteSnapshotsBelow(this.segments[0]!.baseOffset);
    } catch (err) {
      this.logger?.warn({ err, topic: this.topic, partition: this.partition }, 'could not delete old producer state snapshots');
    }
    this.logger?.info({ topic: this.topic, partition: this.partition, baseOffset: seg.baseOffset, size: seg.size, reason }, 'deleting segment');
    // An in-flight fdatasync may still use the segment's descriptors: close them only after it.
    const remove = async (): Promise<void> => {
      if (this.inflight) await this.inflight.catch(noop);
      const paths = seg.markDeleted();
      await Promise.all(paths.map((p) => fs.promises.rm(p, { force: true })));
    };
    const p = remove().catch((err: unknown) => this.logger?.error({ err, topic: this.topic, partition: this.partition }, 'segment deletion failed'));
    this.deletions.add(p);
    void p.then(() => this.deletions.delete(p));
  }

  /**
   * Removes every batch at or above `offset` (a follower whose log diverged from its leader's; no-op when
   * offset >= logEndOffset). Segments with a base offset above it are deleted, the one containing it is cut
   * (log, offset/time/transaction indexes; a batch holding `offset` goes whole, as in Kafka) and becomes the
   * active segment; below the first segment the log restarts empty there (truncateFullyAndStartAt). The
   * producer state is rebuilt (newest snapshot at or below the new end, replayed; later snapshots deleted), the
   * leader epoch cache loses the epochs starting at or after the new end, the high watermark, recovery point
   * and (Kafka's rule) log start offset are lowered to it. Synchronous in memory; the promise resolves once
   * the change is durable (segment fdatasync, directory fsync).
   */
  truncateTo(offset: number): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError(`log ${this.topicPartition} is closed`));
    if (!Number.isSafeInteger(offset) || offset < 0) return Promise.reject(new StorageError(`cannot truncate ${this.topicPartition} to offset ${offset}`));
    if (offset >= this.nextOffset) return RESOLVED;
    if (offset < this.segments[0]!.baseOffset) return this.truncateFullyAndStartAt(offset);
    this.truncations++;
    const i = this.segmentIndexFor(offset);
    const removed = this.segments.splice(i + 1);
    const seg = this.segments[i]!;
    for (const old of removed) old.renameFiles('', DELETED_SUFFIX);
    seg.truncateTo(offset, this.config.indexIntervalBytes);
    this.nextOffset = seg.nextOffset;
    if (this.logStartOffset > this.nextOffset) {
      this.logStartOffset = this.nextOffset;
      this.onLogStartOffsetChange?.(this);
    }
    this.afterTruncation(removed);
    this.leaderEpochCache.truncateFromEnd(this.nextOffset);
    this.rebuildProducerState();
    return this.durable();
  }

  /**
   * Deletes every segment and restarts the log empty at `offset`, which becomes the log start offset (a
   * follower whose fetch offset is below its leader's log start). Producer state and snapshots, and the
   * leader epoch cache, are cleared. Synchronous in memory; the promise resolves once it is durable.
   */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError(`log ${this.topicPartition} is closed`));
    if (!Number.isSafeInteger(offset) || offset < 0) return Promise.reject(new StorageError(`cannot restart ${this.topicPartition} at offset ${offset}`));
    this.truncations++;
    const removed = this.segments.splice(0);
    for (const old of removed) old.renameFiles('', DELETED_SUFFIX);
    const seg = LogSegment.create(this.dir, offset, this.config.segmentIndexBytes, this.now());
    seg.rollJitterMs = this.jitter();
    this.segments.push(seg);
    this.nextOffset = offset;
    this.logStartOffset = offset;
    this.onLogStartOffsetChange?.(this);
    this.afterTruncation(removed);
    this.producerState.clear();
    this.producerState.deleteSnapshotsBelow(Number.MAX_SAFE_INTEGER);
    this.leaderEpochCache.clear();
    return this.durable();
  }

  /** A truncation's end: the log synced and the owner's onTruncate work done. */
  private async durable(): Promise<void> {
    await Promise.all([this.flush(), this.onTruncate?.(this)]);
  }

  /** What both truncations share once the segment list is final: offsets clamped, removed segments unlinked later. */
  private afterTruncation(removed: LogSegment[]): void {
    if (this.recoveryPoint > this.nextOffset) this.recoveryPoint = this.nextOffset;
    if (this.replicated) this.hw = this.clampHighWatermark(this.hw);
    for (const old of removed) {
      const j = this.unsynced.indexOf(old);
      if (j >= 0) this.unsynced.splice(j, 1);
    }
    // The cut segment and the renames must reach the disk before the promise resolves.
    this.dirDirty = true;
    this.gen++;
    if (removed.length === 0) return;
    // An in-flight fdatasync may still use their descriptors: close them only after it.
    const remove = async (): Promise<void> => {
      if (this.inflight) await this.inflight.catch(noop);
      await Promise.all(removed.map((old) => old.closeAndRemove(DELETED_SUFFIX)));
    };
    const p = remove().catch((err: unknown) => this.logger?.error({ err, topic: this.topic, partition: this.partition }, 'removing truncated segments failed'));
    this.deletions.add(p);
    void p.then(() => this.deletions.delete(p));
  }

  /** Producer state after a truncation: the newest snapshot at or below the log end, then the batches after it. */
  private rebuildProducerState(): void {
    const state = this.producerState;
    const from = Math.max(state.loadLatestSnapshot(this.nextOffset, this.now()), this.logStartOffset);
    for (const seg of this.segments) {
      if (seg.nextOffset <= from) continue;
      seg.visitBatchHeaders(from, (buf, at, size) => {
        state.replayBatchHeader(buf, at, size);
      });
    }
    state.truncateHead(this.logStartOffset);
  }

  /** Whether `segs` are, in order, consecutive non-active segments of this log (still). */
  holdsSegments(segs: readonly LogSegment[]): boolean {
    const first = segs.length > 0 ? this.segments.indexOf(segs[0]!) : -1;
    return first >= 0 && first + segs.length < this.segments.length && segs.every((s, i) => this.segments[first + i] === s);
  }

  /**
   * The log cleaner's swap: `cleaned` (files still named `<base>.*.cleaned`, already fsynced) replaces `old`,
   * consecutive non-active segments of this log, the first with cleaned's base offset. Each step is a rename,
   * so a crash between any two leaves files the loader completes or undoes (log-loader.ts):
   *   1. cleaned's files .cleaned → .swap, directory fsync   (from here the loader completes the swap)
   *   2. each old segment's files → .deleted                  (the loader removes these)
   *   3. cleaned's files .swap → final names, directory fsync
   * Then the segment list changes in memory (synchronously: readers see the old or the new list) and the old
   * segments are closed and unlinked after any in-flight fdatasync. Throws StorageError, changing nothing, if
   * `old` are no longer this log's segments (retention or DeleteRecords removed one while cleaning).
   * `step` is a test hook called after each step.
   */
  replaceSegments(cleaned: LogSegment, old: readonly LogSegment[], step?: (name: 'swap' | 'deleted' | 'renamed') => void): void {
    if (this.closed) throw new StorageError(`log ${this.topicPartition} is closed`);
    if (!this.holdsSegments(old) || old[0]!.baseOffset !== cleaned.baseOffset) throw new StorageError(`segments of ${this.topicPartition} changed while cleaning`);
    const first = this.segments.indexOf(old[0]!);
    cleaned.renameFiles(CLEANED_SUFFIX, SWAP_SUFFIX);
    syncDirSync(this.dir);
    step?.('swap');
    for (const seg of old) seg.renameFiles('', DELETED_SUFFIX);
    step?.('deleted');
    cleaned.renameFiles(SWAP_SUFFIX, '');
    syncDirSync(this.dir);
    step?.('renamed');
    this.segments.splice(first, old.length, cleaned);
    for (const seg of old) {
      const i = this.unsynced.indexOf(seg);
      if (i >= 0) this.unsynced.splice(i, 1);
    }
    const remove = async (): Promise<void> => {
      if (this.inflight) await this.inflight.catch(noop);
      await Promise.all(old.map((seg) => seg.closeAndRemove(DELETED_SUFFIX)));
    };
    const p = remove().catch((err: unknown) => this.logger?.error({ err, topic: this.topic, partition: this.partition }, 'removing replaced segments failed'));
    this.deletions.add(p);
    void p.then(() => this.deletions.delete(p));
  }

  /** Calls `listener` after every append (fetch long-polling); returns the unsubscribe function. */
  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Wakes `waiter` once, on this log's next append or high-watermark move (see AppendWaiter). A long poll over
   * 10,000 partitions registered and removed a listener closure on each of them per wait (onAppend): removing
   * 10,000 Set entries on every wake-up was the broker's largest cost under a trickle of records.
   */
  wakeOnAppend(waiter: AppendWaiter): void {
    if (this.waiters.length >= this.waiterSweepAt) {
      // Done waiters of polls that ended elsewhere (timed out, woken by another log): amortised O(1) per add.
      this.waiters = this.waiters.filter((w) => !w.done);
      this.waiterSweepAt = Math.max(8, this.waiters.length * 2);
    }
    this.waiters.push(waiter);
  }

  private notify(): void {
    if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      this.waiterSweepAt = 8;
      for (const w of waiters) if (!w.done && w.wake(this) === false) this.waiters.push(w);
    }
    for (const listener of this.listeners) {
      try {
        listener(this);
      } catch (err) {
        this.logger?.error({ err, topic: this.topic, partition: this.partition }, 'append listener failed');
      }
    }
  }

  /** Flushes (unless told not to: the log is being deleted) and closes every file. Appends fail afterwards. */
  async close(opts: { flush?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.waiters = [];
    try {
      if (opts.flush !== false) {
        await this.flush();
        // Next start loads this instead of replaying the active segment.
        await this.producerState.writeSnapshotDurable(this.nextOffset);
      }
    } finally {
      if (this.pending) await this.pending.catch(noop);
      if (this.inflight) await this.inflight.catch(noop);
      await Promise.all(this.deletions);
      for (const seg of this.segments) seg.close();
    }
  }
}
