/**
 * End-to-end tests of a SQL sink pipeline against a real database, the same for MariaDB and PostgreSQL:
 * an in-process broker, records produced into a topic, runSinkPipeline writing them through createSink's
 * SqlSink and the real driver. Covers: all rows arrive; upsert by key; a refused value goes to the
 * dead-letter topic with Kafka Connect's headers; a sink that crashes after a transaction committed, or a
 * sink process SIGKILLed mid-load, loses nothing when restarted (and writes nothing twice in
 * exactly-once mode); a pipeline started before its database is up waits for it; a database that is killed
 * and restarted while the pipeline runs is caught up with, with no loss and no duplicates (exactly-once).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Consumer, type ConsumerRecord } from '../../../src/client/consumer.js';
import { Producer } from '../../../src/client/producer.js';
import { DLQ_HEADERS, runSinkPipeline, type SinkProgress, type SinkRunOptions, type SinkRunResult } from '../../../src/connect/sink-runtime.js';
import { createSink } from '../../../src/connect/sinks/index.js';
import type { PipelineConfig, RecordFailure, SinkConfig, SinkConnector, SinkRecord, SqlDriver, TopicPartitionOffset } from '../../../src/connect/types.js';
import { startTestBroker, type TestBroker } from './broker.js';
import type { TestDatabase } from './db-server.js';

/** The compiled sink-process.ts next to this file. */
const SINK_PROCESS = fileURLToPath(new URL('./sink-process.js', import.meta.url));

export interface SinkTarget {
  name: string;
  type: 'mysql' | 'postgres';
  start(): Promise<TestDatabase>;
  driver(url: string): SqlDriver;
}

interface User {
  id: number;
  name: string;
  age: number | string;
}

function users(from: number, count: number): User[] {
  return Array.from({ length: count }, (_, i) => ({ id: from + i, name: `user-${from + i}`, age: (from + i) % 90 }));
}

/** Resolves when `predicate` holds for a progress report, rejects after `timeoutMs`. */
function progressWatch(timeoutMs: number) {
  let latest: SinkProgress | undefined;
  const waiters: Array<{ predicate: (p: SinkProgress) => boolean; resolve: () => void }> = [];
  return {
    onProgress(p: SinkProgress): void {
      latest = p;
      for (const w of [...waiters]) {
        if (w.predicate(p)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    until(what: string, predicate: (p: SinkProgress) => boolean): Promise<void> {
      if (latest && predicate(latest)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last progress ${JSON.stringify(latest)}`)), timeoutMs);
        waiters.push({ predicate, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** A sink that crashes right after a transaction committed, before the runtime commits the group offsets. */
class CrashingSink implements SinkConnector {
  readonly name: string;
  private writes = 0;
  constructor(private readonly inner: SinkConnector, private readonly crashAfter: number) {
    this.name = inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    const failures = await this.inner.write(records, offsets);
    if (++this.writes >= this.crashAfter) throw new Error('simulated crash after the database transaction committed');
    return failures;
  }
  storedOffsets(pipeline: string, partitions: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]> {
    return this.inner.storedOffsets(pipeline, partitions);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export function sinkSuite(target: SinkTarget): void {
  describe(`${target.name} sink pipeline (end to end)`, () => {
    let db: TestDatabase;
    let broker: TestBroker;
    let admin: SqlDriver;
    let serial = 0;

    before(async () => {
      broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
      db = await target.start();
      admin = target.driver(db.adminUrl);
      await admin.connect();
    });

    after(async () => {
      await admin?.close();
      await db?.stop();
      await broker?.close();
    });

    const client = () => ({ bootstrapServers: broker.address });

    async function produce(topic: string, values: unknown[]): Promise<void> {
      const producer = new Producer({ ...client(), lingerMs: 5 });
      await producer.connect();
      try {
        await producer.sendBatch(values.map((v) => ({ topic, key: String((v as User).id), value: JSON.stringify(v) })));
      } finally {
        await producer.close();
      }
    }

    /** Reads `count` records of a topic (3 partitions) from the beginning, without a group. */
    async function readTopic(topic: string, count: number, timeoutMs = 15_000): Promise<ConsumerRecord[]> {
      const consumer = new Consumer({ ...client(), autoOffsetReset: 'earliest' });
      await consumer.connect();
      const out: ConsumerRecord[] = [];
      try {
        consumer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
        const deadline = Date.now() + timeoutMs;
        while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(Math.max(1, deadline - Date.now()))));
      } finally {
        await consumer.close();
      }
      return out;
    }

    function pipeline(table: string, sink: Partial<SinkConfig>): PipelineConfig {
      const name = `${table}-${++serial}`;
      const topic = `${table}-in`;
      return {
        name,
        topic,
        group: `connect-${name}`,
        tasks: 1,
        sink: {
          type: target.type,
          url: db.url,
          table,
          mode: 'insert',
          autoCreate: false,
          batchSize: 100,
          guarantee: 'at-least-once',
          deadLetterTopic: `${topic}-dlq`,
          ...sink,
        },
      };
    }

    function run(p: PipelineConfig, options: Partial<SinkRunOptions> & { signal?: AbortSignal } = {}): Promise<SinkRunResult> {
      const logs: string[] = [];
      return runSinkPipeline(p, client(), {
        signal: options.signal ?? AbortSignal.timeout(45_000),
        once: true,
        idleMs: 500,
        progressIntervalMs: 100,
        log: (m) => logs.push(m),
        consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 200 },
        ...options,
      });
    }

    /** A table without a key, so that a row written twice shows up as a duplicate; owned by the sink's user. */
    async function createUsersTable(table: string): Promise<void> {
      const owner = target.driver(db.url);
      try {
        await owner.transaction((tx) => tx.execute(`CREATE TABLE ${table} (id BIGINT NOT NULL, name VARCHAR(100), age INTEGER)`, []));
      } finally {
        await owner.close();
      }
    }

    async function counts(table: string): Promise<{ rows: number; ids: number }> {
      const [row] = await admin.transaction((tx) => tx.query<{ n: unknown; ids: unknown }>(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM ${table}`, []));
      return { rows: Number(row.n), ids: Number(row.ids) };
    }

    test('all rows arrive, into a table created from the records', async () => {
      const p = pipeline('auto_users', { autoCreate: true });
      await produce(p.topic, users(1, 3000));
      const result = await run(p);
      assert.deepEqual({ rows: result.rows, dlq: result.dlq, stopped: result.stopped }, { rows: 3000, dlq: 0, stopped: 'idle' });
      assert.deepEqual(await counts('auto_users'), { rows: 3000, ids: 3000 });
      const rows = await admin.transaction((tx) => tx.query<Record<string, unknown>>('SELECT id, name, age FROM auto_users WHERE id = 1234', []));
      assert.deepEqual(rows.map((r) => ({ id: Number(r.id), name: r.name, age: Number(r.age) })), [{ id: 1234, name: 'user-1234', age: 1234 % 90 }]);
      const columns = await admin.describeTable('auto_users');
      assert.deepEqual(columns?.map((c) => c.name), ['id', 'name', 'age']);
    });

    test('upsert by key: the last value of each key wins', async () => {
      const p = pipeline('upsert_users', { autoCreate: true, mode: 'upsert', keyColumns: ['id'] });
      // 100 keys, each written 5 times; records of one key share a partition, so their order is kept.
      const values = Array.from({ length: 500 }, (_, i) => ({ id: i % 100, name: `v${Math.floor(i / 100)}`, age: i }));
      await produce(p.topic, values);
      const result = await run(p);
      assert.equal(result.rows, 500);
      assert.deepEqual(await counts('upsert_users'), { rows: 100, ids: 100 });
      const rows = await admin.transaction((tx) => tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM upsert_users WHERE name = 'v4'`, []));
      assert.equal(Number(rows[0].n), 100);
    });

    test('a value the database refuses (age "abc" into INT) goes to the dead-letter topic; every other row arrives', async () => {
      await createUsersTable('dlq_users');
      const p = pipeline('dlq_users', {});
      const values: User[] = users(1, 1000);
      const bad = new Set([7, 500, 999]);
      for (const id of bad) values[id - 1].age = 'abc';
      await produce(p.topic, values);
      const result = await run(p);
      assert.deepEqual({ rows: result.rows, dlq: result.dlq }, { rows: 997, dlq: 3 });
      assert.deepEqual(await counts('dlq_users'), { rows: 997, ids: 997 });
      const dead = await readTopic(p.sink!.deadLetterTopic, 3);
      assert.deepEqual(dead.map((r) => JSON.parse(r.value!.toString()).id).sort((a, b) => a - b), [...bad]);
      for (const record of dead) {
        const headers = new Map(record.headers.map((h) => [h.key, h.value?.toString()]));
        assert.equal(headers.get(DLQ_HEADERS.topic), p.topic);
        assert.equal(headers.get(DLQ_HEADERS.pipeline), p.name);
        assert.match(headers.get(DLQ_HEADERS.partition) ?? '', /^[0-2]$/);
        assert.match(headers.get(DLQ_HEADERS.offset) ?? '', /^\d+$/);
        assert.match(headers.get(DLQ_HEADERS.message) ?? '', /integer|abc/i);
      }
    });

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      test(`a sink that crashes after a commit and restarts loses nothing (${guarantee}${guarantee === 'exactly-once' ? ', no duplicates' : ''})`, async () => {
        const table = `crash_${guarantee === 'exactly-once' ? 'eos' : 'alo'}`;
        await createUsersTable(table);
        const p = pipeline(table, { guarantee, batchSize: 100 });
        await produce(p.topic, users(1, 3000));
        const inner = await createSink(p.sink!, p.name);
        await assert.rejects(run(p, { sink: new CrashingSink(inner, 5) }), /simulated crash/);
        const midway = await counts(table);
        assert.ok(midway.rows >= 5 && midway.rows < 3000, `crashed mid-load: ${midway.rows} rows`);
        const result = await run(p);
        assert.equal(result.stopped, 'idle');
        const final = await counts(table);
        assert.equal(final.ids, 3000, 'no row lost');
        if (guarantee === 'exactly-once') assert.equal(final.rows, 3000, 'no row written twice');
      });
    }

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      test(`a sink process SIGKILLed mid-load and started again loses nothing (${guarantee}${guarantee === 'exactly-once' ? ', no duplicates' : ''})`, async () => {
        const table = `sigkill_${guarantee === 'exactly-once' ? 'eos' : 'alo'}`;
        await createUsersTable(table);
        const p = pipeline(table, { guarantee, batchSize: 20 });
        await produce(p.topic, users(1, 5000));
        const child = spawn(process.execPath, [SINK_PROCESS, JSON.stringify({ pipeline: p, bootstrapServers: broker.address })], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
        const exited = once(child, 'exit');
        try {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no rows written within 20 s\n${stderr}`)), 20_000);
            child.once('exit', (code) => reject(new Error(`the sink process exited (${code}) before writing\n${stderr}`)));
            createInterface({ input: child.stdout }).on('line', (line) => {
              if ((JSON.parse(line) as SinkProgress).rows >= 200) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
        const midway = await counts(table);
        assert.ok(midway.rows >= 200 && midway.rows < 5000, `killed mid-load: ${midway.rows} rows`);
        const result = await run(p);
        assert.equal(result.stopped, 'idle');
        const final = await counts(table);
        assert.equal(final.ids, 5000, 'no row lost');
        if (guarantee === 'exactly-once') assert.equal(final.rows, 5000, 'no row written twice');
      });
    }

    test('stopping the sink mid-load and starting it again writes every row once (exactly-once)', async () => {
      await createUsersTable('stop_eos');
      const p = pipeline('stop_eos', { guarantee: 'exactly-once', batchSize: 50 });
      await produce(p.topic, users(1, 4000));
      const stop = new AbortController();
      const watch = progressWatch(30_000);
      const first = run(p, { signal: stop.signal, once: false, onProgress: watch.onProgress });
      await watch.until('some rows written', (s) => s.rows > 0);
      stop.abort();
      const stopped = await first;
      assert.equal(stopped.stopped, 'aborted');
      const result = await run(p);
      assert.equal(stopped.rows + result.rows, 4000);
      assert.deepEqual(await counts('stop_eos'), { rows: 4000, ids: 4000 });
    });

    test('a pipeline started while the database is down waits for it, then writes everything', async () => {
      await createUsersTable('late_db');
      const p = pipeline('late_db', { guarantee: 'exactly-once' });
      await produce(p.topic, users(1, 1000));
      db.kill();
      const watch = progressWatch(30_000);
      const logs: string[] = [];
      let opening!: () => void;
      const retried = new Promise<void>((resolve) => (opening = resolve));
      const running = run(p, {
        onProgress: watch.onProgress,
        log: (m) => {
          logs.push(m);
          if (/open failed/.test(m)) opening();
        },
      });
      try {
        await Promise.race([retried, running.then(() => assert.fail('finished without the database'))]);
      } finally {
        await db.restart();
      }
      const result = await running;
      assert.equal(result.rows, 1000);
      assert.deepEqual(await counts('late_db'), { rows: 1000, ids: 1000 });
      assert.match(logs.join('\n'), /open succeeded after \d+ attempts/);
    });

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      test(`a database killed and restarted while the pipeline runs is caught up with (${guarantee}${guarantee === 'exactly-once' ? ', no duplicates' : ''})`, async () => {
        const table = `down_${guarantee === 'exactly-once' ? 'eos' : 'alo'}`;
        await createUsersTable(table);
        const p = pipeline(table, { guarantee, batchSize: 50 });
        await produce(p.topic, users(1, 2000));
        const stop = new AbortController();
        const watch = progressWatch(40_000);
        const running = run(p, { signal: stop.signal, once: false, onProgress: watch.onProgress });
        try {
          await watch.until('the first rows', (s) => s.rows > 0);
          db.kill();
          // More records arrive while the database is down: the broker takes them, the sink retries.
          await produce(p.topic, users(2001, 1000));
          await watch.until('the sink retrying', (s) => s.retrying);
          await db.restart();
          await watch.until('every row written', (s) => s.rows >= 3000 && s.lag === 0);
        } finally {
          stop.abort();
        }
        const result = await running;
        assert.equal(result.dlq, 0);
        const final = await counts(table);
        assert.equal(final.ids, 3000, 'no row lost');
        if (guarantee === 'exactly-once') assert.equal(final.rows, 3000, 'no row written twice');
      });
    }
  });
}
