/**
 * The chunk parser of the CSV source against the character-at-a-time parser it replaced (kept here only as the
 * oracle), on a fuzzed corpus split at every chunk boundary; cell coercion against the two-pass coercion it
 * replaced; and the batch path (CsvSource.batches): positions, eof, resuming inside a batch, a bad row mid-file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coerceCell, parsesAs } from '../../../src/connect/records.js';
import { CsvSource, parseCsv, type CsvRow } from '../../../src/connect/sources/csv.js';
import { MAX_ROW_CHARS, SourceError } from '../../../src/connect/sources/input.js';
import type { ColumnType, SourceOffset, SourceRecord } from '../../../src/connect/types.js';
import { prng } from '../../../src/util/prng.js';
import { decoded, memoryOffsets } from './source-support.js';

/** The parser before issue 16 (field += c, one row per generator step): the oracle. */
async function* oracleParseCsv(chunks: AsyncIterable<string>, delimiter: string, path: string): AsyncGenerator<CsvRow> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
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
            quoted = false;
            afterQuote = true;
          }
        } else {
          if (c === '\n') line++;
          field += c;
        }
      } else if (c === '"' && afterQuote) {
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
        field += c;
        afterQuote = false;
      }
    }
    if (field.length > MAX_ROW_CHARS) throw new SourceError(`${path} line ${rowLine}: a field longer than ${MAX_ROW_CHARS} characters`);
  }
  if (quoted) throw new SourceError(`${path} line ${rowLine}: a quoted field never closes`);
  if (field !== '' || fields.length > 0 || afterQuote) {
    fields.push(field);
    yield { fields, line: rowLine };
  }
}

/** The coercion before issue 16 (parsesAs, then convert): the oracle. */
function oracleCoerce(cell: string, type: ColumnType): string | number | boolean | null {
  if (type === 'string') return cell;
  if (cell === '') return null;
  if (!parsesAs(cell, type)) return cell;
  switch (type) {
    case 'int':
    case 'float':
      return Number(cell);
    case 'bool':
      return cell.toLowerCase() === 'true';
    case 'timestamp': {
      const t = cell.replace(' ', 'T').replace(',', '.');
      return new Date(t.length === 10 || /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(t.slice(10)) ? t : `${t}Z`).toISOString();
    }
  }
}

async function* chunked(text: string, cuts: number[]): AsyncGenerator<string> {
  let at = 0;
  for (const c of cuts) {
    yield text.slice(at, c);
    at = c;
  }
  yield text.slice(at);
}

/** Rows (or the error's message) of a parser over `text` cut at `cuts`. */
async function outcome(parse: typeof parseCsv, text: string, cuts: number[], delimiter = ','): Promise<{ rows: CsvRow[]; error?: string }> {
  const rows: CsvRow[] = [];
  try {
    for await (const r of parse(chunked(text, cuts), delimiter, 'f.csv')) rows.push(r);
  } catch (err) {
    return { rows, error: (err as Error).message };
  }
  return { rows };
}

describe('CSV chunk parser against the old parser', () => {
  const random = prng(16);
  const pieces = ['a', 'bc', ',', ',', '"', '"', '""', '\n', '\r\n', '\r', ';', ' ', 'é', '😀', '12', '\t'];
  const corpus: string[] = [
    'id,name,note\r\n1,"Smith, Jo","said ""hi""\r\nand left"\r\n2,plain,\r\n3,"",x',
    '"a""b",c\n"",""\n"x"y,z"\n',
    'a,"b\nc\nd",e\r\n"unclosed',
    '"',
    '""',
    '"""',
    '\r\n\r\n',
    'a"b,"c"d"e",f\n',
    '',
  ];
  for (let n = 0; n < 400; n++) {
    let s = '';
    const len = 1 + Math.floor(random() * 40);
    for (let k = 0; k < len; k++) s += pieces[Math.floor(random() * pieces.length)];
    corpus.push(s);
  }

  test('the same rows, line numbers and errors for every text split at every single boundary', async () => {
    for (const text of corpus) {
      const whole = await outcome(oracleParseCsv, text, []);
      assert.deepEqual(await outcome(parseCsv, text, []), whole, JSON.stringify(text));
      for (let cut = 0; cut <= text.length; cut++) {
        assert.deepEqual(await outcome(parseCsv, text, [cut]), await outcome(oracleParseCsv, text, [cut]), `${JSON.stringify(text)} cut at ${cut}`);
      }
    }
  });

  test('the same in chunks of 1, 2 and 3 characters and at random cuts, with , and ; as delimiters', async () => {
    for (const text of corpus) {
      for (const delimiter of [',', ';']) {
        for (const size of [1, 2, 3]) {
          const cuts: number[] = [];
          for (let c = size; c < text.length; c += size) cuts.push(c);
          assert.deepEqual(await outcome(parseCsv, text, cuts, delimiter), await outcome(oracleParseCsv, text, cuts, delimiter), `${JSON.stringify(text)} size ${size}`);
        }
        const cuts = [...new Set(Array.from({ length: 4 }, () => Math.floor(random() * (text.length + 1))))].sort((x, y) => x - y);
        assert.deepEqual(await outcome(parseCsv, text, cuts, delimiter), await outcome(oracleParseCsv, text, cuts, delimiter), `${JSON.stringify(text)} cuts ${cuts.join(',')}`);
      }
    }
  });

  test('cells coerce as before: one parse per type instead of two', () => {
    const cells = [
      '', '0', '42', '-7', '+3', '007', '9007199254740993', '1.5', '.5', '1e3', '1e999', 'NaN', 'true', 'FALSE', 'yes', 'x',
      '2024-01-31', '2024-01-31 12:00', '2024-01-31T12:00:00+02:00', '2024-01-31T12:00:00.000Z', '2024-01-31T12:00:00,000Z',
      '2024-02-30T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-01-31T12:00:00.123456789Z', '2024-01-31T25:00:00.000Z', '2024-01-31 12:00:00,5',
    ];
    // Canonical-looking timestamps (the form that skips Date): real and impossible dates, leap years, edges.
    const random = prng(29);
    const d2 = (n: number): string => String(n).padStart(2, '0');
    for (const year of ['0000', '1900', '2000', '2023', '2024', '9999']) {
      for (let k = 0; k < 60; k++) {
        const [mo, d, h, mi, sec] = [Math.floor(random() * 14), Math.floor(random() * 33), Math.floor(random() * 26), Math.floor(random() * 62), Math.floor(random() * 62)];
        cells.push(`${year}-${d2(mo)}-${d2(d)}T${d2(h)}:${d2(mi)}:${d2(sec)}.${String(Math.floor(random() * 1000)).padStart(3, '0')}Z`);
      }
      cells.push(`${year}-02-29T00:00:00.000Z`, `${year}-02-28T23:59:59.999Z`, `${year}-12-31T23:59:60.000Z`, `${year}-04-31T00:00:00.000Z`);
    }
    cells.push('2024-01-01T00:00:00.00aZ', '2024-0a-01T00:00:00.000Z', '2024-01-01t00:00:00.000Z', '+024-01-01T00:00:00.000Z');
    for (const cell of cells) {
      for (const type of ['int', 'float', 'bool', 'timestamp', 'string'] as const) assert.deepEqual(coerceCell(cell, type), oracleCoerce(cell, type), `${cell} as ${type}`);
    }
  });
});

describe('CsvSource.batches', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-csv-batches-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ROWS = 5000; // ~170 KB: several 64 KiB read chunks, so several batches
  const csvText = (rows: number, bad?: number): string => {
    const lines = ['id,name,"note, quoted"'];
    for (let i = 1; i <= rows; i++) lines.push(i === bad ? `${i},only two` : `${i},"name ${i}","a ""quoted"" note\r\nover two lines ${'x'.repeat(i % 7)}"`);
    return `${lines.join('\r\n')}\r\n`;
  };

  test('records in several non-empty batches: positions 1…n in order, eof with the file identity on the last only', async () => {
    const path = join(dir, 'many.csv');
    await writeFile(path, csvText(ROWS));
    const src = new CsvSource('p', { path, keyColumn: 'id', delimiter: ',' });
    const batches: SourceRecord[][] = [];
    for await (const b of src.batches()) batches.push(b);
    assert.ok(batches.length >= 3, `${batches.length} batches`);
    assert.ok(batches.every((b) => b.length > 0));
    const all = batches.flat();
    assert.equal(all.length, ROWS);
    all.forEach((r, i) => {
      assert.equal((r.sourceOffset as SourceOffset).position, i + 1);
      assert.equal((r.sourceOffset as SourceOffset).eof, i === ROWS - 1 ? true : undefined);
      assert.deepEqual(r.sourcePartition, { path });
    });
    assert.deepEqual(decoded(all[41]).value, { id: 42, name: 'name 42', 'note, quoted': `a "quoted" note\r\nover two lines ${'x'.repeat(0)}` });
    assert.equal(decoded(all[41]).key, '42');
    assert.equal(decoded(all[4141]).key, '4142');
    assert.ok(Buffer.isBuffer(all[4141].value), 'rows after the first 100 come as JSON bytes');
    assert.equal(typeof (all[ROWS - 1].sourceOffset as SourceOffset).size, 'number');
    // records() gives the same records one at a time.
    const one: unknown[] = [];
    for await (const r of new CsvSource('p', { path, keyColumn: 'id', delimiter: ',' }).records()) one.push(r.value);
    assert.deepEqual(one, all.map((r) => r.value));
  });

  test('resuming at a position inside a batch yields exactly the rest; a finished unchanged file nothing', async () => {
    const path = join(dir, 'resume.csv');
    await writeFile(path, csvText(ROWS));
    const offsets = memoryOffsets();
    let seen = 0;
    const first = new CsvSource('p', { path, delimiter: ',' });
    for await (const b of first.batches(offsets.context)) {
      for (const r of b) {
        offsets.store(r);
        if (++seen === 1234) break;
      }
      if (seen >= 1234) break;
    }
    const rest: SourceRecord[] = [];
    for await (const b of new CsvSource('p', { path, delimiter: ',' }).batches(offsets.context)) rest.push(...b);
    assert.equal(rest.length, ROWS - 1234);
    assert.equal((decoded(rest[0]).value as { id: number }).id, 1235);
    assert.equal((rest[0].sourceOffset as SourceOffset).position, 1235);
    assert.match(offsets.notes.join('\n'), /1234 records were produced by an earlier run; resuming after them/);
    for (const r of rest) offsets.store(r);
    const again: SourceRecord[] = [];
    for await (const b of new CsvSource('p', { path, delimiter: ',' }).batches(offsets.context)) again.push(...b);
    assert.equal(again.length, 0);
    assert.match(offsets.notes.join('\n'), /all 5000 records were produced by an earlier run and the file is unchanged/);
  });

  test('a bad row past the first chunk: the records before it come in batches, then the error names its line', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, csvText(ROWS, 3000));
    const got: SourceRecord[] = [];
    await assert.rejects(
      (async () => {
        for await (const b of new CsvSource('p', { path, delimiter: ',' }).batches()) got.push(...b);
      })(),
      // Row 3000 starts on line 1 + 2 × 2999 + 1 (each row before it spans two lines).
      /bad\.csv line 6000: 2 fields, but the header has 3/,
    );
    assert.equal(got.length, 2999);
    assert.equal((got[2998].sourceOffset as SourceOffset).position, 2999);
  });
});
