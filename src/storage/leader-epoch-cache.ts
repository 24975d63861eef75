/**
 * The leader epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101/KIP-279): for every leader
 * epoch that wrote to this log, the offset of its first batch. A follower asks its leader for the end offset
 * of its latest epoch (OffsetsForLeaderEpoch, or the diverging epoch of a Fetch) and truncates its log there.
 *
 * On disk, in the partition directory: `leader-epoch-checkpoint`, Kafka's text format:
 *   0                       version
 *   N                       number of entries
 *   <epoch> <startOffset>   N lines, epochs and start offsets both increasing
 * Replaced atomically (temp file, fsync, rename, directory fsync) each time the entries change. A missing or
 * malformed file reads as null: the loader rebuilds the entries from the batch headers (partitionLeaderEpoch).
 * That is why the first write into a directory without the file skips both fsyncs (temp file and rename only):
 * if a power loss takes it, the file is missing or empty and the loader rebuilds the same entries from the
 * batches that carry them. It is a new partition's first append, paid 10,000 times by a topic of 10,000
 * partitions (two synchronous fsyncs each, ~1 ms); every later write is durable as before.
 *
 * Concurrency: owned by one Log on the single JS thread; every method is synchronous (file writes included).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from './file-io.js';
import { StorageError } from './storage-error.js';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  /** Ascending by epoch and by start offset. */
  private entries: EpochEntry[];
  /** The file may exist (loaded from it, or written since): writes must be durable, not the first-write shortcut. */
  private fileMayExist: boolean;

  constructor(
    /** The checkpoint file; null keeps the cache in memory only. */
    readonly file: string | null,
    entries: readonly EpochEntry[] = [],
    /** False only when the caller knows there is no file yet (empty()): the first write may skip the fsyncs. */
    fileMayExist = true,
  ) {
    this.entries = entries.map((e) => ({ ...e }));
    this.fileMayExist = fileMayExist;
  }

  /** The cache of a partition directory, loaded from its checkpoint file; null when it is missing or malformed. */
  static load(dir: string): LeaderEpochCache | null {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    const entries = LeaderEpochCache.readFile(file);
    return entries ? new LeaderEpochCache(file, entries) : null;
  }

  /** A partition directory's cache with no entries (nothing written until something is assigned). */
  static empty(dir: string): LeaderEpochCache {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    return new LeaderEpochCache(file, [], fs.existsSync(file));
  }

  /** Parses the file; null if it is absent or malformed (not version 0, wrong count, non-monotonic entries). */
  static readFile(file: string): EpochEntry[] | null {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StorageError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    return LeaderEpochCache.parse(text);
  }

  static parse(text: string): EpochEntry[] | null {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines[0]?.trim() !== '0') return null;
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || count !== lines.length - 2) return null;
    const out: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const m = /^(\d+)\s+(\d+)$/.exec(line.trim());
      if (!m) return null;
      const e = { epoch: Number(m[1]), startOffset: Number(m[2]) };
      const prev = out[out.length - 1];
      if (prev && (e.epoch <= prev.epoch || e.startOffset < prev.startOffset)) return null;
      out.push(e);
    }
    return out;
  }

  static format(entries: readonly EpochEntry[]): string {
    let text = `0\n${entries.length}\n`;
    for (const e of entries) text += `${e.epoch} ${e.startOffset}\n`;
    return text;
  }

  /** The entries, oldest first (copies). */
  epochEntries(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** The newest epoch, or -1 (UNDEFINED_EPOCH) when there is none. */
  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch;
  }

  /** The oldest epoch, or -1 when there is none. */
  get earliestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[0]!.epoch;
  }

  /**
   * Records that `epoch` starts at `startOffset`. An epoch not newer than the latest is ignored (returns false).
   * Entries whose start offset is at or after the new one's are removed first, as Kafka does, so start offsets
   * stay increasing. `flush` (default) rewrites the file; pass false to batch several assigns and call flush().
   */
  assign(epoch: number, startOffset: number, flush = true): boolean {
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(startOffset) || startOffset < 0) {
      throw new StorageError(`invalid leader epoch entry (${epoch}, ${startOffset})`);
    }
    if (epoch <= this.latestEpoch) return false;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= startOffset) this.entries.pop();
    this.entries.push({ epoch, startOffset });
    if (flush) this.flush();
    return true;
  }

  /**
   * Kafka's endOffsetFor: the epoch the requester should treat as its last common one and the offset where
   * the requested epoch ends here.
   *   requested -1, or newer than every epoch here, or no entries → (-1, -1)
   *   requested == latest                       → (requested, logEndOffset)
   *   requested older than the earliest         → (requested, start offset of the earliest)
   *   otherwise                                 → (largest epoch <= requested, start offset of the first epoch > requested)
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    let higher = -1;
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i]!.epoch > requestedEpoch) {
        higher = i;
        break;
      }
    }
    if (higher < 0) return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const startOfHigher = this.entries[higher]!.startOffset;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: startOfHigher };
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: startOfHigher };
  }

  /** Drops the entries starting at or after endOffset (the log was truncated there). */
  truncateFromEnd(endOffset: number): void {
    let n = this.entries.length;
    while (n > 0 && this.entries[n - 1]!.startOffset >= endOffset) n--;
    if (n === this.entries.length) return;
    this.entries.length = n;
    this.flush();
  }

  /**
   * The log now starts at startOffset: entries starting at or before it are replaced by the last of them,
   * moved to startOffset (its epoch still covers the new first offset).
   */
  truncateFromStart(startOffset: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.startOffset <= startOffset) n++;
    if (n === 0) return;
    const kept = this.entries[n - 1]!;
    if (n === 1 && kept.startOffset === startOffset) return;
    this.entries.splice(0, n, { epoch: kept.epoch, startOffset });
    this.flush();
  }

  /** Forgets every entry (and writes the empty file). */
  clear(): void {
    this.entries = [];
    this.flush();
  }

  /** Rewrites the checkpoint file atomically (durably, except the very first write: see the file comment). */
  flush(): void {
    if (this.file === null) return;
    try {
      writeFileAtomicSync(this.file, LeaderEpochCache.format(this.entries), { durable: this.fileMayExist });
      this.fileMayExist = true;
    } catch (err) {
      throw new StorageError(`cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }
}
