/**
 * PostgreSQL and MariaDB change data capture in Avro through the broker's embedded schema registry: the value schema takes
 * the columns' types from the source (a column null in the first row still gets its type), ALTER TABLE … ADD
 * COLUMN registers version 2 and the changes after it carry its id, and every record decodes with
 * AvroDeserializer to the envelope (a delete's key-only before image with the other columns null).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { parsePipeline } from '../../src/connect/config.js';
import { runSourcePipeline } from '../../src/connect/source-runtime.js';
import { AvroDeserializer, SchemaRegistryClient, decodeWireFormat } from '../../src/registry/index.js';
import { startBroker, type RunningBroker } from '../../src/start-broker.js';
import type { TestDatabase } from './support/db-server.js';
import { startBinlogMariadb } from './support/mariadb-binlog.js';
import { startPostgres } from './support/postgres.js';

let db: TestDatabase;
let broker: RunningBroker;
let app: pg.Client;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-registry-'));
  [db, broker] = await Promise.all([
    startPostgres({ serverArgs: ['-c', 'wal_level=logical'] }),
    startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', registryPort: 0, config: { 'num.partitions': '1' } }),
  ]);
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  await admin.query('ALTER ROLE tributary REPLICATION');
  await admin.end();
  app = new pg.Client({ connectionString: db.url });
  await app.connect();
});

after(async () => {
  await app?.end();
  await Promise.all([db?.stop(), broker?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

async function topicEnd(topic: string): Promise<number> {
  const admin = new Admin({ bootstrapServers: broker.address });
  try {
    const [end] = await admin.listOffsets([{ topic, partition: 0, timestamp: 'latest' }]);
    return end!.offset;
  } catch {
    return 0;
  } finally {
    await admin.close();
  }
}

async function read(topic: string, count: number): Promise<Array<{ key: Buffer | null; value: Buffer | null }>> {
  const deadline = Date.now() + 30_000;
  while ((await topicEnd(topic)) < count) {
    if (Date.now() > deadline) throw new Error(`${topic} holds ${await topicEnd(topic)} of ${count} records`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest' });
  try {
    await c.connect();
    c.assign([{ topic, partition: 0 }]);
    const out: Array<{ key: Buffer | null; value: Buffer | null }> = [];
    for (let i = 0; i < 100 && out.length < count; i++) for (const r of await c.poll(200)) out.push({ key: r.key, value: r.value });
    return out;
  } finally {
    await c.close();
  }
}

test('a postgres source in Avro: column types from the source, version 2 after ADD COLUMN, records decode to the envelope', async () => {
  await app.query('CREATE TABLE items (id INT PRIMARY KEY, name TEXT, qty INT, price NUMERIC(10,2), ok BOOLEAN)');
  await app.query("INSERT INTO items VALUES (1, 'a', NULL, 1.50, NULL)");
  const registry = broker.registryUrl!;
  const p = parsePipeline({ name: 'reg', valueFormat: 'avro', schemaRegistry: registry, source: { type: 'postgres', url: db.url, tables: ['public.items'] } }, 0, process.cwd());
  const topic = 'reg.public.items';
  const stop = new AbortController();
  const run = runSourcePipeline(p, { bootstrapServers: broker.address }, { signal: stop.signal, stream: devNull });
  let records: Array<{ key: Buffer | null; value: Buffer | null }>;
  try {
    await read(topic, 1);
    await app.query("INSERT INTO items VALUES (2, 'b', 5, 2, true)");
    await app.query('ALTER TABLE items ADD COLUMN note TEXT');
    await app.query("INSERT INTO items VALUES (3, 'c', 1, 3, false, 'x')");
    await app.query('DELETE FROM items WHERE id = 1');
    records = await read(topic, 5);
  } finally {
    stop.abort();
    await run;
  }
  const client = new SchemaRegistryClient(registry);
  assert.deepEqual(await client.listVersions(`${topic}-value`), [1, 2]);
  const v1 = await client.getVersion(`${topic}-value`, 1);
  const v2 = await client.getVersion(`${topic}-value`, 2);
  const fields = (schema: string): unknown => (JSON.parse(schema) as { fields: Array<{ type: [string, { fields: Array<{ name: string; type: [string, string] }> }] }> }).fields[0].type[1].fields.map((f) => [f.name, f.type[1]]);
  assert.deepEqual(fields(v1.schema), [['id', 'long'], ['name', 'string'], ['qty', 'long'], ['price', 'string'], ['ok', 'boolean']]);
  assert.deepEqual(fields(v2.schema), [['id', 'long'], ['name', 'string'], ['qty', 'long'], ['price', 'string'], ['ok', 'boolean'], ['note', 'string']]);
  assert.deepEqual(records.map((r) => (r.value === null ? null : decodeWireFormat(r.value).id)), [v1.id, v1.id, v2.id, v2.id, null]);

  const values = new AvroDeserializer({ registry });
  const plain = async (r: { value: Buffer | null }): Promise<{ op: string; before: unknown; after: unknown; source: { table: string; snapshot: string } }> =>
    JSON.parse(JSON.stringify(await values.deserialize(topic, r.value!))) as never;
  const envs = await Promise.all(records.slice(0, 4).map(plain));
  assert.deepEqual(envs.map((e) => [e.op, e.before, e.after]), [
    ['r', null, { id: 1, name: 'a', qty: null, price: '1.50', ok: null }],
    ['c', null, { id: 2, name: 'b', qty: 5, price: '2.00', ok: true }],
    ['c', null, { id: 3, name: 'c', qty: 1, price: '3.00', ok: false, note: 'x' }],
    ['d', { id: 1, name: null, qty: null, price: null, ok: null, note: null }, null],
  ]);
  assert.deepEqual([envs[0].source.table, envs[0].source.snapshot], ['items', 'last']);
  const keys = new AvroDeserializer({ registry });
  assert.deepEqual(JSON.parse(JSON.stringify(await keys.deserialize(topic, records[4].key!))), { id: 1 });
});

test('a mysql source in Avro: column types from the binlog and the snapshot, version 2 after ADD COLUMN', async () => {
  const maria = await startBinlogMariadb();
  const conn = await mysql.createConnection(maria.url);
  try {
    await conn.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), qty INT, price DECIMAL(10,2), weight DOUBLE, at DATETIME)');
    await conn.query("INSERT INTO items VALUES (1, 'a', NULL, 1.50, NULL, '2024-05-06 07:08:09')");
    const registry = broker.registryUrl!;
    const p = parsePipeline({ name: 'regm', valueFormat: 'avro', schemaRegistry: registry, source: { type: 'mysql', url: maria.url, tables: ['tributary.items'], serverId: 4242 } }, 0, process.cwd());
    const topic = 'regm.tributary.items';
    const stop = new AbortController();
    const run = runSourcePipeline(p, { bootstrapServers: broker.address }, { signal: stop.signal, stream: devNull });
    let records: Array<{ key: Buffer | null; value: Buffer | null }>;
    try {
      await read(topic, 1);
      await conn.query("INSERT INTO items VALUES (2, 'b', 5, 2, 0.5, '2024-05-06 07:08:10')");
      await conn.query('ALTER TABLE items ADD COLUMN note TEXT');
      await conn.query("INSERT INTO items VALUES (3, 'c', 1, 3, 2, NULL, 'x')");
      records = await read(topic, 3);
    } finally {
      stop.abort();
      await run;
    }
    const client = new SchemaRegistryClient(registry);
    assert.deepEqual(await client.listVersions(`${topic}-value`), [1, 2]);
    const fields = (schema: string): unknown => (JSON.parse(schema) as { fields: Array<{ type: [string, { fields: Array<{ name: string; type: [string, string] }> }] }> }).fields[0].type[1].fields.map((f) => [f.name, f.type[1]]);
    const v1 = await client.getVersion(`${topic}-value`, 1);
    const v2 = await client.getVersion(`${topic}-value`, 2);
    assert.deepEqual(fields(v1.schema), [['id', 'long'], ['name', 'string'], ['qty', 'long'], ['price', 'string'], ['weight', 'double'], ['at', 'string']]);
    assert.deepEqual(fields(v2.schema), [['id', 'long'], ['name', 'string'], ['qty', 'long'], ['price', 'string'], ['weight', 'double'], ['at', 'string'], ['note', 'string']]);
    assert.deepEqual(records.map((r) => decodeWireFormat(r.value!).id), [v1.id, v1.id, v2.id]);
    const values = new AvroDeserializer({ registry });
    const afters = await Promise.all(records.map(async (r) => (JSON.parse(JSON.stringify(await values.deserialize(topic, r.value!))) as { after: unknown }).after));
    assert.deepEqual(afters, [
      { id: 1, name: 'a', qty: null, price: '1.50', weight: null, at: '2024-05-06T07:08:09' },
      { id: 2, name: 'b', qty: 5, price: '2.00', weight: 0.5, at: '2024-05-06T07:08:10' },
      { id: 3, name: 'c', qty: 1, price: '3.00', weight: 2, at: null, note: 'x' },
    ]);
  } finally {
    await conn.end();
    await maria.stop();
  }
});
