/**
 * Reading a file from where an earlier run stopped. The stored offset counts the records already produced and
 * fingerprints the last of them: the file is parsed again (CSV types are inferred from its first rows, and a
 * gzip stream cannot be sought), the first `position` records are dropped, and the last dropped one must match
 * the fingerprint — otherwise this is a different file at the same path, read from the start. A file stored as
 * read to its end, with the same size, mtime and inode, is skipped without being opened.
 *
 * Every record yielded carries {path} as its source partition and its position (records of the file produced
 * once it is) as its source offset; the last one also says eof, with the file's size, mtime and inode.
 */
import { stat } from 'node:fs/promises';
import { fingerprint } from '../source-offsets.js';
import type { SourceContext, SourceOffset, SourceRecord } from '../types.js';

export interface ResumeOptions {
  /** How the file is named in notes (the path, or the name inside a watched directory). */
  label: string;
  /** Checked between records: a stop ends the read. */
  stopped: () => boolean;
  /** Called instead of a note when an unchanged, finished file is skipped (the directory source counts them). */
  onUnchanged?: () => void;
  /**
   * Called when the records an earlier run produced have been read past, with their count (0 when the file is read
   * from the start): bad lines skipped there count once (see SkippedLines).
   */
  afterResume?: (start: number) => void;
}

type Identity = Pick<SourceOffset, 'size' | 'mtimeMs' | 'ino'>;

async function identity(path: string): Promise<Identity | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  } catch {
    return null; // opening reports the error
  }
}

const plural = (n: number): string => `${n} record${n === 1 ? '' : 's'}`;

/**
 * A file's records in batches (as its reader makes them, one per read chunk) from where an earlier run stopped,
 * with one batch of look-ahead (the last record of the file says eof). A failure reading the next batch yields the
 * current one first, so what was read before a bad line is produced.
 */
export async function* resumeFileBatches(
  path: string,
  open: () => AsyncGenerator<SourceRecord[]>,
  context: SourceContext | undefined,
  options: ResumeOptions,
): AsyncGenerator<SourceRecord[]> {
  const partition = { path };
  const stored = context?.offset(partition) ?? null;
  const id = await identity(path);
  if (stored !== null && stored.eof === true && id !== null && id.size === stored.size && id.mtimeMs === stored.mtimeMs && id.ino === stored.ino) {
    if (options.onUnchanged !== undefined) options.onUnchanged();
    else context?.log(`${options.label}: all ${plural(stored.position)} were produced by an earlier run and the file is unchanged; nothing to produce`);
    return;
  }
  let batches = open();
  try {
    let position = 0;
    const start = stored?.position ?? 0;
    /** The records after the first `start` in the batch that holds record `start` − 1. */
    let rest: SourceRecord[] = [];
    if (start > 0) {
      let last: SourceRecord | undefined;
      while (position < start) {
        const n = await batches.next();
        if (n.done === true) break;
        const batch = n.value;
        if (position + batch.length <= start) {
          position += batch.length;
          last = batch[batch.length - 1];
        } else {
          last = batch[start - position - 1];
          rest = batch.slice(start - position);
          position = start;
        }
        if (options.stopped()) return;
      }
      if (position === start && last !== undefined && (stored!.last === undefined || fingerprint(last) === stored!.last)) {
        context?.log(`${options.label}: ${plural(start)} were produced by an earlier run; resuming after them`);
      } else {
        context?.log(
          `${options.label}: not the file an earlier run read (${position < start ? `it has fewer than the ${plural(start)} produced then` : `record ${start} differs`}); reading it from the start`,
        );
        await batches.return(undefined);
        batches = open();
        position = 0;
        rest = [];
      }
    }
    options.afterResume?.(position);
    let current: IteratorResult<SourceRecord[], unknown> = rest.length > 0 ? { done: false, value: rest } : await batches.next();
    while (current.done !== true) {
      if (options.stopped()) return;
      const batch = current.value;
      for (let i = 0; i < batch.length; i++) {
        const record = batch[i]!;
        record.sourcePartition = partition;
        record.sourceOffset = { position: ++position };
      }
      let next: IteratorResult<SourceRecord[], unknown>;
      try {
        next = await batches.next();
      } catch (err) {
        // A bad line after these records: produce them, then fail (a rerun resumes after them).
        yield batch;
        throw err;
      }
      if (next.done === true && id !== null) batch[batch.length - 1]!.sourceOffset = { position, eof: true, ...id };
      yield batch;
      current = next;
    }
  } finally {
    await batches.return(undefined);
  }
}

/**
 * Counts a file's skipped bad lines as an earlier run did not: its reader reads ahead a chunk at a time, so a bad
 * line is counted only once it is known to lie after the records an earlier run produced (its place, `before`, is
 * the number of records the reader yielded before it).
 */
export class SkippedLines {
  private start: number | null = null;
  private early: number[] = [];
  private base = 0;

  constructor(private readonly counter: { skipped: number }) {}

  /** A reader (re)opens the file: what an earlier reader saw does not count. */
  opened(): void {
    this.early = [];
    this.start = null;
    this.base = this.counter.skipped;
  }

  skip(before: number): void {
    if (this.start === null) this.early.push(before);
    else if (before >= this.start) this.counter.skipped++;
  }

  /** The records before `start` were produced by an earlier run: the bad lines among them do not count. */
  resumed(start: number): void {
    this.start = start;
    this.counter.skipped = this.base + this.early.filter((b) => b >= start).length;
    this.early = [];
  }
}

