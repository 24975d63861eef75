import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { collectHeader, countLines, InputError, parseCsvRecord, readLines, readRecordBatches, readRecords, type InputOptions, type InputRecord } from '../../../src/cli/input.js';

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
  assert.deepEqual(parseCsvRecord('a,,"b"'), ['a', '', 'b']);
  assert.equal(parseCsvRecord('"a'), null);
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

/** parseCsvRecord before issue 16 (field += c): the oracle for the slicing one. */
function oracleParseCsvRecord(text: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
    i++;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

test('csv: parseCsvRecord splits as the character-at-a-time version did, on a fuzzed corpus', () => {
  let a = 7;
  const random = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
  const pieces = ['a', 'bc', ',', ',', '"', '"', '""', '\n', ' ', 'é', '12'];
  for (let n = 0; n < 3000; n++) {
    let s = '';
    const len = Math.floor(random() * 24);
    for (let k = 0; k < len; k++) s += pieces[Math.floor(random() * pieces.length)];
    assert.deepEqual(parseCsvRecord(s), oracleParseCsvRecord(s), JSON.stringify(s));
  }
});

test('csv in batches: the records of each chunk together, and a bad row after the records before it', async () => {
  const rows = [...Array(300).keys()].map((i) => `${i},"v ${i}"`);
  const batches: InputRecord[][] = [];
  for await (const b of readRecordBatches(chunked(`id,v\n${rows.join('\n')}\n`, 1000), { format: 'csv', keyColumn: 'id' })) batches.push(b);
  assert.ok(batches.length >= 2 && batches.every((b) => b.length > 0), `${batches.length} batches`);
  assert.deepEqual(batches.flat().map((r) => r.key), rows.map((_, i) => String(i)));
  assert.equal(batches.flat()[299]!.line, 301);
  const got: InputRecord[] = [];
  await assert.rejects(async () => {
    for await (const b of readRecordBatches(chunked(`id,v\n${rows.slice(0, 150).join('\n')}\nbad\n${rows.slice(150).join('\n')}\n`, 100_000), { format: 'csv' })) got.push(...b);
  }, /line 152: 1 fields, but the header has 2/);
  assert.equal(got.length, 150);
});
