/** The SQL sink in CDC mode (sink.cdc: true) on SQLite: change events in Debezium's envelope applied to a table. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqlSink } from '../../../src/connect/sinks/sql.js';
import { SqliteDriver } from '../../../src/connect/sinks/sqlite.js';
import { toCdcRecords, type ChangeEvent } from '../../../src/connect/cdc/change-event.js';
import type { SinkRecord } from '../../../src/connect/types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-cdcsink-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let offset = 0;
/** The records the CDC runtime produces for a change (envelope, and a tombstone after a delete). */
function change(op: ChangeEvent['op'], before: ChangeEvent['before'], after: ChangeEvent['after']): SinkRecord[] {
  const event: ChangeEvent = { op, db: 'shop', table: 'orders', before, after, keyColumns: ['id'], sourceTsMs: 1, snapshot: 'false', sourceFields: {}, offset: {} };
  return toCdcRecords(event, { prefix: 'p', connector: 'mysql' }).map((r) => ({
    topic: r.topic,
    partition: 0,
    offset: offset++,
    timestamp: r.timestamp,
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(JSON.stringify(r.value)),
    headers: [],
  }));
}

function rows(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM orders ORDER BY id').all();
  } finally {
    db.close();
  }
}

test('c/u/r upsert the after row, d deletes, tombstones are skipped; the table is created from the rows with the key as primary key', async () => {
  const path = join(dir, 'a.db');
  const sink = new SqlSink(new SqliteDriver(path), { table: 'orders', mode: 'upsert', cdc: true, autoCreate: true, batchSize: 500, guarantee: 'at-least-once' }, 'p1');
  await sink.open();
  const batch = [
    ...change('r', null, { id: 1, customer: 'ann', total: '9.50' }),
    ...change('c', null, { id: 2, customer: 'bo', total: '3.00' }),
    ...change('c', null, { id: 3, customer: 'cy', total: '1.00' }),
    ...change('u', { id: 1, customer: 'ann', total: '9.50' }, { id: 1, customer: 'anne', total: '9.50' }),
    ...change('d', { id: 2, customer: 'bo', total: '3.00' }, null),
  ];
  assert.equal(batch.filter((r) => r.value === null).length, 1);
  assert.deepEqual(await sink.write(batch), []);
  assert.deepEqual(rows(path), [{ id: 1, customer: 'anne', total: '9.50' }, { id: 3, customer: 'cy', total: '1.00' }]);
  // Across batches: delete then re-create the same key, and a key change (delete old + create new).
  await sink.write([...change('d', { id: 3, customer: 'cy', total: '1.00' }, null)]);
  await sink.write([...change('c', null, { id: 3, customer: 'cy2', total: '2.00' }), ...change('u', { id: 1, customer: 'anne', total: '9.50' }, { id: 10, customer: 'anne', total: '9.50' })]);
  assert.deepEqual(rows(path), [{ id: 3, customer: 'cy2', total: '2.00' }, { id: 10, customer: 'anne', total: '9.50' }]);
  const bad = await sink.write([{ ...change('c', null, { id: 4 })[0], value: Buffer.from('{"op":"x"}') }]);
  assert.match(bad[0].error.message, /not a change event/);
  await sink.close();
});

test('exactly-once: a batch written again after a later one is not applied twice (the row does not go back)', async () => {
  const path = join(dir, 'b.db');
  const sink = new SqlSink(new SqliteDriver(path), { table: 'orders', mode: 'upsert', cdc: true, autoCreate: true, batchSize: 500, guarantee: 'exactly-once' }, 'p2');
  await sink.open();
  const first = [...change('c', null, { id: 1, n: 1 }), ...change('u', { id: 1, n: 1 }, { id: 1, n: 2 })];
  const second = change('u', { id: 1, n: 2 }, { id: 1, n: 3 });
  const next = (rs: SinkRecord[]) => [{ topic: rs[0].topic, partition: 0, offset: rs[rs.length - 1].offset + 1 }];
  await sink.write(first, next(first));
  await sink.write(second, next(second));
  assert.deepEqual(await sink.storedOffsets('p2', [{ topic: second[0].topic, partition: 0 }]), next(second));
  // A crash before the consumer moved on: the first batch comes again.
  await sink.write(first, next(first));
  assert.deepEqual(rows(path), [{ id: 1, n: 3 }]);
  await sink.close();
});
