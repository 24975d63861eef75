// The synchronous registry serdes in a Kafka Streams topology (TopologyTestDriver), against a registry in a
// child process (`tributary start --registry-port 0`): a blocking call cannot be answered by a server on the same
// thread. Also the package's startBroker({ registryPort }).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { avroSerde, AvroSerializer, jsonSchemaSerde, SchemaRegistryClient, startBroker } from '../../../src/index.js';
import { Consumed, Produced, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../src/streams/index.js';
import { CLI_ENTRY } from '../../helpers/cli.js';

const ORDER = { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'amount', type: 'double' }] };
const ORDER_V2 = { type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'amount', type: 'double' }, { name: 'currency', type: 'string', default: 'EUR' }] };

describe('registry serdes for streams', () => {
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-registry-serde-'));
    child = spawn(process.execPath, [CLI_ENTRY, 'start', '--port', '0', '--data-dir', join(dir, 'data'), '--registry-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no registry: ${out}`)), 20_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /schema registry at (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
  });
  after(async () => {
    if (child) await new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
    rmSync(dir, { recursive: true, force: true });
  });

  test('avroSerde in, jsonSchemaSerde out: a topology reads and writes the wire format', async () => {
    // A producer with the newer schema writes; the topology's serde has never seen that id and fetches it.
    const written = await new AvroSerializer({ registry: url, schema: ORDER_V2 }).serialize('orders', { id: 1, amount: 9.5, currency: 'USD' });
    const orders = avroSerde<{ id: number; amount: number; currency?: string }>(url, { schema: ORDER_V2 });
    assert.deepEqual({ ...orders.deserialize('orders', written)! }, { id: 1, amount: 9.5, currency: 'USD' });
    const big = jsonSchemaSerde<{ id: number; cents: number }>(url, { schema: { type: 'object', properties: { id: { type: 'integer' }, cents: { type: 'integer' } }, required: ['id', 'cents'] } });

    const b = new StreamsBuilder();
    b.stream('orders', Consumed.with(Serdes.String(), orders))
      .filter((_k, o) => o.amount >= 10)
      .mapValues((o) => ({ id: o.id, cents: Math.round(o.amount * 100) }))
      .to('big-orders', Produced.with(Serdes.String(), big));
    const driver = new TopologyTestDriver(b.build(), { 'application.id': 'serde-test' }, 0);
    const input = driver.createInputTopic('orders', Serdes.String(), orders);
    input.pipeInput('a', { id: 2, amount: 12.25 });
    input.pipeInput('b', { id: 3, amount: 3 });
    input.pipeInput('c', { id: 4, amount: 100, currency: 'GBP' });
    const out = driver.createOutputTopic('big-orders', Serdes.String(), Serdes.Bytes());
    const raw = out.readValuesToList() as Buffer[];
    assert.equal(raw.length, 2);
    const client = new SchemaRegistryClient(url);
    assert.equal(raw[0]!.readUInt32BE(1), (await client.getLatest('big-orders-value')).id);
    assert.deepEqual(raw.map((v) => big.deserialize('big-orders', v)), [{ id: 2, cents: 1225 }, { id: 4, cents: 10000 }]);
    // The old reader schema resolves the new writer's data.
    const v1Reader = avroSerde<{ id: number; amount: number }>(url, { readerSchema: ORDER });
    assert.deepEqual({ ...v1Reader.deserialize('orders', written)! }, { id: 1, amount: 9.5 });
    assert.throws(() => big.serialize('big-orders', { id: 1 } as never), /does not match its JSON Schema/);
    driver.close?.();
  });

  test('startBroker({ registryPort }) serves the registry with the broker and closes it with the broker', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tributary-registry-embedded-'));
    const broker = await startBroker({ port: 0, dataDir: data, logLevel: 'silent', registryPort: 0 });
    try {
      const client = new SchemaRegistryClient(broker.registryUrl!);
      assert.equal(await client.register('x-value', '"string"'), 1);
      assert.deepEqual(await client.listSubjects(), ['x-value']);
    } finally {
      await broker.close();
      rmSync(data, { recursive: true, force: true });
    }
    await assert.rejects(fetch(`${broker.registryUrl}/subjects`));
  });
});
