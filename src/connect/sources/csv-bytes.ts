/**
 * CSV → JSON bytes, straight from the input bytes (issue 16): each row's JSON value (and its key) is written into
 * one output Buffer per read chunk, and the records carry Buffer subarrays of it — no string per cell, no row
 * object, no JSON.stringify, no UTF-8 encoding in the producer.
 *
 * The bytes must be exactly what JSON.stringify of the coerced row (src/connect/records.ts coerceCell, the
 * object path of csv.ts) gives, so a topic's records and the stored resume fingerprints do not depend on which
 * path made them. Only cells whose JSON text is plainly their own bytes take the fast path: canonical integers
 * (≤ 15 digits, no '+', no leading zero, not -0) and decimals (≤ 15 significant digits, no trailing zero, no
 * exponent), lowercase true/false, timestamps already in toISOString's form, empty cells of typed columns (null),
 * and text that is valid UTF-8 (JSON escapes written as JSON.stringify writes them). A row with any other cell
 * (leading zeros, exponents, '+', '.5', 'TRUE', other timestamp forms, invalid UTF-8, text after a closing quote)
 * is decoded and goes through the object path, which stays the fallback and the oracle; so does every row of a
 * file whose header makes JSON.stringify reorder or drop keys (integer-like names, "__proto__"), and the first
 * INFER_ROWS rows, from which the column types are inferred.
 *
 * Parsing is the CSV source's (csv.ts CsvParser): RFC 4180, lenient (text after a closing quote and quotes inside
 * an unquoted field are text), rows end at LF, CR or CRLF outside quotes. Delimiters, quotes and line ends are
 * ASCII, never part of a UTF-8 sequence, so fields cut from the bytes decode to the same text as the decoded
 * stream cut at the same places (an invalid sequence becomes U+FFFD either way). A row split across read chunks
 * is parsed again from its start once the rest has arrived (a long row waits until the bytes after it are at
 * least as many as its own, so that stays linear).
 */
import { NULL_BYTES, writeAsciiEscape, writeBytes } from '../json-bytes.js';
import { coerceCell, inferType, INFER_ROWS } from '../records.js';
import type { ColumnType, SourceRecord } from '../types.js';
import { MAX_ROW_CHARS, openBytes, SourceError } from './input.js';

const QUOTE = 34;
const LF = 10;
const CR = 13;
const BSLASH = 92;
const MINUS = 45;
const ZERO = 48;
const DOT = 46;

// Field flags.
/** The field starts with a quote: its content lies between the quotes. */
const QUOTED = 1;
/** A quoted field holding "" escapes. */
const ESC = 2;
/** Text after the closing quote: decoded the slow way. */
const MESSY = 4;
/** Bytes ≥ 0x80 (checked as UTF-8 before they are copied). */
const HIGH = 8;
/** Bytes JSON escapes: control characters, '"', '\'. */
const CTRL = 16;
/** produce's reading: a CR before an LF inside quotes (read as the LF alone). */
const CRLF = 32;

/** A row for the object path: its cells as text and the line it starts on. */
export interface CsvTextRow {
  fields: string[];
  /** 1-based line where the row starts. */
  line: number;
}

export interface CsvTranscodeOptions {
  delimiter: string;
  keyColumn?: string;
  columns?: Record<string, ColumnType>;
  /** How the input is named in errors. */
  path: string;
  /**
   * `tributary produce --format csv`'s reading (src/cli/input.ts), line-based as it always was: rows end at LF or
   * CRLF only (a lone CR is text; a CRLF inside quotes reads as LF), an empty line is skipped wherever it is, the
   * header may name a column twice (the last cell wins), rows longer than maxRowBytes fail, and messages name
   * the line without the path, thrown as `error` makes them.
   */
  produce?: { maxRowBytes: number; error: (message: string) => Error };
}

/** What the transcoder hands on per row: `value` is the JSON bytes (fast path) or the row object (object path). */
export type RecordMaker<R> = (key: string | Buffer | null, value: Buffer | Record<string, string | number | boolean | null>, line: number) => R;

/** The connect source's records. */
export const sourceRecord: RecordMaker<SourceRecord> = (key, value) => ({ key, value });

/** Whether JSON.stringify would not write the header's keys in header order, or would drop one. */
function reordersKeys(header: string[]): boolean {
  return header.some((h) => h === '__proto__' || /^(?:0|[1-9]\d*)$/.test(h));
}

/** Whether bytes [s, e) are valid UTF-8 as the WHATWG decoder reads it (no overlongs, surrogates or > U+10FFFF). */
export function validUtf8(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= e) return false;
    const b1 = b[i + 1]!;
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const x = b[i + k]!;
      if (x < 0x80 || x > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A cell whose text is what JSON.stringify(Number(cell)) writes, for an int column: -?(0|[1-9]\d{0,14}), not -0. */
function canonicalInt(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  if (b[i] === MINUS) i++;
  const digits = e - i;
  if (digits < 1 || digits > 15) return false;
  if (b[i] === ZERO) return digits === 1 && i === s;
  for (; i < e; i++) if (!isDigit(b[i]!)) return false;
  return true;
}

/**
 * The same for a float column: -?(0|[1-9]\d*)(\.\d*[1-9])? with at most 15 significant digits and at most five
 * zeros after "0." (Number's shortest round-trip text of such a decimal is the decimal itself), not -0.
 */
function canonicalFloat(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  const negative = b[i] === MINUS;
  if (negative) i++;
  const intStart = i;
  while (i < e && isDigit(b[i]!)) i++;
  const intLen = i - intStart;
  if (intLen === 0 || (intLen > 1 && b[intStart] === ZERO)) return false;
  const zeroInt = b[intStart] === ZERO;
  if (i === e) return zeroInt ? !negative : intLen <= 15;
  if (b[i] !== DOT) return false;
  i++;
  const fracStart = i;
  while (i < e && isDigit(b[i]!)) i++;
  if (i !== e || i === fracStart || b[e - 1] === ZERO) return false;
  const fracLen = e - fracStart;
  if (!zeroInt) return intLen + fracLen <= 15;
  let z = 0;
  while (b[fracStart + z] === ZERO) z++;
  return z <= 5 && fracLen - z <= 15;
}

function twoDigits(b: Uint8Array, i: number): number {
  const x = b[i]! - 48;
  const y = b[i + 1]! - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** records.ts isCanonicalTimestamp on bytes: YYYY-MM-DDTHH:MM:SS.sssZ, a real date and time (coerced to itself). */
function canonicalTimestamp(b: Uint8Array, s: number, e: number): boolean {
  if (e - s !== 24 || b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58 || b[s + 19] !== 46 || b[s + 23] !== 90) return false;
  const hi = twoDigits(b, s);
  const lo = twoDigits(b, s + 2);
  const month = twoDigits(b, s + 5);
  const day = twoDigits(b, s + 8);
  const hour = twoDigits(b, s + 11);
  const minute = twoDigits(b, s + 14);
  const second = twoDigits(b, s + 17);
  const ms = b[s + 22]! - 48;
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return false;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || twoDigits(b, s + 20) < 0 || ms < 0 || ms > 9) return false;
  const year = hi * 100 + lo;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Transcodes one CSV input (a header row, then rows) fed as byte chunks into records with Buffer key/value.
 * feed() and end() append the records the bytes complete to `out`; they throw at a bad row after appending the
 * records before it.
 */
export class CsvTranscoder<R = SourceRecord> {
  private readonly D: number;
  private readonly path: string;
  /** The bytes of a row not complete yet, and the chunks that arrived after it (a long row waits for enough). */
  private carry: Buffer | null = null;
  private more: Buffer[] = [];
  private moreBytes = 0;
  /** The line the next row starts on. */
  private line = 1;
  /** Lines the row just scanned spans (newlines inside quotes and its own line end). */
  private rowLines = 0;
  // The fields of the row just scanned: raw extent (to the delimiter), content extent (inside quotes), flags.
  private n = 0;
  private rs: number[] = [];
  private re: number[] = [];
  private cs: number[] = [];
  private ce: number[] = [];
  private fl: number[] = [];

  private header: string[] | null = null;
  private width = 0;
  private keyIndex = -1;
  private types: ColumnType[] = [];
  /** Per column: 0 string, 1 int, 2 float, 3 bool, 4 timestamp. */
  private kinds: number[] = [];
  private fast = false;
  /** Per column k: `{"name":` or `,"name":` as bytes, at prefixAt[k] … prefixAt[k + 1] of `prefixes`. */
  private prefixes: Uint8Array = new Uint8Array(0);
  private prefixAt: number[] = [];
  private prefixBytes = 0;
  private readonly pending: CsvTextRow[] = [];

  private out: Buffer = Buffer.alloc(0);
  private pos = 0;

  private readonly lf: boolean;
  private readonly make: RecordMaker<R>;

  constructor(
    private readonly options: CsvTranscodeOptions,
    make?: RecordMaker<R>,
  ) {
    this.D = options.delimiter.charCodeAt(0);
    this.path = options.path;
    this.lf = options.produce !== undefined;
    this.make = make ?? (sourceRecord as unknown as RecordMaker<R>);
  }

  private fail(message: string): Error {
    return this.options.produce !== undefined ? this.options.produce.error(message) : new SourceError(message);
  }

  /** "<path> line N" (produce: "line N"). */
  private at(line: number): string {
    return this.lf ? `line ${line}` : `${this.path} line ${line}`;
  }

  feed(chunk: Buffer, out: R[]): void {
    let buf = chunk;
    if (this.carry !== null) {
      this.more.push(chunk);
      this.moreBytes += chunk.length;
      // A long row: parse it again only once as many bytes again have come (linear, not quadratic).
      if (this.carry.length > 65536 && this.moreBytes < this.carry.length) {
        this.checkLength(this.carry.length + this.moreBytes);
        return;
      }
      buf = Buffer.concat([this.carry, ...this.more]);
      this.carry = null;
      this.more = [];
      this.moreBytes = 0;
    }
    this.process(buf, false, out);
  }

  /** The input ended: its last row (one without a line end), and the rows held back for type inference. */
  end(out: R[]): void {
    if (this.carry !== null) {
      const buf = this.more.length === 0 ? this.carry : Buffer.concat([this.carry, ...this.more]);
      this.carry = null;
      this.more = [];
      this.moreBytes = 0;
      this.process(buf, true, out);
    }
    if (this.header !== null && this.types.length === 0) this.decideTypes(out);
  }

  private checkLength(bytes: number): void {
    const produce = this.options.produce;
    if (produce !== undefined) {
      if (bytes > produce.maxRowBytes) throw this.fail(`line ${this.line} is longer than the limit of ${produce.maxRowBytes} bytes`);
    } else if (bytes > MAX_ROW_CHARS) {
      throw this.fail(`${this.at(this.line)}: a row longer than ${MAX_ROW_CHARS} bytes (a quoted field never closes?)`);
    }
  }

  private process(buf: Buffer, final: boolean, out: R[]): void {
    const len = buf.length;
    let start = 0;
    while (start < len) {
      const next = this.scanRow(buf, start, len, final);
      if (next < 0) break;
      if (this.lf && next - start > this.options.produce!.maxRowBytes) {
        throw this.fail(`line ${this.line} is ${next - start} bytes, more than the limit of ${this.options.produce!.maxRowBytes}`);
      }
      this.takeRow(buf, out);
      this.line += this.rowLines;
      start = next;
    }
    if (start < len) {
      this.carry = buf.subarray(start);
      this.checkLength(this.carry.length);
    }
  }

  private pushField(rs: number, re: number, cs: number, ce: number, flags: number): void {
    const n = this.n++;
    this.rs[n] = rs;
    this.re[n] = re;
    this.cs[n] = cs;
    this.ce[n] = ce;
    this.fl[n] = flags;
  }

  /**
   * Scans the row starting at `start` into the field arrays: the index after its line end, or -1 when the bytes
   * end inside it (unless `final`: then the input's end ends it; a quote never closed throws).
   */
  private scanRow(b: Buffer, start: number, len: number, final: boolean): number {
    const D = this.D;
    const lf = this.lf;
    let i = start;
    let lines = 0;
    this.n = 0;
    for (;;) {
      const rawStart = i;
      let flags = 0;
      let cs = i;
      let ce = -1;
      if (i < len && b[i] === QUOTE) {
        flags = QUOTED;
        cs = ++i;
        for (;;) {
          if (i >= len) {
            if (!final) return -1;
            throw this.fail(`${this.at(this.line)}: a quoted field never closes`);
          }
          const c = b[i]!;
          if (c === QUOTE) {
            if (i + 1 >= len) {
              if (!final) return -1; // "" split across chunks, or a closing quote: decided with the next bytes
              ce = i++;
              break;
            }
            if (b[i + 1] === QUOTE) {
              flags |= ESC;
              i += 2;
              continue;
            }
            ce = i++;
            break;
          }
          if (c >= 0x80) flags |= HIGH;
          else if (c < 0x20 || c === BSLASH) {
            flags |= CTRL;
            if (c === LF) lines++;
            else if (c === CR && lf) {
              if (i + 1 >= len) {
                if (!final) return -1;
              } else if (b[i + 1] === LF) flags |= CRLF;
            }
          }
          i++;
        }
      }
      const afterQuote = i;
      while (i < len) {
        const c = b[i]!;
        if (c === D || c === LF) break;
        if (c === CR) {
          if (!lf) break;
          // produce: a CR ends the row before an LF or at the input's end; elsewhere it is text.
          if (i + 1 >= len) {
            if (!final) return -1;
            break;
          }
          if (b[i + 1] === LF) break;
        }
        if (c >= 0x80) flags |= HIGH;
        else if (c < 0x20 || c === QUOTE || c === BSLASH) flags |= CTRL;
        i++;
      }
      if (ce < 0) ce = i;
      else if (i > afterQuote) flags |= MESSY;
      this.pushField(rawStart, i, cs, ce, flags);
      if (i >= len) {
        if (!final) return -1;
        this.rowLines = lines;
        return len;
      }
      const c = b[i++]!;
      if (c === D) continue;
      if (c === CR) {
        if (i >= len && !final) return -1; // an LF may follow in the next bytes
        if (i < len && b[i] === LF) i++;
      }
      this.rowLines = lines + 1;
      return i;
    }
  }

  /** Field k's text, as the text parser reads it. */
  private text(b: Buffer, k: number): string {
    const flags = this.fl[k]!;
    if ((flags & QUOTED) === 0) return b.toString('utf8', this.rs[k]!, this.re[k]!);
    let inner = b.toString('utf8', this.cs[k]!, this.ce[k]!);
    if ((flags & ESC) !== 0) inner = inner.replaceAll('""', '"');
    if ((flags & CRLF) !== 0) inner = inner.replaceAll('\r\n', '\n');
    return (flags & MESSY) === 0 ? inner : inner + b.toString('utf8', this.ce[k]! + 1, this.re[k]!);
  }

  private textRow(b: Buffer): CsvTextRow {
    const fields = new Array<string>(this.n);
    for (let k = 0; k < this.n; k++) fields[k] = this.text(b, k);
    return { fields, line: this.line };
  }

  /** Whether the row just scanned is a single empty field. */
  private blank(): boolean {
    return this.n === 1 && (this.fl[0]! & MESSY) === 0 && this.ce[0] === this.cs[0];
  }

  private takeRow(b: Buffer, out: R[]): void {
    if (this.lf) {
      // produce: an empty line is skipped, before the header too; a row of the wrong width fails at once.
      if (this.n === 1 && this.re[0] === this.rs[0]) return;
      if (this.header !== null && this.n !== this.width) throw this.fail(`line ${this.line}: ${this.n} fields, but the header has ${this.width}`);
    }
    if (this.header === null) {
      this.takeHeader(this.textRow(b).fields);
      return;
    }
    if (this.width > 1 && this.blank()) return;
    if (this.types.length === 0) {
      this.pending.push(this.textRow(b));
      if (this.pending.length >= INFER_ROWS) this.decideTypes(out);
      return;
    }
    if (this.n !== this.width) {
      throw this.fail(`${this.at(this.line)}: ${this.n} fields, but the header has ${this.width} (${this.header.join(', ')})`);
    }
    if (!this.fast || !this.writeRow(b, out)) out.push(this.toRecord(this.textRow(b)));
  }

  private takeHeader(fields: string[]): void {
    const header = fields.map((f) => f.trim());
    this.header = header;
    this.width = header.length;
    const { path, keyColumn, columns } = this.options;
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined && !this.lf) throw this.fail(`${path}: the header names column "${dup}" twice`);
    if (keyColumn !== undefined) {
      this.keyIndex = header.indexOf(keyColumn);
      if (this.keyIndex < 0) {
        throw this.fail(this.lf ? `--key-column ${keyColumn} is not a column of the CSV header (${header.join(', ')})` : `${path}: keyColumn "${keyColumn}" is not a column of the header (${header.join(', ')})`);
      }
    }
    for (const col of Object.keys(columns ?? {})) {
      if (!header.includes(col)) throw this.fail(`${path}: columns.${col} is declared, but the header has no such column (${header.join(', ')})`);
    }
    // A repeated name (produce) is one key in the object, at its first place with the last cell: the object path.
    this.fast = !reordersKeys(header) && dup === undefined;
    const parts = header.map((h, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(h)}:`, 'utf8'));
    this.prefixes = Buffer.concat(parts);
    this.prefixBytes = this.prefixes.length;
    this.prefixAt = [0];
    for (const part of parts) this.prefixAt.push(this.prefixAt.at(-1)! + part.length);
  }

  private decideTypes(out: R[]): void {
    const header = this.header!;
    const pending = this.pending;
    this.types = header.map((col, i) => this.options.columns?.[col] ?? inferType(pending.map((r) => r.fields[i] ?? '')));
    this.kinds = this.types.map((t) => ['string', 'int', 'float', 'bool', 'timestamp'].indexOf(t));
    for (const row of pending.splice(0)) out.push(this.toRecord(row));
  }

  /** The object path (csv.ts before issue 16's bytes): the row as an object of coerced cells, the key as text. */
  private toRecord(row: CsvTextRow): R {
    const fields = row.fields;
    const header = this.header!;
    const width = this.width;
    if (fields.length !== width) {
      throw this.fail(`${this.at(row.line)}: ${fields.length} fields, but the header has ${width} (${header.join(', ')})`);
    }
    const value: Record<string, string | number | boolean | null> = {};
    for (let i = 0; i < width; i++) value[header[i]!] = coerceCell(fields[i]!, this.types[i]!);
    const k = this.keyIndex;
    return this.make(k >= 0 && fields[k] !== '' ? fields[k]! : null, value, row.line);
  }

  /** Room for `bytes` more in the output buffer (a full one stays with the records that point into it). */
  private reserve(bytes: number): void {
    if (this.out.length - this.pos >= bytes) return;
    this.out = Buffer.allocUnsafe(Math.max(256 * 1024, bytes));
    this.pos = 0;
  }

  /** The fast path: the row's value (and key) as bytes; false (nothing written) when a cell needs the object path. */
  private writeRow(b: Buffer, records: R[]): boolean {
    const n = this.n;
    const fl = this.fl;
    const cs = this.cs;
    const ce = this.ce;
    const kinds = this.kinds;
    const rowBytes = this.re[n - 1]! - this.rs[0]!;
    // Worst case: every byte escaped as \u00XX, plus the names, nulls and the key.
    this.reserve(this.prefixBytes + 7 * rowBytes + 6 * n + 2);
    const o = this.out;
    const start = this.pos;
    const prefixes = this.prefixes;
    const prefixAt = this.prefixAt;
    let p = start;
    for (let k = 0; k < n; k++) {
      const flags = fl[k]!;
      if ((flags & (MESSY | HIGH | CRLF)) !== 0 && ((flags & (MESSY | CRLF)) !== 0 || !validUtf8(b, cs[k]!, ce[k]!))) return false;
      for (let j = prefixAt[k]!, pe = prefixAt[k + 1]!; j < pe; j++) o[p++] = prefixes[j]!;
      const s = cs[k]!;
      const e = ce[k]!;
      const kind = kinds[k]!;
      if (kind === 0) {
        o[p++] = QUOTE;
        if ((flags & (CTRL | ESC)) === 0) for (let j = s; j < e; j++) o[p++] = b[j]!;
        else p = this.escaped(b, s, e, (flags & QUOTED) !== 0, o, p);
        o[p++] = QUOTE;
        continue;
      }
      if (s === e) {
        p = writeBytes(o, p, NULL_BYTES);
        continue;
      }
      if ((flags & (CTRL | ESC | HIGH)) !== 0) return false;
      if (kind === 1) {
        if (!canonicalInt(b, s, e)) return false;
      } else if (kind === 2) {
        if (!canonicalFloat(b, s, e)) return false;
      } else if (kind === 3) {
        const l = e - s;
        if (!((l === 4 && b[s] === 116 && b[s + 1] === 114 && b[s + 2] === 117 && b[s + 3] === 101) || (l === 5 && b[s] === 102 && b[s + 1] === 97 && b[s + 2] === 108 && b[s + 3] === 115 && b[s + 4] === 101))) return false;
      } else {
        if (!canonicalTimestamp(b, s, e)) return false;
        o[p++] = QUOTE;
        for (let j = s; j < e; j++) o[p++] = b[j]!;
        o[p++] = QUOTE;
        continue;
      }
      for (let j = s; j < e; j++) o[p++] = b[j]!;
    }
    o[p++] = 125; // }
    const value = o.subarray(start, p);
    let key: Buffer | null = null;
    const ki = this.keyIndex;
    if (ki >= 0 && ce[ki]! > cs[ki]!) {
      // The key is the cell's text (valid UTF-8: checked above), "" escapes undone.
      const ks = p;
      const s = cs[ki]!;
      const e = ce[ki]!;
      if ((fl[ki]! & ESC) !== 0) {
        for (let j = s; j < e; j++) {
          const c = b[j]!;
          o[p++] = c;
          if (c === QUOTE) j++;
        }
      } else for (let j = s; j < e; j++) o[p++] = b[j]!;
      key = o.subarray(ks, p);
    }
    this.pos = p;
    records.push(this.make(key, value, this.line));
    return true;
  }

  /** Text as JSON.stringify writes it inside a string: '"' and '\\' escaped, control characters as \n … or \u00xx. */
  private escaped(b: Buffer, s: number, e: number, quoted: boolean, o: Buffer, p: number): number {
    for (let j = s; j < e; j++) {
      const c = b[j]!;
      if (c === QUOTE || c === BSLASH || c < 0x20) {
        p = writeAsciiEscape(o, p, c);
        if (c === QUOTE && quoted) j++; // the second quote of a "" pair
      } else o[p++] = c;
    }
    return p;
  }
}

/**
 * Records of one CSV file with Buffer key/value (the JSON bytes), in batches, one per read chunk (never empty);
 * csv.ts csvFileBatches with the values as bytes. A bad row fails the read after the batch of the records before
 * it. `stopped()` is checked between chunks so stop() ends the read promptly.
 */
export async function* csvFileByteBatches(path: string, options: Omit<CsvTranscodeOptions, 'path'>, stopped: () => boolean = () => false): AsyncGenerator<SourceRecord[]> {
  const input = await openBytes(path);
  try {
    const transcoder = new CsvTranscoder({ ...options, path });
    /** Transcodes (feed or end); yields what came before a failure, then throws it. */
    const step = (run: (out: SourceRecord[]) => void): { out: SourceRecord[]; error: unknown } => {
      const out: SourceRecord[] = [];
      let error: unknown = null;
      try {
        run(out);
      } catch (err) {
        error = err;
      }
      return { out, error };
    };
    for await (const chunk of input.chunks) {
      if (stopped()) return;
      const { out, error } = step((o) => transcoder.feed(chunk, o));
      if (out.length > 0) yield out;
      if (error !== null) throw error;
    }
    if (stopped()) return;
    const { out, error } = step((o) => transcoder.end(o));
    if (out.length > 0) yield out;
    if (error !== null) throw error;
  } finally {
    input.close();
  }
}
