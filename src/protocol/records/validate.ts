/**
 * Validation of a Produce request's `records` field (one partition: one or more concatenated v2 batches)
 * before it is appended. Works on the bytes in place and creates no per-record objects: batch headers are
 * checked, uncompressed record chains are walked with a cursor, compressed payloads are left closed.
 * With LogAppendTime (or to correct a CreateTime batch's maxTimestamp) the batch is rewritten in place and
 * its CRC recomputed, so the caller's buffer is what should be stored.
 */
import {
  BATCH_HEADER_SIZE,
  COMPRESSION_CODEC_MASK,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BATCH_LENGTH,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  TIMESTAMP_TYPE_MASK,
  computeCrc,
  isControl,
  isTransactional,
  readBatchHeader,
  updateCrc,
  writeInt64,
  type BatchHeader,
} from './record-batch.js';
import { RecordError } from './record-error.js';

export { RecordError } from './record-error.js';
export type { RecordKafkaError } from './record-error.js';

export interface ValidateOptions {
  /** The broker's clock (ms): the LogAppendTime stamp and the centre of the CreateTime window. */
  now: number;
  /** message.max.bytes / max.message.bytes: limit on one batch's total size (header included). */
  maxBatchBytes: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  /** CreateTime only: a timestamp earlier than now - this is rejected. */
  maxTimestampBeforeMs: number;
  /** CreateTime only: a timestamp later than now + this is rejected. */
  maxTimestampAfterMs: number;
  /** Control batches are written by the broker itself (transaction markers); clients may not send them. */
  allowControl?: boolean;
}

export interface ValidatedBatches {
  /** Headers as they are in `buf` after validation (stamped attributes/maxTimestamp/crc included). */
  batches: BatchHeader[];
  /** Byte position of each batch in `buf`. */
  positions: number[];
  /** Records (= offsets) the payload needs: the sum of lastOffsetDelta + 1. */
  recordCount: number;
  /** Timestamp of the first record of the first batch (LogAppendTime: now). */
  firstTimestamp: number;
  /** Largest maxTimestamp over the batches (LogAppendTime: now). */
  maxTimestamp: number;
  /** Offset of the last record of the batch holding maxTimestamp, relative to the payload's first offset. */
  maxTimestampOffsetDelta: number;
  /** now when the topic uses LogAppendTime, else -1 (as the Produce response reports it). */
  logAppendTime: number;
  /** Total bytes validated (always buf.length). */
  sizeInBytes: number;
}

export function validateProduceRecords(buf: Buffer, opts: ValidateOptions): ValidatedBatches {
  if (buf.length === 0) throw new RecordError('CORRUPT_MESSAGE', 'RECORDS_EMPTY', 'produce payload holds no record batch');
  const logAppend = opts.timestampType === 'LogAppendTime';
  const minTs = opts.now - opts.maxTimestampBeforeMs;
  const maxTs = opts.now + opts.maxTimestampAfterMs;
  const batches: BatchHeader[] = [];
  const positions: number[] = [];
  let recordCount = 0;
  let firstTimestamp = 0;
  let maxTimestamp = -Infinity;
  let maxTimestampOffsetDelta = 0;
  let pos = 0;
  while (pos < buf.length) {
    const size = checkFraming(buf, pos, opts.maxBatchBytes);
    const h = readBatchHeader(buf, pos);
    checkHeader(buf, pos, h, opts.allowControl === true);
    const compressed = (h.attributes & COMPRESSION_CODEC_MASK) !== 0;
    let batchMax = h.maxTimestamp;
    if (!compressed) {
      // Also checks every record's timestamp against the window when CreateTime applies.
      batchMax = walkRecords(buf, pos + BATCH_HEADER_SIZE, pos + size, h, logAppend ? -Infinity : minTs, logAppend ? Infinity : maxTs);
    } else if (size === BATCH_HEADER_SIZE) {
      throw invalid('BATCH_PAYLOAD_EMPTY', 'compressed batch has no payload');
    }
    if (logAppend) {
      stamp(buf, pos, h, h.attributes | TIMESTAMP_TYPE_MASK, opts.now);
    } else {
      if (compressed && (h.maxTimestamp < minTs || h.maxTimestamp > maxTs)) throw badTimestamp(h.maxTimestamp, minTs, maxTs);
      // Kafka trusts the records, not the header, for an uncompressed batch's maxTimestamp.
      stamp(buf, pos, h, h.attributes & ~TIMESTAMP_TYPE_MASK, batchMax);
    }
    if (batches.length === 0) firstTimestamp = logAppend ? opts.now : h.baseTimestamp;
    if (h.maxTimestamp > maxTimestamp) {
      maxTimestamp = h.maxTimestamp;
      maxTimestampOffsetDelta = recordCount + h.lastOffsetDelta;
    }
    recordCount += h.lastOffsetDelta + 1;
    batches.push(h);
    positions.push(pos);
    pos += size;
  }
  return {
    batches,
    positions,
    recordCount,
    firstTimestamp,
    maxTimestamp,
    maxTimestampOffsetDelta,
    logAppendTime: logAppend ? opts.now : -1,
    sizeInBytes: buf.length,
  };
}

/** Checks that a whole v2 batch of acceptable size is at pos; returns its total size. */
function checkFraming(buf: Buffer, pos: number, maxBatchBytes: number): number {
  const remaining = buf.length - pos;
  if (remaining <= OFFSET_MAGIC) throw corrupt('BATCH_TRUNCATED', `${remaining} trailing bytes cannot hold a batch`);
  const magic = buf.readInt8(pos + OFFSET_MAGIC);
  if (magic === 0 || magic === 1) {
    throw new RecordError('UNSUPPORTED_FOR_MESSAGE_FORMAT', 'MAGIC_UNSUPPORTED', `message format v${magic} is not supported; use v2 record batches`);
  }
  if (magic !== CURRENT_MAGIC) throw corrupt('MAGIC_UNKNOWN', `unknown magic ${magic}`);
  const size = buf.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE) throw corrupt('BATCH_TOO_SMALL', `batch length ${size - LOG_OVERHEAD} is below the v2 header size`);
  if (size > remaining) throw corrupt('BATCH_TRUNCATED', `batch of ${size} bytes has only ${remaining} bytes present`);
  if (size > maxBatchBytes) {
    throw new RecordError('MESSAGE_TOO_LARGE', 'BATCH_TOO_LARGE', `batch of ${size} bytes exceeds the limit of ${maxBatchBytes}`);
  }
  return size;
}

function checkHeader(buf: Buffer, pos: number, h: BatchHeader, allowControl: boolean): void {
  if (computeCrc(buf, pos) !== h.crc) throw corrupt('BATCH_CRC_MISMATCH', 'batch CRC does not match its contents');
  const codec = h.attributes & COMPRESSION_CODEC_MASK;
  if (codec > 4) {
    throw new RecordError('UNSUPPORTED_COMPRESSION_TYPE', 'COMPRESSION_UNKNOWN', `unknown compression codec ${codec}`);
  }
  if (isControl(h.attributes) && !allowControl) throw invalid('CONTROL_BATCH_FROM_CLIENT', 'clients may not write control batches');
  if (h.recordsCount < 1) throw invalid('RECORDS_COUNT_INVALID', `batch declares ${h.recordsCount} records`);
  if (h.lastOffsetDelta !== h.recordsCount - 1) {
    throw invalid('LAST_OFFSET_DELTA_MISMATCH', `lastOffsetDelta ${h.lastOffsetDelta} does not fit ${h.recordsCount} records`);
  }
  if (isTransactional(h.attributes) && h.producerId < 0n) throw invalid('PRODUCER_ID_MISSING', 'transactional batch without a producer id');
  // Transaction markers carry a producer id but no sequence.
  if (h.producerId >= 0n && h.baseSequence < 0 && !isControl(h.attributes)) throw invalid('SEQUENCE_INVALID', `idempotent batch with base sequence ${h.baseSequence}`);
}

/** Writes attributes and maxTimestamp if they differ, recomputing the CRC only then. */
function stamp(buf: Buffer, pos: number, h: BatchHeader, attributes: number, maxTimestamp: number): void {
  if (attributes === h.attributes && maxTimestamp === h.maxTimestamp) return;
  buf.writeInt16BE(attributes, pos + OFFSET_ATTRIBUTES);
  writeInt64(buf, pos + OFFSET_MAX_TIMESTAMP, maxTimestamp);
  h.attributes = attributes;
  h.maxTimestamp = maxTimestamp;
  h.crc = updateCrc(buf, pos);
}

// ---- the record chain walk ----
// Record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint | keyLength varint |
// key | valueLength varint | value | headersCount varint | [headerKeyLength varint | key | headerValueLength varint | value]
// Varints are zigzag-encoded. The reader advances `cursor` instead of returning a pair.

let cursor = 0;

function readVarint(buf: Buffer, end: number): number {
  let pos = cursor;
  if (pos >= end) throw malformed('varint runs past the record');
  let b = buf[pos++];
  if (b < 0x80) {
    cursor = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let raw = b & 0x7f;
  for (let shift = 7; ; shift += 7) {
    if (pos >= end) throw malformed('varint runs past the record');
    if (shift > 28) throw malformed('varint longer than 5 bytes');
    b = buf[pos++];
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  cursor = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

/** A 64-bit zigzag varint as a number (exact below 2^53; beyond that only its magnitude matters here). */
function readVarlong(buf: Buffer, end: number): number {
  let pos = cursor;
  let raw = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (pos >= end) throw malformed('varlong runs past the record');
    if (i === 10) throw malformed('varlong longer than 10 bytes');
    const b = buf[pos++];
    raw += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  cursor = pos;
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/** Skips a length-prefixed byte field (length -1 = null when nullable). */
function skipBytes(buf: Buffer, end: number, nullable: boolean): void {
  const len = readVarint(buf, end);
  if (len < 0) {
    if (len === -1 && nullable) return;
    throw malformed(`invalid field length ${len}`);
  }
  if (len > end - cursor) throw malformed('field runs past the record');
  cursor += len;
}

/**
 * Walks the uncompressed records of the batch spanning [start, end) without creating objects. Returns the
 * largest record timestamp; throws INVALID_TIMESTAMP for one outside [minTs, maxTs].
 */
function walkRecords(buf: Buffer, start: number, end: number, h: BatchHeader, minTs: number, maxTs: number): number {
  cursor = start;
  let max = -Infinity;
  for (let i = 0; i < h.recordsCount; i++) {
    const length = readVarint(buf, end);
    if (length < 1 || length > end - cursor) throw malformed(`record ${i} length ${length} does not fit the batch`);
    const recordEnd = cursor + length;
    cursor++; // attributes: no bits defined
    const ts = h.baseTimestamp + readVarlong(buf, recordEnd);
    if (ts < minTs || ts > maxTs) throw badTimestamp(ts, minTs, maxTs);
    if (ts > max) max = ts;
    if (readVarint(buf, recordEnd) !== i) throw malformed(`record ${i} has offset delta out of sequence`);
    skipBytes(buf, recordEnd, true); // key
    skipBytes(buf, recordEnd, true); // value
    const headers = readVarint(buf, recordEnd);
    if (headers < 0) throw malformed(`record ${i} has ${headers} headers`);
    for (let j = 0; j < headers; j++) {
      skipBytes(buf, recordEnd, false); // header key: never null
      skipBytes(buf, recordEnd, true); // header value
    }
    if (cursor !== recordEnd) throw malformed(`record ${i} length disagrees with its fields`);
  }
  if (cursor !== end) throw malformed('bytes left over after the last record');
  return max;
}

function corrupt(code: string, message: string): RecordError {
  return new RecordError('CORRUPT_MESSAGE', code, message);
}

function invalid(code: string, message: string): RecordError {
  return new RecordError('INVALID_RECORD', code, message);
}

function malformed(message: string): RecordError {
  return new RecordError('INVALID_RECORD', 'RECORD_MALFORMED', message);
}

function badTimestamp(ts: number, minTs: number, maxTs: number): RecordError {
  return new RecordError('INVALID_TIMESTAMP', 'TIMESTAMP_OUT_OF_RANGE', `timestamp ${ts} is outside the accepted window [${minTs}, ${maxTs}]`);
}
