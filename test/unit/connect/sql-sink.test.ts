import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqlSink, type SqlSinkOptions } from '../../../src/connect/sinks/sql.js';
import { SqliteDriver, sqlitePath } from '../../../src/connect/sinks/sqlite.js';
import { dialectFor } from '../../../src/connect/sinks/dialects.js';
import { SinkError, type SinkRecord, type SqlDriver, type SqlExecutor } from '../../../src/connect/types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-sqlsink-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let offset = 0;
function rec(value: unknown, partition = 0): SinkRecord {
  return {
    topic: 't', partition, offset: offset++, timestamp: Date.now(), key: null, headers: [],
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  };
}

/** A driver that counts the statements run through it. */
class CountingDriver implements SqlDriver {
  readonly dialect;
  statements: string[] = [];
  constructor(readonly inner: SqlDriver) {
    this.dialect = inner.dialect;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn({
      execute: (sql, params) => {
        this.statements.push(sql);
        return tx.execute(sql, params);
      },
      query: (sql, params) => tx.query(sql, params),
    }));
  }
  describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    return this.inner.describeTable(table);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const base: SqlSinkOptions = { table: 't', mode: 'insert', autoCreate: true, batchSize: 500, guarantee: 'at-least-once' };

async function sinkOn(file: string, options: Partial<SqlSinkOptions> = {}): Promise<{ sink: SqlSink; driver: CountingDriver; path: string }> {
  const path = join(dir, file);
  const driver = new CountingDriver(new SqliteDriver(path));
  const sink = new SqlSink(driver, { ...base, ...options }, 'pipe');
  await sink.open();
  return { sink, driver, path };
}

function rows<R>(path: string, sql: string): R[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as R[];
  } finally {
    db.close();
  }
}

const inserts = (d: CountingDriver): string[] => d.statements.filter((s) => s.startsWith('INSERT INTO "t"'));

test('1,200 rows with batchSize 500 are three multi-row INSERTs in one transaction', async () => {
  const { sink, driver, path } = await sinkOn('batch.db');
  const records = Array.from({ length: 1200 }, (_, i) => rec({ id: i, name: `n${i}`, score: i / 2 }));
  assert.deepEqual(await sink.write(records), []);
  await sink.close();
  assert.equal(inserts(driver).length, 3);
  assert.deepEqual(rows(path, 'SELECT count(*) AS n, sum(id) AS s FROM t'), [{ n: 1200, s: (1199 * 1200) / 2 }]);
  assert.deepEqual(rows(path, "SELECT name, type FROM pragma_table_info('t')"), [
    { name: 'id', type: 'INTEGER' }, { name: 'name', type: 'TEXT' }, { name: 'score', type: 'REAL' },
  ]);
});

test('statements are split to stay under the bound-parameter cap', async () => {
  const { sink, driver, path } = await sinkOn('wide.db', { batchSize: 1000 });
  const wide = (i: number): Record<string, number> => Object.fromEntries(Array.from({ length: 50 }, (_, c) => [`c${c}`, i * 100 + c]));
  assert.deepEqual(await sink.write(Array.from({ length: 1000 }, (_, i) => rec(wide(i)))), []);
  await sink.close();
  // 50 columns × 655 rows = 32,750 ≤ 32,766 parameters.
  assert.equal(inserts(driver).length, 2);
  assert.deepEqual(rows(path, 'SELECT count(*) AS n FROM t'), [{ n: 1000 }]);
});

test('refused rows are isolated with savepoints: good rows written, bad ones returned', async () => {
  const { sink, path } = await sinkOn('bad.db');
  await sink.write([rec({ id: 1, age: 30 })]); // creates age INTEGER
  const records = [rec({ id: 2, age: 31 }), rec({ id: 3, age: 'abc' }), rec({ id: 4, age: 2.5 }), rec('[1,2]'), rec(null), rec({ id: 5, age: '33' })];
  const failures = await sink.write(records);
  await sink.close();
  const failed = new Set(failures.map((f) => f.record.offset));
  assert.deepEqual([...failed].sort((a, b) => a - b), [records[1].offset, records[2].offset, records[3].offset, records[4].offset].sort((a, b) => a - b));
  assert.match(failures.find((f) => f.record.offset === records[1].offset)!.error.message, /cannot store TEXT value in INTEGER column/);
  assert.match(failures.find((f) => f.record.offset === records[3].offset)!.error.message, /not a JSON object but an array/);
  assert.match(failures.find((f) => f.record.offset === records[4].offset)!.error.message, /tombstone/);
  // '33' is converted losslessly by a STRICT INTEGER column.
  assert.deepEqual(rows(path, 'SELECT id, age FROM t ORDER BY id'), [{ id: 1, age: 30 }, { id: 2, age: 31 }, { id: 5, age: 33 }]);
});

test('upsert: a key repeated within a batch keeps record order (last wins)', async () => {
  const { sink, driver, path } = await sinkOn('upsert.db', { mode: 'upsert', keyColumns: ['id'] });
  await sink.write([rec({ id: 1, v: 'a' }), rec({ id: 2, v: 'a' }), rec({ id: 1, v: 'b' }), rec({ id: 3, v: 'a' }), rec({ id: 1, v: 'c' })]);
  await sink.write([rec({ id: 2, v: 'z' }), rec({ v: 'no key' })]).then((f) => assert.match(f[0].error.message, /key column 'id'/));
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT id, v FROM t ORDER BY id'), [{ id: 1, v: 'c' }, { id: 2, v: 'z' }, { id: 3, v: 'a' }]);
  assert.ok(inserts(driver).every((s) => s.includes('ON CONFLICT ("id") DO UPDATE SET "v" = excluded."v"')));
});

test('exactly-once: offsets are stored in the same transaction and read back', async () => {
  const { sink, path } = await sinkOn('eos.db', { guarantee: 'exactly-once' });
  assert.deepEqual(await sink.storedOffsets('pipe', [{ topic: 't', partition: 0 }]), []);
  await sink.write([rec({ id: 1 }, 0), rec({ id: 2 }, 1)], [{ topic: 't', partition: 0, offset: 10 }, { topic: 't', partition: 1, offset: 7 }]);
  await sink.write([rec({ id: 3 }, 0)], [{ topic: 't', partition: 0, offset: 11 }]);
  assert.deepEqual(
    (await sink.storedOffsets('pipe', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }])).sort((a, b) => a.partition - b.partition),
    [{ topic: 't', partition: 0, offset: 11 }, { topic: 't', partition: 1, offset: 7 }],
  );
  assert.deepEqual(await sink.storedOffsets('other', [{ topic: 't', partition: 0 }]), []);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT count(*) AS n FROM t'), [{ n: 3 }]);
});

test('a locked database rejects with a retriable SinkError and writes nothing', async () => {
  const path = join(dir, 'locked.db');
  const driver = new SqliteDriver(path, { busyTimeoutMs: 50 });
  const sink = new SqlSink(driver, { ...base, guarantee: 'exactly-once' }, 'pipe');
  await sink.open();
  await sink.write([rec({ id: 1 })]);
  const other = new Database(path);
  other.exec('BEGIN EXCLUSIVE');
  try {
    await assert.rejects(sink.write([rec({ id: 2 })], [{ topic: 't', partition: 0, offset: 5 }]), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.retriable, true);
      assert.match(err.message, /SQLITE_BUSY/);
      return true;
    });
  } finally {
    other.exec('COMMIT');
    other.close();
  }
  assert.deepEqual(await sink.storedOffsets('pipe', [{ topic: 't', partition: 0 }]), []);
  assert.deepEqual(await sink.write([rec({ id: 2 })]), []);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT id FROM t ORDER BY id'), [{ id: 1 }, { id: 2 }]);
});

test('a missing table without autoCreate fails open() with a clear, non-retriable error', async () => {
  const sink = new SqlSink(new SqliteDriver(join(dir, 'none.db')), { ...base, autoCreate: false, table: 'missing' }, 'pipe');
  await assert.rejects(sink.open(), (err: unknown) => err instanceof SinkError && !err.retriable && /table 'missing' does not exist.*autoCreate/.test(err.message));
  await sink.close();
  assert.throws(() => new SqlSink(new SqliteDriver(join(dir, 'x.db')), { ...base, mode: 'upsert' }, 'pipe'), /needs keyColumns/);
});

test('values: booleans, nested objects and integers are stored as SQLite expects', async () => {
  const { sink, path } = await sinkOn('values.db');
  await sink.write([rec({ id: 7, ok: true, tags: ['a', 'b'], label: 'x' }), rec({ id: 8, ok: false, tags: null, label: 9 })]);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT id, ok, tags, label FROM t ORDER BY id'), [
    { id: 7, ok: 1, tags: '["a","b"]', label: 'x' },
    { id: 8, ok: 0, tags: null, label: '9' },
  ]);
});

test('exactly-once: a stored offset never moves back (a zombie writer cannot rewind the new owner\'s offsets)', async () => {
  const { sink, path } = await sinkOn('eos-monotonic.db', { guarantee: 'exactly-once' });
  await sink.write([rec({ id: 1 }, 0)], [{ topic: 't', partition: 0, offset: 20 }]);
  await sink.close();
  // Another writer that still believes it owns the partition stores older offsets for 0 and a first one for 1.
  const db = new Database(path);
  const lite = dialectFor('sqlite');
  db.prepare(lite.upsertOffsets(2)).run('pipe', 't', 0, 12, 'pipe', 't', 1, 3);
  db.prepare(lite.upsertOffsets(1)).run('pipe', 't', 1, 9);
  db.close();
  assert.deepEqual(rows(path, 'SELECT partition, next_offset FROM tributary_offsets ORDER BY partition'), [{ partition: 0, next_offset: 20 }, { partition: 1, next_offset: 9 }]);
});

test('dialects: quoting, placeholders, upserts and the offsets table', () => {
  const my = dialectFor('mysql');
  const pg = dialectFor('postgres');
  const lite = dialectFor('sqlite');
  assert.equal(my.insert('db.t', ['id', 'v'], 2, ['id']), 'INSERT INTO `db`.`t` (`id`, `v`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)');
  assert.equal(pg.insert('t', ['id', 'v'], 2, ['id']), 'INSERT INTO "t" ("id", "v") VALUES ($1, $2), ($3, $4) ON CONFLICT ("id") DO UPDATE SET "v" = excluded."v"');
  assert.equal(lite.insert('t', ['id'], 1, ['id']), 'INSERT INTO "t" ("id") VALUES (?) ON CONFLICT ("id") DO NOTHING');
  assert.equal(pg.quote('we"ird'), '"we""ird"');
  assert.equal(my.quote('a`b'), '`a``b`');
  assert.equal(my.createTable('t', [{ name: 'k', kind: 'text' }, { name: 'n', kind: 'real' }, { name: 'b', kind: 'boolean' }], ['k']),
    'CREATE TABLE IF NOT EXISTS `t` (`k` VARCHAR(255) NOT NULL, `n` DOUBLE, `b` BOOLEAN, PRIMARY KEY (`k`))');
  assert.equal(pg.createTable('t', [{ name: 'i', kind: 'integer' }], null), 'CREATE TABLE IF NOT EXISTS "t" ("i" BIGINT)');
  assert.match(lite.createOffsetsTable(), /^CREATE TABLE IF NOT EXISTS "tributary_offsets" .*PRIMARY KEY \("pipeline", "topic", "partition"\)\) STRICT$/);
  assert.match(my.upsertOffsets(1), /ON DUPLICATE KEY UPDATE `next_offset` = GREATEST\(`next_offset`, VALUES\(`next_offset`\)\)$/);
  assert.equal([lite.maxParams, pg.maxParams, my.maxParams].join(), '32766,65535,65535');
  assert.equal(sqlitePath('sqlite:./a.db'), './a.db');
  assert.equal(sqlitePath('sqlite:///tmp/a.db'), '/tmp/a.db');
  assert.equal(sqlitePath('b.db'), 'b.db');
});

test('auto-create types a column by what most values are: a stray "abc" among ages is refused, not a TEXT column', async () => {
  const { sink, path } = await sinkOn('dominant.db');
  // The odd value comes first, as in a CSV whose first row is the bad one.
  const records = [rec({ id: 0, age: 'abc', ok: true }), ...Array.from({ length: 9 }, (_, i) => rec({ id: i + 1, age: 20 + i, ok: i % 2 === 0 }))];
  const failures = await sink.write(records);
  await sink.close();
  assert.deepEqual(failures.map((f) => f.record.offset), [records[0].offset]);
  const [ddl] = rows<{ sql: string }>(path, "SELECT sql FROM sqlite_master WHERE name = 't'");
  assert.match(ddl.sql, /"age" INTEGER/);
  assert.equal(rows<{ n: number }>(path, 'SELECT count(*) AS n FROM t')[0].n, 9);
});

test('exactly-once: the same batch written again (a COMMIT whose reply was lost) lands once', async () => {
  const { sink, path } = await sinkOn('lost-commit.db', { guarantee: 'exactly-once' });
  const records = Array.from({ length: 20 }, (_, i) => rec({ id: i, v: `x${i}` }, i % 2));
  const next = [0, 1].map((partition) => ({ topic: 't', partition, offset: Math.max(...records.filter((r) => r.partition === partition).map((r) => r.offset)) + 1 }));
  assert.deepEqual(await sink.write(records, next), []);
  assert.deepEqual(await sink.write(records, next), []);
  // A batch that overlaps the stored offsets writes only its new part.
  const more = [...records.slice(-4), ...Array.from({ length: 6 }, (_, i) => rec({ id: 100 + i, v: 'y' }, i % 2))];
  const after = [0, 1].map((partition) => ({ topic: 't', partition, offset: Math.max(...more.filter((r) => r.partition === partition).map((r) => r.offset)) + 1 }));
  assert.deepEqual(await sink.write(more, after), []);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM t'), [{ n: 26, d: 26 }]);
});

test('a transaction of several statements, prepared ahead: one bad row goes back, the other 999 are written', async () => {
  const { sink, driver, path } = await sinkOn('prepared.db', { batchSize: 100 });
  await sink.write([rec({ id: 0, age: 1 })]); // creates the table (id INTEGER, age INTEGER)
  driver.statements = [];
  const records = Array.from({ length: 1000 }, (_, i) => rec({ id: i + 1, age: i === 637 ? 'abc' : 20 + (i % 50) }));
  sink.prepare(records);
  const failures = await sink.write(records);
  assert.deepEqual(failures.map((f) => f.record.offset), [records[637].offset]);
  assert.match(failures[0].error.message, /cannot store TEXT value in INTEGER column/);
  // Without savepoints until the seventh statement is refused (7 INSERTs, rolled back), then the transaction again
  // under savepoints: ten 100-row statements, the refused one row by row: 10 + 100 INSERTs.
  assert.equal(inserts(driver).length, 117);
  assert.equal(driver.statements.slice(0, 7).filter((st) => st.startsWith('SAVEPOINT')).length, 0);
  assert.equal(driver.statements.filter((st) => st.startsWith('SAVEPOINT')).length, 110);
  assert.deepEqual(rows(path, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM t'), [{ n: 1000, d: 1000 }]);
  assert.deepEqual(rows(path, 'SELECT id FROM t WHERE id = 638'), []);
  // What was prepared for another array is not used: a write of these records maps them itself.
  sink.prepare([rec({ id: 5000, age: 1 })]);
  await sink.write([rec({ id: 5001, age: 2 })]);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT id, age FROM t WHERE id >= 5000'), [{ id: 5001, age: 2 }]);
});

test('records of different field sets and orders in one batch each land in their own columns', async () => {
  const { sink, path } = await sinkOn('shapes.db');
  await sink.write([rec({ id: 1, name: 'a', age: 30 })]);
  const failures = await sink.write([
    rec({ id: 2, name: 'b', age: 31 }),
    rec({ age: 32, id: 3, name: 'c' }),
    rec({ id: 4, name: 'd' }),
    rec({ id: 5, name: 'e', age: 35, unknown: 'ignored' }),
    rec({ nothing: 'matches' }),
    rec({ id: 6, name: 'f', age: 36 }),
    rec({ name: 'g', id: 7, age: { nested: true } }),
  ]);
  await sink.close();
  assert.deepEqual(failures.map((f) => f.error.message), ["no field of the record matches a column of table 't'", 'SQLite refused: cannot store TEXT value in INTEGER column t.age (SQLITE_CONSTRAINT_DATATYPE)']);
  assert.deepEqual(rows(path, 'SELECT id, name, age FROM t ORDER BY id'), [
    { id: 1, name: 'a', age: 30 }, { id: 2, name: 'b', age: 31 }, { id: 3, name: 'c', age: 32 }, { id: 4, name: 'd', age: null },
    { id: 5, name: 'e', age: 35 }, { id: 6, name: 'f', age: 36 },
  ]);
});

test('a column mapping reads the mapped fields whatever else a record holds; absent ones take the default', async () => {
  const path = join(dir, 'mapped.db');
  const db = new Database(path);
  db.exec("CREATE TABLE people (pid INTEGER, full_name TEXT, years INTEGER DEFAULT 99) STRICT");
  db.close();
  const sink = new SqlSink(new SqliteDriver(path), { ...base, table: 'people', autoCreate: false, columns: { pid: 'id', full_name: 'name', years: 'age' } }, 'pipe');
  await sink.open();
  await sink.write([rec({ id: 1, name: 'a', age: 3 }), rec({ name: 'b', id: 2, extra: 1 }), rec({ id: 3, age: 5, name: 'c' }), rec({ id: 4, name: 'd', age: 6 })]);
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT pid, full_name, years FROM people ORDER BY pid'), [
    { pid: 1, full_name: 'a', years: 3 }, { pid: 2, full_name: 'b', years: 99 }, { pid: 3, full_name: 'c', years: 5 }, { pid: 4, full_name: 'd', years: 6 },
  ]);
});

test('exactly-once: a commit whose reply is lost, and offsets stored by another member, are read back before writing', async () => {
  const path = join(dir, 'eos-memory.db');
  // COMMIT goes through, then the reply is "lost" once: write() rejects (retriable) after the rows are in.
  let loseReply = false;
  const inner = new SqliteDriver(path);
  const lossy: SqlDriver = {
    dialect: inner.dialect,
    connect: () => inner.connect(),
    describeTable: (t) => inner.describeTable(t),
    close: () => inner.close(),
    transaction: async (fn) => {
      const result = await inner.transaction(fn);
      if (loseReply) {
        loseReply = false;
        throw new SinkError('connection lost after COMMIT', { retriable: true });
      }
      return result;
    },
  };
  const sink = new SqlSink(lossy, { ...base, guarantee: 'exactly-once' }, 'pipe');
  await sink.open();
  const batch = (from: number, n: number): SinkRecord[] => Array.from({ length: n }, (_, i) => ({ ...rec({ id: from + i }), offset: from + i }));
  const next = (records: SinkRecord[]) => [{ topic: 't', partition: 0, offset: records[records.length - 1].offset + 1 }];
  const first = batch(0, 10);
  await sink.write(first, next(first));
  const second = batch(10, 10);
  loseReply = true;
  await assert.rejects(sink.write(second, next(second)), (err: unknown) => err instanceof SinkError && err.retriable);
  await sink.write(second, next(second)); // the runtime's retry: the stored offsets say it is in
  // Another member wrote on (offsets 20-29) while this one had lost the partition; it is assigned again.
  const other = new SqlSink(new SqliteDriver(path), { ...base, guarantee: 'exactly-once' }, 'pipe');
  await other.open();
  const third = batch(20, 10);
  await other.write(third, next(third));
  await other.close();
  assert.deepEqual(await sink.storedOffsets('pipe', [{ topic: 't', partition: 0 }]), [{ topic: 't', partition: 0, offset: 30 }]);
  const overlap = batch(25, 10);
  await sink.write(overlap, next(overlap));
  await sink.close();
  assert.deepEqual(rows(path, 'SELECT count(*) AS n, count(DISTINCT id) AS d, max(id) AS m FROM t'), [{ n: 35, d: 35, m: 34 }]);
});
