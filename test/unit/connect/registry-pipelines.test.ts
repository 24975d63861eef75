/**
 * Pipelines with valueFormat avro / json-schema against the in-process broker with its embedded schema registry:
 * a CDC source (a scripted CdcSource) writes Debezium-shaped Avro — the same envelope as JSON mode once decoded,
 * the subjects hold the derived schemas, a column added mid-stream registers version 2 and later records carry its
 * id — and a cdc: true SQLite sink applies them; a CSV file goes through an Avro topic into SQLite; bad configs
 * are refused with messages that say what to do.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Consumer } from '../../../src/client/consumer.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { CdcSourceConnector } from '../../../src/connect/cdc/connector.js';
import { HttpSource } from '../../../src/connect/sources/http.js';
import type { CdcOffset, CdcSource, ChangeEvent } from '../../../src/connect/cdc/change-event.js';
import { parsePipeline, pipelineFromFlags } from '../../../src/connect/config.js';
import { runSinkPipeline } from '../../../src/connect/sink-runtime.js';
import { runSourcePipeline } from '../../../src/connect/source-runtime.js';
import { AvroDeserializer, JsonSchemaDeserializer, SchemaRegistryClient, decodeWireFormat } from '../../../src/registry/index.js';
import { startBroker, type RunningBroker } from '../../../src/start-broker.js';

class ScriptedSource implements CdcSource {
  readonly connector = 'mysql';
  constructor(private readonly script: ChangeEvent[]) {}
  async *events(): AsyncIterable<ChangeEvent> {
    yield* this.script;
  }
  acknowledge(_offset: CdcOffset): void {}
  async stop(): Promise<void> {}
}

const event = (n: number, op: ChangeEvent['op'], before: ChangeEvent['before'], after: ChangeEvent['after']): ChangeEvent => ({
  op, db: 'shop', table: 'orders', before, after, keyColumns: ['id'], sourceTsMs: 1_700_000_000_000 + n, snapshot: 'false',
  sourceFields: { server_id: 1, file: 'b.000001', pos: 100 * n, row: 0, gtid: null }, offset: { n },
});

/** Inserts, an update, then ALTER TABLE … ADD note: a row with it, and a delete whose before image has it. */
const SCRIPT = [
  event(1, 'c', null, { id: 1, total: '9.50', qty: 2 }),
  event(2, 'c', null, { id: 2, total: '1.25', qty: 1 }),
  event(3, 'u', { id: 1, total: '9.50', qty: 2 }, { id: 1, total: '9.50', qty: 3 }),
  event(4, 'c', null, { id: 3, total: '4.00', qty: 1, note: 'gift' }),
  event(5, 'd', { id: 2, total: '1.25', qty: 1, note: null }, null),
];

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

describe('pipelines with the schema registry', () => {
  let broker: RunningBroker;
  let dir: string;
  let registry: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regpipe-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', registryPort: 0, config: { 'num.partitions': '1' } });
    registry = broker.registryUrl!;
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function readAll(topic: string): Promise<Array<{ key: Buffer | null; value: Buffer | null }>> {
    const admin = new Admin({ bootstrapServers: broker.address });
    const [end] = await admin.listOffsets([{ topic, partition: 0, timestamp: 'latest' }]);
    await admin.close();
    const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest' });
    try {
      await c.connect();
      c.assign([{ topic, partition: 0 }]);
      const out: Array<{ key: Buffer | null; value: Buffer | null }> = [];
      for (let i = 0; i < 100 && (c.position({ topic, partition: 0 }) ?? 0) < end.offset; i++) {
        for (const r of await c.poll(200)) out.push({ key: r.key, value: r.value });
      }
      return out;
    } finally {
      await c.close();
    }
  }

  async function runCdc(name: string, prefix: string, valueFormat?: 'avro' | 'json-schema'): Promise<void> {
    const p = parsePipeline({ name, source: { type: 'mysql', url: 'mysql://h/', tables: ['shop.orders'], prefix }, ...(valueFormat ? { valueFormat, schemaRegistry: registry } : {}) }, 0, process.cwd());
    const options = { prefix, tombstones: true, cleanupPolicy: 'delete' as const, valueFormat: p.valueFormat, schemaRegistry: p.schemaRegistry };
    await runSourcePipeline(p, { bootstrapServers: broker.address }, { connector: new CdcSourceConnector(p.name, async () => new ScriptedSource(SCRIPT), options, 'mysql'), stream: devNull });
  }

  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'ts_ms' && typeof x === 'number' && x > 1_750_000_000_000 ? 'now' : x)));

  test('CDC in Avro: the JSON envelope once decoded, derived schemas, version 2 after an added column, applied by a cdc SQLite sink', async () => {
    await runCdc('cdc-json', 'pj');
    await runCdc('cdc-avro', 'pa', 'avro');
    const json = await readAll('pj.shop.orders');
    const avro = await readAll('pa.shop.orders');
    assert.equal(avro.length, 6); // 5 envelopes + a tombstone after the delete
    assert.equal(avro.length, json.length);

    const client = new SchemaRegistryClient(registry);
    assert.deepEqual(await client.listVersions('pa.shop.orders-value'), [1, 2]);
    assert.deepEqual(await client.listVersions('pa.shop.orders-key'), [1]);
    const v1 = await client.getVersion('pa.shop.orders-value', 1);
    const v2 = await client.getVersion('pa.shop.orders-value', 2);
    // (The registry stores Avro schemas with full names.)
    const s1 = JSON.parse(v1.schema) as { name: string; fields: Array<{ name: string; type: unknown }> };
    assert.equal(s1.name, 'pa.shop.orders.Envelope');
    assert.deepEqual(s1.fields.map((f) => f.name), ['before', 'after', 'source', 'op', 'ts_ms', 'transaction']);
    const value1 = (s1.fields[0].type as [string, { name: string; fields: Array<{ name: string; type: unknown; default: unknown }> }])[1];
    assert.equal(value1.name, 'pa.shop.orders.Value');
    assert.deepEqual(s1.fields[1].type, ['null', 'pa.shop.orders.Value']);
    assert.equal((s1.fields[2].type as { name: string }).name, 'io.debezium.connector.mysql.Source');
    assert.deepEqual(value1.fields, [
      { name: 'id', type: ['null', 'long'], default: null },
      { name: 'total', type: ['null', 'string'], default: null },
      { name: 'qty', type: ['null', 'long'], default: null },
    ]);
    assert.match(v2.schema, /"name":"note","type":\["null","string"\],"default":null/);
    const key = JSON.parse((await client.getLatest('pa.shop.orders-key')).schema) as unknown;
    assert.deepEqual(key, { name: 'pa.shop.orders.Key', type: 'record', fields: [{ name: 'id', type: 'long' }] });

    // Records before the ALTER carry version 1's id, those after it version 2's.
    assert.deepEqual(avro.map((r) => (r.value === null ? null : decodeWireFormat(r.value).id)), [v1.id, v1.id, v1.id, v2.id, v2.id, null]);
    const values = new AvroDeserializer({ registry });
    const keys = new AvroDeserializer({ registry });
    for (let i = 0; i < avro.length; i++) {
      assert.deepEqual(plain(await keys.deserialize('pa.shop.orders', avro[i].key!)), JSON.parse(json[i].key!.toString()));
      if (json[i].value === null) {
        assert.equal(avro[i].value, null);
        continue;
      }
      const expected = plain(JSON.parse(json[i].value!.toString())) as { source: { name: string } };
      expected.source.name = 'pa';
      // Version 1 rows have no note; the JSON of the rows before the ALTER has none either.
      assert.deepEqual(plain(await values.deserialize('pa.shop.orders', avro[i].value!)), expected, `record ${i}`);
    }

    // The Avro topic into SQLite in cdc mode: upserts and the delete applied.
    const dbFile = join(dir, 'cdc.db');
    const sinkP = parsePipeline({ name: 'cdc-avro-sink', topic: 'pa.shop.orders', valueFormat: 'avro', schemaRegistry: registry, sink: { type: 'sqlite', url: dbFile, table: 'orders', cdc: true, autoCreate: true } }, 0, process.cwd());
    const res = await runSinkPipeline(sinkP, { bootstrapServers: broker.address }, { signal: AbortSignal.timeout(30_000), once: true, idleMs: 500, stream: devNull, log: () => {} });
    assert.equal(res.dlq, 0);
    const db = new Database(dbFile, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT id, total, qty FROM orders ORDER BY id').all(), [{ id: 1, total: '9.50', qty: 3 }, { id: 3, total: '4.00', qty: 1 }]);
    } finally {
      db.close();
    }
  });

  test("CDC in Avro with the source's column types: a column null at first still gets its type, one version", async () => {
    const columns = [{ name: 'id', type: 'long', optional: false }, { name: 'price', type: 'double', optional: true }, { name: 'paid', type: 'boolean', optional: true }] as const;
    const typed = (n: number, after: ChangeEvent['after']): ChangeEvent => ({ ...event(n, 'c', null, after), table: 'items', columns, transactionId: String(n) });
    const p = parsePipeline({ name: 'cdc-typed', source: { type: 'mysql', url: 'mysql://h/', tables: ['shop.items'], prefix: 'pt' }, valueFormat: 'avro', schemaRegistry: registry }, 0, process.cwd());
    const source = new ScriptedSource([typed(1, { id: 1, price: null, paid: null }), typed(2, { id: 2, price: 3, paid: true })]);
    await runSourcePipeline(p, { bootstrapServers: broker.address }, { connector: new CdcSourceConnector(p.name, async () => source, { prefix: 'pt', tombstones: true, cleanupPolicy: 'delete', transactions: true, valueFormat: 'avro', schemaRegistry: registry }, 'mysql'), stream: devNull });
    const client = new SchemaRegistryClient(registry);
    assert.deepEqual(await client.listVersions('pt.shop.items-value'), [1]);
    assert.match((await client.getLatest('pt.shop.items-value')).schema, /"fields":\[\{"name":"id","type":\["null","long"\],"default":null\},\{"name":"price","type":\["null","double"\],"default":null\},\{"name":"paid","type":\["null","boolean"\],"default":null\}\]/);
    const recs = await readAll('pt.shop.items');
    const second = plain(await new AvroDeserializer({ registry }).deserialize('pt.shop.items', recs[1].value!)) as { after: unknown; transaction: unknown };
    assert.deepEqual(second.after, { id: 2, price: 3, paid: true });
    assert.deepEqual(second.transaction, { id: '2', total_order: 1, data_collection_order: 1 }); // transactions: true
  });

  test('CDC in JSON Schema: registered per table, a new version for the added column, documents as in JSON mode', async () => {
    await runCdc('cdc-jsonschema', 'ps', 'json-schema');
    const client = new SchemaRegistryClient(registry);
    assert.deepEqual(await client.listVersions('ps.shop.orders-value'), [1, 2]);
    assert.equal((await client.getLatest('ps.shop.orders-value')).schemaType, 'JSON');
    const recs = await readAll('ps.shop.orders');
    const de = new JsonSchemaDeserializer({ registry });
    const last = (await de.deserialize('ps.shop.orders', recs[4].value!)) as { op: string; before: unknown };
    assert.deepEqual([last.op, last.before], ['d', { id: 2, total: '1.25', qty: 1, note: null }]);
  });

  test('CSV → Avro topic (schema from the header) → SQLite sink', async () => {
    const csv = join(dir, 'users.csv');
    await writeFile(csv, 'id,name,age\n1,ann,31\n2,bob,\n3,"c, d",40\n');
    const src = parsePipeline({ name: 'csv-avro', topic: 'users-avro', valueFormat: 'avro', schemaRegistry: registry, source: { type: 'csv', path: csv, keyColumn: 'id' } }, 0, process.cwd());
    const produced = await runSourcePipeline(src, { bootstrapServers: broker.address }, { stream: devNull });
    assert.equal(produced.records, 3);
    const client = new SchemaRegistryClient(registry);
    const schema = JSON.parse((await client.getLatest('users-avro-value')).schema) as { name: string; fields: Array<{ name: string; type: unknown }> };
    assert.deepEqual(schema.fields.map((f) => [f.name, f.type]), [['id', ['null', 'string']], ['name', ['null', 'string']], ['age', ['null', 'string']]]);
    const recs = await readAll('users-avro');
    assert.deepEqual(plain(await new AvroDeserializer({ registry }).deserialize('users-avro', recs[1].value!)), { id: '2', name: 'bob', age: null });

    // A record not in the wire format (plain JSON) goes to the dead-letter topic; the others are written.
    const producer = new Producer({ bootstrapServers: broker.address });
    await producer.send({ topic: 'users-avro', key: '4', value: '{"id":"4","name":"dan","age":"22"}' });
    await producer.close();

    const dbFile = join(dir, 'users.db');
    const sink = parsePipeline({ name: 'users-sink', topic: 'users-avro', valueFormat: 'avro', schemaRegistry: registry, sink: { type: 'sqlite', url: dbFile, table: 'users', autoCreate: true, mode: 'upsert', keyColumns: ['id'] } }, 0, process.cwd());
    const res = await runSinkPipeline(sink, { bootstrapServers: broker.address }, { signal: AbortSignal.timeout(30_000), once: true, idleMs: 500, stream: devNull, log: () => {} });
    assert.deepEqual([res.rows, res.dlq], [3, 1]);
    // A jsonl sink gets the decoded JSON too.
    const lines = join(dir, 'users.jsonl');
    const toFile = parsePipeline({ name: 'users-file', topic: 'users-avro', valueFormat: 'avro', schemaRegistry: registry, sink: { type: 'jsonl', url: lines } }, 0, process.cwd());
    const toFileRes = await runSinkPipeline(toFile, { bootstrapServers: broker.address }, { signal: AbortSignal.timeout(30_000), once: true, idleMs: 500, stream: devNull, log: () => {} });
    assert.deepEqual([toFileRes.rows, toFileRes.dlq], [3, 1]);
    assert.equal((await readFile(lines, 'utf8')).split('\n')[0], '{"id":"1","name":"ann","age":"31"}');
    const dead = await readAll('users-avro-dlq');
    assert.deepEqual(dead.map((r) => r.value?.toString()), ['{"id":"4","name":"dan","age":"22"}', '{"id":"4","name":"dan","age":"22"}']); // from both sinks
    const db = new Database(dbFile, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT id, name, age FROM users ORDER BY id').all(), [{ id: '1', name: 'ann', age: '31' }, { id: '2', name: 'bob', age: null }, { id: '3', name: 'c, d', age: '40' }]);
    } finally {
      db.close();
    }
  });

  test('a jsonl source with an inline Avro schema; a record that does not fit it fails the run', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, '{"user":"ann","n":1}\n{"user":"bob","n":"x"}\n');
    const schema = { type: 'record', name: 'Event', fields: [{ name: 'user', type: 'string' }, { name: 'n', type: 'long' }] };
    const p = parsePipeline({ name: 'jsonl-avro', topic: 'events-avro', valueFormat: 'avro', schemaRegistry: registry, valueSchema: schema, source: { type: 'jsonl', path: file } }, 0, process.cwd());
    await assert.rejects(runSourcePipeline(p, { bootstrapServers: broker.address }, { stream: devNull }), /the value does not match its Avro schema \(events-avro-value, id \d+\): n is "x", not "long"/);
    const recs = await readAll('events-avro');
    assert.equal(recs.length, 1);
    assert.deepEqual(plain(await new AvroDeserializer({ registry }).deserialize('events-avro', recs[0].value!)), { user: 'ann', n: 1 });
  });

  test('an http source in JSON Schema: a document that does not match gets 503 with the reason, the pipeline goes on', async () => {
    const schema = { type: 'object', properties: { user: { type: 'string' }, n: { type: 'integer' } }, required: ['user', 'n'] };
    const p = parsePipeline({ name: 'http-js', topic: 'events-js', valueFormat: 'json-schema', schemaRegistry: registry, valueSchema: schema, source: { type: 'http', port: 0 } }, 0, process.cwd());
    const http = new HttpSource(p.name, { port: 0, host: '127.0.0.1', path: '/events', maxBodyBytes: 1 << 20 });
    await http.start();
    const stop = new AbortController();
    const run = runSourcePipeline(p, { bootstrapServers: broker.address }, { signal: stop.signal, connector: http, stream: devNull });
    try {
      const post = async (doc: unknown): Promise<[number, string]> => {
        const res = await fetch(http.url, { method: 'POST', body: JSON.stringify(doc), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
        return [res.status, await res.text()];
      };
      const bad = await post({ user: 'bob' });
      assert.equal(bad[0], 503);
      assert.match(bad[1], /does not match its JSON Schema \(events-js-value, id \d+\): \/ must have required property 'n'/);
      assert.deepEqual(await post({ user: 'ann', n: 1 }), [202, '{"accepted":1}']);
    } finally {
      stop.abort();
      await run;
    }
    const recs = await readAll('events-js');
    assert.equal(recs.length, 1);
    assert.deepEqual(await new JsonSchemaDeserializer({ registry }).deserialize('events-js', recs[0].value!), { user: 'ann', n: 1 });
  });

  test('bad configs say what is wrong', () => {
    const src = { type: 'csv', path: 'x.csv' };
    const parse = (extra: Record<string, unknown>, source: unknown = src): unknown => parsePipeline({ name: 'bad', topic: 't', source, ...extra }, 0, process.cwd());
    assert.throws(() => parse({ valueFormat: 'avro' }), /pipeline "bad": schemaRegistry is missing: valueFormat avro needs the schema registry's URL/);
    assert.throws(() => parse({ valueFormat: 'protobuf', schemaRegistry: 'http://r' }), /valueFormat is "protobuf": must be one of json, avro, json-schema/);
    assert.throws(() => parse({ schemaRegistry: 'http://r' }), /schemaRegistry is "http:\/\/r": applies to valueFormat avro or json-schema/);
    assert.throws(() => parse({ valueFormat: 'avro', schemaRegistry: 'localhost:8081' }), /must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => parse({ valueFormat: 'avro', schemaRegistry: 'http://r' }, { type: 'jsonl', path: 'x.jsonl' }), /a jsonl source with valueFormat avro needs the value schema/);
    assert.throws(() => parse({ valueFormat: 'avro', schemaRegistry: 'http://r', valueSchema: { type: 'record', name: 'X' } }), /valueSchema .*is not a valid Avro schema/);
    assert.throws(() => parse({ valueFormat: 'avro', schemaRegistry: 'http://r', valueSchemaFile: 'nope.avsc' }), /valueSchemaFile .*cannot be read: no such file/);
    assert.throws(() => parse({ valueFormat: 'avro', schemaRegistry: 'http://r', valueSchema: '"string"' }, { type: 'mysql', url: 'mysql://h/', tables: ['a.b'] }), /a CDC source derives the schema/);
    const ok = parse({ valueFormat: 'json-schema', schemaRegistry: 'http://r/' }) as { valueFormat: string; schemaRegistry: string };
    assert.deepEqual([ok.valueFormat, ok.schemaRegistry], ['json-schema', 'http://r/']);
    // `tributary connect` flags: the same keys, validated by the same code.
    const flags = pipelineFromFlags({ topic: 't', sourceType: 'csv', sourcePath: 'x.csv', valueFormat: 'avro', schemaRegistry: 'http://r' })!;
    assert.deepEqual([flags.valueFormat, flags.schemaRegistry], ['avro', 'http://r']);
    assert.throws(() => pipelineFromFlags({ topic: 't', sinkType: 'sqlite', sinkUrl: 'x.db', table: 'x', valueFormat: 'avro' }), /schemaRegistry is missing/);
  });
});
