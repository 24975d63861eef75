/**
 * CSV → JSON bytes (src/connect/sources/csv-bytes.ts) against the object path (csv.ts csvFileBatches, the oracle):
 * a seeded corpus of CSVs — quotes, "" escapes, embedded LF/CR/CRLF, unicode and invalid UTF-8, control characters,
 * empty cells, numbers of every kind, booleans, timestamps, integer-like and "__proto__" headers, a BOM — fed at
 * random chunk sizes; key and value bytes must equal the serialized object records, record by record, and so must
 * the resume fingerprints, the errors and the records before them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint, serializeValue } from '../../../src/connect/source-offsets.js';
import { csvFileBatches, CsvSource } from '../../../src/connect/sources/csv.js';
import { csvFileByteBatches, CsvTranscoder, validUtf8 } from '../../../src/connect/sources/csv-bytes.js';
import type { ColumnType, SourceRecord } from '../../../src/connect/types.js';
import { prng } from '../../../src/util/prng.js';

type Options = { delimiter: string; keyColumn?: string; columns?: Record<string, ColumnType> };

interface Outcome {
  records: Array<{ key: string | null; value: string | null; fp: string }>;
  error?: string;
  /** Records whose value came as bytes (the fast path). */
  fast: number;
}

const bytesOf = (v: string | Buffer | null): string | null => (v === null ? null : Buffer.from(v).toString('hex'));

function collect(records: SourceRecord[], into: Outcome): void {
  for (const r of records) {
    if (Buffer.isBuffer(r.value)) into.fast++;
    into.records.push({ key: bytesOf(r.key), value: bytesOf(serializeValue(r.value)), fp: fingerprint(r) });
  }
}

async function oracle(path: string, options: Options): Promise<Outcome> {
  const o: Outcome = { records: [], fast: 0 };
  try {
    for await (const batch of csvFileBatches(path, options)) collect(batch, o);
  } catch (err) {
    o.error = (err as Error).message;
  }
  return o;
}

/** The transcoder fed `bytes` (BOM already off) cut at `cuts`. */
function transcode(bytes: Buffer, cuts: number[], options: Options, path: string): Outcome {
  const o: Outcome = { records: [], fast: 0 };
  const t = new CsvTranscoder({ ...options, path });
  const out: SourceRecord[] = [];
  try {
    let at = 0;
    for (const c of [...cuts, bytes.length]) {
      t.feed(bytes.subarray(at, c), out);
      at = c;
    }
    t.end(out);
  } catch (err) {
    o.error = (err as Error).message;
  }
  collect(out, o);
  return o;
}

async function viaFile(path: string, options: Options): Promise<Outcome> {
  const o: Outcome = { records: [], fast: 0 };
  try {
    for await (const batch of csvFileByteBatches(path, options)) collect(batch, o);
  } catch (err) {
    o.error = (err as Error).message;
  }
  return o;
}

/** Compares outcomes without the fast-path count. */
function same(actual: Outcome, expected: Outcome, what: string): void {
  assert.equal(actual.error, expected.error, `${what}: error`);
  assert.equal(actual.records.length, expected.records.length, `${what}: record count`);
  for (let i = 0; i < expected.records.length; i++) assert.deepEqual(actual.records[i], expected.records[i], `${what}: record ${i}`);
}

describe('CSV → JSON bytes against the object path', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-csv-bytes-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const random = prng(1616);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
  const kinds = ['int', 'float', 'bool', 'timestamp', 'string', 'mixed'] as const;

  const oddInts = ['+3', '007', '-0', '0', '00', '9007199254740993', '9007199254740991', '123456789012345', '1234567890123456', '-', '1e3', ' 1', '1 '];
  const oddFloats = ['1.50', '.5', '1.', '1e3', '1E-7', '0.0000001', '0.000001', '-0.0', '-0', '0.1', '0.30000000000000004', '123456789012345.6', '1e999', 'NaN', '+1.5', '00.5', '12345678901234567890123'];
  const oddBools = ['TRUE', 'False', 'yes', 'tRuE'];
  const oddStamps = ['2024-01-31', '2024-01-31 12:00', '2024-01-31T12:00:00+02:00', '2024-02-30T00:00:00.000Z', '2024-01-31t12:00:00.000Z', '2024-01-31T12:00:00,000Z', '2024-01-31T12:00:00.123456Z'];
  const texts = ['plain', 'Smith, Jo', 'said "hi"', 'two\nlines', 'cr\rhere', 'crlf\r\nhere', 'é', 'naïve café', '😀 emoji', '日本語', 'tab\there', 'back\\slash', 'ctl\u0001\u001f\u007f', '\u2028sep', '', ' ', '"', '""', 'a"b', '\ufeffbom inside', 'x'.repeat(300)];

  function cell(kind: (typeof kinds)[number], row: number): string {
    const odd = row > 110 && random() < 0.03;
    switch (kind) {
      case 'int':
        if (odd) return pick(oddInts);
        if (random() < 0.05) return '';
        return `${random() < 0.3 ? '-' : ''}${String(Math.floor(random() * 10 ** Math.floor(1 + random() * 15)))}`;
      case 'float': {
        if (odd) return pick(oddFloats);
        if (random() < 0.05) return '';
        const r = random();
        if (r < 0.3) return String(Math.floor(random() * 100000));
        if (r < 0.6) return (random() * 1000).toFixed(Math.floor(random() * 6));
        return String(random() * 10 ** Math.floor(random() * 8 - 4));
      }
      case 'bool':
        if (odd) return pick(oddBools);
        return random() < 0.05 ? '' : pick(['true', 'false']);
      case 'timestamp':
        if (odd) return pick(oddStamps);
        return random() < 0.05 ? '' : new Date(Math.floor(random() * 4e12)).toISOString();
      case 'string':
        return random() < 0.5 ? pick(texts) : `${pick(texts)}${digits(3)}`;
      case 'mixed':
        return pick([...oddInts, ...oddFloats, ...texts]);
    }
  }

  /** A cell as CSV: quoted when it must be (or at random), with "" escapes. */
  function quote(c: string, delimiter: string): string {
    if (/["\r\n]/.test(c) || c.includes(delimiter) || random() < 0.1) return `"${c.replaceAll('"', '""')}"`;
    return c;
  }

  interface Case {
    name: string;
    bytes: Buffer;
    options: Options;
  }

  function makeCase(n: number): Case {
    const delimiter = random() < 0.8 ? ',' : ';';
    const width = 1 + Math.floor(random() * 6);
    const colKinds = Array.from({ length: width }, () => pick(kinds));
    const names = new Set<string>();
    while (names.size < width) {
      const r = random();
      names.add(r < 0.06 ? String(Math.floor(random() * 12)) : r < 0.08 ? '__proto__' : r < 0.12 ? `n"ä ${names.size}` : `c${names.size}_${pick(['id', 'name', 'x'])}`);
    }
    const header = [...names];
    const eol = pick(['\n', '\r\n', '\r']);
    const rows = Math.floor(random() < 0.2 ? random() * 120 : 100 + random() * 300);
    const lines = [header.map((h) => quote(h, delimiter)).join(delimiter)];
    for (let r = 0; r < rows; r++) {
      if (random() < 0.01) lines.push(''); // a blank line
      lines.push(colKinds.map((k) => quote(cell(k, r), delimiter)).join(delimiter));
    }
    let text = lines.join(eol) + (random() < 0.7 ? eol : '');
    if (random() < 0.02) text += `${delimiter}extra${eol}`; // a row of the wrong width, near the end
    let bytes = Buffer.from(text, 'utf8');
    if (random() < 0.1) {
      // Invalid UTF-8 in some cell: a lone continuation byte, a truncated sequence, an overlong, a surrogate.
      const bad = pick([[0x80], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]);
      const at = bytes.indexOf(0x0a, Math.floor(bytes.length / 2));
      if (at > 0) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
    }
    const options: Options = { delimiter };
    if (random() < 0.5) options.keyColumn = pick(header);
    if (random() < 0.15) options.columns = { [header[0]!]: pick(['int', 'float', 'bool', 'timestamp', 'string'] as const) };
    return { name: `case ${n} (${colKinds.join(',')}; ${JSON.stringify(eol)})`, bytes, options };
  }

  const cases: Case[] = [];
  for (let n = 0; n < 150; n++) cases.push(makeCase(n));
  const fixed: Array<[string, string, Options?]> = [
    ['quote split', `id,v\n${Array.from({ length: 120 }, (_, i) => `${i},"a""b""""c"`).join('\n')}\n`],
    ['messy', `id,v\n${Array.from({ length: 120 }, (_, i) => `${i},"a"b"c`).join('\n')}\n`],
    ['unclosed', `id,v\n${Array.from({ length: 120 }, (_, i) => `${i},x`).join('\n')}\n7,"open\n`],
    ['integer header', `2,1,b,a\n${Array.from({ length: 120 }, (_, i) => `${i},x,${i},y`).join('\n')}\n`],
    ['proto header', `id,__proto__\n${Array.from({ length: 120 }, (_, i) => `${i},x`).join('\n')}\n`],
    ['width 1 and blanks', `v\n${Array.from({ length: 120 }, (_, i) => (i % 7 === 0 ? '' : String(i))).join('\n')}\n`],
    ['bad width', `a,b\n${Array.from({ length: 130 }, (_, i) => (i === 125 ? '1,2,3' : `${i},x`)).join('\n')}\n`],
    ['bad width early', `a,b\n${Array.from({ length: 130 }, (_, i) => (i === 5 ? '1' : `${i},x`)).join('\n')}\n`],
    ['empty', ''],
    ['header only', 'a,b\r\n'],
    ['crlf at the end', `a,b\r\n${Array.from({ length: 120 }, (_, i) => `${i},x`).join('\r\n')}\r\n`],
  ];
  for (const [name, text, options] of fixed) cases.push({ name, bytes: Buffer.from(text, 'utf8'), options: options ?? (text.startsWith('id,') ? { delimiter: ',', keyColumn: 'id' } : { delimiter: ',' }) });

  test('the same key and value bytes, fingerprints and errors, whole and at random chunk sizes', async () => {
    let fast = 0;
    let total = 0;
    for (const [i, c] of cases.entries()) {
      const path = join(dir, `c${i}.csv`);
      const withBom = i % 9 === 0;
      await writeFile(path, withBom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), c.bytes]) : c.bytes);
      const expected = await oracle(path, c.options);
      const whole = transcode(c.bytes, [], c.options, path);
      same(whole, expected, `${c.name} whole`);
      same(await viaFile(path, c.options), expected, `${c.name} from the file${withBom ? ' with a BOM' : ''}`);
      for (let round = 0; round < 4; round++) {
        const size = pick([1, 2, 3, 7, 64, 500, 4096]);
        const cuts: number[] = [];
        for (let at = Math.max(1, Math.floor(random() * size)); at < c.bytes.length; at += 1 + Math.floor(random() * size * 2)) cuts.push(at);
        same(transcode(c.bytes, cuts, c.options, path), expected, `${c.name} in chunks of ~${size}`);
      }
      fast += whole.fast;
      total += whole.records.length;
    }
    // Most rows after the first 100 of a file take the fast path: the comparison above is not only of the fallback.
    assert.ok(fast > total / 5, `${fast} of ${total} records as bytes`);
  });

  test('every single cut of a small file with quotes, CRLF and multi-byte characters', async () => {
    const rows = Array.from({ length: 104 }, (_, i) => `${i},"é ""q""\r\nx",😀,${i % 2 === 0 ? 'true' : 'false'}`);
    const bytes = Buffer.from(`id,t,u,b\r\n${rows.join('\r\n')}\r\n`, 'utf8');
    const path = join(dir, 'cuts.csv');
    await writeFile(path, bytes);
    const options = { delimiter: ',', keyColumn: 't' };
    const expected = await oracle(path, options);
    assert.equal(expected.records.length, 104);
    const start = bytes.length - 200;
    for (let cut = start; cut <= bytes.length; cut++) same(transcode(bytes, [cut], options, path), expected, `cut at ${cut}`);
    const two = transcode(bytes, Array.from({ length: 200 }, (_, k) => start + k), options, path);
    same(two, expected, 'cut at every byte of the last 200');
    assert.ok(two.fast >= 4);
  });

  test('validUtf8 agrees with the decoder', () => {
    const r = prng(8);
    for (let n = 0; n < 20000; n++) {
      const b = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 5) }, () => (r() < 0.5 ? 0x80 + Math.floor(r() * 0x80) : Math.floor(r() * 256))));
      const roundTrips = Buffer.from(b.toString('utf8'), 'utf8').equals(b);
      assert.equal(validUtf8(b, 0, b.length), roundTrips, b.toString('hex'));
    }
  });

  test('CsvSource produces byte values by default and objects with jsonBytes false', async () => {
    const path = join(dir, 'src.csv');
    await writeFile(path, `id,n\n${Array.from({ length: 150 }, (_, i) => `${i},${i * 2}`).join('\n')}\n`);
    const values = async (source: CsvSource): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const batch of source.batches()) for (const r of batch) out.push(r.value);
      return out;
    };
    const bytes = await values(new CsvSource('p', { path, delimiter: ',' }));
    const objects = await values(new CsvSource('p', { path, delimiter: ',' }, { jsonBytes: false }));
    assert.equal(bytes.length, 150);
    assert.ok(Buffer.isBuffer(bytes[149]));
    assert.deepEqual(objects[149], { id: 149, n: 298 });
    assert.deepEqual(bytes.map((v) => String(serializeValue(v))), objects.map((v) => String(serializeValue(v))));
  });
});
