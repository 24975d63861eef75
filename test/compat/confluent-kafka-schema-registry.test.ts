/**
 * Tributary's schema registry and serdes against confluent-kafka-python 1.7.0 (Debian's python3-confluent-kafka):
 * its AvroProducer and AvroConsumer (with python3-avro and python3-requests) and its JSONSerializer /
 * JSONDeserializer (the newer registry client, with python3-jsonschema). Python writes through the registry and the
 * own consumer + deserializer reads it; the own producer + serializer writes and Python reads it. Both sides use
 * Confluent's wire format (magic byte 0, 4-byte schema id).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Consumer, Producer } from '../../src/index.js';
import {
  AvroDeserializer, AvroSerializer, JsonSchemaDeserializer, JsonSchemaSerializer, SchemaRegistryClient, startRegistry, type RunningRegistry,
} from '../../src/registry/index.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';

const SCRIPT = fileURLToPath(new URL('../../../test/compat/python/confluent_kafka_avro.py', import.meta.url));
const JSON_SCRIPT = fileURLToPath(new URL('../../../test/compat/python/confluent_kafka_json_schema.py', import.meta.url));

const ORDER = {
  type: 'record', name: 'Order', namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer', type: 'string' },
    { name: 'total', type: 'double' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
  ],
};
const orders = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({
  id: from + i, customer: `c-${i % 7}`, total: (from + i) * 1.5, note: i % 3 === 0 ? null : `note ${i}`, status: ['NEW', 'PAID', 'SHIPPED'][i % 3],
}));

async function readRaw(address: string, topic: string, count: number): Promise<Buffer[]> {
  const consumer = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
  await consumer.connect();
  consumer.assign([{ topic, partition: 0 }]);
  const values: Buffer[] = [];
  const deadline = Date.now() + 20_000;
  while (values.length < count && Date.now() < deadline) values.push(...(await consumer.poll(500)).map((r) => r.value!));
  await consumer.close();
  return values;
}

describe('confluent-kafka Avro (AvroProducer / AvroConsumer) with the schema registry', () => {
  let broker: TestBroker;
  let registry: RunningRegistry;
  before(async () => {
    broker = await startTestBroker({ 'num.partitions': '1' });
    registry = await startRegistry({ client: { bootstrapServers: broker.address }, port: 0 });
  });
  after(async () => {
    await registry?.close();
    await broker?.close();
  });

  test('Python AvroProducer → the own consumer and AvroDeserializer', async () => {
    const sent = orders(20, 1);
    const out = await runJson<{ produced: number; errors: string[] }>(PYTHON, [SCRIPT, 'produce', broker.address, registry.url, 'py-orders', JSON.stringify(ORDER)], {
      input: sent.map((o) => JSON.stringify(o)).join('\n') + '\n', timeoutMs: 60_000,
    });
    assert.deepEqual(out, { produced: 20, errors: [] });
    const latest = await new SchemaRegistryClient(registry.url).getLatest('py-orders-value');
    assert.equal(latest.version, 1);
    const raw = await readRaw(broker.address, 'py-orders', 20);
    assert.equal(raw.length, 20);
    for (const v of raw) {
      assert.equal(v[0], 0, 'magic byte');
      assert.equal(v.readUInt32BE(1), latest.id, 'the id the registry gave Python');
    }
    const deserializer = new AvroDeserializer({ registry: registry.url });
    const got = await Promise.all(raw.map((v) => deserializer.deserialize('py-orders', v)));
    assert.deepEqual(got.map((o) => ({ ...(o as object) })), sent);
  });

  test('Python evolves the schema: a compatible version 2 is registered and read back with both versions\' records; an incompatible one is refused', async () => {
    const v2 = { ...ORDER, fields: [...ORDER.fields, { name: 'channel', type: 'string', default: 'web' }] };
    const out = await runJson<{ produced: number; errors: string[] }>(PYTHON, [SCRIPT, 'produce', broker.address, registry.url, 'py-orders', JSON.stringify(v2)], {
      input: JSON.stringify({ ...orders(1, 500)[0], channel: 'app' }) + '\n', timeoutMs: 60_000,
    });
    assert.deepEqual(out, { produced: 1, errors: [] });
    const client = new SchemaRegistryClient(registry.url);
    assert.deepEqual(await client.listVersions('py-orders-value'), [1, 2]);
    const raw = await readRaw(broker.address, 'py-orders', 21);
    const deserializer = new AvroDeserializer({ registry: registry.url, readerSchema: v2 });
    const got = await Promise.all(raw.map((v) => deserializer.deserialize('py-orders', v))) as Array<{ channel: string }>;
    assert.deepEqual(got.map((o) => o.channel), [...Array(20).fill('web'), 'app'], 'v1 records get the reader\'s default');

    const breaking = { ...ORDER, fields: [...ORDER.fields, { name: 'warehouse', type: 'string' }] };
    const refused = await runJson<{ produced: number; errors: string[] }>(PYTHON, [SCRIPT, 'produce', broker.address, registry.url, 'py-orders', JSON.stringify(breaking)], {
      input: JSON.stringify({ ...orders(1, 600)[0], warehouse: 'w1' }) + '\n', timeoutMs: 60_000,
    });
    assert.equal(refused.produced, 0);
    assert.match(refused.errors.join(), /409|incompatible/i);
    assert.deepEqual(await client.listVersions('py-orders-value'), [1, 2]);
  });

  test('the own Producer and AvroSerializer → Python AvroConsumer', async () => {
    const sent = orders(15, 100);
    const serializer = new AvroSerializer({ registry: registry.url, schema: ORDER });
    const producer = new Producer({ bootstrapServers: broker.address });
    await producer.connect();
    for (const o of sent) await producer.send({ topic: 'ts-orders', value: await serializer.serialize('ts-orders', o) });
    await producer.close();
    const out = await runJson<{ values: unknown[] }>(PYTHON, [SCRIPT, 'consume', broker.address, registry.url, 'ts-orders', '15'], { timeoutMs: 60_000 });
    assert.deepEqual(out.values, sent);
    // The same schema text under another subject: the same id as Python's registration.
    assert.equal((await new SchemaRegistryClient(registry.url).getLatest('ts-orders-value')).id, (await new SchemaRegistryClient(registry.url).getVersion('py-orders-value', 1)).id);
  });

  test('JSON Schema: Python JSONSerializer → own JsonSchemaDeserializer, own JsonSchemaSerializer → Python JSONDeserializer', async () => {
    const schema = JSON.stringify({
      $schema: 'http://json-schema.org/draft-07/schema#', title: 'Shipment', type: 'object',
      properties: { id: { type: 'integer' }, to: { type: 'string' }, weight: { type: 'number' } }, required: ['id', 'to'],
    });
    const sent = Array.from({ length: 10 }, (_, i) => ({ id: i, to: `city-${i}`, weight: i / 2 }));
    const out = await runJson<{ produced: number; errors: string[] }>(PYTHON, [JSON_SCRIPT, 'produce', broker.address, registry.url, 'py-shipments', schema], {
      input: sent.map((o) => JSON.stringify(o)).join('\n') + '\n', timeoutMs: 60_000,
    });
    assert.deepEqual(out, { produced: 10, errors: [] });
    const latest = await new SchemaRegistryClient(registry.url).getLatest('py-shipments-value');
    assert.equal(latest.schemaType, 'JSON');
    const raw = await readRaw(broker.address, 'py-shipments', 10);
    assert.ok(raw.every((v) => v[0] === 0 && v.readUInt32BE(1) === latest.id));
    const deserializer = new JsonSchemaDeserializer({ registry: registry.url });
    assert.deepEqual(await Promise.all(raw.map((v) => deserializer.deserialize('py-shipments', v))), sent);

    const serializer = new JsonSchemaSerializer({ registry: registry.url, schema });
    const producer = new Producer({ bootstrapServers: broker.address });
    await producer.connect();
    for (const o of sent) await producer.send({ topic: 'ts-shipments', value: await serializer.serialize('ts-shipments', o) });
    await producer.close();
    const back = await runJson<{ values: unknown[] }>(PYTHON, [JSON_SCRIPT, 'consume', broker.address, registry.url, 'ts-shipments', schema, '10'], { timeoutMs: 60_000 });
    assert.deepEqual(back.values, sent);
  });
});
