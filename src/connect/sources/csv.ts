/**
 * CSV source: RFC 4180 (quoted fields with "" escapes, delimiters and newlines inside quotes, CRLF or LF),
 * a header row, optional gzip. Each row becomes a JSON object; column types are declared or inferred from
 * the first rows, and a cell that does not parse as its column's type stays a string.
 *
 * The parser takes whole read chunks: unquoted fields are found with a character-code scan and cut out with one
 * slice each, quoted ones with indexOf('"'); rows go on in arrays, one per chunk (SourceConnector.batches), so
 * the runtime awaits once per chunk rather than once per row.
 */
import { coerceCell, inferType, INFER_ROWS } from '../records.js';
import type { ColumnType, CsvSourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { MAX_ROW_CHARS, openText, SourceError } from './input.js';
import { resumeFileBatches } from './resume.js';
import { csvFileByteBatches } from './csv-bytes.js';

export interface CsvRow {
  fields: string[];
  /** 1-based line where the row starts. */
  line: number;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Streaming RFC 4180 parser over text chunks, holding at most one row between chunks. Lenient like most readers:
 * text after a closing quote, or a quote inside an unquoted field, is kept as text.
 */
export class CsvParser {
  private fields: string[] = [];
  private field = '';
  private quoted = false;
  /** After a closing quote: a quote next (at the start of the next chunk) is an escaped quote split across chunks. */
  private afterQuote = false;
  private line = 1;
  private rowLine = 1;
  private skipLf = false;
  private readonly delimiter: number;

  constructor(
    delimiter: string,
    private readonly path: string,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** Appends the rows `chunk` completes to `out`; throws (after appending the rows before it) on a field too long. */
  feed(chunk: string, out: CsvRow[]): void {
    const len = chunk.length;
    const D = this.delimiter;
    let fields = this.fields;
    let field = this.field;
    let quoted = this.quoted;
    let afterQuote = this.afterQuote;
    let i = 0;
    if (this.skipLf && len > 0) {
      this.skipLf = false;
      if (chunk.charCodeAt(0) === LF) i = 1;
    }
    while (i < len) {
      if (quoted) {
        const q = chunk.indexOf('"', i);
        const end = q < 0 ? len : q;
        for (let k = i; k < end; k++) if (chunk.charCodeAt(k) === LF) this.line++;
        if (end > i) field = field === '' ? chunk.slice(i, end) : field + chunk.slice(i, end);
        if (q < 0) break;
        if (q + 1 < len && chunk.charCodeAt(q + 1) === QUOTE) {
          field += '"';
          i = q + 2;
          continue;
        }
        // A closing quote; one that ends the chunk is decided with the next chunk (afterQuote).
        quoted = false;
        afterQuote = true;
        i = q + 1;
        continue;
      }
      let j = i;
      let c = 0;
      while (j < len) {
        c = chunk.charCodeAt(j);
        if (c === D || c === LF || c === CR || c === QUOTE) break;
        j++;
      }
      if (j > i) {
        field = field === '' ? chunk.slice(i, j) : field + chunk.slice(i, j);
        afterQuote = false;
      }
      if (j === len) break;
      i = j + 1;
      if (c === QUOTE) {
        if (afterQuote) {
          // "" split across chunks: an escaped quote.
          field += '"';
          quoted = true;
          afterQuote = false;
        } else if (field === '') quoted = true;
        else field += '"';
      } else if (c === D) {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else {
        fields.push(field);
        out.push({ fields, line: this.rowLine });
        fields = [];
        field = '';
        afterQuote = false;
        this.line++;
        this.rowLine = this.line;
        if (c === CR) {
          if (i < len) {
            if (chunk.charCodeAt(i) === LF) i++;
          } else this.skipLf = true;
        }
      }
    }
    this.fields = fields;
    this.field = field;
    this.quoted = quoted;
    this.afterQuote = afterQuote;
    if (field.length > MAX_ROW_CHARS) {
      throw new SourceError(`${this.path} line ${this.rowLine}: a field longer than ${MAX_ROW_CHARS} characters${quoted ? ' (a quoted field never closes?)' : ''}`);
    }
  }

  /** The input ended: appends its last row (one without a newline after it). */
  end(out: CsvRow[]): void {
    if (this.quoted) throw new SourceError(`${this.path} line ${this.rowLine}: a quoted field never closes`);
    if (this.field !== '' || this.fields.length > 0 || this.afterQuote) {
      this.fields.push(this.field);
      out.push({ fields: this.fields, line: this.rowLine });
      this.fields = [];
      this.field = '';
      this.afterQuote = false;
    }
  }
}

/** Rows from text chunks, one at a time (the rows before a bad one come first). */
export async function* parseCsv(chunks: AsyncIterable<string>, delimiter: string, path: string): AsyncGenerator<CsvRow> {
  const parser = new CsvParser(delimiter, path);
  const rows: CsvRow[] = [];
  for await (const chunk of chunks) {
    try {
      parser.feed(chunk, rows);
    } finally {
      yield* rows.splice(0);
    }
  }
  try {
    parser.end(rows);
  } finally {
    yield* rows.splice(0);
  }
}

export interface CsvOptions {
  keyColumn?: string;
  columns?: Record<string, ColumnType>;
  delimiter: string;
}

/**
 * Records of one CSV file in batches, one per read chunk (never empty). A bad row fails the read after the batch
 * of the records before it. `stopped()` is checked between chunks so stop() ends the read promptly.
 */
export async function* csvFileBatches(path: string, options: CsvOptions, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord[]> {
  const input = await openText(path);
  try {
    const parser = new CsvParser(options.delimiter, path);
    let header: string[] | null = null;
    let width = 0;
    let keyIndex = -1;
    let types: ColumnType[] = [];
    const pending: CsvRow[] = [];
    const toRecord = (row: CsvRow): SourceRecord => {
      const fields = row.fields;
      if (fields.length !== width) {
        throw new SourceError(`${path} line ${row.line}: ${fields.length} fields, but the header has ${width} (${header!.join(', ')})`);
      }
      const value: Record<string, string | number | boolean | null> = {};
      for (let i = 0; i < width; i++) value[header![i]!] = coerceCell(fields[i]!, types[i]!);
      // The key is the cell's text, so "007" stays "007" even in an int column; an empty cell is no key.
      return { key: keyIndex >= 0 && fields[keyIndex] !== '' ? fields[keyIndex]! : null, value };
    };
    const decideTypes = (): void => {
      types = header!.map((col, i) => options.columns?.[col] ?? inferType(pending.map((r) => r.fields[i] ?? '')));
    };
    const takeHeader = (row: CsvRow): void => {
      header = row.fields.map((f) => f.trim());
      width = header.length;
      const dup = header.find((h, i) => header!.indexOf(h) !== i);
      if (dup !== undefined) throw new SourceError(`${path}: the header names column "${dup}" twice`);
      if (options.keyColumn !== undefined) {
        keyIndex = header.indexOf(options.keyColumn);
        if (keyIndex < 0) throw new SourceError(`${path}: keyColumn "${options.keyColumn}" is not a column of the header (${header.join(', ')})`);
      }
      for (const col of Object.keys(options.columns ?? {})) {
        if (!header.includes(col)) throw new SourceError(`${path}: columns.${col} is declared, but the header has no such column (${header.join(', ')})`);
      }
    };
    /** Rows → records into `out`, in order; throws at the first bad row (the records before it are in `out`). */
    const convert = (rows: CsvRow[], out: SourceRecord[]): void => {
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        if (header === null) {
          takeHeader(row);
          continue;
        }
        if (row.fields.length === 1 && row.fields[0] === '' && width > 1) continue; // a blank line
        if (types.length === 0) {
          pending.push(row);
          if (pending.length < INFER_ROWS) continue;
          decideTypes();
          for (const p of pending.splice(0)) out.push(toRecord(p));
          continue;
        }
        out.push(toRecord(row));
      }
    };
    const rows: CsvRow[] = [];
    /** Parses (feed or end) and converts; yields what came before a failure, then throws it. */
    const step = (parse: () => void): { out: SourceRecord[]; error: unknown } => {
      let error: unknown = null;
      try {
        parse();
      } catch (err) {
        error = err; // the rows before the bad spot are in `rows`
      }
      const out: SourceRecord[] = [];
      try {
        convert(rows, out);
      } catch (err) {
        error = err; // an earlier row than the parser's complaint
      }
      rows.length = 0;
      return { out, error };
    };
    for await (const chunk of input.chunks) {
      if (stopped()) return;
      const { out, error } = step(() => parser.feed(chunk, rows));
      if (out.length > 0) yield out;
      if (error !== null) throw error;
    }
    if (stopped()) return;
    const end = step(() => parser.end(rows));
    const out = end.out;
    let error = end.error;
    if (error === null && header !== null && types.length === 0) {
      try {
        decideTypes();
        for (const p of pending.splice(0)) out.push(toRecord(p));
      } catch (err) {
        error = err; // a bad row among the first: the records before it go first
      }
    }
    if (out.length > 0) yield out;
    if (error !== null) throw error;
  } finally {
    input.close();
  }
}

/** Records of one CSV file, one at a time (csvFileBatches flattened). */
export async function* csvFileRecords(path: string, options: CsvOptions, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord> {
  for await (const batch of csvFileBatches(path, options, stopped)) {
    for (const r of batch) {
      if (stopped()) return;
      yield r;
    }
  }
}

/** How a csv file is read: values as JSON bytes (csv-bytes.ts), unless objects are asked for (`jsonBytes` false). */
export function csvBatchReader(jsonBytes: boolean | undefined): typeof csvFileBatches {
  return jsonBytes === false ? csvFileBatches : csvFileByteBatches;
}

export interface CsvSourceOptions {
  /**
   * Values as JSON bytes made straight from the input bytes (csv-bytes.ts; the same bytes the objects serialize
   * to), default; false: values as objects (a registry value format encodes objects).
   */
  jsonBytes?: boolean;
}

export class CsvSource implements SourceConnector {
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly config: Pick<CsvSourceConfig, 'path' | 'keyColumn' | 'columns' | 'delimiter'>,
    private readonly options: CsvSourceOptions = {},
  ) {}

  /** The file's records in batches, after those an earlier run produced (the offset `context` holds for the file). */
  batches(context?: SourceContext): AsyncGenerator<SourceRecord[]> {
    const stopped = (): boolean => this.stopped;
    const read = csvBatchReader(this.options.jsonBytes);
    return resumeFileBatches(this.config.path, () => read(this.config.path, this.config, stopped), context, { label: this.config.path, stopped });
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
