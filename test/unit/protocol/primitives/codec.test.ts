import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVersion, copyBytes, EMPTY_BUFFER, UnsupportedVersionError } from '../../../../src/protocol/primitives/codec.js';
import { DecodeError, Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { SyncGroupRequest } from '../../../../src/protocol/generated/sync-group-request.js';
import { ProduceRequest } from '../../../../src/protocol/generated/produce-request.js';
import { ApiVersionsResponse } from '../../../../src/protocol/generated/api-versions-response.js';

test('checkVersion accepts the range and rejects the rest with UNSUPPORTED_VERSION', () => {
  const codec = { name: 'X', minVersion: 1, maxVersion: 3 };
  checkVersion(codec, 1);
  checkVersion(codec, 3);
  for (const bad of [0, 4, 1.5, Number.NaN]) {
    assert.throws(() => checkVersion(codec, bad), (err: unknown) =>
      err instanceof UnsupportedVersionError && err.kafkaError === 'UNSUPPORTED_VERSION' && err.code === 'ERR_UNSUPPORTED_VERSION');
  }
});

test('copyBytes copies, keeps null, and shares the empty buffer', () => {
  const src = Buffer.from([1, 2, 3]);
  const copy = copyBytes(src);
  assert.deepStrictEqual(copy, src);
  src[0] = 9;
  assert.equal(copy[0], 1);
  assert.equal(copyBytes(null), null);
  assert.equal(copyBytes(Buffer.alloc(0)), EMPTY_BUFFER);
});

test('decoded bytes fields are copies; records stay views of the request buffer', () => {
  const w = new Writer();
  SyncGroupRequest.encode(w, 3, { groupId: 'g', assignments: [{ memberId: 'm', assignment: Buffer.from([7, 7]) }] });
  const frame = w.toBuffer();
  const sync = SyncGroupRequest.decode(new Reader(frame), 3);
  frame.fill(0);
  assert.deepStrictEqual([...sync.assignments[0].assignment], [7, 7]);

  const p = new Writer();
  ProduceRequest.encode(p, 9, { topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.alloc(300, 5) }] }] });
  const produceFrame = p.toBuffer();
  const produce = ProduceRequest.decode(new Reader(produceFrame), 9);
  const records = produce.topicData[0].partitionData[0].records!;
  assert.equal(records.buffer, produceFrame.buffer, 'records are a zero-copy view');
  assert.equal(records.length, 300);
});

test('a known tagged field whose size disagrees with its value is a DecodeError', () => {
  // ApiVersionsResponse v3: error 0, no api keys, throttle 0, tag 1 (int64) declared 4 bytes long
  const bytes = Buffer.from('0000' + '01' + '00000000' + '01' + '01' + '04' + '0000000000000005', 'hex');
  assert.throws(() => ApiVersionsResponse.decode(new Reader(bytes), 3), DecodeError);
});
