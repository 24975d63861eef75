import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { collectHeader, countLines, DEFAULT_MAX_LINE_BYTES, InputError, readLineBatches, readLines, readRecordBatches, readRecords, type InputHeader, type InputOptions, type InputRecord, type Line } from '../../../src/cli/input.js';
import { coerceCell, inferType, INFER_ROWS } from '../../../src/connect/records.js';
import type { ColumnType } from '../../../src/connect/types.js';
import { prng } from '../../../src/util/prng.js';

/** A source that yields the text in pieces of `size` bytes, so lines straddle chunks. */
function chunked(text: string | Buffer, size: number): AsyncIterable<Buffer> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) pieces.push(buf.subarray(i, i + size));
  return Readable.from(pieces);
}

async function collect(text: string, options: InputOptions, size = 3): Promise<Array<Omit<InputRecord, 'bytes'>>> {
  const out: Array<Omit<InputRecord, 'bytes'>> = [];
  for await (const r of readRecords(chunked(text, size), options)) {
    const { bytes: _bytes, ...rest } = r;
    out.push({ ...rest, key: r.key === null ? null : r.key.toString(), value: r.value === null ? null : r.value.toString() });
  }
  return out;
}

test('readLines splits across chunk boundaries, keeps a last line without newline, and bounds line length', async () => {
  const lines: string[] = [];
  for await (const l of readLines(chunked('ab\ncdef\n\ngh', 2))) lines.push(`${l.number}:${l.bytes.toString()}`);
  assert.deepEqual(lines, ['1:ab', '2:cdef', '3:', '4:gh']);
  await assert.rejects(async () => {
    for await (const _ of readLines(chunked('x'.repeat(100) + '\n', 7), 50)) { /* drain */ }
  }, (e: unknown) => e instanceof InputError && /line 1/.test(e.message));
});

test('lines with a key separator (kcat -K): key before the first separator, none → null key, empty lines skipped', async () => {
  const headers = [{ key: 'src', value: 'cli' }];
  const got = await collect('k1:v1\nno-key\n\nk2::v:2\n:empty-key\n', { format: 'lines', keySeparator: ':', headers });
  assert.deepEqual(got, [
    { key: 'k1', value: 'v1', headers, line: 1 },
    { key: null, value: 'no-key', headers, line: 2 },
    { key: 'k2', value: ':v:2', headers, line: 4 },
    { key: '', value: 'empty-key', headers, line: 5 },
  ]);
  const multi = await collect('a=>b\n', { format: 'lines', keySeparator: '=>' }, 1);
  assert.deepEqual(multi, [{ key: 'a', value: 'b', headers: [], line: 1 }]);
});

test('json lines: object values are stringified, headers merge after the static ones, partition is kept', async () => {
  const text = [
    '{"key":"a","value":{"n":1},"headers":{"h":"x"},"partition":1}',
    '{"value":"plain","headers":[{"key":"y","value":null}]}',
    '{"key":null,"value":null}',
  ].join('\n');
  const got = await collect(text, { format: 'json', headers: [{ key: 's', value: '1' }] }, 5);
  assert.deepEqual(got, [
    { key: 'a', value: '{"n":1}', headers: [{ key: 's', value: '1' }, { key: 'h', value: 'x' }], partition: 1, line: 1 },
    { key: null, value: 'plain', headers: [{ key: 's', value: '1' }, { key: 'y', value: null }], partition: undefined, line: 2 },
    { key: null, value: null, headers: [{ key: 's', value: '1' }], partition: undefined, line: 3 },
  ]);
  await assert.rejects(collect('{"key":"a"}\n', { format: 'json' }), /line 1: expected an object/);
  await assert.rejects(collect('{"value":1}\nnot json\n', { format: 'json' }), /line 2: not JSON/);
  await assert.rejects(collect('{"value":1,"partition":-1}\n', { format: 'json' }), /partition/);
});

test('csv: header row, quoted fields with commas, quotes and newlines, CRLF, key column', async () => {
  const text = 'id,name,note\r\n1,Ann,"likes, commas"\r\n2,"Bob ""B""","two\nlines"\r\n';
  const got = await collect(text, { format: 'csv', keyColumn: 'id' }, 4);
  assert.deepEqual(got, [
    { key: '1', value: JSON.stringify({ id: 1, name: 'Ann', note: 'likes, commas' }), headers: [], line: 2 },
    { key: '2', value: JSON.stringify({ id: 2, name: 'Bob "B"', note: 'two\nlines' }), headers: [], line: 3 },
  ]);
  await assert.rejects(collect('a,b\n1\n', { format: 'csv' }), /line 2: 1 fields, but the header has 2/);
  await assert.rejects(collect('a,b\n1,2\n', { format: 'csv', keyColumn: 'c' }), /--key-column c/);
  await assert.rejects(collect('a\n"open\n', { format: 'csv' }), /never closes/);
});

test('csv: column types inferred from the first 100 rows as the connect CSV source does', async () => {
  const rows = [...Array(100).keys()].map((i) => `${i},00${i},${i % 2 === 0},${i}.5,2024-01-0${(i % 9) + 1}`);
  const text = `n,code,even,half,day\n${rows.join('\n')}\nx,7,maybe,,\n,,,,\n`;
  const got = await collect(text, { format: 'csv' }, 64);
  assert.equal(got.length, 102);
  assert.deepEqual(JSON.parse(String(got[1]!.value)), { n: 1, code: '001', even: false, half: 1.5, day: '2024-01-02T00:00:00.000Z' });
  // Row 101 came after the types were settled: a cell that does not parse stays text; empty cells are null.
  assert.deepEqual(JSON.parse(String(got[100]!.value)), { n: 'x', code: '7', even: 'maybe', half: null, day: null });
  assert.deepEqual(JSON.parse(String(got[101]!.value)), { n: null, code: '', even: null, half: null, day: null });
  // An empty key cell is no key, as in connect.
  const keyed = await collect('id,v\n,1\n', { format: 'csv', keyColumn: 'id' });
  assert.equal(keyed[0]!.key, null);
});

test('--header parsing and line counting for the progress total', async () => {
  assert.deepEqual(collectHeader('b=2=3', collectHeader('a=1')), [{ key: 'a', value: '1' }, { key: 'b', value: '2=3' }]);
  assert.throws(() => collectHeader('novalue'), InputError);
  assert.equal(await countLines(chunked('a\nb\nc', 2)), 3);
  assert.equal(await countLines(chunked('a\nb\n', 2)), 2);
  assert.equal(await countLines(chunked('', 2)), 0);
});

/**
 * produce's CSV reading before issue 16's transcoder (a line-based parser of its own), kept as the oracle.
 *
 * Splits one CSV record (RFC 4180: "…" quotes fields, "" is a quote inside them). Returns null when
 * a quoted field is still open at the end, so the caller appends the next line (a newline inside quotes).
 */
function parseCsvRecord(text: string): string[] | null {
  const fields: string[] = [];
  const n = text.length;
  let field = '';
  let quoted = false;
  let i = 0;
  for (;;) {
    if (quoted) {
      const q = text.indexOf('"', i);
      if (q < 0) return null;
      if (q > i) field += text.slice(i, q);
      if (q + 1 < n && text.charCodeAt(q + 1) === 34) {
        field += '"';
        i = q + 2;
      } else {
        quoted = false;
        i = q + 1;
      }
      continue;
    }
    // Up to the next comma or quote: one slice (text after a closing quote is kept, as is a quote inside a field).
    let j = i;
    let c = 0;
    while (j < n) {
      c = text.charCodeAt(j);
      if (c === 44 || c === 34) break;
      j++;
    }
    if (j > i) field = field === '' ? text.slice(i, j) : field + text.slice(i, j);
    if (j === n) break;
    i = j + 1;
    if (c === 44) {
      fields.push(field);
      field = '';
    } else if (field === '') quoted = true;
    else field += '"';
  }
  fields.push(field);
  return fields;
}

/**
 * Rows of a CSV with a header row; each row becomes a JSON object value keyed by the column names, with the
 * column types the connect CSV source infers (the same functions: numbers, booleans, ISO timestamps, empty
 * cells null, leading zeros kept as text), from the first INFER_ROWS rows. The key is the key column's text;
 * an empty cell is no key.
 */
async function* oracleCsvRecordBatches(lines: AsyncIterable<Line[]>, keyColumn: string | undefined, headers: InputHeader[]): AsyncGenerator<InputRecord[]> {
  let columns: string[] | null = null;
  let keyIndex = -1;
  let types: ColumnType[] | null = null;
  const pending: Array<{ fields: string[]; line: number }> = [];
  let partial = '';
  let startLine = 0;
  const toRecord = (fields: string[], line: number): InputRecord => {
    const row: Record<string, string | number | boolean | null> = {};
    for (let i = 0; i < columns!.length; i++) row[columns![i]!] = coerceCell(fields[i]!, types![i]!);
    const value = JSON.stringify(row);
    const key = keyIndex >= 0 && fields[keyIndex] !== '' ? fields[keyIndex]! : null;
    return { key, value, headers, bytes: size(key) + Buffer.byteLength(value), line };
  };
  const decideTypes = (): ColumnType[] => columns!.map((_, i) => inferType(pending.map((r) => r.fields[i]!)));
  /** One line into `out` (a record, or part of one, or the header); throws on a bad row. */
  const take = (number: number, bytes: Buffer, out: InputRecord[]): void => {
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (partial === '') startLine = number;
    const candidate = partial === '' ? text : `${partial}\n${text}`;
    if (candidate.length > DEFAULT_MAX_LINE_BYTES) throw new InputError(`line ${startLine}: a quoted field never closes`);
    const fields = parseCsvRecord(candidate);
    if (fields === null) {
      partial = candidate;
      return;
    }
    partial = '';
    if (candidate === '') return;
    if (columns === null) {
      columns = fields.map((f) => f.trim());
      if (keyColumn !== undefined) {
        keyIndex = columns.indexOf(keyColumn);
        if (keyIndex < 0) throw new InputError(`--key-column ${keyColumn} is not a column of the CSV header (${columns.join(', ')})`);
      }
      return;
    }
    if (fields.length !== columns.length) {
      throw new InputError(`line ${startLine}: ${fields.length} fields, but the header has ${columns.length}`);
    }
    if (types === null) {
      pending.push({ fields, line: startLine });
      if (pending.length < INFER_ROWS) return;
      types = decideTypes();
      for (const r of pending.splice(0)) out.push(toRecord(r.fields, r.line));
      return;
    }
    out.push(toRecord(fields, startLine));
  };
  for await (const batch of lines) {
    const out: InputRecord[] = [];
    try {
      for (const { number, bytes } of batch) take(number, bytes, out);
    } catch (err) {
      // The records before the bad line go first.
      if (out.length > 0) yield out;
      throw err;
    }
    if (out.length > 0) yield out;
  }
  if (partial !== '') throw new InputError(`line ${startLine}: a quoted field never closes`);
  if (columns !== null && types === null) {
    types = decideTypes();
    const out = pending.splice(0).map((r) => toRecord(r.fields, r.line));
    if (out.length > 0) yield out;
  }
}

const size = (b: Buffer | string | null): number => (b === null ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length);

/** Records (key/value as bytes, line, headers) or the error of a reader over `bytes` cut into pieces of `piece`. */
async function outcome(read: (source: AsyncIterable<Buffer>) => AsyncIterable<InputRecord[]>, bytes: Buffer, piece: number): Promise<{ records: string[]; error?: string }> {
  const records: string[] = [];
  try {
    for await (const batch of read(chunked(bytes, piece))) {
      for (const r of batch) records.push(JSON.stringify([r.line, r.key === null ? null : Buffer.from(r.key).toString('hex'), r.value === null ? null : Buffer.from(r.value).toString('hex'), r.bytes, r.headers]));
    }
  } catch (err) {
    return { records, error: (err as Error).message };
  }
  return { records };
}

test("csv: the transcoder reads as produce's line-based parser did, on a fuzzed corpus (bytes, lines, keys, errors)", async () => {
  const random = prng(4242);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const cells = ['1', '42', '-7', '007', '+3', '1.5', '1.50', '.5', '1e3', 'true', 'FALSE', '2024-01-31T12:00:00.000Z', '2024-01-31', '', 'x', 'a b', 'é', '😀', 'tab\t', 'cr\rmid', '"q"', 'two\nlines', 'crlf\r\nin', 'back\\', '"', '""'];
  const headers: InputHeader[] = [{ key: 'h', value: '1' }];
  let fast = 0;
  for (let n = 0; n < 120; n++) {
    const width = 1 + Math.floor(random() * 4);
    const names = Array.from({ length: width }, (_, i) => (random() < 0.05 ? '1' : random() < 0.05 ? 'dup' : `c${i}`));
    const kinds = Array.from({ length: width }, () => Math.floor(random() * 4));
    const eol = pick(['\n', '\r\n']);
    const rows = [names.join(',')];
    const count = random() < 0.3 ? Math.floor(random() * 110) : 100 + Math.floor(random() * 150);
    for (let r = 0; r < count; r++) {
      if (random() < 0.02) rows.push(pick(['', '\r', '""']));
      rows.push(
        kinds
          .map((k) => {
            const c = k === 0 ? String(Math.floor(random() * 1e6) - 5000) : k === 1 ? (random() * 100).toFixed(Math.floor(random() * 4)) : k === 2 ? pick(['true', 'false']) : pick(cells);
            const cell = r > 100 && random() < 0.03 ? pick(cells) : c;
            return /[",\r\n]/.test(cell) || random() < 0.05 ? `"${cell.replaceAll('"', '""')}"` : cell;
          })
          .join(','),
      );
    }
    if (random() < 0.03) rows.push('1,"never closed');
    if (random() < 0.03) rows.splice(120, 0, 'x,y,z,w,v');
    const bytes = Buffer.from(rows.join(eol) + (random() < 0.7 ? eol : ''), 'utf8');
    const keyColumn = random() < 0.5 ? names[0] : random() < 0.1 ? 'missing' : undefined;
    const expected = await outcome((source) => oracleCsvRecordBatches(readLineBatches(source), keyColumn, headers), bytes, bytes.length + 1);
    for (const piece of [bytes.length + 1, 1 + Math.floor(random() * 7), 64 + Math.floor(random() * 4000)]) {
      const got = await outcome((source) => readRecordBatches(source, { format: 'csv', keyColumn, headers }), bytes, piece);
      assert.deepEqual(got, expected, `case ${n} in pieces of ${piece}: ${JSON.stringify(bytes.toString().slice(0, 200))}`);
    }
    if (expected.error === undefined) {
      for await (const b of readRecordBatches(chunked(bytes, 65536), { format: 'csv', keyColumn, headers })) fast += b.filter((r) => Buffer.isBuffer(r.value)).length;
    }
  }
  assert.ok(fast > 1000, `${fast} records as bytes`);
});

test('csv in batches: the records of each chunk together, and a bad row after the records before it', async () => {
  const rows = [...Array(300).keys()].map((i) => `${i},"v ${i}"`);
  const batches: InputRecord[][] = [];
  for await (const b of readRecordBatches(chunked(`id,v\n${rows.join('\n')}\n`, 1000), { format: 'csv', keyColumn: 'id' })) batches.push(b);
  assert.ok(batches.length >= 2 && batches.every((b) => b.length > 0), `${batches.length} batches`);
  assert.deepEqual(batches.flat().map((r) => String(r.key)), rows.map((_, i) => String(i)));
  assert.equal(batches.flat()[299]!.line, 301);
  const got: InputRecord[] = [];
  await assert.rejects(async () => {
    for await (const b of readRecordBatches(chunked(`id,v\n${rows.slice(0, 150).join('\n')}\nbad\n${rows.slice(150).join('\n')}\n`, 100_000), { format: 'csv' })) got.push(...b);
  }, /line 152: 1 fields, but the header has 2/);
  assert.equal(got.length, 150);
});
