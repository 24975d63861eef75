/**
 * Directory source: the matching files already there in name order, then new ones as they appear (polled:
 * fs.watch misses events on network and container file systems). A file is taken once its size has not changed
 * for `stableMs`, so one still being written is not read half-way. Each file is a source partition with its own
 * offset (src/connect/sources/resume.ts): after a restart, finished files that did not change are skipped, a
 * file stopped half-way resumes after its last produced record, and a grown file produces its new records.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirectorySourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { csvBatchReader, type csvFileBatches } from './csv.js';
import { SourceError } from './input.js';
import { jsonlFileBatches } from './jsonl.js';
import { resumeFileBatches, SkippedLines } from './resume.js';

/** '*' and '?' file-name glob → RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

export interface DirectoryOptions {
  /** How long a file's size must stay the same before it is read; default 1000 ms. */
  stableMs?: number;
  /** CSV files' values as JSON bytes made straight from the input bytes (csv-bytes.ts), default; false: as objects. */
  jsonBytes?: boolean;
}

export class DirectorySource implements SourceConnector {
  private stopped = false;
  private wake: (() => void) | null = null;
  /** Files taken in this run (not taken again until a restart). */
  private readonly taken = new Set<string>();
  private readonly seen = new Map<string, Seen>();
  private readonly matcher: RegExp;
  private readonly stableMs: number;
  private readonly readCsv: typeof csvFileBatches;
  /** Finished files an earlier run produced, skipped unopened (for the summary and tests). */
  unchanged = 0;
  skipped = 0;

  constructor(
    readonly name: string,
    private readonly config: Pick<DirectorySourceConfig, 'path' | 'pattern' | 'format' | 'keyColumn' | 'columns' | 'delimiter' | 'skipBadLines' | 'pollMs'>,
    options: DirectoryOptions = {},
  ) {
    this.matcher = globToRegExp(config.pattern);
    this.stableMs = options.stableMs ?? 1000;
    this.readCsv = csvBatchReader(options.jsonBytes);
  }

  private matches(file: string): boolean {
    if (file.startsWith('.')) return false;
    return this.matcher.test(file) || (/\.gz$/i.test(file) && this.matcher.test(file.slice(0, -3)));
  }

  private formatOf(file: string): 'csv' | 'jsonl' {
    if (this.config.format !== undefined) return this.config.format;
    const base = file.replace(/\.gz$/i, '').toLowerCase();
    if (base.endsWith('.csv')) return 'csv';
    if (base.endsWith('.jsonl') || base.endsWith('.ndjson') || base.endsWith('.json')) return 'jsonl';
    throw new SourceError(`${join(this.config.path, file)}: cannot tell csv from jsonl by the name; set format in the source`);
  }

  /** Files ready to read now, in name order: matching, not taken yet, size unchanged for stableMs. */
  private async readyFiles(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.config.path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new SourceError(`directory ${this.config.path}: ${e.code === 'ENOENT' ? 'no such directory' : e.message}`, { cause: err });
    }
    const now = Date.now();
    const ready: string[] = [];
    for (const name of names.sort()) {
      if (!this.matches(name) || this.taken.has(name)) continue;
      let info;
      try {
        info = await stat(join(this.config.path, name));
      } catch {
        continue; // removed meanwhile
      }
      if (!info.isFile()) continue;
      const prev = this.seen.get(name);
      if (prev === undefined || prev.size !== info.size || prev.mtimeMs !== info.mtimeMs) {
        // First sight of a file last modified long enough ago counts as stable already (files there at start).
        const since = prev === undefined && now - info.mtimeMs >= this.stableMs ? now - this.stableMs : now;
        this.seen.set(name, { size: info.size, mtimeMs: info.mtimeMs, since });
      }
      if (now - this.seen.get(name)!.since >= this.stableMs) ready.push(name);
    }
    return ready;
  }

  /** The records of each ready file in batches (one per read chunk), after those an earlier run produced. */
  async *batches(context?: SourceContext): AsyncGenerator<SourceRecord[]> {
    let first = true;
    while (!this.stopped) {
      const ready = await this.readyFiles();
      const before = this.unchanged;
      for (const name of ready) {
        if (this.stopped) return;
        this.taken.add(name);
        this.seen.delete(name);
        const path = join(this.config.path, name);
        const stopped = (): boolean => this.stopped;
        const skips = new SkippedLines(this);
        const open = (): AsyncGenerator<SourceRecord[]> => {
          skips.opened();
          return this.formatOf(name) === 'csv'
            ? this.readCsv(path, { keyColumn: this.config.keyColumn, columns: this.config.columns, delimiter: this.config.delimiter }, stopped)
            : jsonlFileBatches(path, { keyColumn: this.config.keyColumn, skipBadLines: this.config.skipBadLines }, (_line, _reason, before) => skips.skip(before), stopped);
        };
        yield* resumeFileBatches(path, open, context, { label: name, stopped, onUnchanged: () => this.unchanged++, afterResume: (start) => skips.resumed(start) });
      }
      const n = this.unchanged - before;
      if (first && n > 0) context?.log(`${n} finished file${n === 1 ? ' was' : 's were'} produced by an earlier run and ${n === 1 ? 'is' : 'are'} unchanged: skipped`);
      first = false;
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve();
        }, this.config.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** The same records one at a time. */
  async *records(context?: SourceContext): AsyncGenerator<SourceRecord> {
    for await (const batch of this.batches(context)) {
      for (const r of batch) {
        if (this.stopped) return;
        yield r;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
  }
}
