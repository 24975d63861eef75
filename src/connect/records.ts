/**
 * Source-side record helpers: CSV column type inference and cell coercion. (The sink-side record → row
 * mapping lives in src/connect/sinks/.)
 */
import type { ColumnType } from './types.js';

/** Rows a CSV source looks at to infer the types of undeclared columns. */
export const INFER_ROWS = 100;

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const LEADING_ZERO = /^[+-]?0\d+(?:\.\d*)?$/;
const BOOL = /^(?:true|false)$/i;
// ISO-8601 date or date-time (calendar dates only): 2024-01-31, 2024-01-31T12:00, 2024-01-31 12:00:00.123+02:00, …Z
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** A matched timestamp in the form Date parses; without a zone it is UTC (not the machine's local time), so results do not depend on where it runs. */
function isoForDate(cell: string): string {
  const t = cell.replace(' ', 'T').replace(',', '.');
  if (t.length === 10 || /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(t.slice(10))) return t;
  return `${t}Z`;
}

/** Whether a cell parses as a type (empty cells parse as every type: they become null). */
export function parsesAs(cell: string, type: ColumnType): boolean {
  if (cell === '') return true;
  switch (type) {
    case 'int':
      // Beyond 2^53 a JSON number would silently lose digits: such a column is a string.
      return INT.test(cell) && Number.isSafeInteger(Number(cell));
    case 'float':
      return FLOAT.test(cell) && Number.isFinite(Number(cell));
    case 'bool':
      return BOOL.test(cell);
    case 'timestamp':
      return TIMESTAMP.test(cell) && !Number.isNaN(Date.parse(isoForDate(cell)));
    case 'string':
      return true;
  }
}

/**
 * The narrowest type every non-empty sample parses as: int, float, bool, timestamp, else string.
 * A column with only empty samples is a string.
 */
export function inferType(samples: Iterable<string>): ColumnType {
  const candidates = new Set<ColumnType>(['int', 'float', 'bool', 'timestamp']);
  let seen = false;
  for (const cell of samples) {
    if (cell === '') continue;
    seen = true;
    for (const t of candidates) if (!parsesAs(cell, t)) candidates.delete(t);
    // Leading zeros are identifiers (zip codes, account numbers): a number would drop them.
    if (LEADING_ZERO.test(cell)) return 'string';
    if (candidates.size === 0) return 'string';
  }
  if (!seen) return 'string';
  for (const t of ['int', 'float', 'bool', 'timestamp'] as const) if (candidates.has(t)) return t;
  return 'string';
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Whether a cell is already what toISOString writes for it (YYYY-MM-DDTHH:MM:SS.sssZ, a real date and time):
 * then coercing it gives the cell itself, without Date.parse and toISOString (~1.5 µs a cell).
 */
function isCanonicalTimestamp(c: string): boolean {
  if (c.length !== 24 || c.charCodeAt(4) !== 45 || c.charCodeAt(7) !== 45 || c.charCodeAt(10) !== 84 || c.charCodeAt(13) !== 58 || c.charCodeAt(16) !== 58 || c.charCodeAt(19) !== 46 || c.charCodeAt(23) !== 90) return false;
  const hi = twoDigits(c, 0);
  const lo = twoDigits(c, 2);
  const month = twoDigits(c, 5);
  const day = twoDigits(c, 8);
  const ms = c.charCodeAt(22) - 48;
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || twoDigits(c, 11) < 0 || twoDigits(c, 11) > 23) return false;
  if (twoDigits(c, 14) < 0 || twoDigits(c, 14) > 59 || twoDigits(c, 17) < 0 || twoDigits(c, 17) > 59 || twoDigits(c, 20) < 0 || ms < 0 || ms > 9) return false;
  const year = hi * 100 + lo;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * A cell as a JSON value of its column's type: int/float → number, bool → boolean, timestamp → ISO-8601 UTC
 * string (one format for every sink), string → the text. An empty cell of a non-string column is null.
 * A cell that does not parse as its type stays the text: the sink's database decides what to do with it.
 */
export function coerceCell(cell: string, type: ColumnType): string | number | boolean | null {
  if (type === 'string') return cell;
  if (cell === '') return null;
  // Each type parsed once (parsesAs and then converting would parse twice).
  switch (type) {
    case 'int': {
      if (!INT.test(cell)) return cell;
      const n = Number(cell);
      // Beyond 2^53 a JSON number would silently lose digits: such a cell stays text.
      return Number.isSafeInteger(n) ? n : cell;
    }
    case 'float': {
      if (!FLOAT.test(cell)) return cell;
      const n = Number(cell);
      return Number.isFinite(n) ? n : cell;
    }
    case 'bool':
      return BOOL.test(cell) ? cell.toLowerCase() === 'true' : cell;
    case 'timestamp': {
      if (isCanonicalTimestamp(cell)) return cell;
      if (!TIMESTAMP.test(cell)) return cell;
      // The common form (what toISOString writes) needs no rewriting before Date.parse.
      const ms = Date.parse(cell.length === 24 && cell.charCodeAt(10) === 84 && cell.charCodeAt(19) === 46 && cell.charCodeAt(23) === 90 ? cell : isoForDate(cell));
      return Number.isNaN(ms) ? cell : new Date(ms).toISOString();
    }
  }
}

/** The record key from a field of a record value: strings as is, other scalars as their JSON text, absent/null → null. */
export function keyOf(value: unknown, keyColumn: string | undefined): string | null {
  if (keyColumn === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const k = (value as Record<string, unknown>)[keyColumn];
  if (k === undefined || k === null) return null;
  return typeof k === 'string' ? k : JSON.stringify(k);
}
