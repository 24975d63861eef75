/**
 * One log segment: `<20-digit baseOffset>.log` plus its `.index` (OffsetIndex), `.timeindex` (TimeIndex) and,
 * once a transaction aborts in it, `.txnindex` (TransactionIndex).
 *
 * On-disk format of the .log: v2 record batches back to back, exactly as produced (baseOffset and
 * partitionLeaderEpoch stamped by the broker), nothing else — no header, no padding, no preallocation, so the
 * file size is the end of the last batch. Batch offsets are >= baseOffset and increase; every batch's offsets
 * lie within [baseOffset, baseOffset + 2^31 - 1] so relative offsets fit the indexes' int32.
 *
 * Concurrency: owned by one Log on the single JS thread. Appends are one synchronous positional write each
 * (page cache speed, never interleaved); reads are synchronous positional reads into fresh buffers, so a reader
 * never sees a half-written batch and never holds a file handle across an await. Durability is sync(), an
 * asynchronous fdatasync; the owner must not close() while a sync() is pending (Log orders this). truncateTo()
 * (a replica diverging from its leader) is synchronous too: ftruncate of the .log and the indexes' tails.
 * Deletion renames the files to `*.deleted` first (a crash leaves only garbage the loader removes).
 *
 * Descriptors and loading are lazy, so that 10,000 partitions or 10,000 segments cost neither 30,000 descriptors
 * nor a read of every index at start-up: the .log is opened on its first read, write or sync (and closed again
 * once a rolled segment is synced), the indexes hold no descriptor (abstract-index.ts), and a segment opened
 * `lazy` (trusted: below the recovery point or after a clean shutdown, not the newest) reads its indexes and
 * the tail after the last index entry only when something first asks for its offsets, timestamps or indexes.
 * Should that first read find the segment inconsistent, it is recovered in place (recover()).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BATCH_HEADER_SIZE,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BATCH_LENGTH,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  isControl,
  isCrcValid,
  readInt64,
} from '../protocol/records/record-batch.js';
import { decodeRecordBatch } from '../protocol/records/record.js';
import { readFully, writeFully, type Fdatasync } from './file-io.js';
import { OffsetIndex } from './offset-index.js';
import { StorageError } from './storage-error.js';
import { TimeIndex } from './time-index.js';
import { TXN_INDEX_SUFFIX, TransactionIndex } from './transaction-index.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';
/** A segment the log cleaner is writing (never valid: removed on load). */
export const CLEANED_SUFFIX = '.cleaned';
/** A finished cleaned segment replacing older ones (completed on load: see log-loader.ts). */
export const SWAP_SUFFIX = '.swap';
/** The files beside a segment's .log; none is valid without it. */
export const SEGMENT_INDEX_SUFFIXES: readonly string[] = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX];
export const SEGMENT_FILE_SUFFIXES: readonly string[] = [LOG_SUFFIX, ...SEGMENT_INDEX_SUFFIXES];
const INT32_MAX = 2147483647;
/** Read size when walking batch headers; one read usually covers a whole index interval. */
const SCAN_CHUNK = 64 * 1024;
/** How many of the last appended batches a segment remembers the positions of (see translateOffset). */
const RECENT_BATCHES = 16;
const EMPTY = Buffer.alloc(0);

/** Kafka's segment file name: the base offset zero-padded to 20 digits. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** The base offset in a segment file name, or -1 if the name is not `<20 digits><suffix>`. */
export function parseSegmentFileName(name: string, suffix: string): number {
  if (!name.endsWith(suffix)) return -1;
  const digits = name.slice(0, -suffix.length);
  return /^\d{20}$/.test(digits) ? Number(digits) : -1;
}

/** Deletes every file of the segment at baseOffset (those that exist). */
export function removeSegmentFiles(dir: string, baseOffset: number, suffixes: readonly string[] = SEGMENT_FILE_SUFFIXES): void {
  for (const suffix of suffixes) fs.rmSync(path.join(dir, segmentFileName(baseOffset, suffix)), { force: true });
}

/**
 * The open `.log` descriptors of every segment in the process, least recently used first, bounded by `limit`
 * (LogManager sets it from log.segment.descriptors.max). Opening one more past the limit closes the least
 * recently used segment's descriptor (its next read, append or sync opens it again), except while an fdatasync
 * of that segment is in flight (it is pinned; the set may then pass the limit until those finish). Without
 * the bound every written partition's active segment keeps its descriptor: ~20,000 written partitions would
 * run out of descriptors (EMFILE) on a 20,000 limit. Process-wide, as the descriptor limit is.
 */
export class SegmentDescriptors {
  /** Insertion order = recency: the first key is the least recently used. */
  private readonly open = new Map<LogSegment, true>();
  private limitValue: number;

  constructor(limit: number) {
    this.limitValue = Math.max(1, limit);
  }

  get limit(): number {
    return this.limitValue;
  }

  set limit(n: number) {
    this.limitValue = Math.max(1, Math.floor(n));
    this.evict();
  }

  /** Open descriptors now. */
  get size(): number {
    return this.open.size;
  }

  /** A segment opened its descriptor: it becomes the most recent; the least recent ones past the limit close. */
  opened(seg: LogSegment): void {
    this.open.set(seg, true);
    this.evict(seg);
  }

  /** A segment used its open descriptor: it becomes the most recently used. */
  used(seg: LogSegment): void {
    if (this.open.delete(seg)) this.open.set(seg, true);
  }

  /** A segment closed its descriptor. */
  released(seg: LogSegment): void {
    this.open.delete(seg);
  }

  /** Closes least recently used, unpinned descriptors (never `keep`'s, just opened) until the set is within the limit. */
  evict(keep?: LogSegment): void {
    if (this.open.size <= this.limitValue) return;
    for (const seg of this.open.keys()) {
      if (this.open.size <= this.limitValue) return;
      if (seg !== keep && !seg.descriptorPinned) seg.releaseDescriptor();
    }
  }
}

/**
 * log.segment.descriptors.max unset: three quarters of the process's open-file limit (the rest is for sockets and
 * the other files), read from /proc/self/limits (Node has raised the soft limit to the hard one by then); 4,096
 * where that file does not exist.
 */
export function defaultSegmentDescriptorLimit(): number {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    if (Number.isFinite(soft) && soft > 0) return Math.max(64, Math.floor(soft * 0.75));
  } catch {
    // Not Linux: the fallback below.
  }
  return 4096;
}

export const segmentDescriptors = new SegmentDescriptors(defaultSegmentDescriptorLimit());

type ScanStatus = 'end' | 'stopped' | 'torn' | 'corrupt';

export interface TimestampAndOffset {
  offset: number;
  timestamp: number;
}

export class LogSegment {
  private offsetIdx: OffsetIndex | undefined;
  private timeIdx: TimeIndex | undefined;
  private txnIdx: TransactionIndex | undefined;
  /** The .log's descriptor, -1 while not open (see the `fd` getter). */
  private logFd = -1;
  /** The suffix every file of the segment carries now ('', or the cleaner's `.cleaned`/`.swap`, or `.deleted`). */
  private fileSuffix: string;
  private readonly maxIndexBytes: number;
  /** A lazily opened trusted segment not loaded yet: its indexes and tail are read on first use (completeLoad). */
  private deferredLoad: { indexIntervalBytes: number } | null = null;
  private next: number;
  private maxTs = -1;
  private offsetOfMaxTs = -1;
  private bytes: number;
  private bytesSinceLastIndexEntry = 0;
  /**
   * The base offsets and file positions of the last RECENT_BATCHES batches appended: a read from one of them (a
   * follower fetching from its log end, a consumer from the end of what it read) finds its position here instead
   * of scanning batch headers from the offset index entry below it. Cleared when the file is cut (truncateTo,
   * recover).
   */
  private readonly recentOffsets = new Float64Array(RECENT_BATCHES).fill(-1);
  private readonly recentPositions = new Float64Array(RECENT_BATCHES);
  private recentNext = 0;
  /** maxTimestamp of the first batch, what segment.ms counts from; null = not read yet (opened segment). */
  private firstBatchTimestamp: number | null;
  /** Wall clock at creation/open: segment.ms counts from here when batches carry no timestamp. */
  readonly created: number;
  /** Wall clock of the last append (file mtime when opened): retention age when batches carry no timestamp. */
  lastModified: number;
  /** Random part of segment.ms, fixed per segment (segment.jitter.ms). */
  rollJitterMs = 0;
  private closed = false;
  /**
   * Where the last read() ended: the offset after its last batch and that batch's end position. A consumer's
   * next fetch asks for exactly that offset, which translateOffset then answers without an index lookup and a
   * walk of batch headers (a read and a 64 KB buffer per partition per fetch). -1: none. Forgotten when the
   * file shrinks (truncateTo, recover).
   */
  private readEndOffset = -1;
  private readEndPosition = -1;
  /** fdatasyncs in flight on logFd: the descriptor may not be closed by segmentDescriptors meanwhile. */
  private syncsInFlight = 0;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    size: number,
    maxIndexBytes: number,
    fileSuffix: string,
    now: number,
    lastModified: number,
  ) {
    this.bytes = size;
    this.next = baseOffset;
    this.maxIndexBytes = maxIndexBytes;
    this.fileSuffix = fileSuffix;
    this.created = now;
    this.lastModified = lastModified;
    this.firstBatchTimestamp = size === 0 ? -1 : null;
  }

  /**
   * A new, empty segment (any stale files with the same base offset are truncated). `fileSuffix` (the
   * cleaner's `.cleaned`) is appended to every file name; renameFiles() later gives them their final names.
   */
  static create(dir: string, baseOffset: number, maxIndexBytes: number, now: number, fileSuffix = ''): LogSegment {
    removeSegmentFiles(dir, baseOffset, SEGMENT_INDEX_SUFFIXES.map((s) => s + fileSuffix));
    // Created (truncated) now, opened again on the first append: an idle partition holds no descriptor.
    fs.closeSync(fs.openSync(path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX + fileSuffix)), 'w'));
    const segment = new LogSegment(dir, baseOffset, 0, maxIndexBytes, fileSuffix, now, now);
    segment.loadIndexes();
    return segment;
  }

  /**
   * Opens existing files without reading the log. Unless `lazy`, the indexes are loaded and the caller must then
   * loadTail() or recover() before use; missing index files are created empty (and `indexesMissing` tells the
   * caller to rebuild them). `lazy` (a trusted segment whose index files exist: the caller knows from the
   * directory listing, `indexesPresent`) defers all reading to first use; nothing is opened here.
   */
  static open(
    dir: string, baseOffset: number, maxIndexBytes: number, now: number,
    opts: { lazy?: { indexIntervalBytes: number }; indexesPresent?: boolean } = {},
  ): { segment: LogSegment; indexesMissing: boolean } {
    const indexesMissing = opts.indexesPresent !== undefined
      ? !opts.indexesPresent
      : ![INDEX_SUFFIX, TIME_INDEX_SUFFIX].every((s) => fs.existsSync(path.join(dir, segmentFileName(baseOffset, s))));
    const st = fs.statSync(path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX)));
    const segment = new LogSegment(dir, baseOffset, st.size, maxIndexBytes, '', now, st.mtimeMs);
    if (opts.lazy && !indexesMissing) segment.deferredLoad = opts.lazy;
    else segment.loadIndexes();
    return { segment, indexesMissing };
  }

  private indexPath(suffix: string): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, suffix + this.fileSuffix));
  }

  /** Reads the three index files (creating missing offset/time index files empty). */
  private loadIndexes(): void {
    this.offsetIdx ??= OffsetIndex.open(this.indexPath(INDEX_SUFFIX), this.baseOffset, this.maxIndexBytes);
    this.timeIdx ??= TimeIndex.open(this.indexPath(TIME_INDEX_SUFFIX), this.baseOffset, this.maxIndexBytes);
    this.txnIdx ??= TransactionIndex.open(this.indexPath(TXN_INDEX_SUFFIX));
  }

  /** A lazily opened segment's first use: its indexes and tail, as the loader's trusted path reads them. */
  private completeLoad(): void {
    const deferred = this.deferredLoad;
    if (!deferred) return;
    this.deferredLoad = null;
    this.loadIndexes();
    if (!this.loadTail(false)) this.recover(deferred.indexIntervalBytes);
  }

  private ensureIndexes(): void {
    if (this.deferredLoad) this.completeLoad();
    else this.loadIndexes();
  }

  get offsetIndex(): OffsetIndex {
    if (!this.offsetIdx) this.ensureIndexes();
    return this.offsetIdx!;
  }

  get timeIndex(): TimeIndex {
    if (!this.timeIdx) this.ensureIndexes();
    return this.timeIdx!;
  }

  /** Aborted transactions whose ABORT marker is in this segment (read_committed fetches). */
  get txnIndex(): TransactionIndex {
    if (!this.txnIdx) this.ensureIndexes();
    return this.txnIdx!;
  }

  /** The offset after the last batch (baseOffset when empty). */
  get nextOffset(): number {
    if (this.deferredLoad) this.completeLoad();
    return this.next;
  }

  set nextOffset(offset: number) {
    this.next = offset;
  }

  get maxTimestampSoFar(): number {
    if (this.deferredLoad) this.completeLoad();
    return this.maxTs;
  }

  set maxTimestampSoFar(ts: number) {
    this.maxTs = ts;
  }

  /** Last offset of the batch holding maxTimestampSoFar (the time index's unit), -1 when none. */
  get offsetOfMaxTimestampSoFar(): number {
    if (this.deferredLoad) this.completeLoad();
    return this.offsetOfMaxTs;
  }

  set offsetOfMaxTimestampSoFar(offset: number) {
    this.offsetOfMaxTs = offset;
  }

  /** Whether the indexes and tail are still unread (a lazily opened segment nobody has asked about yet). */
  get isLoadDeferred(): boolean {
    return this.deferredLoad !== null;
  }

  /** Closes the .log's descriptor if open (the next read, write or sync opens it again): an idle segment holds none. */
  releaseDescriptor(): void {
    const fd = this.logFd;
    this.logFd = -1;
    if (fd >= 0) {
      segmentDescriptors.released(this);
      fs.closeSync(fd);
    }
  }

  /** Whether an fdatasync of the descriptor is in flight (segmentDescriptors must not close it). */
  get descriptorPinned(): boolean {
    return this.syncsInFlight > 0;
  }

  /** Whether the .log's descriptor is open now. */
  get hasDescriptor(): boolean {
    return this.logFd >= 0;
  }

  /** The .log's descriptor, opened on first use (and again after segmentDescriptors closed it). */
  private get fd(): number {
    if (this.logFd < 0) {
      if (this.closed) throw new StorageError(`segment ${this.logPath} is closed`);
      this.logFd = fs.openSync(this.logPath, 'r+');
      segmentDescriptors.opened(this);
    } else {
      segmentDescriptors.used(this);
    }
    return this.logFd;
  }

  get size(): number {
    return this.bytes;
  }

  get logPath(): string {
    return path.join(this.dir, segmentFileName(this.baseOffset, LOG_SUFFIX + this.fileSuffix));
  }

  /** Record timestamps when present, else the file's age: what time-based retention measures. */
  get largestTimestamp(): number {
    return this.maxTimestampSoFar > 0 ? this.maxTimestampSoFar : this.lastModified;
  }

  /** maxTimestamp of the first batch (-1 when empty or without timestamps): max.compaction.lag.ms counts from it. */
  firstBatchMaxTimestamp(): number {
    if (this.firstBatchTimestamp === null) {
      const head = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
      this.firstBatchTimestamp = readFully(this.fd, head, 0) === BATCH_HEADER_SIZE ? readInt64(head, OFFSET_MAX_TIMESTAMP) : -1;
    }
    return this.firstBatchTimestamp;
  }

  /** How long this segment has been filling, in segment.ms terms (Kafka counts in record time when it can). */
  timeWaitedForRoll(now: number, incomingMaxTimestamp: number): number {
    const first = this.firstBatchMaxTimestamp();
    return first >= 0 ? incomingMaxTimestamp - first : now - this.created;
  }

  /**
   * Writes stamped batches (whole v2 batches, offsets already assigned, all >= nextOffset) with one write at the
   * end of the file, then indexes them. A failed write is cut back off so the file never keeps a torn batch.
   */
  append(records: Buffer, indexIntervalBytes: number, now: number): void {
    const start = this.bytes;
    try {
      writeFully(this.fd, records, start);
    } catch (err) {
      try {
        fs.ftruncateSync(this.fd, start);
      } catch {
        // The loader's recovery truncates a torn tail if this fails too.
      }
      throw new StorageError(`write to ${this.logPath} failed: ${(err as Error).message}`, { cause: err });
    }
    if (start === 0) this.firstBatchTimestamp = readInt64(records, OFFSET_MAX_TIMESTAMP);
    let pos = 0;
    while (pos < records.length) {
      const size = records.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      const base = readInt64(records, pos);
      this.recentOffsets[this.recentNext] = base;
      this.recentPositions[this.recentNext] = start + pos;
      this.recentNext = (this.recentNext + 1) % RECENT_BATCHES;
      this.indexBatch(base + records.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA), readInt64(records, pos + OFFSET_MAX_TIMESTAMP), start + pos, size, indexIntervalBytes);
      pos += size;
    }
    this.bytes = start + records.length;
    this.lastModified = now;
  }

  private forgetRecentBatches(): void {
    this.recentOffsets.fill(-1);
    this.recentNext = 0;
  }

  /** Kafka's rule: an index entry for a batch once more than index.interval.bytes were written since the last. */
  private indexBatch(lastOffset: number, maxTimestamp: number, position: number, size: number, indexIntervalBytes: number): void {
    if (maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestamp;
      this.offsetOfMaxTimestampSoFar = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
    this.nextOffset = lastOffset + 1;
  }

  /**
   * Whole batches starting at `position`, at most maxBytes of them; if the first batch alone is bigger, the
   * whole first batch when minOneBatch (KIP-74), else nothing. Never returns a partial batch. `alloc` gives the
   * buffer read into (at least the size asked; the fetch path passes reused ones).
   */
  read(position: number, maxBytes: number, minOneBatch: boolean, alloc: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
    const available = this.bytes - position;
    if (available < LOG_OVERHEAD) return EMPTY;
    const want = Math.min(Math.max(maxBytes, 0), available);
    if (want >= LOG_OVERHEAD) {
      const buf = alloc(want);
      const n = readFully(this.fd, buf, position, want);
      let end = 0;
      while (end + LOG_OVERHEAD <= n) {
        const size = buf.readInt32BE(end + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
        if (size < BATCH_HEADER_SIZE || end + size > n) break;
        end += size;
      }
      if (end > 0) {
        this.rememberReadEnd(buf, end, position);
        return buf.subarray(0, end);
      }
      if (!minOneBatch) return EMPTY;
    } else if (!minOneBatch) {
      return EMPTY;
    }
    const batch = this.readBatchAt(position);
    if (!batch) return EMPTY;
    this.rememberReadEnd(batch, batch.length, position);
    return batch;
  }

  /** Remembers the end of whole batches buf[0, end) read from `position` (see readEndOffset). */
  private rememberReadEnd(buf: Buffer, end: number, position: number): void {
    let last = 0;
    for (let next = 0; next < end; next += buf.readInt32BE(next + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD) last = next;
    this.readEndOffset = readInt64(buf, last) + buf.readInt32BE(last + OFFSET_LAST_OFFSET_DELTA) + 1;
    this.readEndPosition = position + end;
  }

  private forgetReadEnd(): void {
    this.readEndOffset = -1;
    this.readEndPosition = -1;
  }

  /** The whole batch starting at position, or null if there is none (or it is cut off). */
  readBatchAt(position: number): Buffer | null {
    const head = Buffer.allocUnsafe(LOG_OVERHEAD);
    if (readFully(this.fd, head, position) < LOG_OVERHEAD) return null;
    const size = head.readInt32BE(OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || position + size > this.bytes) return null;
    const buf = Buffer.allocUnsafe(size);
    return readFully(this.fd, buf, position) === size ? buf : null;
  }

  /** Byte position of the batch holding `offset` (the first batch whose last offset is >= offset), or -1. */
  translateOffset(offset: number): number {
    if (offset >= this.nextOffset) return -1;
    // A batch starting exactly at `offset` is the first whose last offset is >= offset.
    for (let i = 0; i < RECENT_BATCHES; i++) if (this.recentOffsets[i] === offset) return this.recentPositions[i]!;
    // The batch after the last read's: the first batch whose last offset is >= offset starts right there.
    if (offset === this.readEndOffset && this.readEndPosition < this.bytes) return this.readEndPosition;
    let found = -1;
    this.scan(this.offsetIndex.lookup(offset), false, (buf, at, filePos) => {
      if (readInt64(buf, at) + buf.readInt32BE(at + OFFSET_LAST_OFFSET_DELTA) < offset) return false;
      found = filePos;
      return true;
    });
    return found;
  }

  /**
   * Calls `visit` with the header (buf[at..]) of every batch whose last offset is >= fromOffset; control
   * batches (one small marker record) come whole, so their type can be read.
   */
  visitBatchHeaders(fromOffset: number, visit: (buf: Buffer, at: number, size: number) => void): void {
    const start = fromOffset <= this.baseOffset ? 0 : this.translateOffset(fromOffset);
    if (start < 0) return;
    this.scan(start, (buf, at) => isControl(buf.readInt16BE(at + OFFSET_ATTRIBUTES)), (buf, at, _filePos, size) => {
      visit(buf, at, size);
      return false;
    });
  }

  /** The first record at or after startingOffset with timestamp >= ts (exact record offset), or null. */
  findOffsetByTimestamp(ts: number, startingOffset = this.baseOffset): TimestampAndOffset | null {
    if (this.maxTimestampSoFar < ts) return null;
    const from = Math.max(this.timeIndex.lookup(ts), startingOffset, this.baseOffset);
    let position = this.offsetIndex.lookup(from);
    while (position < this.bytes) {
      let candidate = -1;
      let candidateSize = 0;
      this.scan(position, false, (buf, at, filePos, size) => {
        if (readInt64(buf, at) + buf.readInt32BE(at + OFFSET_LAST_OFFSET_DELTA) < startingOffset) return false;
        if (readInt64(buf, at + OFFSET_MAX_TIMESTAMP) < ts) return false;
        candidate = filePos;
        candidateSize = size;
        return true;
      });
      if (candidate < 0) return null;
      const found = this.firstRecordAtOrAfter(candidate, ts, startingOffset);
      if (found) return found;
      position = candidate + candidateSize;
    }
    return null;
  }

  /** The record holding maxTimestampSoFar (the first such record), or null when no batch has a timestamp. */
  offsetOfMaxTimestamp(): TimestampAndOffset | null {
    if (this.maxTimestampSoFar < 0) return null;
    const position = this.translateOffset(this.offsetOfMaxTimestampSoFar);
    const found = position < 0 ? null : this.firstRecordAtOrAfter(position, this.maxTimestampSoFar, this.baseOffset);
    return found ?? { offset: this.offsetOfMaxTimestampSoFar, timestamp: this.maxTimestampSoFar };
  }

  /** Opens one batch (decompressing if needed) to find the exact record. */
  private firstRecordAtOrAfter(position: number, ts: number, startingOffset: number): TimestampAndOffset | null {
    const batch = this.readBatchAt(position);
    if (!batch) return null;
    for (const r of decodeRecordBatch(batch, 0).records) {
      if (r.offset >= startingOffset && r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp };
    }
    return null;
  }

  /**
   * Trusted open (clean shutdown, or below the recovery point): takes the indexes as they are and reads only the
   * tail after the last offset-index entry to learn nextOffset and the max timestamp. `validateCrc` also checks
   * the tail batches' CRCs (cheap: at most about one index interval). Returns false if anything is
   * inconsistent; the caller then recover()s the segment.
   */
  loadTail(validateCrc: boolean): boolean {
    if (!this.offsetIndex.isSane(this.bytes)) return false;
    const start = this.offsetIndex.lastPosition;
    this.maxTimestampSoFar = this.timeIndex.lastTimestamp;
    this.offsetOfMaxTimestampSoFar = this.timeIndex.lastOffset;
    let next = this.offsetIndex.entries > 0 ? this.offsetIndex.offsetAt(0) : this.baseOffset;
    let ok = true;
    const status = this.scan(start, validateCrc, (buf, at, _filePos, size) => {
      const base = readInt64(buf, at);
      const delta = buf.readInt32BE(at + OFFSET_LAST_OFFSET_DELTA);
      if (buf[at + OFFSET_MAGIC] !== CURRENT_MAGIC || delta < 0 || (start === 0 && base < next) || (validateCrc && !isCrcValid(buf, at))) {
        ok = false;
        return true;
      }
      const maxTs = readInt64(buf, at + OFFSET_MAX_TIMESTAMP);
      if (maxTs > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = maxTs;
        this.offsetOfMaxTimestampSoFar = base + delta;
      }
      next = base + delta + 1;
      this.bytesSinceLastIndexEntry += size;
      return false;
    });
    if (!ok || status !== 'end') return false;
    this.nextOffset = Math.max(next, this.baseOffset);
    if (this.offsetIndex.entries > 0 && this.offsetIndex.lastOffset >= this.nextOffset) return false;
    return this.timeIndex.isSane(this.nextOffset);
  }

  /**
   * Full recovery: validates every batch (magic, size, CRC, offsets increasing and within the segment's range),
   * truncates the file at the first invalid or torn batch, rebuilds both indexes. Returns bytes truncated.
   */
  recover(indexIntervalBytes: number): number {
    this.forgetRecentBatches();
    this.forgetReadEnd();
    this.offsetIndex.reset();
    this.timeIndex.reset();
    // Needs producer state to rebuild: the loader refills it while replaying (Log.replayBatch).
    this.txnIndex.reset();
    this.offsetIndex.beginBulk();
    this.timeIndex.beginBulk();
    this.maxTimestampSoFar = -1;
    this.offsetOfMaxTimestampSoFar = -1;
    this.bytesSinceLastIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    this.firstBatchTimestamp = -1;
    let validEnd = 0;
    try {
      this.scan(0, true, (buf, at, filePos, size) => {
        const base = readInt64(buf, at);
        const delta = buf.readInt32BE(at + OFFSET_LAST_OFFSET_DELTA);
        if (
          buf[at + OFFSET_MAGIC] !== CURRENT_MAGIC ||
          base < this.nextOffset ||
          delta < 0 ||
          base + delta - this.baseOffset > INT32_MAX ||
          !isCrcValid(buf, at)
        ) {
          return true;
        }
        const maxTs = readInt64(buf, at + OFFSET_MAX_TIMESTAMP);
        if (filePos === 0) this.firstBatchTimestamp = maxTs;
        this.indexBatch(base + delta, maxTs, filePos, size, indexIntervalBytes);
        validEnd = filePos + size;
        return false;
      });
    } finally {
      this.offsetIndex.endBulk();
      this.timeIndex.endBulk();
    }
    const truncated = this.bytes - validEnd;
    if (truncated > 0) {
      fs.ftruncateSync(this.fd, validEnd);
      this.bytes = validEnd;
    }
    return truncated;
  }

  /**
   * Removes every batch whose last offset is >= offset (a batch holding `offset` goes whole, as in Kafka): the
   * .log is cut at that batch, the offset, time and transaction indexes lose their entries at or above
   * `offset`, and the tail after the last remaining index entry is re-read to learn nextOffset and the largest
   * timestamp. Returns the bytes removed. Not durable by itself: the owner syncs the segment afterwards.
   */
  truncateTo(offset: number, indexIntervalBytes: number): number {
    if (offset >= this.nextOffset) return 0;
    const position = offset <= this.baseOffset ? 0 : this.translateOffset(offset);
    if (position < 0) return 0;
    this.forgetReadEnd();
    this.offsetIndex.truncateTo(offset);
    this.timeIndex.truncateTo(offset);
    this.txnIndex.truncateTo(offset);
    const removed = this.bytes - position;
    try {
      fs.ftruncateSync(this.fd, position);
    } catch (err) {
      throw new StorageError(`truncating ${this.logPath} failed: ${(err as Error).message}`, { cause: err });
    }
    this.bytes = position;
    this.forgetRecentBatches();
    this.bytesSinceLastIndexEntry = 0;
    this.firstBatchTimestamp = position === 0 ? -1 : null;
    this.maxTimestampSoFar = -1;
    this.offsetOfMaxTimestampSoFar = -1;
    this.nextOffset = this.baseOffset;
    // The indexes were consistent before and lost only their tail: the trusted-open path recomputes the rest.
    if (!this.loadTail(false)) {
      const aborted = this.txnIndex.all().map((t) => ({ ...t }));
      this.recover(indexIntervalBytes);
      for (const t of aborted) this.txnIndex.append(t);
    }
    return removed;
  }

  /** Called when a newer segment takes over appends: the time index gets its final (max) entry. */
  onBecomeInactive(): void {
    this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true);
  }

  /** fdatasync of the .log, plus both indexes when `withIndexes` (a segment that no recovery will rebuild). */
  async sync(fdatasync: Fdatasync, withIndexes: boolean): Promise<void> {
    if (this.closed) return;
    const fd = this.fd;
    // Pinned: segmentDescriptors must not close (and the OS reuse) the descriptor under the fdatasync.
    this.syncsInFlight++;
    try {
      // The transaction index is always synced: unlike the others it is small and rarely written.
      if (!withIndexes) {
        await Promise.all([fdatasync(fd), this.txnIndex.sync(fdatasync)]);
        return;
      }
      await Promise.all([fdatasync(fd), this.offsetIndex.sync(fdatasync), this.timeIndex.sync(fdatasync), this.txnIndex.sync(fdatasync)]);
    } finally {
      this.syncsInFlight--;
      // Descriptors kept past the limit while pinned close now.
      segmentDescriptors.evict();
    }
    // Synced with its indexes: a rolled segment, read rarely from now on. Its descriptor goes (reopened on a read).
    if (this.logFd === fd && !this.closed) this.releaseDescriptor();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deferredLoad = null;
    const fd = this.logFd;
    this.logFd = -1;
    try {
      if (fd >= 0) {
        segmentDescriptors.released(this);
        fs.closeSync(fd);
      }
    } finally {
      this.offsetIdx?.close();
      this.timeIdx?.close();
      this.txnIdx?.close();
    }
  }

  /** Closes and renames the files to `*.deleted` (cheap, synchronous); returns their new paths for unlinking. */
  markDeleted(): string[] {
    this.close();
    const out: string[] = [];
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const from = path.join(this.dir, segmentFileName(this.baseOffset, suffix));
      const to = from + DELETED_SUFFIX;
      try {
        fs.renameSync(from, to);
        out.push(to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  /**
   * Renames every file of the segment that exists from `<name><from>` to `<name><to>` (the cleaner's
   * .cleaned → .swap → final, and final → .deleted for the segments it replaces). Open descriptors stay valid.
   */
  renameFiles(from: string, to: string): void {
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const name = path.join(this.dir, segmentFileName(this.baseOffset, suffix));
      try {
        fs.renameSync(name + from, name + to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    // Lazy opens and index writes follow the files.
    if (this.fileSuffix === from) this.fileSuffix = to;
    this.offsetIdx?.moveTo(this.indexPath(INDEX_SUFFIX));
    this.timeIdx?.moveTo(this.indexPath(TIME_INDEX_SUFFIX));
  }

  /** Closes the segment and unlinks its files carrying `suffix` (e.g. after renameFiles('', DELETED_SUFFIX)). */
  async closeAndRemove(suffix: string): Promise<void> {
    this.close();
    await Promise.all(SEGMENT_FILE_SUFFIXES.map((s) => fs.promises.rm(path.join(this.dir, segmentFileName(this.baseOffset, s)) + suffix, { force: true })));
  }

  /**
   * Walks the batches from `start` to the end of the file. The visitor sees each batch's bytes at buf[at..]:
   * its header only, or (`whole`, or when `whole` says so for that header) the entire batch. Returns why the
   * walk ended.
   */
  private scan(start: number, whole: boolean | ((buf: Buffer, at: number) => boolean), visit: (buf: Buffer, at: number, filePos: number, size: number) => boolean): ScanStatus {
    const end = this.bytes;
    // No bigger than what is left to read: a walk near the end of the file (the common case) reads a few KB.
    let buf = Buffer.allocUnsafe(Math.max(BATCH_HEADER_SIZE, Math.min(SCAN_CHUNK, end - start)));
    let bufStart = 0;
    let bufLen = 0;
    const fill = (pos: number, need: number): void => {
      if (need > buf.length) buf = Buffer.allocUnsafe(need);
      bufStart = pos;
      bufLen = readFully(this.fd, buf, pos, Math.min(buf.length, end - pos));
    };
    let pos = start;
    while (pos < end) {
      const remaining = end - pos;
      if (remaining < BATCH_HEADER_SIZE) return 'torn';
      if (pos < bufStart || pos + BATCH_HEADER_SIZE > bufStart + bufLen) fill(pos, BATCH_HEADER_SIZE);
      if (bufLen - (pos - bufStart) < BATCH_HEADER_SIZE) return 'torn';
      const size = buf.readInt32BE(pos - bufStart + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) return 'corrupt';
      if (size > remaining) return 'torn';
      if (pos + size > bufStart + bufLen && (whole === true || (whole !== false && whole(buf, pos - bufStart)))) {
        fill(pos, size);
        if (bufLen < size) return 'torn';
      }
      if (visit(buf, pos - bufStart, pos, size)) return 'stopped';
      pos += size;
    }
    return 'end';
  }
}
