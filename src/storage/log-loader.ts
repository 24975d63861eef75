/**
 * Opening one partition directory: deciding what to trust, recovering the rest, and building the Log.
 *
 * Trust rules (Kafka's): after a clean shutdown (the data directory held `.kafka_cleanshutdown`) every segment
 * is trusted: its indexes are loaded and only the tail after the last index entry is read (CRC-checked for the
 * newest segment). After an unclean shutdown, segments below the one containing the recovery point are
 * trusted the same way, and that segment and every later one is recovered: each batch is validated (size,
 * magic, CRC, increasing offsets), the file is truncated at the first invalid or torn batch, the indexes are
 * rebuilt, and all later segments are deleted. A trusted segment whose indexes are missing or inconsistent
 * is recovered too. Trusted segments other than the newest are opened lazily (log-segment.ts): nothing of them
 * is read or kept open until first used, so start-up does not grow with the number of segments; an
 * inconsistency found at that first use is recovered in place (that segment only).
 *
 * Producer state: the newest valid `<offset>.snapshot` at or below the recovered log end is loaded (newer
 * ones describe lost data and are deleted) and the batch headers from there to the log end are replayed.
 * When segments were recovered, the snapshot must lie at or below the first of them: the replay also refills
 * their transaction indexes (`.txnindex`, reset by recovery) from the ABORT markers and the ongoing
 * transactions it tracks.
 *
 * Leader epochs: `leader-epoch-checkpoint` is loaded; when it is missing or malformed and the log holds
 * batches, it is rebuilt from the batch headers (partitionLeaderEpoch, no record decoding) and written. Either
 * way the epochs starting at or after the log end are dropped and the earliest is clamped to the log start.
 * A replicated log's high watermark comes from the LogManager (replication-offset-checkpoint), clamped to
 * [log start, log end].
 *
 * Leftovers removed on open: `*.deleted` (segment deletion interrupted), `*.tmp`, and index files without a
 * .log. An interrupted log-cleaner swap is settled first, as Kafka does (protocol in log-cleaner.ts): every
 * `*.cleaned` file is removed, and so is every `*.swap` file at or above the lowest `.cleaned` base offset; a
 * remaining `.swap` segment replaces the segment files whose base offset lies in [its base, its next offset)
 * and is renamed to its final name. If the persisted log start offset is beyond what survived, the log restarts empty at that offset.
 *
 * Concurrency: synchronous; runs before the log is visible to anyone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readFully, syncDirSync, type Fdatasync } from './file-io.js';
import type { LogConfig } from './log-config.js';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  SEGMENT_FILE_SUFFIXES,
  SEGMENT_INDEX_SUFFIXES,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
  parseSegmentFileName,
  removeSegmentFiles,
  segmentFileName,
} from './log-segment.js';
import {
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  OFFSET_BATCH_LENGTH,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_PARTITION_LEADER_EPOCH,
  readInt64,
} from '../protocol/records/record-batch.js';
import { LeaderEpochCache } from './leader-epoch-cache.js';
import { Log, type StorageLogger } from './log.js';
import { ProducerStateManager } from './producer-state-manager.js';

export interface LoadLogParams {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  hadCleanShutdown: boolean;
  /** From recovery-point-offset-checkpoint; 0 when unknown (recover everything after an unclean shutdown). */
  recoveryPoint: number;
  /** From log-start-offset-checkpoint; 0 when unknown. */
  logStartOffset: number;
  now: () => number;
  fdatasync?: Fdatasync;
  onFlush?: (ms: number) => void;
  logger?: StorageLogger;
  onLogStartOffsetChange?: (log: Log) => void;
  onTruncate?: (log: Log) => Promise<void>;
  /** Open the log replicated (explicit high watermark: see Log.updateHighWatermark). */
  replicated?: boolean;
  /** From replication-offset-checkpoint, if it has the partition. */
  highWatermark?: number;
  /** producer.id.expiration.ms (default 86400000). */
  producerIdExpirationMs?: number;
}

export interface LoadStats {
  segments: number;
  /** Segments fully scanned (CRC of every batch) and re-indexed. */
  segmentsRecovered: number;
  bytesTruncated: number;
  /** Segments deleted because an earlier one was corrupt. */
  segmentsDeleted: number;
  /** Batch headers read to rebuild producer state after the newest usable snapshot. */
  producerBatchesReplayed: number;
  /** Logs whose leader-epoch-checkpoint was missing or malformed and rebuilt from batch headers. */
  leaderEpochCachesRebuilt: number;
}

export function emptyLoadStats(): LoadStats {
  return { segments: 0, segmentsRecovered: 0, bytesTruncated: 0, segmentsDeleted: 0, producerBatchesReplayed: 0, leaderEpochCachesRebuilt: 0 };
}

export function loadLog(p: LoadLogParams): { log: Log; stats: LoadStats } {
  const stats = emptyLoadStats();
  const { dir, config } = p;
  const created = !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  if (!created) completeInterruptedSwaps(p);
  const names = fs.readdirSync(dir);
  const bases: number[] = [];
  for (const name of names) {
    if (name.endsWith(DELETED_SUFFIX) || name.endsWith('.tmp')) {
      fs.rmSync(path.join(dir, name), { force: true });
      continue;
    }
    const base = parseSegmentFileName(name, LOG_SUFFIX);
    if (base >= 0) bases.push(base);
  }
  bases.sort((a, b) => a - b);
  const known = new Set(bases);
  const present = new Set(names);
  for (const name of names) {
    for (const suffix of SEGMENT_INDEX_SUFFIXES) {
      const base = parseSegmentFileName(name, suffix);
      if (base >= 0 && !known.has(base)) fs.rmSync(path.join(dir, name), { force: true });
    }
  }

  const now = p.now();
  const segments: LogSegment[] = [];
  const recovered: LogSegment[] = [];
  /** Every segment recover() ran on, the newest included: their transaction indexes need rebuilding. */
  const rebuilt = new Set<LogSegment>();
  try {
    // Unclean: recover from the segment holding the recovery point (the last one with base <= it).
    let recoverFrom = p.hadCleanShutdown ? Infinity : 0;
    if (!p.hadCleanShutdown) for (let i = 0; i < bases.length; i++) if (bases[i]! <= p.recoveryPoint) recoverFrom = i;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const newest = i === bases.length - 1;
      const trusted = i < recoverFrom;
      const indexesPresent = present.has(segmentFileName(base, INDEX_SUFFIX)) && present.has(segmentFileName(base, TIME_INDEX_SUFFIX));
      const { segment, indexesMissing } = LogSegment.open(dir, base, config.segmentIndexBytes, now, {
        indexesPresent,
        lazy: trusted && !newest ? { indexIntervalBytes: config.indexIntervalBytes } : undefined,
      });
      segments.push(segment);
      if (segment.isLoadDeferred) continue;
      let recover = !trusted || indexesMissing;
      if (!recover && !segment.loadTail(newest)) {
        p.logger?.warn({ topic: p.topic, partition: p.partition, baseOffset: base }, 'segment indexes or tail inconsistent; recovering segment');
        recover = true;
      }
      if (!recover) continue;
      const truncated = segment.recover(config.indexIntervalBytes);
      rebuilt.add(segment);
      stats.segmentsRecovered++;
      stats.bytesTruncated += truncated;
      if (!newest) recovered.push(segment);
      if (truncated > 0) {
        p.logger?.warn({ topic: p.topic, partition: p.partition, baseOffset: base, bytesTruncated: truncated }, 'invalid or torn batch found; log truncated');
        if (!newest) {
          for (const later of bases.slice(i + 1)) removeSegmentFiles(dir, later);
          stats.segmentsDeleted += bases.length - i - 1;
          recovered.pop();
          break;
        }
      }
    }
    let logStartOffset = p.logStartOffset;
    if (segments.length === 0 || logStartOffset > segments[segments.length - 1]!.nextOffset) {
      // Nothing on disk, or everything the log start offset points into was lost: start empty there.
      for (const seg of segments) {
        seg.close();
        removeSegmentFiles(dir, seg.baseOffset);
      }
      segments.length = 0;
      recovered.length = 0;
      rebuilt.clear();
      segments.push(LogSegment.create(dir, Math.max(0, logStartOffset), config.segmentIndexBytes, now));
    }
    logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
    stats.segments = segments.length;
    const producerState = rebuildProducerState(p, segments, rebuilt, logStartOffset, now, stats);
    const leaderEpochCache = loadLeaderEpochCache(p, segments, logStartOffset, stats);
    // Loading read the newest (and any recovered) segments: their descriptors go until an append or a read.
    for (const seg of segments) seg.releaseDescriptor();
    const log = new Log({
      dir,
      topic: p.topic,
      partition: p.partition,
      config,
      segments,
      logStartOffset,
      recoveryPoint: p.hadCleanShutdown ? Infinity : p.recoveryPoint,
      unsyncedSegments: recovered,
      dirDirty: created || bases.length === 0,
      parentDirDirty: created,
      now: p.now,
      fdatasync: p.fdatasync,
      onFlush: p.onFlush,
      logger: p.logger,
      onLogStartOffsetChange: p.onLogStartOffsetChange,
      onTruncate: p.onTruncate,
      producerState,
      leaderEpochCache,
      replicated: p.replicated,
      highWatermark: p.highWatermark,
    });
    if (stats.segmentsRecovered > 0) {
      p.logger?.info({ topic: p.topic, partition: p.partition, ...stats, logEndOffset: log.logEndOffset }, 'log recovered');
    }
    return { log, stats };
  } catch (err) {
    for (const seg of segments) seg.close();
    throw err;
  }
}

/**
 * Newest usable snapshot (at or below the first rebuilt segment), then the batch headers after it (from the
 * log start offset at the earliest), refilling the transaction indexes of the rebuilt segments.
 */
function rebuildProducerState(
  p: LoadLogParams, segments: LogSegment[], rebuilt: Set<LogSegment>, logStartOffset: number, now: number, stats: LoadStats,
): ProducerStateManager {
  const state = new ProducerStateManager(p.dir, { expirationMs: p.producerIdExpirationMs });
  let maxSnapshot = segments[segments.length - 1]!.nextOffset;
  for (const seg of rebuilt) maxSnapshot = Math.min(maxSnapshot, seg.baseOffset);
  const from = Math.max(state.loadLatestSnapshot(maxSnapshot, now), logStartOffset);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    // The next segment's base bounds this one's offsets: a lazily opened segment below `from` stays unread.
    if ((i + 1 < segments.length && segments[i + 1]!.baseOffset <= from) || seg.nextOffset <= from) continue;
    const refill = rebuilt.has(seg);
    seg.visitBatchHeaders(from, (buf, at, size) => {
      const aborted = state.replayBatchHeader(buf, at, size);
      if (aborted && refill) seg.txnIndex.append(aborted);
      stats.producerBatchesReplayed++;
    });
  }
  state.truncateHead(logStartOffset);
  state.removeExpired(now);
  state.deleteSnapshotsBelow(segments[0]!.baseOffset);
  return state;
}

/**
 * The partition's leader-epoch-checkpoint, or (missing or malformed, and the log not empty) the epochs read
 * from the batch headers, written back; then cut to the log's offsets.
 */
function loadLeaderEpochCache(p: LoadLogParams, segments: LogSegment[], logStartOffset: number, stats: LoadStats): LeaderEpochCache {
  const logEnd = segments[segments.length - 1]!.nextOffset;
  let cache = LeaderEpochCache.load(p.dir);
  if (!cache) {
    cache = LeaderEpochCache.empty(p.dir);
    if (logEnd > logStartOffset) {
      const c = cache;
      for (const seg of segments) {
        if (seg.nextOffset <= logStartOffset) continue;
        seg.visitBatchHeaders(logStartOffset, (buf, at) => {
          const epoch = buf.readInt32BE(at + OFFSET_PARTITION_LEADER_EPOCH);
          if (epoch >= 0 && epoch > c.latestEpoch) c.assign(epoch, readInt64(buf, at), false);
        });
      }
      c.truncateFromStart(logStartOffset); // writes the file if it changed anything
      c.flush();
      stats.leaderEpochCachesRebuilt++;
      p.logger?.info({ topic: p.topic, partition: p.partition, epochs: c.epochEntries().length }, 'leader epoch cache rebuilt from the log');
    }
  }
  cache.truncateFromEnd(logEnd);
  cache.truncateFromStart(logStartOffset);
  return cache;
}

/** The base offset of a segment file name with any of the segment suffixes, or -1. */
function segmentBaseOf(name: string): number {
  for (const suffix of SEGMENT_FILE_SUFFIXES) {
    const base = parseSegmentFileName(name, suffix);
    if (base >= 0) return base;
  }
  return -1;
}

/** The offset after the last whole batch of a .log file (its base offset when it holds none). */
function nextOffsetOfLogFile(file: string, baseOffset: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    let next = baseOffset;
    let pos = 0;
    while (pos + BATCH_HEADER_SIZE <= size && readFully(fd, head, pos) === BATCH_HEADER_SIZE) {
      const batchSize = head.readInt32BE(OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      if (batchSize < BATCH_HEADER_SIZE || pos + batchSize > size) break;
      next = readInt64(head, 0) + head.readInt32BE(OFFSET_LAST_OFFSET_DELTA) + 1;
      pos += batchSize;
    }
    return next;
  } finally {
    fs.closeSync(fd);
  }
}

/** Completes or undoes a log-cleaner swap interrupted by a crash (see the file comment). */
function completeInterruptedSwaps(p: LoadLogParams): void {
  const { dir } = p;
  const names = fs.readdirSync(dir);
  let minCleaned = Infinity;
  let changed = false;
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    const base = segmentBaseOf(name.slice(0, -CLEANED_SUFFIX.length));
    if (base >= 0) minCleaned = Math.min(minCleaned, base);
    fs.rmSync(path.join(dir, name), { force: true });
    changed = true;
  }
  const swaps = new Set<number>();
  for (const name of names) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const base = segmentBaseOf(name.slice(0, -SWAP_SUFFIX.length));
    if (base < 0) continue;
    changed = true;
    if (base >= minCleaned) fs.rmSync(path.join(dir, name), { force: true });
    else swaps.add(base);
  }
  for (const base of [...swaps].sort((a, b) => a - b)) {
    const logSwap = path.join(dir, segmentFileName(base, LOG_SUFFIX) + SWAP_SUFFIX);
    if (!fs.existsSync(logSwap)) {
      for (const suffix of SEGMENT_FILE_SUFFIXES) fs.rmSync(path.join(dir, segmentFileName(base, suffix) + SWAP_SUFFIX), { force: true });
      continue;
    }
    const end = Math.max(nextOffsetOfLogFile(logSwap, base), base + 1);
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith(SWAP_SUFFIX)) continue;
      const old = segmentBaseOf(name);
      if (old >= base && old < end) fs.rmSync(path.join(dir, name), { force: true });
    }
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const final = path.join(dir, segmentFileName(base, suffix));
      try {
        fs.renameSync(final + SWAP_SUFFIX, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    p.logger?.info({ topic: p.topic, partition: p.partition, baseOffset: base, replacedUpTo: end }, 'completed an interrupted log cleaner swap');
  }
  if (changed) syncDirSync(dir);
}
