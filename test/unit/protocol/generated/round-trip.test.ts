import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { buildStruct, defaultOf, loadEntries, needsKafkaReference, presence, rng } from '../helpers/spec-values.js';

const entries = await loadEntries();

test('every spec file has a generated codec with the spec version range', needsKafkaReference, () => {
  assert.equal(entries.length, 218);
  for (const { model, codec } of entries) {
    assert.equal(codec.minVersion, model.validVersions.lo, model.name);
    assert.equal(codec.maxVersion, model.validVersions.hi, model.name);
    assert.equal(codec.flexibleMinVersion, model.flexibleVersions ? model.flexibleVersions.lo : -1, model.name);
    assert.equal(codec.type, model.type, model.name);
    assert.equal(codec.apiKey, model.apiKey, model.name);
  }
});

for (const { dir, model, codec } of entries) {
  test(`${dir}/${model.name}: round trip of every version`, () => {
    let taggedSeen = 0;
    for (let v = model.validVersions.lo; v <= model.validVersions.hi; v++) {
      for (const nulls of [false, true]) {
        const next = rng(model.name.length * 7919 + v * 31 + (nulls ? 1 : 0));
        const { init, expected } = buildStruct(model, model.root, v, next, nulls);
        const w = new Writer(32);
        codec.encode(w, v, init);
        const bytes = w.toBuffer();
        assert.equal(bytes.length, w.length);

        const r = new Reader(bytes);
        const decoded = codec.decode(r, v);
        assert.equal(r.remaining(), 0, `${model.name} v${v}: bytes left after decode`);
        assert.deepStrictEqual(decoded, expected, `${model.name} v${v} nulls=${nulls}`);

        const again = new Writer(8);
        codec.encode(again, v, decoded);
        assert.ok(again.toBuffer().equals(bytes), `${model.name} v${v}: re-encoding differs`);
      }
      for (const f of model.root.fields) if (presence(model, f, v) === 'tagged') taggedSeen++;
    }
    // Tagged fields in the root are covered where the spec has them.
    const hasTagged = model.root.fields.some((f) => f.taggedVersions !== null);
    if (hasTagged && model.flexibleVersions) assert.ok(taggedSeen > 0);
  });
}

test('an empty init encodes every field as its default', needsKafkaReference, () => {
  for (const { model, codec } of entries) {
    const v = model.validVersions.hi;
    const w = new Writer();
    codec.encode(w, v, {});
    const decoded = codec.decode(new Reader(w.toBuffer()), v);
    for (const f of model.root.fields) {
      assert.deepStrictEqual(decoded[f.camel], defaultOf(model, f), `${model.name}.${f.camel}`);
    }
  }
});

test('tagged fields are written only when they differ from the default', async () => {
  const { FetchResponse } = await import('../../../../src/protocol/generated/fetch-response.js');
  const partition = { partitionIndex: 1, records: null };
  const plain = new Writer();
  FetchResponse.encode(plain, 16, { responses: [{ topicId: '00000000-0000-0000-0000-000000000001', partitions: [partition] }] });
  const tagged = new Writer();
  FetchResponse.encode(tagged, 16, {
    responses: [{ topicId: '00000000-0000-0000-0000-000000000001', partitions: [{ ...partition, currentLeader: { leaderId: 3, leaderEpoch: 9 } }] }],
  });
  // tag 1, size, leaderId int32, leaderEpoch int32, empty tag section = 1 + 1 + 4 + 4 + 1 bytes more
  assert.equal(tagged.length - plain.length, 11);
  const decoded = FetchResponse.decode(new Reader(tagged.toBuffer()), 16);
  assert.deepStrictEqual(decoded.responses[0].partitions[0].currentLeader, { leaderId: 3, leaderEpoch: 9 });
  // A value equal to the default is not sent.
  const same = new Writer();
  FetchResponse.encode(same, 16, {
    responses: [{ topicId: '00000000-0000-0000-0000-000000000001', partitions: [{ ...partition, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
  });
  assert.ok(same.toBuffer().equals(plain.toBuffer()));
});

test('unknown tagged fields are skipped on decode', async () => {
  const { ResponseHeader } = await import('../../../../src/protocol/generated/response-header.js');
  // correlation id 5, two tagged fields: tag 7 (3 bytes), tag 100 (0 bytes)
  const bytes = Buffer.from([0, 0, 0, 5, 2, 7, 3, 0xaa, 0xbb, 0xcc, 100, 0]);
  const r = new Reader(bytes);
  assert.deepStrictEqual(ResponseHeader.decode(r, 1), { correlationId: 5 });
  assert.equal(r.remaining(), 0);
});

test('encode and decode reject versions outside the spec range', async () => {
  const { ProduceRequest } = await import('../../../../src/protocol/generated/produce-request.js');
  const { UnsupportedVersionError } = await import('../../../../src/protocol/primitives/codec.js');
  assert.throws(() => ProduceRequest.encode(new Writer(), ProduceRequest.maxVersion + 1, {}), UnsupportedVersionError);
  assert.throws(() => ProduceRequest.decode(new Reader(Buffer.alloc(64)), -1), UnsupportedVersionError);
});

test('null in a version where the field is not nullable is an EncodeError', async () => {
  const { MetadataRequest } = await import('../../../../src/protocol/generated/metadata-request.js');
  const { EncodeError } = await import('../../../../src/protocol/primitives/writer.js');
  // Topics is nullable from v1; v0 has no way to say "all topics".
  assert.throws(() => MetadataRequest.encode(new Writer(), 0, { topics: null }), EncodeError);
  const w = new Writer();
  MetadataRequest.encode(w, 1, { topics: null });
  assert.deepStrictEqual([...w.toBuffer()], [0xff, 0xff, 0xff, 0xff]);
});
