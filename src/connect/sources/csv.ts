/**
 * CSV source: RFC 4180 (quoted fields with "" escapes, delimiters and newlines inside quotes, CRLF or LF),
 * a header row, optional gzip. Each row becomes a JSON object; column types are declared or inferred from
 * the first rows, and a cell that does not parse as its column's type stays a string.
 */
import { coerceCell, inferType, INFER_ROWS } from '../records.js';
import type { ColumnType, CsvSourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { MAX_ROW_CHARS, openText, SourceError } from './input.js';
import { resumeFile } from './resume.js';

export interface CsvRow {
  fields: string[];
  /** 1-based line where the row starts. */
  line: number;
}

/** Streaming RFC 4180 parser: rows from text chunks, holding at most one row in memory. */
export async function* parseCsv(chunks: AsyncIterable<string>, delimiter: string, path: string): AsyncGenerator<CsvRow> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  // After a closing quote: the next character must be a delimiter, a newline or another quote.
  let afterQuote = false;
  let line = 1;
  let rowLine = 1;
  let skipLf = false;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (skipLf) {
        skipLf = false;
        if (c === '\n') continue;
      }
      if (quoted) {
        if (c === '"') {
          if (i + 1 < chunk.length) {
            if (chunk[i + 1] === '"') {
              field += '"';
              i++;
            } else {
              quoted = false;
              afterQuote = true;
            }
          } else {
            // The quote is the chunk's last character: decide with the next chunk.
            quoted = false;
            afterQuote = true;
          }
        } else {
          if (c === '\n') line++;
          field += c;
        }
      } else if (c === '"' && afterQuote) {
        // "" split across chunks: an escaped quote.
        field += '"';
        quoted = true;
        afterQuote = false;
      } else if (c === delimiter) {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        yield { fields, line: rowLine };
        fields = [];
        field = '';
        afterQuote = false;
        line++;
        rowLine = line;
        if (c === '\r') skipLf = true;
      } else if (c === '"' && field === '') {
        quoted = true;
      } else {
        // Lenient like most readers: text after a closing quote, or a quote inside an unquoted field, is kept.
        field += c;
        afterQuote = false;
      }
    }
    if (field.length > MAX_ROW_CHARS) {
      throw new SourceError(`${path} line ${rowLine}: a field longer than ${MAX_ROW_CHARS} characters${quoted ? ' (a quoted field never closes?)' : ''}`);
    }
  }
  if (quoted) throw new SourceError(`${path} line ${rowLine}: a quoted field never closes`);
  if (field !== '' || fields.length > 0 || afterQuote) {
    fields.push(field);
    yield { fields, line: rowLine };
  }
}

export interface CsvOptions {
  keyColumn?: string;
  columns?: Record<string, ColumnType>;
  delimiter: string;
}

/** Records of one CSV file. `stopped()` is checked between rows so stop() ends the read promptly. */
export async function* csvFileRecords(path: string, options: CsvOptions, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord> {
  const input = await openText(path);
  try {
    const rows = parseCsv(input.chunks, options.delimiter, path);
    let header: string[] | null = null;
    let keyIndex = -1;
    let types: ColumnType[] = [];
    const pending: CsvRow[] = [];
    const toRecord = (row: CsvRow): SourceRecord => {
      if (row.fields.length !== header!.length) {
        throw new SourceError(`${path} line ${row.line}: ${row.fields.length} fields, but the header has ${header!.length} (${header!.join(', ')})`);
      }
      const value: Record<string, string | number | boolean | null> = {};
      for (let i = 0; i < header!.length; i++) value[header![i]] = coerceCell(row.fields[i], types[i]);
      // The key is the cell's text, so "007" stays "007" even in an int column; an empty cell is no key.
      return { key: keyIndex >= 0 && row.fields[keyIndex] !== '' ? row.fields[keyIndex] : null, value };
    };
    const isBlank = (row: CsvRow): boolean => row.fields.length === 1 && row.fields[0] === '' && header !== null && header.length > 1;
    const decideTypes = (): void => {
      types = header!.map((col, i) => options.columns?.[col] ?? inferType(pending.map((r) => r.fields[i] ?? '')));
    };
    for await (const row of rows) {
      if (stopped()) return;
      if (header === null) {
        header = row.fields.map((f) => f.trim());
        const dup = header.find((h, i) => header!.indexOf(h) !== i);
        if (dup !== undefined) throw new SourceError(`${path}: the header names column "${dup}" twice`);
        if (options.keyColumn !== undefined) {
          keyIndex = header.indexOf(options.keyColumn);
          if (keyIndex < 0) throw new SourceError(`${path}: keyColumn "${options.keyColumn}" is not a column of the header (${header.join(', ')})`);
        }
        for (const col of Object.keys(options.columns ?? {})) {
          if (!header.includes(col)) throw new SourceError(`${path}: columns.${col} is declared, but the header has no such column (${header.join(', ')})`);
        }
        continue;
      }
      if (isBlank(row)) continue;
      if (types.length === 0) {
        pending.push(row);
        if (pending.length < INFER_ROWS) continue;
        decideTypes();
        for (const r of pending.splice(0)) yield toRecord(r);
        continue;
      }
      yield toRecord(row);
    }
    if (header !== null && types.length === 0) {
      decideTypes();
      for (const r of pending.splice(0)) {
        if (stopped()) return;
        yield toRecord(r);
      }
    }
  } finally {
    input.close();
  }
}

export class CsvSource implements SourceConnector {
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly config: Pick<CsvSourceConfig, 'path' | 'keyColumn' | 'columns' | 'delimiter'>,
  ) {}

  /** The file's records after those an earlier run produced (the offset `context` holds for the file). */
  records(context?: SourceContext): AsyncIterable<SourceRecord> {
    const stopped = (): boolean => this.stopped;
    return resumeFile(this.config.path, () => csvFileRecords(this.config.path, this.config, stopped), context, { label: this.config.path, stopped });
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
