import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { CompressionType } from '../../../../src/protocol/records/compression.js';
import { buildControlBatch, buildRecordBatch, decodeRecordBatch, type RecordInput } from '../../../../src/protocol/records/record.js';
import { isCrcValid, readBatchHeader, timestampTypeOf, updateCrc } from '../../../../src/protocol/records/record-batch.js';
import {
  RecordError,
  validateProduceRecords,
  type ValidateOptions,
} from '../../../../src/protocol/records/validate.js';
import { KAFKA_PYTHON_BATCHES } from './kafka-python-fixtures.js';

const require = createRequire(import.meta.url);
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const OPTS: ValidateOptions = {
  now: NOW,
  maxBatchBytes: 1024 * 1024,
  timestampType: 'CreateTime',
  maxTimestampBeforeMs: HOUR,
  maxTimestampAfterMs: HOUR,
};
const WIDE: ValidateOptions = { ...OPTS, maxTimestampBeforeMs: Number.MAX_SAFE_INTEGER, maxTimestampAfterMs: Number.MAX_SAFE_INTEGER };

function recs(n: number, ts = NOW): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, timestamp: ts + i }));
}

function assertRecordError(fn: () => unknown, kafkaError: string, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RecordError, `expected RecordError, got ${String(err)}`);
    assert.equal(err.kafkaError, kafkaError);
    if (code !== undefined) assert.equal(err.code, code);
    return true;
  });
}

/** Patch bytes inside the CRC'd range and fix the CRC, so the check under test is the one that fires. */
function patched(buf: Buffer, patch: (b: Buffer) => void): Buffer {
  const out = Buffer.from(buf);
  patch(out);
  updateCrc(out, 0);
  return out;
}

describe('validateProduceRecords: accepted payloads', () => {
  it('accepts one uncompressed batch and reports counts and timestamps', () => {
    const buf = buildRecordBatch(recs(3));
    const before = Buffer.from(buf);
    const v = validateProduceRecords(buf, OPTS);
    assert.equal(v.batches.length, 1);
    assert.deepEqual(v.positions, [0]);
    assert.equal(v.recordCount, 3);
    assert.equal(v.firstTimestamp, NOW);
    assert.equal(v.maxTimestamp, NOW + 2);
    assert.equal(v.maxTimestampOffsetDelta, 2);
    assert.equal(v.logAppendTime, -1);
    assert.equal(v.sizeInBytes, buf.length);
    assert.deepEqual(buf, before, 'a well-formed CreateTime batch is not rewritten');
  });

  it('accepts several concatenated batches of every codec', () => {
    const parts = ([0, 1, 2, 3, 4] as CompressionType[]).map((c, i) => buildRecordBatch(recs(i + 1), { compression: c }));
    const buf = Buffer.concat(parts);
    const v = validateProduceRecords(buf, OPTS);
    assert.equal(v.batches.length, 5);
    assert.equal(v.recordCount, 1 + 2 + 3 + 4 + 5);
    let pos = 0;
    v.positions.forEach((p, i) => {
      assert.equal(p, pos);
      pos += parts[i].length;
    });
    assert.equal(v.maxTimestamp, NOW + 4);
    assert.equal(v.maxTimestampOffsetDelta, 1 + 2 + 3 + 4 + 4);
  });

  it('accepts the kafka-python fixture batches of every codec', () => {
    for (const b64 of Object.values(KAFKA_PYTHON_BATCHES)) {
      const v = validateProduceRecords(Buffer.from(b64, 'base64'), { ...OPTS, now: 1_700_000_000_000 });
      assert.equal(v.recordCount, 3);
      assert.equal(v.maxTimestamp, 1_700_000_000_005);
    }
  });

  it('accepts what the kafkajs producer encodes, and corrects its maxTimestamp (last, not max) in place', async () => {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
    const encoder = await RecordBatch({
      firstTimestamp: NOW,
      maxTimestamp: NOW + 1, // kafkajs takes the last message's timestamp
      lastOffsetDelta: 2,
      partitionLeaderEpoch: 0,
      producerEpoch: 0,
      firstSequence: 0,
      records: [
        Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('a'), value: Buffer.from('1') }),
        Record({ offsetDelta: 1, timestampDelta: 50, key: null, value: Buffer.from('2'), headers: { x: 'y' } }),
        Record({ offsetDelta: 2, timestampDelta: 1, key: null, value: null }),
      ],
    });
    const buf: Buffer = encoder.buffer;
    const v = validateProduceRecords(buf, OPTS);
    assert.equal(v.recordCount, 3);
    assert.equal(v.maxTimestamp, NOW + 50);
    assert.equal(readBatchHeader(buf, 0).maxTimestamp, NOW + 50);
    assert.ok(isCrcValid(buf, 0));
  });

  it('idempotent batches (producerId >= 0 with a sequence) pass', () => {
    const buf = buildRecordBatch(recs(2), { producerId: 5n, producerEpoch: 0, baseSequence: 0, transactional: true });
    assert.equal(validateProduceRecords(buf, OPTS).batches[0].producerId, 5n);
  });
});

describe('validateProduceRecords: LogAppendTime', () => {
  for (const codec of [0, 3] as CompressionType[]) {
    it(`codec ${codec}: stamps attributes and maxTimestamp, keeps the CRC valid`, () => {
      const buf = Buffer.concat([buildRecordBatch(recs(2, 5), { compression: codec }), buildRecordBatch(recs(1, 9), { compression: codec })]);
      const v = validateProduceRecords(buf, { ...OPTS, timestampType: 'LogAppendTime' });
      assert.equal(v.logAppendTime, NOW);
      assert.equal(v.maxTimestamp, NOW);
      assert.equal(v.firstTimestamp, NOW);
      for (const pos of v.positions) {
        const h = readBatchHeader(buf, pos);
        assert.equal(timestampTypeOf(h.attributes), 1);
        assert.equal(h.maxTimestamp, NOW);
        assert.ok(isCrcValid(buf, pos));
        assert.equal(h.crc, v.batches[v.positions.indexOf(pos)].crc, 'returned header reflects the rewrite');
        assert.equal(h.attributes & 7, codec);
      }
      assert.deepEqual(
        decodeRecordBatch(buf, 0).records.map((r) => r.timestamp),
        [NOW, NOW],
      );
    });
  }

  it('does not apply the CreateTime window', () => {
    const buf = buildRecordBatch(recs(1, 0));
    assert.equal(validateProduceRecords(buf, { ...OPTS, timestampType: 'LogAppendTime' }).recordCount, 1);
  });

  it('CreateTime clears a LogAppendTime bit sent by a client', () => {
    const buf = buildRecordBatch(recs(1), { timestampType: 1 });
    validateProduceRecords(buf, OPTS);
    assert.equal(timestampTypeOf(readBatchHeader(buf, 0).attributes), 0);
    assert.ok(isCrcValid(buf, 0));
  });
});

describe('validateProduceRecords: rejected payloads', () => {
  const good = buildRecordBatch(recs(3));

  it('empty payload → CORRUPT_MESSAGE', () => {
    assertRecordError(() => validateProduceRecords(Buffer.alloc(0), OPTS), 'CORRUPT_MESSAGE', 'RECORDS_EMPTY');
  });

  it('truncated batch or trailing junk → CORRUPT_MESSAGE', () => {
    for (const cut of [1, 20, good.length - 17, good.length - 60]) {
      assertRecordError(() => validateProduceRecords(good.subarray(0, good.length - cut), OPTS), 'CORRUPT_MESSAGE', 'BATCH_TRUNCATED');
    }
    assertRecordError(() => validateProduceRecords(Buffer.concat([good, Buffer.alloc(5)]), OPTS), 'CORRUPT_MESSAGE', 'BATCH_TRUNCATED');
  });

  it('batch length below the header size → CORRUPT_MESSAGE', () => {
    const b = Buffer.from(good);
    b.writeInt32BE(10, 8);
    assertRecordError(() => validateProduceRecords(b, OPTS), 'CORRUPT_MESSAGE', 'BATCH_TOO_SMALL');
    b.writeInt32BE(-1, 8);
    assertRecordError(() => validateProduceRecords(b, OPTS), 'CORRUPT_MESSAGE', 'BATCH_TOO_SMALL');
  });

  it('magic 0 and 1 → UNSUPPORTED_FOR_MESSAGE_FORMAT; other magic → CORRUPT_MESSAGE', () => {
    for (const magic of [0, 1]) {
      const b = Buffer.from(good);
      b[16] = magic;
      assertRecordError(() => validateProduceRecords(b, OPTS), 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'MAGIC_UNSUPPORTED');
    }
    // A real v1 message set (short, so it must not be mistaken for a torn v2 batch).
    const v1 = Buffer.alloc(12 + 22);
    v1.writeInt32BE(22, 8); // offset 0, size, crc, magic 1, attributes 0, timestamp, key null, value null
    v1[16] = 1;
    v1.writeBigInt64BE(BigInt(NOW), 18);
    v1.writeInt32BE(-1, 26);
    v1.writeInt32BE(-1, 30);
    assertRecordError(() => validateProduceRecords(v1, OPTS), 'UNSUPPORTED_FOR_MESSAGE_FORMAT');
    for (const magic of [3, 0x7f, 0xff]) {
      const b = Buffer.from(good);
      b[16] = magic;
      assertRecordError(() => validateProduceRecords(b, OPTS), 'CORRUPT_MESSAGE', 'MAGIC_UNKNOWN');
    }
  });

  it('batch over maxBatchBytes → MESSAGE_TOO_LARGE (the limit counts the whole batch)', () => {
    assertRecordError(() => validateProduceRecords(good, { ...OPTS, maxBatchBytes: good.length - 1 }), 'MESSAGE_TOO_LARGE', 'BATCH_TOO_LARGE');
    assert.equal(validateProduceRecords(Buffer.from(good), { ...OPTS, maxBatchBytes: good.length }).recordCount, 3);
  });

  it('CRC mismatch → CORRUPT_MESSAGE, wherever the flipped bit is', () => {
    for (const at of [21, 30, 61, good.length - 1]) {
      const b = Buffer.from(good);
      b[at] ^= 0x10;
      assertRecordError(() => validateProduceRecords(b, OPTS), 'CORRUPT_MESSAGE', 'BATCH_CRC_MISMATCH');
    }
  });

  it('unknown compression codec → UNSUPPORTED_COMPRESSION_TYPE', () => {
    for (const codec of [5, 6, 7]) {
      const b = patched(good, (x) => x.writeInt16BE(codec, 21));
      assertRecordError(() => validateProduceRecords(b, OPTS), 'UNSUPPORTED_COMPRESSION_TYPE', 'COMPRESSION_UNKNOWN');
    }
  });

  it('control batch from a client → INVALID_RECORD, unless allowed', () => {
    const ctl = buildControlBatch('COMMIT', 1n, 0, 0, 0, NOW);
    assertRecordError(() => validateProduceRecords(Buffer.from(ctl), OPTS), 'INVALID_RECORD', 'CONTROL_BATCH_FROM_CLIENT');
    const ok = { ...OPTS, allowControl: true };
    const c2 = buildControlBatch('ABORT', 1n, 0, 0, 0, NOW);
    // Control batches have no sequence; a producer id with sequence -1 must be allowed for them.
    assert.equal(validateProduceRecords(c2, ok).recordCount, 1);
  });

  it('recordsCount < 1 or lastOffsetDelta mismatch → INVALID_RECORD', () => {
    assertRecordError(() => validateProduceRecords(patched(good, (b) => b.writeInt32BE(0, 57)), OPTS), 'INVALID_RECORD', 'RECORDS_COUNT_INVALID');
    assertRecordError(() => validateProduceRecords(patched(good, (b) => b.writeInt32BE(-3, 57)), OPTS), 'INVALID_RECORD', 'RECORDS_COUNT_INVALID');
    assertRecordError(() => validateProduceRecords(patched(good, (b) => b.writeInt32BE(1, 23)), OPTS), 'INVALID_RECORD', 'LAST_OFFSET_DELTA_MISMATCH');
  });

  it('compressed batch with no payload → INVALID_RECORD', () => {
    const empty = Buffer.from(good.subarray(0, 61));
    empty.writeInt32BE(61 - 12, 8);
    empty.writeInt16BE(1, 21);
    updateCrc(empty, 0);
    assertRecordError(() => validateProduceRecords(empty, OPTS), 'INVALID_RECORD', 'BATCH_PAYLOAD_EMPTY');
  });

  it('records count that disagrees with the record chain → INVALID_RECORD', () => {
    const more = patched(good, (b) => {
      b.writeInt32BE(4, 57);
      b.writeInt32BE(3, 23);
    });
    assertRecordError(() => validateProduceRecords(more, OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
    const fewer = patched(good, (b) => {
      b.writeInt32BE(2, 57);
      b.writeInt32BE(1, 23);
    });
    assertRecordError(() => validateProduceRecords(fewer, OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
  });

  it('bad record chain → INVALID_RECORD', () => {
    // Record 0 starts at 61: length varint, attributes, timestampDelta (1 byte, 0), offsetDelta at 64.
    assert.equal(good[64], 0);
    assertRecordError(() => validateProduceRecords(patched(good, (b) => (b[64] = 2)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
    // Record length one too long / too short.
    assertRecordError(() => validateProduceRecords(patched(good, (b) => (b[61] += 2)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
    assertRecordError(() => validateProduceRecords(patched(good, (b) => (b[61] -= 2)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
    // Key length -2 (zigzag 3).
    assertRecordError(() => validateProduceRecords(patched(good, (b) => (b[65] = 3)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
    // Negative header count (zigzag 1 = -1) in the last byte of record 0.
    const rec0End = 61 + 1 + good[61] / 2;
    assert.equal(good[rec0End - 1], 0);
    assertRecordError(() => validateProduceRecords(patched(good, (b) => (b[rec0End - 1] = 1)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
  });

  it('a varint longer than 5 bytes → INVALID_RECORD', () => {
    const rec = Buffer.from([0x1c, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00]);
    const b = buildRecordBatch([{ value: null, timestamp: NOW }]);
    const hdr = b.subarray(0, 61);
    const whole = Buffer.concat([hdr, rec]);
    whole.writeInt32BE(whole.length - 12, 8);
    updateCrc(whole, 0);
    assertRecordError(() => validateProduceRecords(whole, OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
  });

  it('header with a null key → INVALID_RECORD', () => {
    const b = buildRecordBatch([{ value: 'v', timestamp: NOW, headers: [{ key: 'h', value: null }] }]);
    // The record ends [keyLen 02]['h'][valueLen 01]; make the key length -1.
    assert.equal(b[b.length - 3], 2);
    assertRecordError(() => validateProduceRecords(patched(b, (x) => (x[x.length - 3] = 1)), OPTS), 'INVALID_RECORD', 'RECORD_MALFORMED');
  });

  it('transactional batch without a producer id, or idempotent without a sequence → INVALID_RECORD', () => {
    assertRecordError(() => validateProduceRecords(buildRecordBatch(recs(1), { transactional: true }), OPTS), 'INVALID_RECORD', 'PRODUCER_ID_MISSING');
    assertRecordError(() => validateProduceRecords(buildRecordBatch(recs(1), { producerId: 3n }), OPTS), 'INVALID_RECORD', 'SEQUENCE_INVALID');
  });

  it('CreateTime: a record outside [now - before, now + after] → INVALID_TIMESTAMP', () => {
    const edge = [{ value: 'a', timestamp: NOW - HOUR }, { value: 'b', timestamp: NOW + HOUR }];
    assert.equal(validateProduceRecords(buildRecordBatch(edge), OPTS).recordCount, 2);
    for (const ts of [NOW - HOUR - 1, NOW + HOUR + 1, -1]) {
      // The bad timestamp is on the middle record, not the max: every record is checked when uncompressed.
      const b = buildRecordBatch([{ value: 'a', timestamp: NOW }, { value: 'b', timestamp: ts }, { value: 'c', timestamp: NOW }]);
      assertRecordError(() => validateProduceRecords(b, OPTS), 'INVALID_TIMESTAMP', 'TIMESTAMP_OUT_OF_RANGE');
    }
  });

  it('CreateTime, compressed: the batch maxTimestamp is checked', () => {
    assertRecordError(() => validateProduceRecords(buildRecordBatch(recs(2, NOW + 2 * HOUR), { compression: 1 }), OPTS), 'INVALID_TIMESTAMP');
    assertRecordError(() => validateProduceRecords(buildRecordBatch(recs(2, NOW - 2 * HOUR), { compression: 4 }), OPTS), 'INVALID_TIMESTAMP');
  });

  it('one bad batch after a good one rejects the whole payload', () => {
    const bad = Buffer.from(good);
    bad[70] ^= 1;
    assertRecordError(() => validateProduceRecords(Buffer.concat([good, bad]), OPTS), 'CORRUPT_MESSAGE');
  });
});

describe('validateProduceRecords: fuzzing', () => {
  const isRecordError = (fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
    }
  };

  it('random bytes only ever throw RecordError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        isRecordError(() => validateProduceRecords(Buffer.from(bytes), WIDE));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a plausible v2 header (valid CRC) only ever throw RecordError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 7 }), (body, count, attrs) => {
        const buf = Buffer.alloc(61 + body.length);
        buf.writeInt32BE(buf.length - 12, 8);
        buf[16] = 2;
        buf.writeInt16BE(attrs, 21);
        buf.writeInt32BE(count - 1, 23);
        buf.writeBigInt64BE(-1n, 43);
        buf.writeInt32BE(count, 57);
        Buffer.from(body).copy(buf, 61);
        updateCrc(buf, 0);
        isRecordError(() => validateProduceRecords(buf, WIDE));
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid batches: only RecordError, and whatever validates also decodes', () => {
    const base = Buffer.concat([
      buildRecordBatch([
        { key: 'key', value: 'value', timestamp: NOW, headers: [{ key: 'h', value: Buffer.from('hv') }] },
        { key: null, value: Buffer.alloc(200, 1), timestamp: NOW + 5 },
        { value: null, timestamp: NOW - 300 },
      ]),
      buildRecordBatch(recs(2), { compression: 1 }),
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (mutations, fixCrc) => {
          const buf = Buffer.from(base);
          for (const m of mutations) buf[m.at] = m.value;
          // Fixing the CRC lets mutations reach the record walk instead of stopping at the checksum.
          if (fixCrc && buf.readInt32BE(8) === base.readInt32BE(8)) updateCrc(buf, 0);
          let v;
          try {
            v = validateProduceRecords(buf, WIDE);
          } catch (err) {
            if (err instanceof RecordError) return;
            throw err;
          }
          for (const pos of v.positions) {
            const h = readBatchHeader(buf, pos);
            if ((h.attributes & 7) === 0) assert.equal(decodeRecordBatch(buf, pos).records.length, h.recordsCount);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every batch buildRecordBatch can write validates', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.option(fc.string()), value: fc.option(fc.string()), timestamp: fc.integer({ min: NOW - HOUR, max: NOW + HOUR }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.constantFrom<CompressionType>(0, 1, 2, 3, 4),
        (input, compression) => {
          const v = validateProduceRecords(buildRecordBatch(input, { compression }), OPTS);
          assert.equal(v.recordCount, input.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
