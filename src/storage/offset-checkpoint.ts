/**
 * Kafka's offset checkpoint file (recovery-point-offset-checkpoint, log-start-offset-checkpoint) in the data
 * directory. Text format:
 *   0                         version
 *   N                         number of entries
 *   <topic> <partition> <offset>   N lines
 * Replaced atomically (temp file, fsync, rename, directory fsync). A malformed file reads as empty with a
 * warning: for recovery points that only means more recovery work.
 *
 * Concurrency: writes of one file are serialised by its owner (LogManager); the sync and async writers share
 * the temp-file name, so they must never overlap.
 */
import * as fs from 'node:fs';
import { writeFileAtomic, writeFileAtomicSync } from './file-io.js';
import type { StorageLogger } from './log.js';

export interface CheckpointEntry {
  topic: string;
  partition: number;
  offset: number;
}

/** Map key of a partition: `<topic>-<partition>` (unambiguous: the partition is the digits after the last '-'). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class OffsetCheckpointFile {
  constructor(
    readonly file: string,
    private readonly logger?: StorageLogger,
  ) {}

  /** Entries keyed by partitionKey(); empty if the file is absent or malformed. */
  read(): Map<string, number> {
    const out = new Map<string, number>();
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const bad = (why: string): Map<string, number> => {
      this.logger?.warn({ file: this.file }, `ignoring malformed checkpoint file: ${why}`);
      return new Map();
    };
    if (lines[0]?.trim() !== '0') return bad(`unsupported version ${lines[0]}`);
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || count !== lines.length - 2) return bad(`expected ${lines[1]} entries, found ${lines.length - 2}`);
    for (const line of lines.slice(2)) {
      const m = /^(\S+) (\d+) (-?\d+)$/.exec(line.trim());
      if (!m) return bad(`bad line "${line}"`);
      out.set(partitionKey(m[1]!, Number(m[2])), Number(m[3]));
    }
    return out;
  }

  static format(entries: readonly CheckpointEntry[]): string {
    let text = `0\n${entries.length}\n`;
    for (const e of entries) text += `${e.topic} ${e.partition} ${e.offset}\n`;
    return text;
  }

  writeSync(entries: readonly CheckpointEntry[]): void {
    writeFileAtomicSync(this.file, OffsetCheckpointFile.format(entries));
  }

  write(entries: readonly CheckpointEntry[]): Promise<void> {
    return writeFileAtomic(this.file, OffsetCheckpointFile.format(entries));
  }
}
