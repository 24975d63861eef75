import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runSinkPipeline, DLQ_HEADERS, type SinkProgress } from '../../../src/connect/sink-runtime.js';
import { createSink } from '../../../src/connect/sinks/index.js';
import { createTopic, querySqlite as query, crashingSink, produce, readTopic, runOptions, sinkPipeline, startTestBroker, users, type TestBroker } from './sink-support.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker();
});
after(async () => {
  await tb.close();
});

const count = (path: string, table: string): { n: number; d: number } =>
  query<{ n: number; d: number }>(path, `SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${table}`)[0];

test('insert with auto-create: every record lands in a STRICT table with inferred types', async () => {
  const db = join(tb.dir, 'insert.db');
  await createTopic(tb.client, 'ins', 3);
  await produce(tb.client, 'ins', users(900));
  const p = sinkPipeline('ins', 'ins', { type: 'sqlite', url: db, table: 'people' });
  const result = await runSinkPipeline(p, tb.client, runOptions());
  assert.equal(result.stopped, 'idle');
  assert.equal(result.rows, 900);
  assert.deepEqual(count(db, 'people'), { n: 900, d: 900 });
  const [ddl] = query<{ sql: string }>(db, "SELECT sql FROM sqlite_master WHERE name = 'people'");
  assert.match(ddl.sql, /STRICT$/);
  const cols = query<{ name: string; type: string }>(db, "SELECT name, type FROM pragma_table_info('people')");
  assert.deepEqual(cols, [{ name: 'id', type: 'INTEGER' }, { name: 'name', type: 'TEXT' }, { name: 'age', type: 'INTEGER' }]);
  assert.deepEqual(query(db, 'SELECT id, name, age FROM people WHERE id = 7'), [{ id: 7, name: 'user-7', age: 27 }]);
});

test('upsert by key: the last version of every key wins', async () => {
  const db = join(tb.dir, 'upsert.db');
  await createTopic(tb.client, 'ups', 3);
  // 150 keys × 4 versions, keyed so each key's versions stay in order in one partition.
  const records = [];
  for (let v = 0; v < 4; v++) for (let id = 0; id < 150; id++) records.push({ key: String(id), value: { id, version: v, note: `v${v}` } });
  await produce(tb.client, 'ups', records);
  const p = sinkPipeline('ups', 'ups', { type: 'sqlite', url: db, table: 'latest', mode: 'upsert', keyColumns: ['id'], batchSize: 64 });
  const result = await runSinkPipeline(p, tb.client, runOptions());
  assert.equal(result.rows, 600);
  assert.deepEqual(count(db, 'latest'), { n: 150, d: 150 });
  assert.deepEqual(query(db, 'SELECT DISTINCT version, note FROM latest'), [{ version: 3, note: 'v3' }]);
  const [ddl] = query<{ sql: string }>(db, "SELECT sql FROM sqlite_master WHERE name = 'latest'");
  assert.match(ddl.sql, /PRIMARY KEY \("id"\)/);
});

test('column mapping into an existing table; fields without a column are ignored', async () => {
  const path = join(tb.dir, 'mapped.db');
  const db = new Database(path);
  db.exec('CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, created TEXT DEFAULT \'now\')');
  db.close();
  await createTopic(tb.client, 'map', 3);
  await produce(tb.client, 'map', users(300).map((u) => ({ key: u.key, value: { ...u.value, extra: { nested: true } } })));
  const p = sinkPipeline('map', 'map', {
    type: 'sqlite', url: path, table: 'customers', autoCreate: false, columns: { customer_id: 'id', full_name: 'name' },
  });
  const result = await runSinkPipeline(p, tb.client, runOptions());
  assert.equal(result.rows, 300);
  assert.equal(result.dlq, 0);
  assert.deepEqual(query(path, 'SELECT count(*) AS n FROM customers'), [{ n: 300 }]);
  assert.deepEqual(query(path, 'SELECT customer_id, full_name, created FROM customers WHERE customer_id = 42'), [{ customer_id: 42, full_name: 'user-42', created: 'now' }]);
});

test('1,200 records with batchSize 500 all land', async () => {
  const db = join(tb.dir, 'batch.db');
  await createTopic(tb.client, 'batch', 1);
  await produce(tb.client, 'batch', users(1200));
  const batches: number[] = [];
  const p = sinkPipeline('batch', 'batch', { type: 'sqlite', url: db, table: 't', batchSize: 500 });
  const inner = await createSink(p.sink!, p.name);
  const sink = { ...inner, name: inner.name, open: () => inner.open(), close: () => inner.close(), storedOffsets: inner.storedOffsets.bind(inner),
    write: (records: Parameters<typeof inner.write>[0], offsets?: Parameters<typeof inner.write>[1]) => {
      batches.push(records.length);
      return inner.write(records, offsets);
    } };
  const result = await runSinkPipeline(p, tb.client, runOptions({ sink }));
  assert.equal(result.rows, 1200);
  assert.deepEqual(count(db, 't'), { n: 1200, d: 1200 });
  assert.ok(batches.every((n) => n <= 500), `batches ${batches}`);
  assert.equal(batches.reduce((a, b) => a + b, 0), 1200);
});

test('a record the database refuses goes to the dead-letter topic with the error headers; the others land', async () => {
  const db = join(tb.dir, 'dlq.db');
  await createTopic(tb.client, 'dlq-in', 1);
  const records: Array<{ key: string | null; value: unknown }> = users(300);
  records[150] = { key: 'bad', value: { id: 150, name: 'bad', age: 'abc' } };
  records[220] = { key: 'junk', value: 'not json {' };
  await produce(tb.client, 'dlq-in', records);
  const p = sinkPipeline('dlq', 'dlq-in', { type: 'sqlite', url: db, table: 'people', batchSize: 100 });
  const progress: SinkProgress[] = [];
  const result = await runSinkPipeline(p, tb.client, runOptions({ onProgress: (s) => progress.push(s) }));
  assert.equal(result.rows, 298);
  assert.equal(result.dlq, 2);
  assert.equal(progress.at(-1)!.dlq, 2);
  assert.deepEqual(count(db, 'people'), { n: 298, d: 298 });
  const dead = await readTopic(tb.client, 'dlq-in-dlq', 2);
  assert.equal(dead.length, 2);
  const headers = (i: number): Record<string, string> => Object.fromEntries(dead[i].headers.map((h) => [h.key, h.value?.toString() ?? '']));
  const byKey = new Map(dead.map((r, i) => [r.key?.toString(), headers(i)]));
  const bad = byKey.get('bad')!;
  assert.equal(bad[DLQ_HEADERS.topic], 'dlq-in');
  assert.equal(bad[DLQ_HEADERS.partition], '0');
  assert.equal(bad[DLQ_HEADERS.offset], '150');
  assert.equal(bad[DLQ_HEADERS.pipeline], 'dlq');
  assert.match(bad[DLQ_HEADERS.message], /cannot store TEXT value in INTEGER column people\.age/);
  const junk = byKey.get('junk')!;
  assert.equal(junk[DLQ_HEADERS.offset], '220');
  assert.match(junk[DLQ_HEADERS.message], /not JSON/);
  assert.equal(dead.find((r) => r.key?.toString() === 'bad')!.value!.toString(), JSON.stringify({ id: 150, name: 'bad', age: 'abc' }));
});

test('a locked database is retried with backoff and the sink catches up without loss', async () => {
  const path = join(tb.dir, 'locked.db');
  const setup = new Database(path);
  setup.pragma('journal_mode = WAL');
  setup.exec('CREATE TABLE t (id INTEGER, name TEXT, age INTEGER) STRICT');
  await createTopic(tb.client, 'locked', 3);
  await produce(tb.client, 'locked', users(600));
  // Another connection holds the write lock for 2 s while the pipeline starts.
  setup.exec('BEGIN EXCLUSIVE');
  const release = setTimeout(() => setup.exec('COMMIT'), 2000);
  const logs: string[] = [];
  const progress: SinkProgress[] = [];
  try {
    const p = sinkPipeline('locked', 'locked', { type: 'sqlite', url: path, table: 't', autoCreate: false });
    // A max.poll.interval.ms shorter than the outage: the runtime keeps polling (partitions paused) while it retries.
    const consumer = { sessionTimeoutMs: 3000, heartbeatIntervalMs: 100, fetchMaxWaitMs: 100, maxPollIntervalMs: 1500 };
    const result = await runSinkPipeline(p, tb.client, runOptions({ logs, consumer, onProgress: (s) => progress.push(s) }));
    assert.equal(result.rows, 600);
  } finally {
    clearTimeout(release);
    if (setup.inTransaction) setup.exec('COMMIT');
    setup.close();
  }
  assert.deepEqual(count(path, 't'), { n: 600, d: 600 });
  assert.ok(logs.some((l) => /write failed .*database is locked.*retrying in \d+ ms/.test(l)), logs.join('\n'));
  assert.ok(progress.some((s) => s.retrying), 'progress showed the retries');
  // The group membership survived the outage: no partition was lost, no commit refused.
  const firstAssigned = progress.findIndex((s) => s.partitions > 0);
  assert.ok(progress.slice(firstAssigned).every((s) => s.partitions === 3), progress.map((s) => s.partitions).join());
  assert.ok(!logs.some((l) => /commit failed/.test(l)), logs.join('\n'));
});

for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
  test(`${guarantee}: a runtime stopped mid-load after a committed transaction, then restarted`, async () => {
    const db = join(tb.dir, `restart-${guarantee}.db`);
    const topic = `restart-${guarantee}`;
    await createTopic(tb.client, topic, 3);
    await produce(tb.client, topic, users(1500));
    // insert mode, no key: a batch written twice would show as duplicate rows.
    const p = sinkPipeline(topic, topic, { type: 'sqlite', url: db, table: 't', batchSize: 100, guarantee });
    const stop = new AbortController();
    const sink = crashingSink(await createSink(p.sink!, p.name), 4, stop);
    const first = await runSinkPipeline(p, tb.client, runOptions({ signal: stop.signal, sink, once: false }));
    assert.equal(first.stopped, 'aborted');
    const afterCrash = count(db, 't').n;
    assert.ok(afterCrash > 0 && afterCrash < 1500, `rows after the crash: ${afterCrash}`);
    const second = await runSinkPipeline(p, tb.client, runOptions());
    assert.equal(second.stopped, 'idle');
    const { n, d } = count(db, 't');
    assert.equal(d, 1500, 'every record arrived');
    if (guarantee === 'exactly-once') {
      assert.equal(n, 1500, 'no record twice');
      const stored = query<{ partition: number; next_offset: number }>(db, `SELECT partition, next_offset FROM tributary_offsets WHERE pipeline = '${topic}' ORDER BY partition`);
      assert.equal(stored.length, 3);
    } else {
      // The last batch before the crash was committed to the database but not to the group: it comes again.
      assert.ok(n > 1500, `duplicates expected in at-least-once mode, got ${n}`);
    }
  });
}

test('two runtimes with the same pipeline split the partitions', async () => {
  const db = join(tb.dir, 'split.db');
  await createTopic(tb.client, 'split', 4);
  const p = sinkPipeline('split', 'split', { type: 'sqlite', url: db, table: 't', batchSize: 50, mode: 'upsert', keyColumns: ['id'] });
  // Pre-created, so the two runtimes do not race on auto-create.
  const setup = new Database(db);
  setup.pragma('journal_mode = WAL');
  setup.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER) STRICT');
  setup.close();
  const stop = new AbortController();
  const latest: SinkProgress[] = [];
  let produced = false;
  let onChange: () => void = () => {};
  const changed = (): void => onChange();
  const runs = [0, 1].map((i) => runSinkPipeline(p, tb.client, runOptions({
    signal: AbortSignal.any([stop.signal, AbortSignal.timeout(30_000)]),
    once: false,
    onProgress: (s) => {
      latest[i] = s;
      changed();
    },
  })));
  const until = (cond: () => boolean, what: string): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
    onChange = () => {
      if (cond()) {
        clearTimeout(timer);
        onChange = () => {};
        resolve();
      }
    };
  });
  try {
    await until(() => latest[0]?.partitions === 2 && latest[1]?.partitions === 2, 'a 2 + 2 split');
    await produce(tb.client, 'split', users(800));
    produced = true;
    await until(() => produced && latest[0].rows + latest[1].rows >= 800 && latest[0].lag === 0 && latest[1].lag === 0, 'all rows');
  } finally {
    stop.abort();
  }
  const [a, b] = await Promise.all(runs);
  assert.ok(a.rows > 0 && b.rows > 0, `both wrote: ${a.rows} + ${b.rows}`);
  assert.equal(a.rows + b.rows, 800);
  assert.deepEqual(count(db, 't'), { n: 800, d: 800 });
});
