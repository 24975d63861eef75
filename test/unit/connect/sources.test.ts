/** Sources on their own (no broker): CSV parsing and typing, gzip, jsonl, directory watching, the HTTP endpoint. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { coerceCell, inferType } from '../../../src/connect/records.js';
import { CsvSource, parseCsv } from '../../../src/connect/sources/csv.js';
import { DirectorySource, globToRegExp } from '../../../src/connect/sources/directory.js';
import { HttpSource } from '../../../src/connect/sources/http.js';
import { JsonlSource } from '../../../src/connect/sources/jsonl.js';
import type { SourceConnector, SourceRecord } from '../../../src/connect/types.js';
import { decoded, memoryOffsets } from './source-support.js';

async function collect(src: SourceConnector): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of src.records()) out.push(decoded(r));
  return out;
}

async function collectFrom(src: SourceConnector, offsets: ReturnType<typeof memoryOffsets>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of src.records(offsets.context)) {
    offsets.store(r);
    out.push(decoded(r).value);
  }
  return out;
}

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function rows(text: string, size = text.length || 1, delimiter = ','): Promise<string[][]> {
  const out: string[][] = [];
  for await (const r of parseCsv(chunksOf(text, size), delimiter, 'test.csv')) out.push(r.fields);
  return out;
}

/** Resolves with the next record of an iterator, or rejects after ms. */
async function nextWithin<T>(it: AsyncIterator<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no record within ${ms} ms`)), ms))),
    ]);
    if (r.done === true) throw new Error('the source ended');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-sources-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CSV parsing (RFC 4180)', () => {
  const text = 'id,name,note\r\n1,"Smith, Jo","said ""hi""\r\nand left"\r\n2,plain,\r\n3,"",x';
  const expected = [['id', 'name', 'note'], ['1', 'Smith, Jo', 'said "hi"\r\nand left'], ['2', 'plain', ''], ['3', '', 'x']];

  test('quotes, escaped quotes, delimiters and CRLF newlines inside quotes, CRLF rows, last row without newline', async () => {
    assert.deepEqual(await rows(text), expected);
  });

  test('the same rows whatever the chunk boundaries (every split, including inside "" and \\r\\n)', async () => {
    for (let size = 1; size <= 8; size++) assert.deepEqual(await rows(text, size), expected, `chunk size ${size}`);
  });

  test('other delimiters, LF rows, trailing newline gives no extra row', async () => {
    assert.deepEqual(await rows('a;b\n"x;y";2\n', 3, ';'), [['a', 'b'], ['x;y', '2']]);
  });

  test('an unclosed quote is an error naming the line', async () => {
    await assert.rejects(rows('a,b\n1,"open\n2,3\n'), /test\.csv line 2: a quoted field never closes/);
  });
});

describe('column types', () => {
  test('inferred: int, float, bool, timestamp, string; empty cells do not decide', () => {
    assert.equal(inferType(['1', '-2', '', '30']), 'int');
    assert.equal(inferType(['1', '2.5', '1e3']), 'float');
    assert.equal(inferType(['true', 'FALSE', '']), 'bool');
    assert.equal(inferType(['2024-01-31', '2024-02-01T10:00:00Z', '2024-02-01 10:00:00.5+02:00']), 'timestamp');
    assert.equal(inferType(['1', 'x']), 'string');
    assert.equal(inferType(['', '']), 'string');
    assert.equal(inferType(['9007199254740993']), 'float'); // beyond 2^53: not a safe int
    assert.equal(inferType(['02134', '10001']), 'string'); // leading zeros: identifiers, not numbers
    assert.equal(inferType(['0', '0.5']), 'float');
  });

  test('coerced; a cell that does not parse as its type stays a string; empty → null', () => {
    assert.equal(coerceCell('42', 'int'), 42);
    assert.equal(coerceCell('4.5', 'float'), 4.5);
    assert.equal(coerceCell('True', 'bool'), true);
    assert.equal(coerceCell('2024-01-31 12:00', 'timestamp'), '2024-01-31T12:00:00.000Z');
    assert.equal(coerceCell('2024-01-31T12:00:00+02:00', 'timestamp'), '2024-01-31T10:00:00.000Z');
    assert.equal(coerceCell('n/a', 'int'), 'n/a');
    assert.equal(coerceCell('', 'int'), null);
    assert.equal(coerceCell('', 'string'), '');
    assert.equal(coerceCell('007', 'string'), '007');
  });
});

describe('CSV source', () => {
  const csv = 'id,name,age,score,active,joined,bio\n' + '1,Ann,31,1.5,true,2024-01-02,"likes ""tea""\nand cake"\n' + '2,"Bo, Jr",n/a,2,false,2024-01-03T04:05:06Z,\n' + '3,Cy,,3.25,TRUE,2024-01-04,plain\n';

  test('rows → JSON objects with inferred types, key from the key column, a bad cell stays a string', async () => {
    const path = join(dir, 'users.csv');
    await writeFile(path, csv);
    const recs = await collect(new CsvSource('p', { path, keyColumn: 'id', delimiter: ',' }));
    assert.deepEqual(recs.map((r) => r.key), ['1', '2', '3']);
    // age: "n/a" makes the inferred column a string, so every age is text.
    assert.deepEqual(recs[0].value, { id: 1, name: 'Ann', age: '31', score: 1.5, active: true, joined: '2024-01-02T00:00:00.000Z', bio: 'likes "tea"\nand cake' });
    assert.deepEqual(recs[1].value, { id: 2, name: 'Bo, Jr', age: 'n/a', score: 2, active: false, joined: '2024-01-03T04:05:06.000Z', bio: '' });
  });

  test('declared types win; a cell that does not parse stays a string; gzip by extension and by magic bytes', async () => {
    const gz = join(dir, 'users.csv.gz');
    const sneaky = join(dir, 'users-gzip-without-extension.csv');
    await writeFile(gz, gzipSync(csv));
    await writeFile(sneaky, gzipSync(csv));
    for (const path of [gz, sneaky]) {
      const recs = await collect(new CsvSource('p', { path, keyColumn: 'name', columns: { age: 'int', id: 'string' }, delimiter: ',' }));
      assert.equal(recs.length, 3);
      assert.deepEqual(recs.map((r) => r.key), ['Ann', 'Bo, Jr', 'Cy']);
      assert.deepEqual(recs.map((r) => (r.value as Record<string, unknown>).age), [31, 'n/a', null]);
      assert.deepEqual(recs.map((r) => (r.value as Record<string, unknown>).id), ['1', '2', '3']);
    }
  });

  test('types are inferred from the first 100 rows; later rows keep the column type or stay strings', async () => {
    const path = join(dir, 'many.csv');
    const body = Array.from({ length: 150 }, (_, i) => `${i},${i < 120 ? i : 'late'}`).join('\n');
    await writeFile(path, `n,v\n${body}\n`);
    const recs = await collect(new CsvSource('p', { path, delimiter: ',' }));
    assert.equal(recs.length, 150);
    assert.equal(recs[0].key, null);
    assert.deepEqual(recs[99].value, { n: 99, v: 99 });
    assert.deepEqual(recs[119].value, { n: 119, v: 119 });
    assert.deepEqual(recs[149].value, { n: 149, v: 'late' });
  });

  test('errors name the file and what is wrong', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'a,b\n1,2\n3\n');
    await assert.rejects(collect(new CsvSource('p', { path, delimiter: ',' })), /bad\.csv line 3: 1 fields, but the header has 2/);
    await assert.rejects(collect(new CsvSource('p', { path, keyColumn: 'id', delimiter: ',' })), /keyColumn "id" is not a column of the header \(a, b\)/);
    await assert.rejects(collect(new CsvSource('p', { path: join(dir, 'missing.csv'), delimiter: ',' })), /missing\.csv: no such file/);
  });
});

describe('JSON-lines source', () => {
  test('one object per line, key field, blank lines skipped, gzip', async () => {
    const path = join(dir, 'events.jsonl.gz');
    await writeFile(path, gzipSync('{"id":7,"t":"a"}\r\n\n{"id":"x","t":"b"}\n{"t":"no id"}'));
    const recs = await collect(new JsonlSource('p', { path, keyColumn: 'id', skipBadLines: false }));
    assert.deepEqual(recs.map((r) => [r.key, r.value]), [['7', { id: 7, t: 'a' }], ['x', { id: 'x', t: 'b' }], [null, { t: 'no id' }]]);
  });

  test('a bad line is an error naming it, or skipped and counted with skipBadLines', async () => {
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, '{"a":1}\n{oops\n[1,2]\n{"a":2}\n');
    await assert.rejects(collect(new JsonlSource('p', { path, skipBadLines: false })), /bad\.jsonl line 2: not valid JSON/);
    const src = new JsonlSource('p', { path, skipBadLines: true });
    const recs = await collect(src);
    assert.deepEqual(recs.map((r) => r.value), [{ a: 1 }, { a: 2 }]);
    assert.equal(src.skipped, 2);
  });
});

describe('directory source', () => {
  test('glob patterns', () => {
    assert.ok(globToRegExp('*.csv').test('a.csv'));
    assert.ok(!globToRegExp('*.csv').test('a.csv.tmp'));
    assert.ok(globToRegExp('day-??.jsonl').test('day-01.jsonl'));
  });

  test('existing files in name order, then a new file after start; after a restart only new or changed files', async () => {
    const d = await mkdtemp(join(dir, 'watch-'));
    await writeFile(join(d, 'b.csv'), 'id\n2\n');
    await writeFile(join(d, 'a.csv'), 'id\n1\n');
    await writeFile(join(d, 'ignored.txt'), 'id\n9\n');
    const config = { path: d, pattern: '*.csv', delimiter: ',', skipBadLines: false, pollMs: 50 };
    const offsets = memoryOffsets();
    const src = new DirectorySource('p', config, { stableMs: 200 });
    const it = src.records(offsets.context)[Symbol.asyncIterator]();
    const take = async (from = it): Promise<SourceRecord> => {
      const r = await nextWithin(from, 5000);
      offsets.store(r); // produced: its offset is stored, as the runtime does
      return r;
    };
    const a = await take();
    assert.deepEqual([a.value, a.sourcePartition, a.sourceOffset?.position, a.sourceOffset?.eof], [{ id: 1 }, { path: join(d, 'a.csv') }, 1, true]);
    assert.deepEqual((await take()).value, { id: 2 });
    // Written in two steps: taken only once its size has been stable, so both rows arrive.
    await writeFile(join(d, 'c.csv'), 'id\n3\n');
    await appendFile(join(d, 'c.csv'), '4\n');
    const c1 = await take();
    const c2 = await take();
    assert.deepEqual([c1.value, c1.sourceOffset?.eof, c2.value, c2.sourceOffset?.position, c2.sourceOffset?.eof], [{ id: 3 }, undefined, { id: 4 }, 2, true]);
    const stopped = src.stop();
    assert.equal((await it.next()).done, true);
    await stopped;

    // Restart: a, b unchanged (skipped unopened); c grew by a row (only the new one); d is new.
    await appendFile(join(d, 'c.csv'), '5\n');
    await writeFile(join(d, 'd.csv'), 'id\n6\n');
    const again = new DirectorySource('p', config, { stableMs: 0 });
    const it2 = again.records(offsets.context)[Symbol.asyncIterator]();
    const c3 = await take(it2);
    assert.deepEqual([c3.value, c3.sourceOffset?.position], [{ id: 5 }, 3]);
    assert.deepEqual((await take(it2)).value, { id: 6 });
    await again.stop();
    assert.equal((await it2.next()).done, true);
    assert.equal(again.unchanged, 2);
    assert.ok(offsets.notes.includes('2 finished files were produced by an earlier run and are unchanged: skipped'), offsets.notes.join('\n'));
    assert.ok(offsets.notes.includes('c.csv: 2 records were produced by an earlier run; resuming after them'), offsets.notes.join('\n'));
  });

  test('csv files: values as JSON bytes after the rows the types are inferred from, equal to the objects path', async () => {
    const d = await mkdtemp(join(dir, 'bytes-'));
    const lines = ['id,name,score'];
    for (let i = 1; i <= 150; i++) lines.push(`${i},"name ${i}, ""q""",${i / 4}`);
    await writeFile(join(d, 'a.csv'), `${lines.join('\n')}\n`);
    const config = { path: d, pattern: '*.csv', keyColumn: 'id', delimiter: ',', skipBadLines: false, pollMs: 50 };
    const read = async (jsonBytes: boolean): Promise<SourceRecord[]> => {
      const src = new DirectorySource('p', config, { stableMs: 0, jsonBytes });
      const it = src.records()[Symbol.asyncIterator]();
      const out: SourceRecord[] = [];
      for (let i = 0; i < 150; i++) out.push(await nextWithin(it, 5000));
      await src.stop();
      return out;
    };
    const bytes = await read(true);
    const objects = await read(false);
    assert.equal(bytes.filter((r) => Buffer.isBuffer(r.value)).length, 50, 'the rows after the first 100 are JSON bytes');
    assert.equal(objects.filter((r) => Buffer.isBuffer(r.value)).length, 0);
    assert.deepEqual(
      bytes.map((r) => [String(r.key), Buffer.isBuffer(r.value) ? r.value.toString('utf8') : JSON.stringify(r.value)]),
      objects.map((r) => [String(r.key), JSON.stringify(r.value)]),
    );
    assert.deepEqual(objects[149]!.value, { id: 150, name: 'name 150, "q"', score: 37.5 });
  });

  test('a stop ends the read between records; the next run resumes after the last record produced', async () => {
    const d = await mkdtemp(join(dir, 'stop-'));
    await writeFile(join(d, 'a.jsonl'), '{"n":1}\n{"n":2}\n{"n":3}\n');
    const config = { path: d, pattern: '*.jsonl', delimiter: ',', skipBadLines: false, pollMs: 50 };
    const offsets = memoryOffsets();
    const src = new DirectorySource('p', config, { stableMs: 0 });
    const it = src.records(offsets.context)[Symbol.asyncIterator]();
    offsets.store(await nextWithin(it, 5000));
    const second = await nextWithin(it, 5000); // yielded but never produced: its offset is not stored
    assert.deepEqual(second.value, { n: 2 });
    await src.stop();
    assert.equal((await it.next()).done, true);
    const again = new DirectorySource('p', config, { stableMs: 0 });
    const it2 = again.records(offsets.context)[Symbol.asyncIterator]();
    const got = [(await nextWithin(it2, 5000)).value, (await nextWithin(it2, 5000)).value];
    await again.stop();
    assert.deepEqual(got, [{ n: 2 }, { n: 3 }]);
  });
});

describe('file offsets (resuming)', () => {
  test('csv and jsonl: a second run produces nothing; a grown file only its new records', async () => {
    const csv = join(dir, 'resume.csv');
    await writeFile(csv, 'id,v\n1,a\n2,b\n');
    const offsets = memoryOffsets();
    const cfg = { path: csv, delimiter: ',' };
    assert.deepEqual(await collectFrom(new CsvSource('p', cfg), offsets), [{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    assert.deepEqual(await collectFrom(new CsvSource('p', cfg), offsets), []);
    assert.match(offsets.notes.at(-1)!, /resume\.csv: all 2 records were produced by an earlier run and the file is unchanged; nothing to produce/);
    await appendFile(csv, '3,c\n');
    assert.deepEqual(await collectFrom(new CsvSource('p', cfg), offsets), [{ id: 3, v: 'c' }]);
    assert.match(offsets.notes.at(-1)!, /resume\.csv: 2 records were produced by an earlier run; resuming after them/);

    const jsonl = join(dir, 'resume.jsonl.gz');
    await writeFile(jsonl, gzipSync('{"n":1}\nbad\n{"n":2}\n'));
    const jcfg = { path: jsonl, skipBadLines: true };
    const first = new JsonlSource('p', jcfg);
    assert.deepEqual(await collectFrom(first, offsets), [{ n: 1 }, { n: 2 }]);
    assert.equal(first.skipped, 1);
    await writeFile(jsonl, gzipSync('{"n":1}\nbad\n{"n":2}\n{"n":3}\nworse\n'));
    const second = new JsonlSource('p', jcfg);
    assert.deepEqual(await collectFrom(second, offsets), [{ n: 3 }]);
    assert.equal(second.skipped, 1, 'only the bad line after the resume point counts');
  });

  test('a different file at the same path (the last produced record differs, or it is shorter) is read from the start', async () => {
    const path = join(dir, 'replaced.jsonl');
    const offsets = memoryOffsets();
    const cfg = { path, skipBadLines: false };
    await writeFile(path, '{"day":1,"n":1}\n{"day":1,"n":2}\n');
    assert.equal((await collectFrom(new JsonlSource('p', cfg), offsets)).length, 2);
    await writeFile(path, '{"day":2,"n":1}\n{"day":2,"n":2}\n{"day":2,"n":3}\n');
    assert.deepEqual(await collectFrom(new JsonlSource('p', cfg), offsets), [{ day: 2, n: 1 }, { day: 2, n: 2 }, { day: 2, n: 3 }]);
    assert.match(offsets.notes.at(-1)!, /not the file an earlier run read \(record 2 differs\); reading it from the start/);
    await writeFile(path, '{"day":3,"n":1}\n');
    assert.deepEqual(await collectFrom(new JsonlSource('p', cfg), offsets), [{ day: 3, n: 1 }]);
    assert.match(offsets.notes.at(-1)!, /it has fewer than the 3 records produced then/);
  });

  test('a bad line after a fix: the records before it are not read again', async () => {
    const path = join(dir, 'fixed.jsonl');
    const offsets = memoryOffsets();
    const cfg = { path, skipBadLines: false };
    await writeFile(path, '{"n":1}\n{"n":2}\noops\n{"n":4}\n');
    const got: unknown[] = [];
    await assert.rejects(async () => {
      for await (const r of new JsonlSource('p', cfg).records(offsets.context)) {
        offsets.store(r);
        got.push(r.value);
      }
    }, /fixed\.jsonl line 3: not valid JSON/);
    assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
    await writeFile(path, '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n'); // fixed (a new inode, a different size)
    assert.deepEqual(await collectFrom(new JsonlSource('p', cfg), offsets), [{ n: 3 }, { n: 4 }]);
  });
});

describe('HTTP source', () => {
  let src: HttpSource;
  let base: string;
  let it: AsyncIterator<SourceRecord>;
  before(async () => {
    src = new HttpSource('p', { port: 0, host: '127.0.0.1', path: '/events', keyColumn: 'id', maxBodyBytes: 100 });
    await src.start();
    base = `http://127.0.0.1:${src.port}`;
    it = src.records()[Symbol.asyncIterator]();
  });
  after(async () => {
    await src.stop();
  });

  test('POST one object and an array; 202 {"accepted": n} only after every record is acknowledged', async () => {
    let answered = false;
    const one = fetch(`${base}/events`, { method: 'POST', body: '{"id":1,"x":"a"}' }).then((r) => ((answered = true), r));
    const r1 = await nextWithin(it, 5000);
    assert.deepEqual([r1.key, r1.value], ['1', { id: 1, x: 'a' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(answered, false, 'no answer before the acknowledgement');
    src.commitRecord(r1, null);
    const res1 = await one;
    assert.equal(res1.status, 202);
    assert.deepEqual(await res1.json(), { accepted: 1 });

    const many = fetch(`${base}/events`, { method: 'POST', body: '[{"id":2},{"id":3}]' });
    const a = await nextWithin(it, 5000);
    const b = await nextWithin(it, 5000);
    src.commitRecord(a, null);
    src.commitRecord(b, null);
    const res2 = await many;
    assert.equal(res2.status, 202);
    assert.deepEqual(await res2.json(), { accepted: 2 });
  });

  test('a failed acknowledgement is 503', async () => {
    const req = fetch(`${base}/events`, { method: 'POST', body: '{"id":4}' });
    src.commitRecord(await nextWithin(it, 5000), new Error('broker gone'));
    const res = await req;
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /broker gone/);
  });

  test('400 bad JSON or non-objects, 413 over maxBodyBytes, 404 other paths, 405 other methods', async () => {
    const post = (path: string, body: string): Promise<Response> => fetch(`${base}${path}`, { method: 'POST', body });
    assert.equal((await post('/events', '{nope')).status, 400);
    assert.equal((await post('/events', '[{"a":1}, 2]')).status, 400);
    assert.equal((await post('/events', '"text"')).status, 400);
    assert.equal((await post('/events', JSON.stringify({ big: 'x'.repeat(200) }))).status, 413);
    assert.equal((await post('/other', '{}')).status, 404);
    const get = await fetch(`${base}/events`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });
});
