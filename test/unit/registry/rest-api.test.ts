// The registry's REST API against an in-process broker: Confluent's paths, bodies, status and error codes; two
// instances on one broker serving the same ids; a restart reading them back from `_schemas`; the wire-format serdes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Consumer, startBroker, type RunningBroker } from '../../../src/index.js';
import {
  AvroDeserializer, AvroSerializer, JsonSchemaDeserializer, JsonSchemaSerializer, SchemaRegistryClient, startRegistry, type RunningRegistry,
} from '../../../src/registry/index.js';
import { parseSchema } from '../../../src/registry/formats.js';

const CT = 'application/vnd.schemaregistry.v1+json';

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': CT }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json(), type: res.headers.get('content-type') };
}

const user = (fields: unknown[]) => JSON.stringify({ type: 'record', name: 'User', namespace: 'shop', fields });
const V1 = user([{ name: 'id', type: 'long' }]);
const V2 = user([{ name: 'id', type: 'long' }, { name: 'email', type: 'string', default: '' }]);
/** The text the registry stores for an Avro schema: compact, names qualified, every attribute kept. */
const canon = (s: string): string => parseSchema('AVRO', s).canonical;
const BREAKING = user([{ name: 'id', type: 'long' }, { name: 'phone', type: 'string' }]);

describe('schema registry REST API', () => {
  let dir: string;
  let broker: RunningBroker;
  let a: RunningRegistry;
  let b: RunningRegistry;
  const start = () => startRegistry({ client: { bootstrapServers: broker.address }, port: 0, timeoutMs: 15_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-registry-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    a = await start();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('registers versions, reuses the id of a known schema, refuses an incompatible one with 409', async () => {
    const r1 = await call(a.url, 'POST', '/subjects/users-value/versions', { schema: V1 });
    assert.equal(r1.status, 200);
    assert.equal(r1.type, CT);
    assert.deepEqual(r1.body, { id: 1 });
    assert.deepEqual((await call(a.url, 'POST', '/subjects/users-value/versions', { schema: V1 })).body, { id: 1 }, 'the same schema again: the same id, no new version');
    assert.deepEqual((await call(a.url, 'POST', '/subjects/users-value/versions', { schema: V2 })).body, { id: 2 });
    const bad = await call(a.url, 'POST', '/subjects/users-value/versions', { schema: BREAKING });
    assert.equal(bad.status, 409);
    assert.equal(bad.body.error_code, 409);
    assert.match(bad.body.message, /READER_FIELD_MISSING_DEFAULT_VALUE/);
    // The same schema in another subject keeps its id.
    assert.deepEqual((await call(a.url, 'POST', '/subjects/other-value/versions', { schema: V1 })).body, { id: 1 });
    assert.deepEqual((await call(a.url, 'GET', '/subjects')).body, ['other-value', 'users-value']);
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions')).body, [1, 2]);
  });

  test('reads versions, schemas by id, lookups; 40401, 40402, 40403, 42202 and 42201 errors', async () => {
    const latest = await call(a.url, 'GET', '/subjects/users-value/versions/latest');
    assert.deepEqual(latest.body, { subject: 'users-value', version: 2, id: 2, schema: canon(V2) });
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions/1/schema')).body, JSON.parse(canon(V1)));
    assert.deepEqual(JSON.parse(canon(V1)), { name: 'shop.User', type: 'record', fields: [{ name: 'id', type: 'long' }] });
    assert.deepEqual((await call(a.url, 'GET', '/schemas/ids/2')).body, { schema: canon(V2) });
    assert.deepEqual((await call(a.url, 'GET', '/schemas/ids/1/subjects')).body, ['other-value', 'users-value']);
    assert.deepEqual((await call(a.url, 'GET', '/schemas/ids/1/versions')).body, [{ subject: 'other-value', version: 1 }, { subject: 'users-value', version: 1 }]);
    assert.deepEqual((await call(a.url, 'GET', '/schemas/types')).body, ['JSON', 'AVRO']);
    // A lookup matches the schema whatever its whitespace.
    const found = await call(a.url, 'POST', '/subjects/users-value', { schema: JSON.stringify(JSON.parse(V1), null, 2) });
    assert.equal(found.body.version, 1);
    assert.equal(found.body.id, 1);
    const errors: Array<[string, string, unknown, number, number]> = [
      ['GET', '/subjects/nope/versions', undefined, 404, 40401],
      ['GET', '/subjects/users-value/versions/9', undefined, 404, 40402],
      ['GET', '/schemas/ids/99', undefined, 404, 40403],
      ['POST', '/subjects/users-value', { schema: BREAKING }, 404, 40403],
      ['POST', '/subjects/nope', { schema: V1 }, 404, 40401],
      ['GET', '/subjects/users-value/versions/0', undefined, 422, 42202],
      ['POST', '/subjects/users-value/versions', { schema: '{"type":"record"}' }, 422, 42201],
      ['POST', '/subjects/j-value/versions', { schema: '{"type":"strin"}', schemaType: 'JSON' }, 422, 42201],
      ['PUT', '/config', { compatibility: 'SIDEWAYS' }, 422, 42203],
      ['PUT', '/mode', { mode: 'WRITEONLY' }, 422, 42204],
      ['GET', '/config/users-value', undefined, 404, 40408],
      ['GET', '/subjects/%E0%A4%A/versions', undefined, 400, 400],
    ];
    for (const [method, path, body, status, code] of errors) {
      const r = await call(a.url, method, path, body);
      assert.deepEqual([r.status, r.body.error_code], [status, code], `${method} ${path}`);
    }
  });

  test('compatibility levels per subject and globally; the compatibility endpoint', async () => {
    assert.deepEqual((await call(a.url, 'GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    const check = (path: string, schema: string) => call(a.url, 'POST', `/compatibility/subjects/users-value/versions${path}`, { schema });
    assert.deepEqual((await check('/latest', BREAKING)).body, { is_compatible: false });
    assert.deepEqual((await check('/latest', V2)).body, { is_compatible: true });
    assert.deepEqual((await call(a.url, 'PUT', '/config/users-value', { compatibility: 'FORWARD' })).body, { compatibility: 'FORWARD' });
    assert.deepEqual((await call(a.url, 'GET', '/config/users-value')).body, { compatibilityLevel: 'FORWARD' });
    assert.deepEqual((await check('/latest', BREAKING)).body, { is_compatible: true }, 'old readers ignore the new field');
    assert.deepEqual((await call(a.url, 'POST', '/subjects/users-value/versions', { schema: BREAKING })).body, { id: 3 });
    assert.deepEqual((await call(a.url, 'DELETE', '/config/users-value')).body, { compatibilityLevel: 'FORWARD' });
    assert.deepEqual((await call(a.url, 'GET', '/config/users-value?defaultToGlobal=true')).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call(a.url, 'PUT', '/config', { compatibility: 'none' })).body, { compatibility: 'NONE' });
    assert.deepEqual((await call(a.url, 'GET', '/config')).body, { compatibilityLevel: 'NONE' });
    assert.deepEqual((await call(a.url, 'PUT', '/config', { compatibility: 'BACKWARD' })).body, { compatibility: 'BACKWARD' });
  });

  test('subject prefixes, checks against every version with verbose messages, unknown paths and methods', async () => {
    assert.deepEqual((await call(a.url, 'GET', '/subjects?subjectPrefix=user')).body, ['users-value']);
    // Without a version: against the versions the subject's level names (BACKWARD: the latest, v3, which has no email).
    const needsEmail = user([{ name: 'id', type: 'long' }, { name: 'email', type: 'string' }]);
    const all = await call(a.url, 'POST', '/compatibility/subjects/users-value/versions?verbose=true', { schema: needsEmail });
    assert.equal(all.body.is_compatible, false);
    assert.match(all.body.messages.join(), /READER_FIELD_MISSING_DEFAULT_VALUE.*email/);
    assert.deepEqual((await call(a.url, 'POST', '/compatibility/subjects/users-value/versions/2', { schema: needsEmail })).body, { is_compatible: true }, 'v2 has email');
    assert.deepEqual((await call(a.url, 'POST', '/compatibility/subjects/nobody/versions/latest', { schema: V1 })).body, { is_compatible: true });
    assert.deepEqual((await call(a.url, 'GET', '/mode/users-value')).body.error_code, 40409);
    assert.deepEqual((await call(a.url, 'GET', '/mode/users-value?defaultToGlobal=true')).body, { mode: 'READWRITE' });
    assert.deepEqual((await call(a.url, 'PATCH', '/subjects')).status, 405);
    assert.deepEqual((await call(a.url, 'GET', '/nothing/here')).status, 404);
    const plain = await fetch(`${a.url}/subjects`, { headers: { accept: 'application/json' } });
    assert.equal(plain.headers.get('content-type'), 'application/json');
    const vnd = await fetch(`${a.url}/subjects`, { headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
    assert.equal(vnd.headers.get('content-type'), CT);
    const malformed = await fetch(`${a.url}/subjects/x/versions`, { method: 'POST', body: '{not json' });
    assert.equal(malformed.status, 400);
  });

  test('a second instance on the same broker serves the same ids, and ids stay unique when both register', async () => {
    b = await start();
    assert.deepEqual((await call(b.url, 'GET', '/subjects/users-value/versions')).body, [1, 2, 3]);
    assert.deepEqual((await call(b.url, 'GET', '/schemas/ids/3')).body, (await call(a.url, 'GET', '/schemas/ids/3')).body);
    // Concurrent registrations through both instances: distinct schemas get distinct ids, each readable from both.
    const schemas = Array.from({ length: 6 }, (_, i) => JSON.stringify({ type: 'record', name: `Event${i}`, fields: [{ name: 'n', type: 'int' }] }));
    const ids = await Promise.all(schemas.map((schema, i) => call(i % 2 === 0 ? a.url : b.url, 'POST', `/subjects/event-${i}-value/versions`, { schema }).then((r) => r.body.id as number)));
    assert.equal(new Set(ids).size, ids.length, `ids ${ids.join(',')} are distinct`);
    assert.ok(ids.every((id) => id > 3));
    for (const [i, id] of ids.entries()) {
      for (const reg of [a, b]) {
        const got = await call(reg.url, 'GET', `/schemas/ids/${id}`);
        assert.equal(got.body.schema, canon(schemas[i]!), `id ${id} on ${reg.url}`);
      }
    }
    // A config written through b is read back by a (once a has read the topic that far).
    await call(b.url, 'PUT', '/config/event-0-value', { compatibility: 'FULL' });
    for (let i = 0; i < 50 && (await call(a.url, 'GET', '/config/event-0-value')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await call(a.url, 'GET', '/config/event-0-value')).body, { compatibilityLevel: 'FULL' });
  });

  test('soft and permanent deletes of versions and subjects, with Confluent\'s error codes', async () => {
    assert.deepEqual((await call(a.url, 'DELETE', '/subjects/users-value/versions/3?permanent=true')).body.error_code, 40407);
    assert.deepEqual((await call(a.url, 'DELETE', '/subjects/users-value/versions/3')).body, 3);
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions')).body, [1, 2]);
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions?deleted=true')).body, [1, 2, 3]);
    assert.equal((await call(a.url, 'DELETE', '/subjects/users-value/versions/3')).body.error_code, 40402, 'already soft-deleted: not found without deleted=true');
    assert.deepEqual((await call(a.url, 'DELETE', '/subjects/users-value/versions/3?permanent=true')).body, 3);
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions?deleted=true')).body, [1, 2]);
    assert.equal((await call(a.url, 'GET', '/schemas/ids/3')).body.error_code, 40403, 'no version holds id 3 any more');

    assert.equal((await call(a.url, 'DELETE', '/subjects/other-value?permanent=true')).body.error_code, 40405);
    assert.deepEqual((await call(a.url, 'DELETE', '/subjects/other-value')).body, [1]);
    assert.equal((await call(a.url, 'DELETE', '/subjects/other-value')).body.error_code, 40404);
    assert.equal((await call(a.url, 'GET', '/subjects/other-value/versions')).body.error_code, 40401);
    assert.ok((await call(a.url, 'GET', '/subjects?deleted=true')).body.includes('other-value'));
    assert.deepEqual((await call(a.url, 'DELETE', '/subjects/other-value?permanent=true')).body, [1]);
    assert.ok(!(await call(a.url, 'GET', '/subjects?deleted=true')).body.includes('other-value'));
    assert.deepEqual((await call(a.url, 'GET', '/schemas/ids/1/subjects')).body, ['users-value'], 'users-value still holds id 1');
  });

  test('modes: READONLY refuses writes (42205), IMPORT takes given ids on an empty subject', async () => {
    assert.deepEqual((await call(a.url, 'GET', '/mode')).body, { mode: 'READWRITE' });
    assert.deepEqual((await call(a.url, 'PUT', '/mode/users-value', { mode: 'READONLY' })).body, { mode: 'READONLY' });
    const refused = await call(a.url, 'POST', '/subjects/users-value/versions', { schema: V2.replace('"default":""', '"default":"x"') });
    assert.deepEqual([refused.status, refused.body.error_code], [422, 42205]);
    assert.deepEqual((await call(a.url, 'DELETE', '/mode/users-value')).body, { mode: 'READONLY' });
    assert.equal((await call(a.url, 'PUT', '/mode/users-value', { mode: 'IMPORT' })).body.error_code, 42205, 'not empty');
    assert.deepEqual((await call(a.url, 'PUT', '/mode/imported', { mode: 'IMPORT' })).body, { mode: 'IMPORT' });
    assert.deepEqual((await call(a.url, 'POST', '/subjects/imported/versions', { schema: '"string"', id: 100, version: 7 })).body, { id: 100 });
    assert.deepEqual((await call(a.url, 'GET', '/subjects/imported/versions/7')).body, { subject: 'imported', version: 7, id: 100, schema: '"string"' });
    assert.equal((await call(a.url, 'POST', '/subjects/imported/versions', { schema: '"long"', id: 100 })).body.error_code, 42205, 'id 100 is another schema');
    await call(a.url, 'DELETE', '/mode/imported');
    // Ids allocated after an import continue above it.
    assert.deepEqual((await call(a.url, 'POST', '/subjects/after-import/versions', { schema: '"bytes"' })).body, { id: 101 });
  });

  test('JSON Schema subjects and references', async () => {
    const address = JSON.stringify({ type: 'object', properties: { city: { type: 'string' } } });
    const r = await call(a.url, 'POST', '/subjects/address/versions', { schema: address, schemaType: 'JSON' });
    const customer = JSON.stringify({ type: 'object', properties: { name: { type: 'string' }, address: { $ref: 'address.json' } }, additionalProperties: false });
    const c = await call(a.url, 'POST', '/subjects/customer-value/versions', { schema: customer, schemaType: 'JSON', references: [{ name: 'address.json', subject: 'address', version: 1 }] });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const got = await call(a.url, 'GET', `/schemas/ids/${c.body.id}`);
    assert.deepEqual(got.body, { schemaType: 'JSON', references: [{ name: 'address.json', subject: 'address', version: 1 }], schema: customer });
    assert.deepEqual((await call(a.url, 'GET', '/subjects/address/versions/1/referencedby')).body, [c.body.id]);
    assert.equal((await call(a.url, 'DELETE', '/subjects/address')).body.error_code, 42206, 'still referenced');
    assert.ok(r.body.id > 0);
  });

  test('Avro references: a record naming a type registered under another subject, through the serdes too', async () => {
    const address = JSON.stringify({ type: 'record', name: 'Address', namespace: 'geo', fields: [{ name: 'city', type: 'string' }] });
    assert.equal((await call(a.url, 'POST', '/subjects/geo.Address/versions', { schema: address })).status, 200);
    const customer = JSON.stringify({ type: 'record', name: 'Customer', fields: [{ name: 'name', type: 'string' }, { name: 'home', type: 'geo.Address' }] });
    const references = [{ name: 'geo.Address', subject: 'geo.Address', version: 1 }];
    assert.equal((await call(a.url, 'POST', '/subjects/customers-value/versions', { schema: customer })).body.error_code, 42201, 'unknown type without the reference');
    const r = await call(a.url, 'POST', '/subjects/customers-value/versions', { schema: customer, references });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual((await call(a.url, 'GET', `/schemas/ids/${r.body.id}`)).body, { references, schema: customer });
    const ser = new AvroSerializer({ registry: a.url, schema: customer, references });
    const bytes = await ser.serialize('customers', { name: 'Ada', home: { city: 'London' } });
    assert.equal(bytes.readUInt32BE(1), r.body.id);
    const got = await new AvroDeserializer({ registry: a.url }).deserialize('customers', bytes) as { name: string; home: { city: string } };
    assert.deepEqual([got.name, got.home.city], ['Ada', 'London']);
  });

  test('serdes: Avro and JSON Schema in Confluent\'s wire format through the client', async () => {
    const client = new SchemaRegistryClient(a.url);
    const ser = new AvroSerializer({ registry: client, schema: V2 });
    const bytes = await ser.serialize('orders', { id: 42, email: 'a@b.c' });
    const id = (await client.getLatest('orders-value')).id;
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readUInt32BE(1), id);
    assert.deepEqual({ ...(await new AvroDeserializer({ registry: a.url }).deserialize('orders', bytes) as object) }, { id: 42, email: 'a@b.c' });
    // A reader schema of the old version resolves the new data (email is skipped).
    assert.deepEqual({ ...(await new AvroDeserializer({ registry: a.url, readerSchema: V1 }).deserialize('orders', bytes) as object) }, { id: 42 });

    const schema = { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, required: ['sku'] };
    const jser = new JsonSchemaSerializer({ registry: client, schema });
    const jbytes = await jser.serialize('stock', { sku: 'A1', qty: 3 });
    assert.equal(jbytes.subarray(5).toString(), '{"sku":"A1","qty":3}');
    assert.deepEqual(await new JsonSchemaDeserializer({ registry: a.url }).deserialize('stock', jbytes), { sku: 'A1', qty: 3 });
    await assert.rejects(jser.serialize('stock', { qty: 'x' }), /does not match its JSON Schema/);
  });

  test('a restarted registry reads every subject, id and config back from _schemas, keyed as Confluent\'s', async () => {
    const before = (await call(a.url, 'GET', '/subjects')).body;
    await a.close();
    await b.close();
    a = await start();
    assert.deepEqual((await call(a.url, 'GET', '/subjects')).body, before);
    assert.deepEqual((await call(a.url, 'GET', '/schemas/ids/2')).body, { schema: canon(V2) });
    assert.deepEqual((await call(a.url, 'GET', '/config/event-0-value')).body, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call(a.url, 'GET', '/subjects/users-value/versions?deleted=true')).body, [1, 2]);
    // The topic's records, as Confluent's registry writes them.
    const consumer = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    await consumer.connect();
    consumer.assign([{ topic: '_schemas', partition: 0 }]);
    const keys: any[] = [];
    for (let i = 0; i < 20 && !keys.some((k) => k.keytype === 'DELETE_SUBJECT'); i++) keys.push(...(await consumer.poll(500)).map((r) => JSON.parse(r.key!.toString())));
    await consumer.close();
    assert.deepEqual(keys[0], { keytype: 'SCHEMA', subject: 'users-value', version: 1, magic: 1 });
    assert.ok(keys.some((k) => k.keytype === 'CONFIG' && k.subject === null));
    assert.ok(keys.some((k) => k.keytype === 'DELETE_SUBJECT' && k.subject === 'other-value'));
  });
});
