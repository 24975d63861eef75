/**
 * The log cleaner: compaction of `cleanup.policy=compact` (and `compact,delete`) logs, as Kafka does it.
 *
 * One pass over one log (the "filthiest": largest dirty ratio above min.cleanable.dirty.ratio, or any log whose
 * oldest dirty record is older than max.compaction.lag.ms):
 *   1. The cleanable range: from the first dirty offset (this file's checkpoint; the log start offset when
 *      there is none) to the first uncleanable offset — the base of the active segment, of the segment
 *      holding the last stable offset (open transactions are never cleaned), or of the first segment with a
 *      record newer than min.compaction.lag.ms, whichever comes first.
 *   2. An OffsetMap (key → latest offset) of that dirty range, skipping control batches and aborted
 *      transactional data. When the map is full (log.cleaner.dedupe.buffer.size) the pass ends where mapping
 *      stopped and the rest waits for the next pass.
 *   3. Every segment below that end, from the log start, grouped into runs whose summed sizes fit segment.bytes
 *      and segment.index.bytes (and one int32 offset range), is copied into one new segment keeping, batch by
 *      batch: records whose key maps to their own offset or later (or is absent from the map), tombstones
 *      until their batch's delete horizon (now + delete.retention.ms, stamped on the batch the first time a
 *      pass keeps it: KIP-534), committed transactional data, and transaction markers while data of their
 *      transaction remains (or until their own delete horizon). Aborted transactional data and keyless records
 *      go. A batch that loses records is rewritten with its original base offset, last offset delta (offsets
 *      keep their gaps), producer fields and codec (recompressed); a producer's last batch stays, empty if need
 *      be, so its sequence state survives recovery (Kafka's RETAIN_EMPTY).
 *   4. The checkpoint moves to the end of the mapped range.
 *
 * On disk, per group of segments (Log.replaceSegments performs steps b–d):
 *   a. `<base>.log.cleaned`, `.index.cleaned`, `.timeindex.cleaned`, `.txnindex.cleaned` written and fsynced
 *   b. renamed to `*.swap`, directory fsynced — from here the clean is committed
 *   c. each replaced segment's files renamed to `*.deleted`
 *   d. `*.swap` renamed to the final names, directory fsynced; the `.deleted` files are then unlinked
 * Recovery (log-loader.ts): `.cleaned` files are removed, and so is any `.swap` at or above the lowest
 * `.cleaned` base (a half-renamed step b); a remaining `.swap` replaces every segment whose base offset lies in
 * [its base, its next offset), then takes its final name; `.deleted` files are removed. A kill -9 at any point
 * leaves a valid log: the old segments, or the cleaned one.
 * `cleaner-offset-checkpoint` (data directory, the recovery-point file format): per partition, the first dirty
 * offset; written atomically after each pass. Losing it only means cleaning more next time.
 *
 * Concurrency: single JS thread. A pass works in slices of log.cleaner.io.buffer.size bytes read, yielding to
 * the event loop (setImmediate) after each, and sleeping when over log.cleaner.io.max.bytes.per.second, so
 * produce and fetch are never held up for more than one slice. Appends go on meanwhile (only to the active
 * segment, which is never cleaned); a pass whose segments were removed meanwhile (retention, DeleteRecords) is
 * abandoned at its swap, as is one whose log closes or whose partition is paused (pause/abortTopic).
 * One partition at a time (log.cleaner.threads is accepted; one cleaner runs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CONTROL_FLAG_MASK,
  DELETE_HORIZON_FLAG_MASK,
  TRANSACTIONAL_FLAG_MASK,
  type BatchHeader,
} from '../protocol/records/record-batch.js';
import { decodeRecordBatch, iterateBatches, readControlRecord } from '../protocol/records/record.js';
import { filterBatch, forEachRecord } from '../protocol/records/record-filter.js';
import { defaultFdatasync, type Fdatasync } from './file-io.js';
import type { BrokerDefaults } from './log-config.js';
import { CLEANED_SUFFIX, LogSegment } from './log-segment.js';
import type { Log, StorageLogger } from './log.js';
import { OffsetCheckpointFile, partitionKey } from './offset-checkpoint.js';
import { OffsetMap } from './offset-map.js';
import { StorageError } from './storage-error.js';
import type { AbortedTxn } from './transaction-index.js';

export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const INT32_MAX = 2147483647;
/** The throttle measures the rate over windows of this length (Kafka's throttler checks every 300 ms). */
const THROTTLE_WINDOW_MS = 300;
const noop = (): void => {};

export interface LogCleanerConfig {
  /** log.cleaner.enable */
  enable: boolean;
  /** log.cleaner.threads: 0 runs no cleaner; more are accepted, one cleaner runs */
  threads: number;
  /** log.cleaner.dedupe.buffer.size: bounds the offset map (24 bytes an entry) */
  dedupeBufferSize: number;
  /** log.cleaner.io.buffer.load.factor */
  loadFactor: number;
  /** log.cleaner.io.buffer.size: bytes read per slice */
  ioBufferSize: number;
  /** log.cleaner.io.max.bytes.per.second */
  ioMaxBytesPerSecond: number;
  /** log.cleaner.backoff.ms: sleep when no log needs cleaning */
  backoffMs: number;
}

/** The cleaner's broker keys, with Kafka's defaults. */
export function logCleanerConfig(brokerDefaults: BrokerDefaults): LogCleanerConfig {
  const num = (key: string, fallback: number): number => {
    const raw = brokerDefaults[key];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    return Number.isNaN(n) ? fallback : n;
  };
  return {
    enable: String(brokerDefaults['log.cleaner.enable'] ?? 'true') !== 'false',
    threads: num('log.cleaner.threads', 1),
    dedupeBufferSize: num('log.cleaner.dedupe.buffer.size', 134_217_728),
    loadFactor: num('log.cleaner.io.buffer.load.factor', 0.9),
    ioBufferSize: Math.max(4096, num('log.cleaner.io.buffer.size', 524_288)),
    ioMaxBytesPerSecond: num('log.cleaner.io.max.bytes.per.second', Infinity),
    backoffMs: Math.max(1, num('log.cleaner.backoff.ms', 15_000)),
  };
}

export type SwapStep = 'cleaned' | 'swap' | 'deleted' | 'renamed';

export interface LogCleanerOptions {
  dataDir: string;
  /** Every open log (the cleaner picks the compacted ones). */
  logs: () => Log[];
  config: LogCleanerConfig;
  logger?: StorageLogger;
  now?: () => number;
  fdatasync?: Fdatasync;
  /** Test hook: called after each step of a group's swap (crash tests kill the process here). */
  onSwapStep?: (step: SwapStep, log: Log) => void;
}

export interface CleanableRange {
  firstDirty: number;
  firstUncleanable: number;
  /** Bytes of segments wholly below firstDirty. */
  cleanBytes: number;
  /** Bytes of segments in [firstDirty, firstUncleanable). */
  cleanableBytes: number;
  ratio: number;
  /** The oldest dirty record is older than max.compaction.lag.ms. */
  needCompactionNow: boolean;
}

export interface CleanerStats {
  topic: string;
  partition: number;
  firstDirty: number;
  /** The new first dirty offset (checkpointed). */
  endOffset: number;
  segmentsBefore: number;
  segmentsAfter: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRetained: number;
  keysMapped: number;
  ms: number;
}

/** The pass was abandoned (log closed, partition paused, segments changed); nothing is wrong with the log. */
class CleaningAborted extends Error {}

interface Job {
  log: Log;
  key: string;
  aborted: boolean;
  done: Promise<void>;
  /** The log's segments when the pass began: one gone since (retention, DeleteRecords) explains a failed read. */
  segmentsAtStart: readonly LogSegment[];
  /** Segments this pass replaced itself. */
  replaced: Set<LogSegment>;
}

/**
 * Kafka's CleanedTransactionMetadata: which transactional batches are aborted, and when a marker may go.
 * Aborted transactions (from the transaction indexes) become "ongoing" as the walk reaches their first
 * offset; the ABORT marker ends them.
 */
class TxnTracker {
  private next = 0;
  private readonly ongoingAborted = new Map<bigint, { txn: AbortedTxn; dataSeen: boolean }>();
  private readonly ongoingCommitted = new Set<bigint>();

  constructor(private readonly aborted: AbortedTxn[]) {}

  private consumeUpTo(offset: number): void {
    while (this.next < this.aborted.length && this.aborted[this.next]!.firstOffset <= offset) {
      const txn = this.aborted[this.next++]!;
      this.ongoingAborted.set(txn.producerId, { txn, dataSeen: false });
    }
  }

  /** A data batch: true when it belongs to an aborted transaction. */
  onBatch(h: BatchHeader): boolean {
    const last = h.baseOffset + h.lastOffsetDelta;
    this.consumeUpTo(last);
    if ((h.attributes & TRANSACTIONAL_FLAG_MASK) === 0) return false;
    const a = this.ongoingAborted.get(h.producerId);
    if (a) {
      a.dataSeen = true;
      return true;
    }
    this.ongoingCommitted.add(h.producerId);
    return false;
  }

  /**
   * A control batch: whether the marker may be removed (no data of its transaction was met in this pass), and
   * for an ABORT marker that must stay, its aborted transaction (the cleaned segment's .txnindex entry).
   */
  onMarker(h: BatchHeader, type: 'ABORT' | 'COMMIT' | 'UNKNOWN'): { discardable: boolean; abortedTxn?: AbortedTxn } {
    this.consumeUpTo(h.baseOffset + h.lastOffsetDelta);
    if (type === 'ABORT') {
      const a = this.ongoingAborted.get(h.producerId);
      this.ongoingAborted.delete(h.producerId);
      return a?.dataSeen ? { discardable: false, abortedTxn: a.txn } : { discardable: true };
    }
    if (type === 'COMMIT') return { discardable: !this.ongoingCommitted.delete(h.producerId) };
    return { discardable: false };
  }
}

/** Aborted transactions with data below `endOffset`, from every segment's transaction index, by first offset. */
function collectAborted(log: Log, endOffset: number): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (const seg of log.segmentList()) for (const e of seg.txnIndex.all()) if (e.firstOffset < endOffset) out.push(e);
  return out.sort((a, b) => a.firstOffset - b.firstOffset);
}

/** Kafka's groupSegmentsBySize: consecutive segments whose sums fit one segment's limits. */
export function groupSegmentsBySize(segments: readonly LogSegment[], maxBytes: number, maxIndexBytes: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [segments[i]!];
    let bytes = segments[i]!.size;
    let offsetIndexBytes = segments[i]!.offsetIndex.entries * 8;
    let timeIndexBytes = segments[i]!.timeIndex.entries * 12;
    i++;
    while (i < segments.length) {
      const s = segments[i]!;
      if (
        bytes + s.size > maxBytes ||
        offsetIndexBytes + s.offsetIndex.entries * 8 > maxIndexBytes ||
        timeIndexBytes + s.timeIndex.entries * 12 > maxIndexBytes ||
        Math.max(s.nextOffset - 1, s.baseOffset) - group[0]!.baseOffset > INT32_MAX
      ) {
        break;
      }
      group.push(s);
      bytes += s.size;
      offsetIndexBytes += s.offsetIndex.entries * 8;
      timeIndexBytes += s.timeIndex.entries * 12;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

export class LogCleaner {
  readonly config: LogCleanerConfig;
  private readonly checkpointFile: OffsetCheckpointFile;
  private readonly checkpoints = new Map<string, number>();
  private checkpointChain: Promise<void> = Promise.resolve();
  private readonly paused = new Map<string, number>();
  private readonly uncleanable = new Set<string>();
  private readonly now: () => number;
  private readonly fdatasync: Fdatasync;
  private current: Job | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private allPaused = 0;
  private wake: (() => void) | undefined;
  /** Ends a throttle sleep of the pass in progress early (it is being abandoned). */
  private interruptThrottle: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private windowStart = performance.now();
  private windowBytes = 0;
  /** Passes completed since start (for tests and logs). */
  passes = 0;

  constructor(private readonly opts: LogCleanerOptions) {
    this.config = opts.config;
    this.now = opts.now ?? Date.now;
    this.fdatasync = opts.fdatasync ?? defaultFdatasync;
    this.checkpointFile = new OffsetCheckpointFile(path.join(opts.dataDir, CLEANER_OFFSET_CHECKPOINT_FILE), opts.logger);
  }

  /** Reads cleaner-offset-checkpoint. */
  loadCheckpoints(): void {
    for (const [k, v] of this.checkpointFile.read()) this.checkpoints.set(k, v);
  }

  /** The first dirty offset recorded for a partition, or undefined. */
  checkpointOf(topic: string, partition: number): number | undefined {
    return this.checkpoints.get(partitionKey(topic, partition));
  }

  /** Starts the background loop (when log.cleaner.enable and log.cleaner.threads > 0). */
  start(): void {
    if (!this.config.enable || this.config.threads < 1 || this.loop || this.stopped) return;
    this.loop = this.run();
  }

  /** Stops the loop, abandoning a pass in progress (its .cleaned files are removed), and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abortCurrent();
    this.wakeUp();
    await this.loop;
    await this.current?.done;
    await this.checkpointChain.catch(noop);
  }

  /** Pauses all cleaning (abandoning a pass in progress) until resume(); resolves once nothing is cleaning. */
  async pause(): Promise<void> {
    this.allPaused++;
    this.abortCurrent();
    await this.current?.done;
  }

  resume(): void {
    if (this.allPaused > 0) this.allPaused--;
    this.wakeUp();
  }

  /**
   * For a topic being deleted: abandons its pass in progress, waits for it, and forgets its checkpoints.
   */
  async abortTopic(topic: string): Promise<void> {
    const prefix = `${topic}-`;
    const job = this.current;
    if (job && job.log.topic === topic) {
      this.abortCurrent();
      await job.done;
    }
    for (const k of [...this.checkpoints.keys()]) {
      if (k.startsWith(prefix) && /^\d+$/.test(k.slice(prefix.length))) this.checkpoints.delete(k);
    }
    this.uncleanable.forEach((k) => k.startsWith(prefix) && this.uncleanable.delete(k));
    await this.writeCheckpoints();
  }

  /**
   * The log was truncated (Log.truncateTo): a pass over it is abandoned (called synchronously, so the pass
   * sees it before its swap), and a first dirty offset beyond the new log end moves back to it, as Kafka's
   * maybeTruncateCheckpoint does. Resolves once the checkpoint is written.
   */
  onLogTruncated(log: Log): Promise<void> {
    const key = partitionKey(log.topic, log.partition);
    if (this.current?.key === key && this.current.log === log) this.abortCurrent();
    const firstDirty = this.checkpoints.get(key);
    if (firstDirty === undefined || firstDirty <= log.logEndOffset) return Promise.resolve();
    this.checkpoints.set(key, log.logEndOffset);
    return this.writeCheckpoints();
  }

  /** Pauses one partition (Kafka's abortAndPauseCleaning); resolves once it is not being cleaned. */
  async pausePartition(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    this.paused.set(key, (this.paused.get(key) ?? 0) + 1);
    const job = this.current;
    if (job && job.key === key) {
      this.abortCurrent();
      await job.done;
    }
  }

  resumePartition(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    const n = (this.paused.get(key) ?? 0) - 1;
    if (n > 0) this.paused.set(key, n);
    else this.paused.delete(key);
    this.wakeUp();
  }

  private abortCurrent(): void {
    if (!this.current) return;
    this.current.aborted = true;
    this.interruptThrottle?.();
  }

  private wakeUp(): void {
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let cleaned = false;
      if (this.allPaused === 0) {
        try {
          cleaned = (await this.cleanFilthiest()) !== null;
        } catch (err) {
          this.opts.logger?.error({ err }, 'log cleaner failed');
        }
      }
      if (this.stopped) break;
      if (cleaned) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.sleepTimer = setTimeout(() => this.wakeUp(), this.config.backoffMs).unref();
      });
    }
  }

  /** What a pass over `log` would clean now. */
  cleanableRange(log: Log, now = this.now()): CleanableRange {
    const segs = log.segmentList();
    const active = segs[segs.length - 1]!;
    const cfg = log.config;
    let firstDirty = this.checkpoints.get(partitionKey(log.topic, log.partition)) ?? log.logStartOffset;
    if (firstDirty < log.logStartOffset || firstDirty > log.logEndOffset) firstDirty = log.logStartOffset;
    const lso = log.lastStableOffset;
    let firstUncleanable = active.baseOffset;
    for (const seg of segs) {
      if (seg === active) break;
      if (seg.nextOffset > lso || (cfg.minCompactionLagMs > 0 && seg.largestTimestamp > now - cfg.minCompactionLagMs)) {
        firstUncleanable = seg.baseOffset;
        break;
      }
    }
    let cleanBytes = 0;
    let cleanableBytes = 0;
    let firstDirtyTimestamp = -1;
    for (const seg of segs) {
      if (seg === active || seg.baseOffset >= firstUncleanable) break;
      if (seg.nextOffset <= firstDirty) {
        cleanBytes += seg.size;
      } else {
        if (cleanableBytes === 0 && seg.size > 0) firstDirtyTimestamp = seg.firstBatchMaxTimestamp();
        cleanableBytes += seg.size;
      }
    }
    const total = cleanBytes + cleanableBytes;
    const needCompactionNow = cleanableBytes > 0 && Number.isFinite(cfg.maxCompactionLagMs) && firstDirtyTimestamp >= 0 && now - firstDirtyTimestamp > cfg.maxCompactionLagMs;
    return { firstDirty, firstUncleanable, cleanBytes, cleanableBytes, ratio: total > 0 ? cleanableBytes / total : 0, needCompactionNow };
  }

  /** Cleans the log most in need (dirty ratio above min.cleanable.dirty.ratio, or past max.compaction.lag.ms). */
  async cleanFilthiest(): Promise<CleanerStats | null> {
    const now = this.now();
    let best: { log: Log; ratio: number } | undefined;
    for (const log of this.opts.logs()) {
      const key = partitionKey(log.topic, log.partition);
      if (!log.config.cleanupPolicy.includes('compact') || log.isClosed || this.paused.has(key) || this.uncleanable.has(key)) continue;
      const r = this.cleanableRange(log, now);
      if (r.cleanableBytes === 0) continue;
      if (!(r.ratio > log.config.minCleanableDirtyRatio || r.needCompactionNow)) continue;
      const ratio = r.needCompactionNow ? Infinity : r.ratio;
      if (!best || ratio > best.ratio) best = { log, ratio };
    }
    return best ? this.clean(best.log) : null;
  }

  /**
   * One pass over `log`, whatever its dirty ratio. Resolves with what it did, or null when there was nothing
   * to clean or the pass was abandoned.
   */
  async clean(log: Log): Promise<CleanerStats | null> {
    if (this.current) throw new StorageError('the log cleaner is already cleaning a log');
    const key = partitionKey(log.topic, log.partition);
    let finish = noop;
    const job: Job = { log, key, aborted: false, done: new Promise<void>((resolve) => (finish = resolve)), segmentsAtStart: [...log.segmentList()], replaced: new Set() };
    this.current = job;
    try {
      return await this.doClean(job);
    } catch (err) {
      const current = log.segmentList();
      const segmentsGone = job.segmentsAtStart.some((seg) => !current.includes(seg) && !job.replaced.has(seg));
      if (err instanceof CleaningAborted || job.aborted || log.isClosed || segmentsGone) {
        this.opts.logger?.info({ topic: log.topic, partition: log.partition, reason: (err as Error).message }, 'log cleaning abandoned');
        return null;
      }
      this.uncleanable.add(key);
      this.opts.logger?.error({ err, topic: log.topic, partition: log.partition }, 'log cleaning failed; partition marked uncleanable');
      return null;
    } finally {
      this.current = undefined;
      finish();
    }
  }

  private async doClean(job: Job): Promise<CleanerStats | null> {
    const { log } = job;
    const started = performance.now();
    const now = this.now();
    const cfg = log.config;
    const range = this.cleanableRange(log, now);
    if (range.cleanableBytes === 0) return null;
    const stats: CleanerStats = {
      topic: log.topic, partition: log.partition, firstDirty: range.firstDirty, endOffset: range.firstDirty, segmentsBefore: log.segmentCount,
      segmentsAfter: 0, bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsRetained: 0, keysMapped: 0, ms: 0,
    };
    const map = new OffsetMap(this.config.dedupeBufferSize / Math.max(1, this.config.threads), this.config.loadFactor);
    const endOffset = await this.buildOffsetMap(job, range.firstDirty, range.firstUncleanable, map, stats);
    if (endOffset <= range.firstDirty) {
      this.uncleanable.add(job.key);
      this.opts.logger?.warn({ topic: log.topic, partition: log.partition, capacity: map.capacity }, 'offset map cannot hold one record; raise log.cleaner.dedupe.buffer.size');
      return null;
    }
    stats.keysMapped = map.size;
    stats.endOffset = endOffset;

    const segments = log.segmentList().filter((s, i, all) => i < all.length - 1 && s.baseOffset < endOffset);
    const groups = groupSegmentsBySize(segments, cfg.segmentBytes, cfg.segmentIndexBytes);
    const producerLast = new Map<bigint, number>();
    for (const e of log.producerState.activeProducers()) {
      const last = e.batches.at(-1);
      if (last) producerLast.set(e.producerId, last.lastOffset);
    }
    const txn = new TxnTracker(collectAborted(log, endOffset));
    for (const group of groups) await this.cleanGroup(job, group, { map, txn, producerLast, now, stats });
    // A truncation after the last swap: the mapped range may be gone (onLogTruncated moved the checkpoint back).
    if (job.aborted) throw new CleaningAborted('aborted');

    this.checkpoints.set(job.key, endOffset);
    await this.writeCheckpoints();
    stats.segmentsAfter = log.segmentCount;
    stats.ms = Math.round(performance.now() - started);
    this.passes++;
    this.opts.logger?.info({ ...stats }, 'log cleaned');
    return stats;
  }

  /** Maps the keys of [from, to); returns where mapping ended (to, unless the map filled up). */
  private async buildOffsetMap(job: Job, from: number, to: number, map: OffsetMap, stats: CleanerStats): Promise<number> {
    const txn = new TxnTracker(collectAborted(job.log, to));
    for (const seg of job.log.segmentList()) {
      if (seg.nextOffset <= from) continue;
      if (seg.baseOffset >= to) break;
      let pos = from > seg.baseOffset ? seg.translateOffset(from) : 0;
      if (pos < 0) continue;
      const size = seg.size;
      while (pos < size) {
        const chunk = seg.read(pos, this.config.ioBufferSize, true);
        if (chunk.length === 0) break;
        for (const { pos: at, header } of iterateBatches(chunk)) {
          if (header.baseOffset >= to) return to;
          if ((header.attributes & CONTROL_FLAG_MASK) !== 0) {
            txn.onMarker(header, controlType(chunk, at));
            continue;
          }
          if (txn.onBatch(header)) continue;
          let full = false;
          forEachRecord(chunk, at, (r) => {
            if (full || r.key === null || r.offset < from) return;
            if (!map.put(r.key, r.offset)) full = true;
          });
          if (full) return map.latestOffset + 1;
        }
        pos += chunk.length;
        stats.bytesRead += chunk.length;
        await this.pace(job, chunk.length);
      }
    }
    return to;
  }

  private async cleanGroup(
    job: Job,
    group: LogSegment[],
    ctx: { map: OffsetMap; txn: TxnTracker; producerLast: Map<bigint, number>; now: number; stats: CleanerStats },
  ): Promise<void> {
    const { log } = job;
    const cfg = log.config;
    const cleaned = LogSegment.create(log.dir, group[0]!.baseOffset, cfg.segmentIndexBytes, this.now(), CLEANED_SUFFIX);
    let swapped = false;
    try {
      for (const seg of group) {
        const size = seg.size;
        let pos = 0;
        while (pos < size) {
          const chunk = seg.read(pos, this.config.ioBufferSize, true);
          if (chunk.length === 0) break;
          const out: Buffer[] = [];
          const aborted: AbortedTxn[] = [];
          for (const { pos: at, header } of iterateBatches(chunk)) {
            const b = this.cleanBatch(chunk, at, header, ctx, aborted);
            if (b) out.push(b);
          }
          if (out.length > 0) {
            const bytes = Buffer.concat(out);
            cleaned.append(bytes, cfg.indexIntervalBytes, ctx.now);
            ctx.stats.bytesWritten += bytes.length;
          }
          for (const a of aborted) cleaned.txnIndex.append(a);
          pos += chunk.length;
          ctx.stats.bytesRead += chunk.length;
          await this.pace(job, chunk.length);
        }
      }
      cleaned.onBecomeInactive();
      cleaned.lastModified = Math.max(...group.map((s) => s.lastModified));
      await cleaned.sync(this.fdatasync, true);
      this.opts.onSwapStep?.('cleaned', log);
      if (job.aborted || log.isClosed) throw new CleaningAborted('aborted');
      if (!log.holdsSegments(group)) throw new CleaningAborted('segments removed while cleaning (retention or DeleteRecords)');
      log.replaceSegments(cleaned, group, (step) => this.opts.onSwapStep?.(step, log));
      swapped = true;
      for (const seg of group) job.replaced.add(seg);
      // As Kafka does: the cleaned file keeps the age of what it replaces (retention of compact,delete logs).
      const mtime = cleaned.lastModified / 1000;
      fs.utimesSync(cleaned.logPath, mtime, mtime);
    } finally {
      if (!swapped) await cleaned.closeAndRemove(CLEANED_SUFFIX);
    }
  }

  /** The batch as it stays in the cleaned segment, or null when it goes. */
  private cleanBatch(
    buf: Buffer,
    at: number,
    h: BatchHeader,
    ctx: { map: OffsetMap; txn: TxnTracker; producerLast: Map<bigint, number>; now: number; stats: CleanerStats },
    aborted: AbortedTxn[],
  ): Buffer | null {
    const size = h.batchLength + 12;
    const whole = (): Buffer => buf.subarray(at, at + size);
    const horizon = (h.attributes & DELETE_HORIZON_FLAG_MASK) !== 0 ? h.baseTimestamp : -1;
    const lastOffset = h.baseOffset + h.lastOffsetDelta;
    ctx.stats.recordsRead += h.recordsCount;
    if ((h.attributes & CONTROL_FLAG_MASK) !== 0) {
      const m = ctx.txn.onMarker(h, controlType(buf, at));
      if (m.abortedTxn) aborted.push(m.abortedTxn);
      if (!m.discardable) return whole();
      if (horizon >= 0) return ctx.now >= horizon ? null : whole();
      const r = filterBatch(buf, at, { retain: () => true, setDeleteHorizon: ctx.now + this.deleteRetentionMs(), retainEmpty: false });
      return r.kind === 'rewritten' ? r.batch : whole();
    }
    const discard = ctx.txn.onBatch(h);
    const retainEmpty = h.producerId >= 0n && ctx.producerLast.get(h.producerId) === lastOffset;
    const map = ctx.map;
    const now = ctx.now;
    const r = filterBatch(buf, at, {
      retain: (rec) => {
        if (discard || rec.key === null) return false;
        const latest = map.get(rec.key);
        if (latest >= 0 && rec.offset < latest) return false;
        return !(rec.tombstone && horizon >= 0 && now >= horizon);
      },
      setDeleteHorizon: -1,
      deleteHorizonIfTombstone: now + this.deleteRetentionMs(),
      retainEmpty,
    });
    if (r.kind === 'deleted') return null;
    ctx.stats.recordsRetained += r.retained;
    return r.kind === 'unchanged' ? whole() : r.batch;
  }

  /** delete.retention.ms of the log being cleaned. */
  private deleteRetentionMs(): number {
    const ms = this.current?.log.config.deleteRetentionMs ?? 86_400_000;
    return Number.isFinite(ms) ? ms : 8.64e15;
  }

  /** After each slice: throttle to log.cleaner.io.max.bytes.per.second, yield to the event loop, stop if told. */
  private async pace(job: Job, bytes: number): Promise<void> {
    const rate = this.config.ioMaxBytesPerSecond;
    let sleepMs = 0;
    if (Number.isFinite(rate) && rate > 0) {
      const t = performance.now();
      this.windowBytes += bytes;
      const elapsed = t - this.windowStart;
      sleepMs = (this.windowBytes / rate) * 1000 - elapsed;
      if (elapsed >= THROTTLE_WINDOW_MS && sleepMs <= 0) {
        this.windowStart = t;
        this.windowBytes = 0;
      }
    }
    if (sleepMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(sleepMs, 10_000)).unref();
        this.interruptThrottle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.interruptThrottle = undefined;
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (job.aborted || this.stopped || job.log.isClosed) throw new CleaningAborted('aborted');
  }

  private writeCheckpoints(): Promise<void> {
    const entries = [...this.checkpoints].map(([k, offset]) => {
      const dash = k.lastIndexOf('-');
      return { topic: k.slice(0, dash), partition: Number(k.slice(dash + 1)), offset };
    });
    const next = this.checkpointChain.catch(noop).then(() => this.checkpointFile.write(entries));
    this.checkpointChain = next;
    return next;
  }
}

function controlType(buf: Buffer, at: number): 'ABORT' | 'COMMIT' | 'UNKNOWN' {
  const rec = decodeRecordBatch(buf, at).records[0];
  return rec ? readControlRecord(rec).type : 'UNKNOWN';
}
