import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { CompressionType } from '../../../../src/protocol/records/compression.js';
import {
  buildControlBatch,
  buildRecordBatch,
  decodeRecordBatch,
  iterateBatches,
  readControlRecord,
  type RecordInput,
} from '../../../../src/protocol/records/record.js';
import { isControl, isCrcValid, isTransactional, readBatchHeader, updateCrc } from '../../../../src/protocol/records/record-batch.js';
import { RecordError } from '../../../../src/protocol/records/record-error.js';
import { CHUNK, CHUNK_HEAD, KAFKA_PYTHON_BATCHES } from './kafka-python-fixtures.js';

const require = createRequire(import.meta.url);
const CODECS: CompressionType[] = [0, 1, 2, 3, 4];

const INPUT: RecordInput[] = [
  { key: 'k1', value: 'v1', timestamp: 1_700_000_000_000 },
  { key: null, value: Buffer.alloc(300, 7), timestamp: 1_699_999_999_000, headers: [{ key: 'trace', value: Buffer.from('abc') }] },
  { key: Buffer.from([0, 1, 2]), value: null, timestamp: 1_700_000_000_500, headers: [{ key: 'ü-nicode', value: null }, { key: '', value: Buffer.alloc(0) }] },
  { key: '', value: '', timestamp: 1_700_000_000_001 },
];

function assertRecordError(fn: () => unknown, kafkaError: string, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RecordError, `expected RecordError, got ${String(err)}`);
    assert.equal(err.kafkaError, kafkaError);
    if (code !== undefined) assert.equal(err.code, code);
    return true;
  });
}

describe('buildRecordBatch / decodeRecordBatch', () => {
  for (const codec of CODECS) {
    it(`codec ${codec}: round trips keys, values, nulls, headers, offsets and timestamps`, () => {
      const buf = buildRecordBatch(INPUT, { compression: codec, baseOffset: 1000 });
      assert.ok(isCrcValid(buf, 0));
      const { header, records } = decodeRecordBatch(buf);
      assert.equal(header.attributes & 7, codec);
      assert.equal(header.recordsCount, 4);
      assert.equal(header.lastOffsetDelta, 3);
      assert.equal(header.baseTimestamp, 1_700_000_000_000);
      assert.equal(header.maxTimestamp, 1_700_000_000_500);
      assert.equal(header.producerId, -1n);
      assert.equal(header.baseSequence, -1);
      assert.deepEqual(
        records.map((r) => r.offset),
        [1000, 1001, 1002, 1003],
      );
      assert.deepEqual(
        records.map((r) => r.timestamp),
        INPUT.map((r) => r.timestamp),
      );
      assert.deepEqual(records[0].key, Buffer.from('k1'));
      assert.deepEqual(records[0].value, Buffer.from('v1'));
      assert.equal(records[1].key, null);
      assert.deepEqual(records[1].value, Buffer.alloc(300, 7));
      assert.deepEqual(records[1].headers, [{ key: 'trace', value: Buffer.from('abc') }]);
      assert.deepEqual(records[2].key, Buffer.from([0, 1, 2]));
      assert.equal(records[2].value, null);
      assert.deepEqual(records[2].headers, [
        { key: 'ü-nicode', value: null },
        { key: '', value: Buffer.alloc(0) },
      ]);
      assert.deepEqual(records[3].key, Buffer.alloc(0));
      assert.deepEqual(records[3].value, Buffer.alloc(0));
    });
  }

  it('writes producer fields and flags', () => {
    const buf = buildRecordBatch([{ value: 'x', timestamp: 5 }], {
      producerId: 2n ** 40n,
      producerEpoch: 9,
      baseSequence: 77,
      transactional: true,
      partitionLeaderEpoch: 4,
    });
    const h = readBatchHeader(buf, 0);
    assert.equal(h.producerId, 2n ** 40n);
    assert.equal(h.producerEpoch, 9);
    assert.equal(h.baseSequence, 77);
    assert.equal(h.partitionLeaderEpoch, 4);
    assert.ok(isTransactional(h.attributes));
    assert.ok(!isControl(h.attributes));
  });

  it('LogAppendTime batches report maxTimestamp for every record', () => {
    const buf = buildRecordBatch(
      [
        { value: 'a', timestamp: 10 },
        { value: 'b', timestamp: 30 },
      ],
      { timestampType: 1 },
    );
    const { records } = decodeRecordBatch(buf);
    assert.deepEqual(
      records.map((r) => r.timestamp),
      [30, 30],
    );
  });

  it('timestamps default to now; large negative timestamp deltas survive', () => {
    const before = Date.now();
    const { records } = decodeRecordBatch(buildRecordBatch([{ value: 'a' }, { value: 'b', timestamp: 1 }]));
    assert.ok(records[0].timestamp >= before && records[0].timestamp <= Date.now());
    assert.equal(records[1].timestamp, 1);
  });

  it('decodes a batch at a position inside a larger buffer', () => {
    const a = buildRecordBatch([{ value: 'first' }]);
    const b = buildRecordBatch([{ value: 'second' }], { baseOffset: 1 });
    const { records } = decodeRecordBatch(Buffer.concat([a, b]), a.length);
    assert.equal(records[0].value?.toString(), 'second');
    assert.equal(records[0].offset, 1);
  });

  it('refuses an empty record list', () => {
    assertRecordError(() => buildRecordBatch([]), 'INVALID_RECORD');
  });

  it('decode checks the CRC, magic and completeness', () => {
    const buf = buildRecordBatch(INPUT);
    const flipped = Buffer.from(buf);
    flipped[buf.length - 2] ^= 1;
    assertRecordError(() => decodeRecordBatch(flipped), 'CORRUPT_MESSAGE', 'BATCH_CRC_MISMATCH');
    assertRecordError(() => decodeRecordBatch(buf.subarray(0, buf.length - 1)), 'CORRUPT_MESSAGE', 'BATCH_TRUNCATED');
    const v1 = Buffer.from(buf);
    v1[16] = 1;
    assertRecordError(() => decodeRecordBatch(v1), 'UNSUPPORTED_FOR_MESSAGE_FORMAT');
  });

  it('decode refuses a record count that disagrees with the bytes', () => {
    const buf = buildRecordBatch(INPUT);
    buf.writeInt32BE(5, 57);
    updateCrc(buf, 0);
    assertRecordError(() => decodeRecordBatch(buf), 'INVALID_RECORD', 'RECORD_MALFORMED');
    buf.writeInt32BE(3, 57);
    updateCrc(buf, 0);
    assertRecordError(() => decodeRecordBatch(buf), 'INVALID_RECORD', 'RECORD_MALFORMED');
  });

  it('decode honours the decompression cap', () => {
    const buf = buildRecordBatch([{ value: Buffer.alloc(100_000) }], { compression: 4 });
    assertRecordError(() => decodeRecordBatch(buf, 0, 50_000), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
    assert.equal(decodeRecordBatch(buf, 0, 200_000).records[0].value?.length, 100_000);
  });

  it('property: arbitrary records round trip through every codec', () => {
    const header = fc
      .record({ key: fc.string({ maxLength: 8 }), value: fc.option(fc.uint8Array({ maxLength: 16 }).map(Buffer.from)) })
      .map((h) => ({ key: h.key, value: h.value })); // plain objects: deepEqual compares prototypes
    const rec = fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 40 }).map(Buffer.from)),
      value: fc.option(fc.uint8Array({ maxLength: 400 }).map(Buffer.from)),
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      headers: fc.array(header, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(rec, { minLength: 1, maxLength: 20 }), fc.constantFrom(...CODECS), fc.nat(2 ** 50), (input, codec, baseOffset) => {
        const { header: h, records } = decodeRecordBatch(buildRecordBatch(input, { compression: codec, baseOffset }));
        assert.equal(h.recordsCount, input.length);
        assert.equal(h.maxTimestamp, Math.max(...input.map((r) => r.timestamp)));
        records.forEach((r, i) => {
          assert.equal(r.offset, baseOffset + i);
          assert.equal(r.timestamp, input[i].timestamp);
          assert.deepEqual(r.key, input[i].key);
          assert.deepEqual(r.value, input[i].value);
          assert.deepEqual(r.headers, input[i].headers);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('batches written by other clients', () => {
  for (const [codec, b64] of Object.entries(KAFKA_PYTHON_BATCHES)) {
    it(`kafka-python ${codec} batch decodes`, () => {
      const { header, records } = decodeRecordBatch(Buffer.from(b64, 'base64'));
      assert.equal(header.recordsCount, 3);
      assert.deepEqual(
        records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null]),
        [
          [0, 1_700_000_000_000, 'k0'],
          [1, 1_700_000_000_005, null],
          [2, 1_700_000_000_003, 'k2'],
        ],
      );
      assert.deepEqual(records[0].value, Buffer.from('v0'));
      const big = records[1].value as Buffer;
      if (codec === 'none') assert.deepEqual(big, CHUNK_HEAD);
      else {
        assert.equal(big.length, 70_000);
        assert.deepEqual(big.subarray(69_000), CHUNK);
      }
      assert.deepEqual(records[1].headers, [
        { key: 'h1', value: Buffer.from('x') },
        { key: 'h2', value: null },
      ]);
      assert.equal(records[2].value, null);
    });
  }

  it('kafkajs decodes what buildRecordBatch writes (uncompressed and gzip)', async () => {
    const Decoder = require('kafkajs/src/protocol/decoder');
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
    for (const compression of [0, 1] as const) {
      const buf = buildRecordBatch(INPUT, { compression, baseOffset: 50 });
      const batch = await decodeBatch(new Decoder(buf));
      assert.equal(batch.records.length, 4);
      assert.equal(batch.records[0].offset, '50');
      assert.equal(batch.records[0].value.toString(), 'v1');
      assert.equal(batch.records[1].key, null);
      assert.equal(batch.records[1].headers.trace.toString(), 'abc');
      assert.equal(batch.records[3].timestamp, '1700000000001');
    }
  });

  it('buildRecordBatch matches kafkajs byte for byte on the record encoding', async () => {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
    const records = [
      Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('b'), headers: { h: Buffer.from('v') } }),
      Record({ offsetDelta: 1, timestampDelta: 20, key: null, value: Buffer.from('c') }),
    ];
    const encoder = await RecordBatch({
      firstTimestamp: 1000,
      maxTimestamp: 1020,
      lastOffsetDelta: 1,
      partitionLeaderEpoch: -1,
      producerEpoch: -1,
      firstSequence: -1,
      records,
    });
    const ours = buildRecordBatch([
      { key: 'a', value: 'b', timestamp: 1000, headers: [{ key: 'h', value: Buffer.from('v') }] },
      { key: null, value: 'c', timestamp: 1020 },
    ]);
    // kafkajs writes recordsCount as part of the array; everything else lines up.
    assert.deepEqual(ours, encoder.buffer);
  });
});

describe('iterateBatches', () => {
  it('yields each complete batch with its position and stops at a torn tail', () => {
    const a = buildRecordBatch([{ value: 'a' }], { baseOffset: 0 });
    const b = buildRecordBatch([{ value: 'b' }, { value: 'c' }], { baseOffset: 1 });
    const c = buildRecordBatch([{ value: 'd' }], { baseOffset: 3 });
    const whole = Buffer.concat([a, b, c]);
    assert.deepEqual(
      [...iterateBatches(whole)].map((x) => [x.pos, x.header.baseOffset]),
      [
        [0, 0],
        [a.length, 1],
        [a.length + b.length, 3],
      ],
    );
    for (const cut of [1, 11, 12, 30, c.length - 1]) {
      assert.deepEqual(
        [...iterateBatches(whole.subarray(0, whole.length - cut))].map((x) => x.pos),
        [0, a.length],
      );
    }
    assert.deepEqual([...iterateBatches(Buffer.alloc(0))], []);
  });

  it('throws on a length field too small for any batch', () => {
    const bad = Buffer.concat([buildRecordBatch([{ value: 'a' }]), Buffer.alloc(70)]);
    assert.throws(() => [...iterateBatches(bad)], RecordError);
  });
});

describe('control batches', () => {
  for (const type of ['COMMIT', 'ABORT'] as const) {
    it(`${type} marker: transactional control batch with the documented key and value`, () => {
      const buf = buildControlBatch(type, 123n, 4, 17, 900, 1_700_000_000_000);
      const { header, records } = decodeRecordBatch(buf);
      assert.ok(isControl(header.attributes));
      assert.ok(isTransactional(header.attributes));
      assert.equal(header.producerId, 123n);
      assert.equal(header.producerEpoch, 4);
      assert.equal(header.baseOffset, 900);
      assert.equal(records.length, 1);
      assert.equal(records[0].timestamp, 1_700_000_000_000);
      assert.deepEqual(records[0].key, Buffer.from([0, 0, 0, type === 'COMMIT' ? 1 : 0]));
      assert.deepEqual(records[0].value, Buffer.from([0, 0, 0, 0, 0, 17]));
      assert.deepEqual(readControlRecord(records[0]), { type, typeCode: type === 'COMMIT' ? 1 : 0, coordinatorEpoch: 17 });
    });
  }

  it('readControlRecord reports other control types as UNKNOWN', () => {
    const rec = { offset: 0, timestamp: 0, key: Buffer.from([0, 0, 0, 2]), value: Buffer.alloc(8), headers: [] };
    assert.deepEqual(readControlRecord(rec), { type: 'UNKNOWN', typeCode: 2, coordinatorEpoch: -1 });
    assertRecordError(() => readControlRecord({ ...rec, key: null }), 'INVALID_RECORD');
  });
});
