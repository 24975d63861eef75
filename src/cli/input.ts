/**
 * Input of `tributary produce`: records from lines of stdin or a file, read as a stream (one chunk
 * at a time, pulled only as fast as the producer takes them), so a big file never sits in memory.
 * Formats: `lines` (kcat -P: one value per line, `--key-separator` splits off a key), `json` (one
 * object per line) and `csv` (a header row, then one record per row, the row as a JSON object with the
 * column types the connect CSV source infers).
 */
import { CsvTranscoder, type RecordMaker } from '../connect/sources/csv-bytes.js';
import { TributaryError } from '../errors.js';

export type InputFormat = 'lines' | 'json' | 'csv';

export interface InputHeader {
  key: string;
  value: string | Buffer | null;
}

export interface InputRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: InputHeader[];
  partition?: number;
  /** Bytes of key and value, for rates. */
  bytes: number;
  /** 1-based line of the input where the record starts, for messages. */
  line: number;
}

export interface InputOptions {
  format: InputFormat;
  /** lines: the key is what comes before the first occurrence (kcat -K). */
  keySeparator?: string;
  /** Added to every record (before a json line's own headers). */
  headers?: InputHeader[];
  /** csv: the column whose value becomes the key. */
  keyColumn?: string;
  /** A line (or csv row) longer than this is an error rather than a memory hog. Default 16 MiB. */
  maxLineBytes?: number;
}

/** Bad input data: names the line, exit code 1. */
export class InputError extends TributaryError {
  constructor(message: string) {
    super('ERR_INPUT', message);
  }
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  /** The line's bytes without the newline. */
  bytes: Buffer;
}

/**
 * Splits a byte stream into lines at \n (a last line without a newline counts too), the lines of each chunk in
 * one array (never empty). Holds at most one partial line plus one chunk.
 */
export async function* readLineBatches(source: AsyncIterable<Buffer | string>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Line[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    const out: Line[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      const tail = chunk.subarray(start, nl);
      const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
      pending = [];
      pendingBytes = 0;
      number++;
      if (bytes.length > maxLineBytes) {
        if (out.length > 0) yield out;
        throw new InputError(`line ${number} is ${bytes.length} bytes, more than the limit of ${maxLineBytes}`);
      }
      out.push({ number, bytes });
      start = nl + 1;
    }
    if (out.length > 0) yield out;
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw new InputError(`line ${number + 1} is longer than the limit of ${maxLineBytes} bytes`);
    }
  }
  if (pendingBytes > 0) yield [{ number: number + 1, bytes: Buffer.concat(pending) }];
}

/** Lines one at a time (readLineBatches flattened). */
export async function* readLines(source: AsyncIterable<Buffer | string>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(source, maxLineBytes)) yield* batch;
}

/** Parses records from `source` in the chosen format, one at a time (readRecordBatches flattened). */
export function readRecords(source: AsyncIterable<Buffer | string>, options: InputOptions): AsyncGenerator<InputRecord> {
  return flatten(readRecordBatches(source, options));
}

/**
 * Records in arrays, one per input chunk, for loops that want one await per chunk. A bad line fails after the
 * array of the records before it.
 */
export function readRecordBatches(source: AsyncIterable<Buffer | string>, options: InputOptions): AsyncGenerator<InputRecord[]> {
  const headers = options.headers ?? [];
  if (options.format === 'csv') return csvRecordBatches(source, options.keyColumn, headers, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  const lines = readLineBatches(source, options.maxLineBytes);
  if (options.format === 'lines') return perBatch(lines, () => lineParser(options.keySeparator, headers));
  if (options.format === 'json') return perBatch(lines, () => jsonParser(headers));
  throw new InputError(`unknown input format "${String(options.format)}": use lines, json or csv`);
}

/** Records of each chunk's lines in one array; a bad line fails after the array of the records before it. */
async function* perBatch(batches: AsyncIterable<Line[]>, parser: () => (line: Line) => InputRecord | null): AsyncGenerator<InputRecord[]> {
  const parse = parser();
  for await (const lines of batches) {
    const out: InputRecord[] = [];
    try {
      for (const line of lines) {
        const r = parse(line);
        if (r !== null) out.push(r);
      }
    } catch (err) {
      if (out.length > 0) yield out;
      throw err;
    }
    if (out.length > 0) yield out;
  }
}

async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

function size(b: Buffer | string | null): number {
  return b === null ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length;
}

/**
 * A line as a record for --format lines, as kcat -P reads it: an empty line is skipped (null); with a separator, a
 * line without one has a null key.
 */
function lineParser(keySeparator: string | undefined, headers: InputHeader[]): (line: Line) => InputRecord | null {
  const sep = keySeparator === undefined ? null : Buffer.from(keySeparator, 'utf8');
  if (sep !== null && sep.length === 0) throw new InputError('--key-separator must not be empty');
  return ({ number, bytes }) => {
    if (bytes.length === 0) return null;
    let key: Buffer | null = null;
    let value = bytes;
    if (sep !== null) {
      const at = bytes.indexOf(sep);
      if (at >= 0) {
        key = bytes.subarray(0, at);
        value = bytes.subarray(at + sep.length);
      }
    }
    return { key, value, headers, bytes: size(key) + value.length, line: number };
  };
}

/** A JSON value as record bytes: strings as they are, null stays null, anything else JSON text. */
function jsonField(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function jsonHeaders(raw: unknown, line: number): InputHeader[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) {
    return raw.map((h: unknown) => {
      if (typeof h !== 'object' || h === null || typeof (h as { key?: unknown }).key !== 'string') {
        throw new InputError(`line ${line}: "headers" entries must look like {"key": "k", "value": "v"}`);
      }
      return { key: (h as { key: string }).key, value: jsonField((h as { value?: unknown }).value) };
    });
  }
  if (typeof raw === 'object') return Object.entries(raw as Record<string, unknown>).map(([key, value]) => ({ key, value: jsonField(value) }));
  throw new InputError(`line ${line}: "headers" must be an object {"k": "v"} or an array of {"key", "value"}`);
}

/**
 * A line as a record for --format json: one object {key?, value, headers?, partition?}, a non-string value sent as
 * its JSON text; a blank line is skipped (null).
 */
function jsonParser(headers: InputHeader[]): (line: Line) => InputRecord | null {
  return ({ number, bytes }) => {
    const text = bytes.toString('utf8').trim();
    if (text === '') return null;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new InputError(`line ${number}: not JSON (${(err as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !('value' in obj)) {
      throw new InputError(`line ${number}: expected an object like {"key": "k", "value": ..., "headers": {"h": "v"}, "partition": 0}`);
    }
    const o = obj as { key?: unknown; value: unknown; headers?: unknown; partition?: unknown };
    let partition: number | undefined;
    if (o.partition !== undefined && o.partition !== null) {
      if (typeof o.partition !== 'number' || !Number.isInteger(o.partition) || o.partition < 0) {
        throw new InputError(`line ${number}: "partition" must be a non-negative integer`);
      }
      partition = o.partition;
    }
    const key = jsonField(o.key);
    const value = jsonField(o.value);
    return { key, value, headers: [...headers, ...jsonHeaders(o.headers, number)], partition, bytes: size(key) + size(value), line: number };
  };
}

/**
 * Rows of a CSV with a header row; each row becomes a JSON object value keyed by the column names, with the
 * column types the connect CSV source infers (the same transcoder, src/connect/sources/csv-bytes.ts: numbers,
 * booleans, ISO timestamps, empty cells null, leading zeros kept as text), from the first INFER_ROWS rows, written
 * as JSON bytes straight from the input bytes. The key is the key column's text; an empty cell is no key. Read as
 * produce always read CSV: rows end at LF or CRLF (a lone CR is text), empty lines are skipped.
 */
async function* csvRecordBatches(source: AsyncIterable<Buffer | string>, keyColumn: string | undefined, headers: InputHeader[], maxLineBytes: number): AsyncGenerator<InputRecord[]> {
  const make: RecordMaker<InputRecord> = (key, value, line) => {
    const v = Buffer.isBuffer(value) ? value : JSON.stringify(value);
    return { key, value: v, headers, bytes: size(key) + size(v), line };
  };
  const transcoder = new CsvTranscoder({ delimiter: ',', keyColumn, path: '', produce: { maxRowBytes: maxLineBytes, error: (message) => new InputError(message) } }, make);
  for await (const piece of source) {
    const out: InputRecord[] = [];
    try {
      transcoder.feed(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece, out);
    } catch (err) {
      // The records before the bad line go first.
      if (out.length > 0) yield out;
      throw err;
    }
    if (out.length > 0) yield out;
  }
  const out: InputRecord[] = [];
  try {
    transcoder.end(out);
  } catch (err) {
    if (out.length > 0) yield out;
    throw err;
  }
  if (out.length > 0) yield out;
}

/** `--header k=v` (repeatable) into a list, in order. */
export function collectHeader(value: string, previous: InputHeader[] = []): InputHeader[] {
  const i = value.indexOf('=');
  if (i <= 0) throw new InputError(`--header expects key=value, e.g. --header source=cli; got "${value}"`);
  return [...previous, { key: value.slice(0, i), value: value.slice(i + 1) }];
}

/** Counts a file's lines, streaming: an upper bound of its records (empty lines are skipped), for a progress total. */
export async function countLines(source: AsyncIterable<Buffer | string>): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  return last === 10 ? lines : lines + 1;
}
