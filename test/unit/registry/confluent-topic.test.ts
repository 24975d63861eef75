// A registry started on a `_schemas` topic another registry wrote (records as Confluent's writes them, the schema
// text as it was registered, not in this registry's canonical form): it serves those ids, finds those schemas
// however they are formatted, and gives new schemas ids above them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Admin, Producer, startBroker } from '../../../src/index.js';
import { startRegistry } from '../../../src/registry/index.js';

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('serves a _schemas topic written by another registry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-registry-confluent-'));
  const broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
  const client = { bootstrapServers: broker.address };
  const admin = new Admin(client);
  const producer = new Producer({ ...client });
  // As Confluent's registry stores it: the schema text as registered (spaces, namespace apart, its own key order).
  const avroText = '{"type": "record", "namespace": "shop", "name": "Item", "fields": [{"type": "string", "name": "sku"}]}';
  const jsonText = '{ "type": "object", "properties": { "sku": { "type": "string" } } }';
  try {
    await admin.connect();
    await admin.createTopics([{ name: '_schemas', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
    await producer.connect();
    const put = (key: unknown, value: unknown) => producer.send({ topic: '_schemas', partition: 0, key: JSON.stringify(key), value: value === null ? null : JSON.stringify(value) });
    await put({ keytype: 'NOOP', magic: 0 }, null);
    await put({ keytype: 'SCHEMA', subject: 'items-value', version: 1, magic: 1 }, { subject: 'items-value', version: 1, id: 7, schema: avroText, deleted: false });
    await put({ keytype: 'SCHEMA', subject: 'items-json-value', version: 1, magic: 1 }, { subject: 'items-json-value', version: 1, id: 9, schemaType: 'JSON', schema: jsonText, deleted: false });
    await put({ keytype: 'CONFIG', subject: null, magic: 0 }, { compatibilityLevel: 'FULL' });
    await producer.flush();

    const registry = await startRegistry({ client, port: 0 });
    try {
      assert.deepEqual((await call(registry.url, 'GET', '/schemas/ids/7')).body, { schema: avroText });
      assert.deepEqual((await call(registry.url, 'GET', '/config')).body, { compatibilityLevel: 'FULL' });
      // Found whatever the formatting; registering it again (elsewhere too) gives its id, no new version.
      const compact = JSON.stringify({ type: 'record', name: 'shop.Item', fields: [{ name: 'sku', type: 'string' }] });
      assert.equal((await call(registry.url, 'POST', '/subjects/items-value', { schema: compact })).body.id, 7);
      assert.deepEqual((await call(registry.url, 'POST', '/subjects/items-value/versions', { schema: compact })).body, { id: 7 });
      assert.deepEqual((await call(registry.url, 'POST', '/subjects/other-value/versions', { schema: compact })).body, { id: 7 });
      assert.deepEqual((await call(registry.url, 'POST', '/subjects/items-json-value/versions', { schema: '{"type":"object","properties":{"sku":{"type":"string"}}}', schemaType: 'JSON' })).body, { id: 9 });
      assert.deepEqual((await call(registry.url, 'GET', '/subjects/items-value/versions')).body, [1]);
      // A new schema gets an id above the highest one in the topic.
      assert.deepEqual((await call(registry.url, 'POST', '/subjects/fresh-value/versions', { schema: '"string"' })).body, { id: 10 });
    } finally {
      await registry.close();
    }
  } finally {
    await producer.close();
    await admin.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
