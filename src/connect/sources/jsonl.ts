/** JSON-lines source: one JSON object per line (gzip by extension or magic bytes); blank lines are skipped. */
import { keyOf } from '../records.js';
import type { JsonlSourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { lines, openText, SourceError } from './input.js';
import { resumeFile } from './resume.js';

export interface JsonlOptions {
  keyColumn?: string;
  skipBadLines: boolean;
}

/** Records of one JSON-lines file; a bad line throws (naming it) or, with skipBadLines, calls onSkip. */
export async function* jsonlFileRecords(path: string, options: JsonlOptions, onSkip: (line: number, reason: string) => void, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord> {
  const input = await openText(path);
  try {
    for await (const { line, number } of lines(input.chunks, path)) {
      if (stopped()) return;
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
        if (!options.skipBadLines) throw new SourceError(`${path} line ${number}: ${reason}; fix the line or set skipBadLines: true`);
        onSkip(number, reason);
        continue;
      }
      yield { key: keyOf(value, options.keyColumn), value };
    }
  } finally {
    input.close();
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

  /** The file's records after those an earlier run produced (the offset `context` holds for the file). */
  records(context?: SourceContext): AsyncIterable<SourceRecord> {
    const stopped = (): boolean => this.stopped;
    const base = this.skipped;
    return resumeFile(this.config.path, () => jsonlFileRecords(this.config.path, this.config, () => this.skipped++, stopped), context, {
      label: this.config.path,
      stopped,
      afterResume: () => void (this.skipped = base),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
