/**
 * Directory source: the matching files already there in name order, then new ones as they appear (polled:
 * fs.watch misses events on network and container file systems). A file is taken once its size has not changed
 * for `stableMs`, so one still being written is not read half-way. A file is recorded in `<dir>/.tributary-done`
 * once every record of it is acknowledged, so a restart does not read it again (and a crash before that reads it
 * again: at-least-once).
 */
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirectorySourceConfig, SourceConnector, SourceRecord } from '../types.js';
import { csvFileRecords } from './csv.js';
import { SourceError } from './input.js';
import { jsonlFileRecords } from './jsonl.js';

export const DONE_FILE = '.tributary-done';

/** '*' and '?' file-name glob → RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

interface FileState {
  name: string;
  /** Records yielded and not yet acknowledged. */
  pending: number;
  readDone: boolean;
  failed: boolean;
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

export interface DirectoryOptions {
  /** How long a file's size must stay the same before it is read; default 1000 ms. */
  stableMs?: number;
}

export class DirectorySource implements SourceConnector {
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly done = new Set<string>();
  private readonly seen = new Map<string, Seen>();
  private readonly fileOf = new WeakMap<SourceRecord, FileState>();
  private readonly matcher: RegExp;
  private readonly stableMs: number;
  /** Files fully read and acknowledged in this run (for the summary and tests). */
  readonly finished: string[] = [];
  skipped = 0;
  private doneWrites: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly config: Pick<DirectorySourceConfig, 'path' | 'pattern' | 'format' | 'keyColumn' | 'columns' | 'delimiter' | 'skipBadLines' | 'pollMs'>,
    options: DirectoryOptions = {},
  ) {
    this.matcher = globToRegExp(config.pattern);
    this.stableMs = options.stableMs ?? 1000;
  }

  private matches(file: string): boolean {
    if (file === DONE_FILE || file.startsWith('.')) return false;
    return this.matcher.test(file) || (/\.gz$/i.test(file) && this.matcher.test(file.slice(0, -3)));
  }

  private formatOf(file: string): 'csv' | 'jsonl' {
    if (this.config.format !== undefined) return this.config.format;
    const base = file.replace(/\.gz$/i, '').toLowerCase();
    if (base.endsWith('.csv')) return 'csv';
    if (base.endsWith('.jsonl') || base.endsWith('.ndjson') || base.endsWith('.json')) return 'jsonl';
    throw new SourceError(`${join(this.config.path, file)}: cannot tell csv from jsonl by the name; set format in the source`);
  }

  private async loadDone(): Promise<void> {
    let text = '';
    try {
      text = await readFile(join(this.config.path, DONE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) if (line !== '') this.done.add(line);
  }

  /** Files ready to read now, in name order: matching, not done, size unchanged for stableMs. */
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
      if (!this.matches(name) || this.done.has(name)) continue;
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

  async *records(): AsyncGenerator<SourceRecord> {
    await this.loadDone();
    while (!this.stopped) {
      const ready = await this.readyFiles();
      for (const name of ready) {
        if (this.stopped) return;
        const state: FileState = { name, pending: 0, readDone: false, failed: false };
        const path = join(this.config.path, name);
        const recs =
          this.formatOf(name) === 'csv'
            ? csvFileRecords(path, { keyColumn: this.config.keyColumn, columns: this.config.columns, delimiter: this.config.delimiter })
            : jsonlFileRecords(path, { keyColumn: this.config.keyColumn, skipBadLines: this.config.skipBadLines }, () => this.skipped++);
        // Pulled by hand so that after a stop one more pull tells whether the file was read to its end
        // (then it is done) or only partly (then it is read again next time).
        let complete = false;
        try {
          for (;;) {
            const n = await recs.next();
            if (n.done === true) {
              complete = true;
              break;
            }
            if (this.stopped) break; // read only partly: this record is not yielded
            state.pending++;
            this.fileOf.set(n.value, state);
            yield n.value;
          }
        } finally {
          if (!complete) await recs.return(undefined);
        }
        if (!complete) return;
        this.done.add(name); // do not take it again in this run, even before its acknowledgements
        this.seen.delete(name);
        state.readDone = true;
        this.maybeFinished(state);
      }
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

  commitRecord(record: SourceRecord, error: Error | null): void {
    const state = this.fileOf.get(record);
    if (state === undefined) return;
    state.pending--;
    if (error !== null) state.failed = true;
    this.maybeFinished(state);
  }

  private maybeFinished(state: FileState): void {
    if (!state.readDone || state.pending > 0 || state.failed) return;
    state.readDone = false; // once
    // Appends are chained so the done-list lines never interleave.
    this.doneWrites = this.doneWrites.then(() => appendFile(join(this.config.path, DONE_FILE), `${state.name}\n`)).then(
      () => void this.finished.push(state.name),
      (err: unknown) => void process.stderr.write(`warning: ${this.name}: could not record ${state.name} in ${DONE_FILE}: ${(err as Error).message}\n`),
    );
  }

  /** Resolves when the done-list writes so far are on disk. */
  flushed(): Promise<void> {
    return this.doneWrites;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.doneWrites;
  }
}
