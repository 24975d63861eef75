import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecordBatch, decodeRecordBatch } from '../../../../src/protocol/records/record.js';
import { DELETE_HORIZON_FLAG_MASK, computeCrc } from '../../../../src/protocol/records/record-batch.js';
import { RecordError } from '../../../../src/protocol/records/record-error.js';
import { deleteHorizonOf, filterBatch, keylessRecordIndexes } from '../../../../src/protocol/records/record-filter.js';

const T0 = 1_700_000_000_000;
const batch = (compression: 0 | 1 | 2 | 3 | 4 = 0): Buffer =>
  buildRecordBatch(
    [
      { key: 'a', value: '1', timestamp: T0 },
      { key: null, value: '2', timestamp: T0 + 5 },
      { key: 'c', value: null, timestamp: T0 + 9, headers: [{ key: 'h', value: Buffer.from('x') }] },
    ],
    { compression, baseOffset: 100, producerId: 9n, producerEpoch: 2, baseSequence: 40 },
  );

describe('record-filter', () => {
  it('lists keyless records by batch index, compressed or not', () => {
    for (const codec of [0, 1, 2, 3, 4] as const) assert.deepEqual(keylessRecordIndexes(batch(codec), 0), [1]);
  });

  it('a rewrite keeps base offset, last offset delta, producer fields and each record as it was', () => {
    for (const codec of [0, 4] as const) {
      const r = filterBatch(batch(codec), 0, { retain: (v) => v.key?.toString() !== 'a', setDeleteHorizon: -1 , retainEmpty: false });
      assert.equal(r.kind, 'rewritten');
      const out = decodeRecordBatch((r as { batch: Buffer }).batch);
      assert.deepEqual(
        [out.header.baseOffset, out.header.lastOffsetDelta, out.header.producerId, out.header.producerEpoch, out.header.baseSequence, out.header.attributes & 7],
        [100, 2, 9n, 2, 40, codec],
      );
      assert.deepEqual(out.records.map((x) => [x.offset, x.key?.toString() ?? null, x.value?.toString() ?? null, x.timestamp]), [[101, null, '2', T0 + 5], [102, 'c', null, T0 + 9]]);
      assert.equal(out.records[1]!.headers[0]!.value!.toString(), 'x');
      assert.equal(out.header.maxTimestamp, T0 + 9);
    }
  });

  it('stamps a delete horizon when a kept record is a tombstone, re-basing timestamp deltas', () => {
    const r = filterBatch(batch(), 0, { retain: () => true, setDeleteHorizon: -1, deleteHorizonIfTombstone: T0 + 86_400_000, retainEmpty: false });
    assert.equal(r.kind, 'rewritten');
    const b = (r as { batch: Buffer }).batch;
    assert.equal(deleteHorizonOf(b, 0), T0 + 86_400_000);
    const out = decodeRecordBatch(b);
    assert.ok(out.header.attributes & DELETE_HORIZON_FLAG_MASK);
    assert.deepEqual(out.records.map((x) => x.timestamp), [T0, T0 + 5, T0 + 9], 'record timestamps unchanged');
    // Nothing to change: the same bytes stay.
    assert.equal(filterBatch(b, 0, { retain: () => true, setDeleteHorizon: -1, deleteHorizonIfTombstone: T0, retainEmpty: false }).kind, 'unchanged');
  });

  it('an emptied batch goes, or stays as a header spanning the same offsets (a producer\'s last batch)', () => {
    assert.equal(filterBatch(batch(1), 0, { retain: () => false, setDeleteHorizon: -1, retainEmpty: false }).kind, 'deleted');
    const r = filterBatch(batch(1), 0, { retain: () => false, setDeleteHorizon: -1, retainEmpty: true });
    const out = decodeRecordBatch((r as { batch: Buffer }).batch);
    assert.deepEqual([out.header.baseOffset, out.header.lastOffsetDelta, out.header.recordsCount, out.header.baseSequence, out.records.length], [100, 2, 0, 40, 0]);
  });

  it('malformed record bytes are a RecordError, not a crash', () => {
    const b = batch();
    b.writeUInt8(0x7f, 61); // the first record's length varint now claims more than there is
    b.writeUInt32BE(computeCrc(b, 0), 17);
    assert.throws(() => keylessRecordIndexes(b, 0), RecordError);
    assert.throws(() => filterBatch(b, 0, { retain: () => true, setDeleteHorizon: -1, retainEmpty: false }), RecordError);
  });
});
