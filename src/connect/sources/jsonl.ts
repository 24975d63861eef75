/** JSON-lines source: one JSON object per line (gzip by extension or magic bytes); blank lines are skipped. */
import { keyOf } from '../records.js';
import type { JsonlSourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { lineBatches, openText, SourceError } from './input.js';
import { resumeFileBatches, SkippedLines } from './resume.js';

export interface JsonlOptions {
  keyColumn?: string;
  skipBadLines: boolean;
}

/**
 * Records of one JSON-lines file in batches, one per read chunk (never empty); a bad line throws (naming it, after
 * the batch of the records before it) or, with skipBadLines, calls onSkip.
 */
export async function* jsonlFileBatches(
  path: string,
  options: JsonlOptions,
  onSkip: (line: number, reason: string, before: number) => void,
  stopped: () => boolean = () => false,
): AsyncGenerator<SourceRecord[]> {
  const input = await openText(path);
  /** Records yielded so far (a skipped line's place). */
  let yielded = 0;
  try {
    for await (const batch of lineBatches(input.chunks, path)) {
      if (stopped()) return;
      const out: SourceRecord[] = [];
      for (const { line, number } of batch) {
        if (line.trim() === '') continue;
        let value: unknown;
        let reason: string | null = null;
        try {
          value = JSON.parse(line);
          if (value === null || typeof value !== 'object' || Array.isArray(value)) reason = `not a JSON object (got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value})`;
        } catch (err) {
          reason = `not valid JSON (${(err as Error).message})`;
        }
        if (reason !== null) {
          if (!options.skipBadLines) {
            yielded += out.length;
            if (out.length > 0) yield out;
            throw new SourceError(`${path} line ${number}: ${reason}; fix the line or set skipBadLines: true`);
          }
          onSkip(number, reason, yielded + out.length);
          continue;
        }
        out.push({ key: keyOf(value, options.keyColumn), value });
      }
      yielded += out.length;
      if (out.length > 0) yield out;
    }
  } finally {
    input.close();
  }
}

/** Records of one JSON-lines file, one at a time (jsonlFileBatches flattened). */
export async function* jsonlFileRecords(path: string, options: JsonlOptions, onSkip: (line: number, reason: string, before: number) => void, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord> {
  for await (const batch of jsonlFileBatches(path, options, onSkip, stopped)) {
    for (const r of batch) {
      if (stopped()) return;
      yield r;
    }
  }
}

export class JsonlSource implements SourceConnector {
  private stopped = false;
  /** Lines skipped as bad (skipBadLines: true). */
  skipped = 0;

  constructor(
    readonly name: string,
    private readonly config: Pick<JsonlSourceConfig, 'path' | 'keyColumn' | 'skipBadLines'>,
  ) {}

  /** The file's records in batches, after those an earlier run produced (the offset `context` holds for the file). */
  batches(context?: SourceContext): AsyncGenerator<SourceRecord[]> {
    const stopped = (): boolean => this.stopped;
    const skips = new SkippedLines(this);
    const open = (): AsyncGenerator<SourceRecord[]> => {
      skips.opened();
      return jsonlFileBatches(this.config.path, this.config, (_line, _reason, before) => skips.skip(before), stopped);
    };
    return resumeFileBatches(this.config.path, open, context, { label: this.config.path, stopped, afterResume: (start) => skips.resumed(start) });
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
  }
}
