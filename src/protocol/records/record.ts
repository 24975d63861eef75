/**
 * Records as objects: building and decoding whole v2 batches for tools, tests, control markers and the
 * client. NOT the broker's hot path (that is record-batch.ts / validate.ts, which never build objects).
 */
import { compress, decompress, isKnownCompression, type CompressionType } from './compression.js';
import {
  BATCH_HEADER_SIZE,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  OFFSET_ATTRIBUTES,
  OFFSET_CRC,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  batchSizeAt,
  computeCrc,
  readBatchHeader,
  timestampTypeOf,
  writeInt64,
  type BatchHeader,
} from './record-batch.js';
import { RecordError } from './record-error.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  /** Defaults to Date.now(). */
  timestamp?: number;
  headers?: RecordHeader[];
}

export interface BuildBatchOptions {
  baseOffset?: number;
  compression?: CompressionType;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  partitionLeaderEpoch?: number;
  /** 0 CreateTime (default), 1 LogAppendTime. */
  timestampType?: 0 | 1;
}

/** Decoding inflates compressed payloads to at most this many bytes unless told otherwise. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

// ---- building ----

export function buildRecordBatch(records: RecordInput[], opts: BuildBatchOptions = {}): Buffer {
  if (records.length === 0) throw new RecordError('INVALID_RECORD', 'RECORDS_COUNT_INVALID', 'a batch needs at least one record');
  const now = Date.now();
  const baseTimestamp = records[0].timestamp ?? now;
  let maxTimestamp = -Infinity;
  const encoded: Buffer[] = [];
  let bodySize = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const ts = r.timestamp ?? now;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const rec = encodeRecord(i, ts - baseTimestamp, toBytes(r.key ?? null), toBytes(r.value), r.headers ?? []);
    encoded.push(rec);
    bodySize += rec.length;
  }
  const codec = opts.compression ?? 0;
  const plain = Buffer.concat(encoded, bodySize);
  const body = codec === 0 ? plain : compress(codec, plain);

  let attributes = codec;
  if (opts.timestampType === 1) attributes |= TIMESTAMP_TYPE_MASK;
  if (opts.transactional) attributes |= TRANSACTIONAL_FLAG_MASK;
  if (opts.control) attributes |= CONTROL_FLAG_MASK;

  const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  writeInt64(buf, 0, opts.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, 8);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, 12);
  buf.writeInt8(CURRENT_MAGIC, 16);
  buf.writeInt16BE(attributes, OFFSET_ATTRIBUTES);
  buf.writeInt32BE(records.length - 1, 23);
  writeInt64(buf, 27, baseTimestamp);
  writeInt64(buf, 35, maxTimestamp);
  buf.writeBigInt64BE(opts.producerId ?? NO_PRODUCER_ID, 43);
  buf.writeInt16BE(opts.producerEpoch ?? NO_PRODUCER_EPOCH, 51);
  buf.writeInt32BE(opts.baseSequence ?? NO_SEQUENCE, 53);
  buf.writeInt32BE(records.length, 57);
  body.copy(buf, BATCH_HEADER_SIZE);
  buf.writeUInt32BE(computeCrc(buf, 0), OFFSET_CRC);
  return buf;
}

function toBytes(v: Buffer | string | null): Buffer | null {
  return v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function encodeRecord(offsetDelta: number, timestampDelta: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]): Buffer {
  const headerKeys = headers.map((h) => Buffer.from(h.key, 'utf8'));
  let bodySize =
    1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesFieldSize(key) + bytesFieldSize(value) + varintSize(headers.length);
  for (let i = 0; i < headers.length; i++) bodySize += bytesFieldSize(headerKeys[i]) + bytesFieldSize(headers[i].value);
  const out = Buffer.allocUnsafe(varintSize(bodySize) + bodySize);
  let p = writeVarint(out, 0, bodySize);
  out[p++] = 0; // attributes: unused
  p = writeVarlong(out, p, timestampDelta);
  p = writeVarint(out, p, offsetDelta);
  p = writeBytesField(out, p, key);
  p = writeBytesField(out, p, value);
  p = writeVarint(out, p, headers.length);
  for (let i = 0; i < headers.length; i++) {
    p = writeBytesField(out, p, headerKeys[i]);
    p = writeBytesField(out, p, headers[i].value);
  }
  return out;
}

// Zigzag varints. Values go through numbers (exact below 2^53), so varlongs avoid 32-bit bit operators.

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function unsignedVarintSize(u: number): number {
  let size = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    size++;
  }
  return size;
}

function writeUnsignedVarint(buf: Buffer, pos: number, u: number): number {
  while (u >= 128) {
    buf[pos++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[pos++] = u;
  return pos;
}

export function varintSize(v: number): number {
  return unsignedVarintSize(zigzag(v));
}

export const varlongSize = varintSize;

export function writeVarint(buf: Buffer, pos: number, v: number): number {
  return writeUnsignedVarint(buf, pos, zigzag(v));
}

export const writeVarlong = writeVarint;

function bytesFieldSize(b: Buffer | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}

function writeBytesField(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

// ---- decoding ----

/** Reads fields of one record payload, bounds-checked; every failure is INVALID_RECORD. */
class FieldReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }

  varlong(): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end || i === 10) throw malformed('bad varint');
      const b = this.buf[this.pos++];
      raw += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
    }
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  varint(): number {
    const start = this.pos;
    const v = this.varlong();
    if (this.pos - start > 5 || v > 0x7fffffff || v < -0x80000000) throw malformed('varint out of int32 range');
    return v;
  }

  bytes(nullable: boolean): Buffer | null {
    const len = this.varint();
    if (len === -1 && nullable) return null;
    if (len < 0 || len > this.end - this.pos) throw malformed(`bad field length ${len}`);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
}

/**
 * Decodes the whole batch at pos (CRC checked, payload inflated to at most maxDecompressedBytes). Keys and
 * values are views into `buf` (or into the inflated payload), not copies.
 */
export function decodeRecordBatch(
  buf: Buffer,
  pos = 0,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): { header: BatchHeader; records: Record[] } {
  const size = batchSizeAt(buf, pos);
  if (size < 0 || buf.length - pos < BATCH_HEADER_SIZE || size > buf.length - pos) {
    throw new RecordError('CORRUPT_MESSAGE', 'BATCH_TRUNCATED', 'incomplete record batch');
  }
  const header = readBatchHeader(buf, pos);
  if (header.magic !== CURRENT_MAGIC) {
    throw header.magic === 0 || header.magic === 1
      ? new RecordError('UNSUPPORTED_FOR_MESSAGE_FORMAT', 'MAGIC_UNSUPPORTED', `message format v${header.magic} is not supported`)
      : new RecordError('CORRUPT_MESSAGE', 'MAGIC_UNKNOWN', `unknown magic ${header.magic}`);
  }
  if (size < BATCH_HEADER_SIZE) throw new RecordError('CORRUPT_MESSAGE', 'BATCH_TOO_SMALL', 'batch length below the v2 header size');
  if (computeCrc(buf, pos) !== header.crc) throw new RecordError('CORRUPT_MESSAGE', 'BATCH_CRC_MISMATCH', 'batch CRC does not match');
  const codec = header.attributes & COMPRESSION_CODEC_MASK;
  if (!isKnownCompression(codec)) {
    throw new RecordError('UNSUPPORTED_COMPRESSION_TYPE', 'COMPRESSION_UNKNOWN', `unknown compression codec ${codec}`);
  }
  if (header.recordsCount < 0) throw malformed(`batch declares ${header.recordsCount} records`);
  let body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + size);
  if (codec !== 0) body = decompress(codec, body, maxDecompressedBytes);

  const logAppendTime = timestampTypeOf(header.attributes) === 1;
  const records: Record[] = [];
  const r = new FieldReader(body, 0, body.length);
  for (let i = 0; i < header.recordsCount; i++) {
    r.end = body.length;
    const length = r.varint();
    if (length < 1 || length > body.length - r.pos) throw malformed(`record ${i} length ${length} does not fit`);
    r.end = r.pos + length;
    r.pos++; // attributes
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = r.bytes(true);
    const value = r.bytes(true);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > r.end - r.pos) throw malformed(`record ${i} has ${headerCount} headers`);
    const headers: RecordHeader[] = [];
    for (let j = 0; j < headerCount; j++) {
      const hk = r.bytes(false) as Buffer;
      headers.push({ key: hk.toString('utf8'), value: r.bytes(true) });
    }
    if (r.pos !== r.end) throw malformed(`record ${i} length disagrees with its fields`);
    records.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  if (r.pos !== body.length) throw malformed('bytes left over after the last record');
  return { header, records };
}

/**
 * Complete batches in buf, in order. Framing only: it stops silently at a torn tail (fewer bytes than the
 * next batch declares) and throws CORRUPT_MESSAGE on a length field too small for a v2 header. Check
 * header.magic and isCrcValid yourself where it matters.
 */
export function* iterateBatches(buf: Buffer): Generator<{ pos: number; header: BatchHeader }> {
  let pos = 0;
  for (;;) {
    const size = batchSizeAt(buf, pos);
    if (size < 0) return;
    if (size < BATCH_HEADER_SIZE) throw new RecordError('CORRUPT_MESSAGE', 'BATCH_TOO_SMALL', `batch at ${pos} declares ${size} bytes`);
    if (size > buf.length - pos) return;
    yield { pos, header: readBatchHeader(buf, pos) };
    pos += size;
  }
}

// ---- control batches (transaction markers) ----

export type ControlRecordType = 'ABORT' | 'COMMIT';
const CONTROL_TYPE_CODES: { [t in ControlRecordType]: number } = { ABORT: 0, COMMIT: 1 };

/**
 * A transactional control batch holding one marker record. Key: version int16 (0) + type int16
 * (0 abort, 1 commit); value: version int16 (0) + coordinatorEpoch int32.
 */
export function buildControlBatch(
  type: ControlRecordType,
  producerId: bigint,
  producerEpoch: number,
  coordinatorEpoch: number,
  baseOffset = 0,
  timestamp: number = Date.now(),
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(CONTROL_TYPE_CODES[type], 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return buildRecordBatch([{ key, value, timestamp }], {
    baseOffset,
    producerId,
    producerEpoch,
    transactional: true,
    control: true,
  });
}

export interface ControlRecord {
  /** 'UNKNOWN' for types other than abort/commit (e.g. KRaft's own control records). */
  type: ControlRecordType | 'UNKNOWN';
  typeCode: number;
  /** Only meaningful for abort/commit markers; -1 when the value does not carry it. */
  coordinatorEpoch: number;
}

/** Reads the control record of a control batch (as returned by decodeRecordBatch). */
export function readControlRecord(record: Record): ControlRecord {
  if (record.key === null || record.key.length < 4) throw malformed('control record key is too short');
  const typeCode = record.key.readInt16BE(2);
  const type = typeCode === 0 ? 'ABORT' : typeCode === 1 ? 'COMMIT' : 'UNKNOWN';
  const coordinatorEpoch = type !== 'UNKNOWN' && record.value !== null && record.value.length >= 6 ? record.value.readInt32BE(2) : -1;
  return { type, typeCode, coordinatorEpoch };
}

function malformed(message: string): RecordError {
  return new RecordError('INVALID_RECORD', 'RECORD_MALFORMED', message);
}
