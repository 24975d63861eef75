/**
 * The driver-level tests, the same for MariaDB and PostgreSQL: transactions commit and roll back, tables
 * are described, values round-trip, a bad value is a non-retriable SinkError that leaves the connection
 * usable, and a lock wait timeout or a killed server is a retriable one after which the driver reconnects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SinkError, StatementError, type SqlDriver, type SqlExecutor } from '../../../src/connect/types.js';
import type { TestDatabase } from './db-server.js';
import { dialectFor } from '../../../src/connect/sinks/dialects.js';

export interface DriverTarget {
  name: string;
  /** Starts the server with a 1 s lock wait timeout, so that the lock test is quick. */
  start(): Promise<TestDatabase>;
  driver(url: string): SqlDriver;
  /** The n-th (1-based) positional parameter. */
  param(n: number): string;
  /** CREATE TABLE for `t(id, name, age, ...)` in this dialect. */
  createTable(table: string): string;
  /** The column types describeTable reports for that table. */
  describedTypes: string[];
  /** Statements and the SinkError message fragment for each kind of refused value. */
  badValues: Array<{ what: string; value: unknown; column: 'age' | 'name' | 'score'; message: RegExp }>;
  /** The driver has writeAll (MySQL/MariaDB). */
  writeAll?: boolean;
}

function isSinkError(retriable: boolean, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof SinkError, `expected a SinkError, got ${String(error)}`);
    assert.equal(error.retriable, retriable, `retriable should be ${retriable}: ${error.message}`);
    if (message) assert.match(error.message, message);
    return true;
  };
}

export function driverSuite(target: DriverTarget): void {
  describe(`${target.name} driver`, () => {
    let db: TestDatabase;
    let driver: SqlDriver;
    let admin: SqlDriver;
    const p = target.param;
    const insert = (table: string): string =>
      `INSERT INTO ${table} (id, name, age, score, active, born, data, big) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8].map(p).join(', ')})`;
    const count = async (table: string): Promise<number> => {
      const rows = await admin.transaction((tx) => tx.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`, []));
      return Number(rows[0].n);
    };

    before(async () => {
      db = await target.start();
      driver = target.driver(db.url);
      admin = target.driver(db.adminUrl);
      await driver.connect();
      await admin.connect();
    });

    after(async () => {
      await driver?.close();
      await admin?.close();
      await db?.stop();
    });

    test('a transaction commits every statement; values of every Row type round-trip', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_commit'), []));
      const born = new Date('2024-02-29T12:34:56.000Z');
      const affected = await driver.transaction(async (tx) => {
        const first = await tx.execute(insert('t_commit'), [1, 'Ada', 36, 1.5, true, born, Buffer.from([0, 1, 255]), 9007199254740993n]);
        const second = await tx.execute(insert('t_commit'), [2, 'Bob', null, null, false, null, null, null]);
        return first.affectedRows + second.affectedRows;
      });
      assert.equal(affected, 2);
      const rows = await admin.transaction((tx) => tx.query<Record<string, unknown>>(`SELECT id, name, age, score, active, born, data, big FROM t_commit ORDER BY id`, []));
      assert.equal(rows.length, 2);
      assert.equal(Number(rows[0].id), 1);
      assert.equal(rows[0].name, 'Ada');
      assert.equal(Number(rows[0].age), 36);
      assert.equal(Number(rows[0].score), 1.5);
      assert.equal(Boolean(Number(rows[0].active)) || rows[0].active === true, true);
      assert.equal((rows[0].born as Date).toISOString(), born.toISOString());
      assert.deepEqual(rows[0].data, Buffer.from([0, 1, 255]));
      assert.equal(String(rows[0].big), '9007199254740993');
      assert.equal(rows[1].age, null);
      assert.equal(Number(rows[1].active), 0);
    });

    test('the offsets table: upserted offsets never move back (exactly-once sinks, against a zombie writer)', async () => {
      const dialect = dialectFor(driver.dialect);
      await driver.transaction((tx) => tx.execute(dialect.createOffsetsTable(), []));
      const store = (offsets: Array<[string, number, number]>): Promise<unknown> =>
        driver.transaction((tx) => tx.execute(dialect.upsertOffsets(offsets.length), offsets.flatMap(([topic, partition, offset]) => ['monotonic', topic, partition, offset])));
      await store([['t', 0, 20]]);
      await store([['t', 0, 12], ['t', 1, 3]]);
      await store([['t', 1, 9]]);
      const stored = await admin.transaction((tx) => tx.query<{ partition: unknown; next_offset: unknown }>(dialect.selectOffsets(), ['monotonic']));
      assert.deepEqual(stored.map((r) => [Number(r.partition), Number(r.next_offset)]).sort((a, b) => a[0]! - b[0]!), [[0, 20], [1, 9]]);
    });

    test('a throw inside the transaction rolls everything back and is rethrown as is', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_rollback'), []));
      const boom = new Error('boom');
      await assert.rejects(
        driver.transaction(async (tx) => {
          await tx.execute(insert('t_rollback'), [1, 'Ada', 36, null, true, null, null, null]);
          throw boom;
        }),
        (error) => error === boom,
      );
      assert.equal(await count('t_rollback'), 0);
    });

    test('describeTable lists columns in order with their types; null for a missing table', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_describe'), []));
      const columns = await driver.describeTable('t_describe');
      assert.deepEqual(columns?.map((c) => c.name), ['id', 'name', 'age', 'score', 'active', 'born', 'data', 'big']);
      assert.deepEqual(columns?.map((c) => c.type.toLowerCase()), target.describedTypes);
      assert.equal(await driver.describeTable('no_such_table'), null);
    });

    test('a value the table refuses is a non-retriable SinkError; nothing is written and the connection stays usable', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_bad'), []));
      for (const bad of target.badValues) {
        const values: unknown[] = [10, 'ok', 1, 1.0, true, null, null, null];
        values[{ name: 1, age: 2, score: 3 }[bad.column]] = bad.value;
        await assert.rejects(
          driver.transaction(async (tx) => {
            await tx.execute(insert('t_bad'), [9, 'good row first', 1, null, true, null, null, null]);
            await tx.execute(insert('t_bad'), values);
          }),
          isSinkError(false, bad.message),
          bad.what,
        );
      }
      assert.equal(await count('t_bad'), 0);
      await driver.transaction((tx) => tx.execute(insert('t_bad'), [1, 'fine', 1, null, true, null, null, null]));
      assert.equal(await count('t_bad'), 1);
    });

    if (target.writeAll === true) test('writeAll: the statements commit together; a refused one rolls all back as a StatementError, the connection stays usable; a lock wait is retriable', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_all'), []));
      const row = (id: number, age: unknown): { sql: string; params: unknown[] } => ({ sql: insert('t_all'), params: [id, `row ${id}`, age, null, true, null, null, null] });
      await driver.writeAll!([row(1, 1), row(2, 2), { sql: `UPDATE t_all SET age = ${p(1)} WHERE id = ${p(2)}`, params: [20, 2] }]);
      const ages = async (): Promise<number[]> => (await admin.transaction((tx) => tx.query<{ age: unknown }>('SELECT age FROM t_all ORDER BY id', []))).map((r) => Number(r.age));
      assert.deepEqual(await ages(), [1, 20]);
      for (const bad of target.badValues.filter((b) => b.column === 'age')) {
        await assert.rejects(driver.writeAll!([row(3, 3), row(4, bad.value), row(5, 5)]), (error: unknown) => {
          assert.ok(error instanceof StatementError, `expected a StatementError, got ${String(error)}`);
          isSinkError(false, bad.message)(error.error);
          return true;
        }, bad.what);
      }
      assert.deepEqual(await ages(), [1, 20]);
      await driver.writeAll!([row(3, 3)]);
      assert.deepEqual(await ages(), [1, 20, 3]);
      // A row lock held by another transaction: retriable (the database, not the batch), nothing written.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => (locked = resolve));
      const holder = admin.transaction(async (tx: SqlExecutor) => {
        await tx.execute(`UPDATE t_all SET age = 30 WHERE id = ${p(1)}`, [3]);
        locked();
        await released;
      });
      await holding;
      try {
        await assert.rejects(driver.writeAll!([row(6, 6), { sql: `UPDATE t_all SET age = ${p(1)} WHERE id = ${p(2)}`, params: [31, 3] }]), isSinkError(true));
      } finally {
        release();
        await holder;
      }
      assert.deepEqual(await ages(), [1, 20, 30]);
    });

    test('a lock wait timeout is retriable, and the same batch goes in once the lock is gone', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_lock'), []));
      await driver.transaction((tx) => tx.execute(insert('t_lock'), [1, 'locked', 1, null, true, null, null, null]));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => (locked = resolve));
      // The admin connection holds the row lock until released.
      const holder = admin.transaction(async (tx: SqlExecutor) => {
        await tx.execute(`UPDATE t_lock SET age = 2 WHERE id = ${p(1)}`, [1]);
        locked();
        await released;
      });
      await holding;
      const batch = (tx: SqlExecutor) => tx.execute(`UPDATE t_lock SET age = 3 WHERE id = ${p(1)}`, [1]);
      try {
        await assert.rejects(driver.transaction(batch), isSinkError(true));
      } finally {
        release();
        await holder;
      }
      assert.equal((await driver.transaction(batch)).affectedRows, 1);
      const rows = await admin.transaction((tx) => tx.query<{ age: unknown }>(`SELECT age FROM t_lock`, []));
      assert.equal(Number(rows[0].age), 3);
    });

    test('a server killed mid-transaction is retriable, the transaction is gone, and the driver reconnects after a restart', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_kill'), []));
      await assert.rejects(
        driver.transaction(async (tx) => {
          await tx.execute(insert('t_kill'), [1, 'before kill', 1, null, true, null, null, null]);
          db.kill();
          await tx.execute(insert('t_kill'), [2, 'after kill', 1, null, true, null, null, null]);
        }),
        isSinkError(true),
      );
      // While it is down, every attempt is retriable (connection refused), not a bad record.
      await assert.rejects(driver.transaction((tx) => tx.query('SELECT 1', [])), isSinkError(true));
      await assert.rejects(driver.describeTable('t_kill'), isSinkError(true));
      await db.restart();
      await driver.transaction((tx) => tx.execute(insert('t_kill'), [3, 'after restart', 1, null, true, null, null, null]));
      const rows = await driver.transaction((tx) => tx.query<{ id: unknown }>(`SELECT id FROM t_kill`, []));
      assert.deepEqual(rows.map((r) => Number(r.id)), [3]);
    });

    test('a connection the server closed while idle is replaced without failing the next transaction', async () => {
      await driver.transaction((tx) => tx.execute(target.createTable('t_idle'), []));
      await db.restart();
      await driver.transaction((tx) => tx.execute(insert('t_idle'), [1, 'after restart', 1, null, true, null, null, null]));
      assert.equal(await count('t_idle'), 1);
    });
  });
}
