// Compatibility rules without a broker: the Avro specification's schema resolution section (reader vs writer)
// and Confluent's documented JSON Schema rules, through the same function the registry's REST API uses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { avroFingerprint } from '../../../src/registry/avro.js';
import { compatibilityErrors, parseSchema, readErrors } from '../../../src/registry/formats.js';

const avro = (s: unknown) => parseSchema('AVRO', JSON.stringify(s));
const json = (s: unknown) => parseSchema('JSON', JSON.stringify(s));
/** Can a reader with schema r read what w wrote? */
const reads = (r: ReturnType<typeof avro>, w: ReturnType<typeof avro>): boolean => readErrors(r, w).length === 0;

const rec = (fields: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'record', name: 'User', namespace: 'shop', fields, ...extra });

describe('Avro schema resolution', () => {
  test('primitive promotions: int→long/float/double, long→float/double, float→double, string↔bytes; never narrowing', () => {
    const promotions: Array<[string, string]> = [['int', 'long'], ['int', 'float'], ['int', 'double'], ['long', 'float'], ['long', 'double'], ['float', 'double'], ['string', 'bytes'], ['bytes', 'string']];
    for (const [writer, reader] of promotions) {
      assert.equal(reads(avro(reader), avro(writer)), true, `${reader} reads ${writer}`);
    }
    for (const [writer, reader] of [['long', 'int'], ['double', 'float'], ['float', 'long'], ['string', 'int'], ['boolean', 'string']]) {
      assert.equal(reads(avro(reader), avro(writer)), false, `${reader} must not read ${writer}`);
    }
  });

  test('records: a reader field missing from the writer needs a default; writer fields the reader lacks are ignored', () => {
    const v1 = avro(rec([{ name: 'id', type: 'long' }]));
    const withDefault = avro(rec([{ name: 'id', type: 'long' }, { name: 'email', type: 'string', default: '' }]));
    const withoutDefault = avro(rec([{ name: 'id', type: 'long' }, { name: 'email', type: 'string' }]));
    assert.equal(reads(withDefault, v1), true);
    assert.deepEqual(readErrors(withoutDefault, v1).map((e) => /READER_FIELD_MISSING_DEFAULT_VALUE/.test(e)), [true]);
    assert.equal(reads(v1, withoutDefault), true, 'the writer\'s extra field is skipped');
  });

  test('records: field types are resolved recursively, names must match unless the reader aliases the writer\'s', () => {
    const w = avro(rec([{ name: 'age', type: 'int' }]));
    assert.equal(reads(avro(rec([{ name: 'age', type: 'long' }])), w), true);
    assert.equal(reads(avro(rec([{ name: 'age', type: 'string' }])), w), false);
    assert.equal(reads(avro({ ...rec([{ name: 'age', type: 'int' }]), name: 'Customer' }), w), false);
    assert.equal(reads(avro({ ...rec([{ name: 'age', type: 'int' }]), name: 'Customer', aliases: ['shop.User'] }), w), true);
    // A renamed field with the old name as alias reads the old data.
    assert.equal(reads(avro(rec([{ name: 'years', type: 'int', aliases: ['age'] }])), w), true);
  });

  test('enums: every writer symbol must be a reader symbol, unless the reader has a default', () => {
    const w = avro({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] });
    assert.equal(reads(avro({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE', 'BLACK'] }), w), true);
    assert.equal(reads(avro({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] }), w), false);
    assert.equal(reads(avro({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'UNKNOWN'], default: 'UNKNOWN' }), w), true);
  });

  test('fixed: same name and size; arrays and maps: items and values resolved', () => {
    assert.equal(reads(avro({ type: 'fixed', name: 'Md5', size: 16 }), avro({ type: 'fixed', name: 'Md5', size: 16 })), true);
    assert.equal(reads(avro({ type: 'fixed', name: 'Md5', size: 32 }), avro({ type: 'fixed', name: 'Md5', size: 16 })), false);
    assert.equal(reads(avro({ type: 'array', items: 'long' }), avro({ type: 'array', items: 'int' })), true);
    assert.equal(reads(avro({ type: 'array', items: 'int' }), avro({ type: 'array', items: 'long' })), false);
    assert.equal(reads(avro({ type: 'map', values: 'double' }), avro({ type: 'map', values: 'float' })), true);
    assert.equal(reads(avro({ type: 'map', values: 'int' }), avro({ type: 'array', items: 'int' })), false);
  });

  test('unions: each writer branch must be readable; a non-union writer needs a matching reader branch', () => {
    assert.equal(reads(avro(['null', 'string', 'long']), avro(['null', 'string'])), true);
    assert.equal(reads(avro(['null', 'string']), avro(['null', 'string', 'long'])), false);
    assert.equal(reads(avro(['null', 'long']), avro('int')), true, 'int promotes into the long branch');
    assert.equal(reads(avro(['null', 'string']), avro('int')), false);
    assert.equal(reads(avro('long'), avro(['int', 'long'])), true);
    assert.equal(reads(avro('int'), avro(['int', 'null'])), false);
  });

  test('recursive records terminate', () => {
    const node = (valueType: string) => ({ type: 'record', name: 'Node', fields: [{ name: 'value', type: valueType }, { name: 'next', type: ['null', 'Node'], default: null }] });
    assert.equal(reads(avro(node('long')), avro(node('int'))), true);
    assert.equal(reads(avro(node('int')), avro(node('long'))), false);
  });

  test('levels: BACKWARD (new reads old), FORWARD (old reads new), FULL, transitive against every version, NONE', () => {
    const v1 = avro(rec([{ name: 'id', type: 'long' }]));
    const v2 = avro(rec([{ name: 'id', type: 'long' }, { name: 'email', type: 'string', default: '' }]));
    const v3 = avro(rec([{ name: 'id', type: 'long' }, { name: 'email', type: 'string' }]));
    const addRequired = avro(rec([{ name: 'id', type: 'long' }, { name: 'phone', type: 'string' }]));
    const dropId = avro(rec([]));
    assert.deepEqual(compatibilityErrors('BACKWARD', v2, [v1]), []);
    assert.notDeepEqual(compatibilityErrors('BACKWARD', addRequired, [v1]), []);
    assert.deepEqual(compatibilityErrors('FORWARD', addRequired, [v1]), [], 'old readers ignore the new field');
    assert.notDeepEqual(compatibilityErrors('FORWARD', dropId, [v1]), [], 'old readers need id, which has no default');
    assert.deepEqual(compatibilityErrors('BACKWARD', dropId, [v1]), []);
    assert.deepEqual(compatibilityErrors('FULL', v2, [v1]), []);
    assert.notDeepEqual(compatibilityErrors('FULL', addRequired, [v1]), []);
    // v3 reads v2's data (email is there) but not v1's: only the transitive level looks back that far.
    assert.deepEqual(compatibilityErrors('BACKWARD', v3, [v1, v2]), []);
    assert.notDeepEqual(compatibilityErrors('BACKWARD_TRANSITIVE', v3, [v1, v2]), []);
    assert.deepEqual(compatibilityErrors('FORWARD_TRANSITIVE', v3, [v1, v2]), []);
    assert.notDeepEqual(compatibilityErrors('FULL_TRANSITIVE', v3, [v1, v2]), []);
    assert.deepEqual(compatibilityErrors('NONE', avro('string'), [v1]), []);
  });

  test('Parsing Canonical Form fingerprints: docs, defaults and whitespace do not count; the stored text keeps them', () => {
    const a = parseSchema('AVRO', JSON.stringify(rec([{ name: 'id', type: 'long', doc: 'the id', default: 0 }])));
    const b = parseSchema('AVRO', JSON.stringify(rec([{ name: 'id', type: 'long' }]), null, 2));
    const c = parseSchema('AVRO', JSON.stringify(rec([{ name: 'id', type: 'int' }])));
    if (a.schemaType !== 'AVRO' || b.schemaType !== 'AVRO' || c.schemaType !== 'AVRO') throw new Error('parsed as Avro');
    assert.deepEqual(avroFingerprint(a.avro), avroFingerprint(b.avro));
    assert.notDeepEqual(avroFingerprint(a.avro), avroFingerprint(c.avro));
    assert.equal(avroFingerprint(a.avro, 'sha256').length, 32);
    assert.notEqual(a.canonical, b.canonical, 'a default makes another schema in the registry');
  });

  test('an invalid Avro schema is refused with 42201', () => {
    assert.throws(() => parseSchema('AVRO', '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}'), (e: any) => e.errorCode === 42201);
    assert.throws(() => parseSchema('AVRO', '{"type":"record","name":"X","fields":[{"name":"a","type":"int","default":"x"}]}'), (e: any) => e.errorCode === 42201);
  });
});

describe('JSON Schema compatibility (Confluent\'s rules)', () => {
  const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => json({ type: 'object', properties, ...extra });
  const jreads = (r: ReturnType<typeof json>, w: ReturnType<typeof json>): string[] => readErrors(r, w);

  test('adding a property: compatible to a closed content model, not to an open one (old data may hold anything there)', () => {
    const openOld = obj({ id: { type: 'integer' } });
    const closedOld = obj({ id: { type: 'integer' } }, { additionalProperties: false });
    assert.match(jreads(obj({ id: { type: 'integer' }, name: { type: 'string' } }), openOld).join(), /PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL/);
    assert.deepEqual(jreads(obj({ id: { type: 'integer' }, name: { type: 'string' } }, { additionalProperties: false }), closedOld), []);
    assert.deepEqual(jreads(obj({ id: { type: 'integer' }, name: {} }), openOld), [], 'an unconstrained property accepts anything');
  });

  test('removing a property: compatible from an open content model, not from a closed one', () => {
    const old = obj({ id: { type: 'integer' }, name: { type: 'string' } });
    assert.deepEqual(jreads(obj({ id: { type: 'integer' } }), old), []);
    assert.match(jreads(obj({ id: { type: 'integer' } }, { additionalProperties: false }), old).join(), /PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL/);
  });

  test('closing an open content model is incompatible; opening a closed one is compatible', () => {
    const open = obj({ id: { type: 'integer' } });
    const closed = obj({ id: { type: 'integer' } }, { additionalProperties: false });
    assert.match(jreads(closed, open).join(), /ADDITIONAL_PROPERTIES_REMOVED/);
    assert.deepEqual(jreads(open, closed), []);
  });

  test('required: a newly required property breaks readers of old data unless it has a default', () => {
    const old = obj({ id: { type: 'integer' }, name: { type: 'string' } });
    assert.match(jreads(obj({ id: { type: 'integer' }, name: { type: 'string' } }, { required: ['name'] }), old).join(), /REQUIRED_ATTRIBUTE_ADDED/);
    assert.deepEqual(jreads(obj({ id: { type: 'integer' }, name: { type: 'string', default: '' } }, { required: ['name'] }), old), []);
    assert.deepEqual(jreads(old, obj({ id: { type: 'integer' }, name: { type: 'string' } }, { required: ['name'] })), [], 'dropping required is fine');
  });

  test('types: integer widens to number, narrowing or changing breaks', () => {
    assert.deepEqual(jreads(json({ type: 'number' }), json({ type: 'integer' })), []);
    assert.match(jreads(json({ type: 'integer' }), json({ type: 'number' })).join(), /TYPE_CHANGED/);
    assert.match(jreads(json({ type: 'string' }), json({ type: ['string', 'null'] })).join(), /TYPE_NARROWED/);
    assert.deepEqual(jreads(json({ type: ['string', 'null'] }), json({ type: 'string' })), []);
    assert.match(jreads(obj({ id: { type: 'string' } }), obj({ id: { type: 'integer' } })).join(), /TYPE_CHANGED/);
  });

  test('enums: adding values is compatible for a reader, removing them is not', () => {
    assert.deepEqual(jreads(json({ enum: ['a', 'b', 'c'] }), json({ enum: ['a', 'b'] })), []);
    assert.match(jreads(json({ enum: ['a'] }), json({ enum: ['a', 'b'] })).join(), /ENUM_ARRAY_NARROWED/);
    assert.match(jreads(json({ type: 'string', enum: ['a'] }), json({ type: 'string' })).join(), /ENUM_ADDED/);
  });

  test('bounds, items, anyOf and $ref', () => {
    assert.match(jreads(json({ type: 'string', maxLength: 5 }), json({ type: 'string', maxLength: 10 })).join(), /MAX_LENGTH_DECREASED/);
    assert.deepEqual(jreads(json({ type: 'string', maxLength: 10 }), json({ type: 'string', maxLength: 5 })), []);
    assert.match(jreads(json({ type: 'number', minimum: 1 }), json({ type: 'number' })).join(), /MINIMUM_INCREASED/);
    assert.match(jreads(json({ type: 'array', items: { type: 'integer' } }), json({ type: 'array', items: { type: 'number' } })).join(), /TYPE_CHANGED/);
    assert.deepEqual(jreads(json({ anyOf: [{ type: 'string' }, { type: 'integer' }] }), json({ type: 'integer' })), []);
    assert.match(jreads(json({ type: 'integer' }), json({ anyOf: [{ type: 'string' }, { type: 'integer' }] })).join(), /TYPE_CHANGED/);
    const withRef = (t: string) => json({ definitions: { Id: { type: t } }, type: 'object', properties: { id: { $ref: '#/definitions/Id' } } });
    assert.deepEqual(jreads(withRef('number'), withRef('integer')), []);
    assert.match(jreads(withRef('integer'), withRef('number')).join(), /TYPE_CHANGED/);
  });

  test('an invalid JSON Schema is refused with 42201', () => {
    assert.throws(() => parseSchema('JSON', '{"type": 12}'), (e: any) => e.errorCode === 42201);
    assert.throws(() => parseSchema('JSON', 'not json'), (e: any) => e.errorCode === 42201);
    assert.throws(() => parseSchema('PROTOBUF', 'syntax = "proto3";'), (e: any) => e.errorCode === 42201);
  });
});
