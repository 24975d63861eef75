import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import {
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  batchSizeAt,
  compressionOf,
  computeCrc,
  isControl,
  isCrcValid,
  isTransactional,
  readBatchHeader,
  readInt64,
  setBaseOffset,
  setPartitionLeaderEpoch,
  timestampTypeOf,
  writeInt64,
} from '../../../../src/protocol/records/record-batch.js';
import { buildRecordBatch } from '../../../../src/protocol/records/record.js';

function sample(): Buffer {
  return buildRecordBatch(
    [
      { key: 'a', value: 'one', timestamp: 1_700_000_000_000 },
      { key: null, value: 'two', timestamp: 1_700_000_000_009 },
      { value: null, timestamp: 1_700_000_000_004 },
    ],
    { baseOffset: 42, producerId: 7n, producerEpoch: 3, baseSequence: 11, partitionLeaderEpoch: 5 },
  );
}

describe('record-batch header access', () => {
  it('reads every header field at its documented position', () => {
    const buf = sample();
    const h = readBatchHeader(buf, 0);
    assert.equal(h.baseOffset, 42);
    assert.equal(h.batchLength + LOG_OVERHEAD, buf.length);
    assert.equal(h.partitionLeaderEpoch, 5);
    assert.equal(h.magic, 2);
    assert.equal(h.crc, buf.readUInt32BE(17));
    assert.equal(h.crc, crc32c(buf.subarray(21)) >>> 0);
    assert.equal(h.attributes, 0);
    assert.equal(h.lastOffsetDelta, 2);
    assert.equal(h.baseTimestamp, 1_700_000_000_000);
    assert.equal(h.maxTimestamp, 1_700_000_000_009);
    assert.equal(h.producerId, 7n);
    assert.equal(h.producerEpoch, 3);
    assert.equal(h.baseSequence, 11);
    assert.equal(h.recordsCount, 3);
  });

  it('reads a header at a non-zero position', () => {
    const one = sample();
    const buf = Buffer.concat([Buffer.alloc(7, 0xee), one]);
    assert.equal(readBatchHeader(buf, 7).baseOffset, 42);
    assert.equal(batchSizeAt(buf, 7), one.length);
    assert.ok(isCrcValid(buf, 7));
  });

  it('batchSizeAt: -1 below 12 bytes, else batchLength + 12', () => {
    const buf = sample();
    assert.equal(batchSizeAt(buf, 0), buf.length);
    assert.equal(batchSizeAt(buf.subarray(0, 11), 0), -1);
    assert.equal(batchSizeAt(buf.subarray(0, 12), 0), buf.length);
    assert.equal(batchSizeAt(buf, buf.length - 5), -1);
  });

  it('decodes attribute bits', () => {
    for (let codec = 0; codec <= 4; codec++) assert.equal(compressionOf(codec | 0x18), codec);
    assert.equal(timestampTypeOf(0x08), 1);
    assert.equal(timestampTypeOf(0x37), 0);
    assert.ok(isTransactional(0x10));
    assert.ok(!isTransactional(0x2f));
    assert.ok(isControl(0x20));
    assert.ok(!isControl(0x1f));
  });

  it('int64 helpers round-trip negatives and values above 2^32', () => {
    const b = Buffer.alloc(8);
    for (const v of [0, -1, 1, 2 ** 32, 2 ** 32 - 1, -(2 ** 32) - 5, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      writeInt64(b, 0, v);
      assert.equal(b.readBigInt64BE(0), BigInt(v));
      assert.equal(readInt64(b, 0), v);
    }
  });
});

describe('record-batch CRC', () => {
  it('detects any single flipped bit inside the CRC range', () => {
    const buf = sample();
    assert.ok(isCrcValid(buf, 0));
    for (let byte = 21; byte < buf.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        buf[byte] ^= 1 << bit;
        assert.equal(isCrcValid(buf, 0), false, `flip of bit ${bit} in byte ${byte} went unnoticed`);
        buf[byte] ^= 1 << bit;
      }
    }
    assert.ok(isCrcValid(buf, 0));
  });

  it('flips in the CRC field itself are noticed too', () => {
    const buf = sample();
    buf[18] ^= 0x40;
    assert.equal(isCrcValid(buf, 0), false);
  });

  it('setBaseOffset / setPartitionLeaderEpoch leave the CRC valid', () => {
    const buf = sample();
    const crc = computeCrc(buf, 0);
    setBaseOffset(buf, 0, 2 ** 40 + 3);
    setPartitionLeaderEpoch(buf, 0, 99);
    const h = readBatchHeader(buf, 0);
    assert.equal(h.baseOffset, 2 ** 40 + 3);
    assert.equal(h.partitionLeaderEpoch, 99);
    assert.equal(computeCrc(buf, 0), crc);
    assert.ok(isCrcValid(buf, 0));
  });

  it('computeCrc covers exactly the declared batch, not bytes after it', () => {
    const one = sample();
    const buf = Buffer.concat([one, Buffer.from([1, 2, 3])]);
    assert.equal(computeCrc(buf, 0), readBatchHeader(one, 0).crc);
    assert.equal(BATCH_HEADER_SIZE, 61);
  });
});
