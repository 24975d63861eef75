/**
 * Record-level views and rewrites of one v2 batch, for the log cleaner (compaction) and for the produce
 * check that a compacted topic's records all carry a key. Pure: bytes in, bytes out.
 *
 * A rewritten batch keeps what readers and producer state rely on: its baseOffset, partitionLeaderEpoch,
 * lastOffsetDelta (so the batch still ends at its original last offset: offsets keep their gaps and the
 * producer's sequence range is unchanged), producer id/epoch/base sequence, attributes (codec, timestamp type,
 * transactional, control) and every retained record's offset delta and timestamp. Compressed payloads are
 * inflated and re-deflated with the same codec. Setting a delete horizon (KIP-534) stores it in baseTimestamp
 * with attribute bit 6; record timestamp deltas are re-based on it so record timestamps do not change.
 */
import { compress, decompress, type CompressionType } from './compression.js';
import {
  BATCH_HEADER_SIZE,
  COMPRESSION_CODEC_MASK,
  DELETE_HORIZON_FLAG_MASK,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BASE_TIMESTAMP,
  OFFSET_BATCH_LENGTH,
  OFFSET_CRC,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_RECORDS_COUNT,
  TIMESTAMP_TYPE_MASK,
  computeCrc,
  readInt64,
  writeInt64,
} from './record-batch.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, varintSize, writeVarint } from './record.js';
import { RecordError } from './record-error.js';

/** One record as the filter sees it; `key` is a view into the batch (or its inflated payload). */
export interface RecordView {
  /** Position of the record in its batch (Kafka's batchIndex in RecordErrors). */
  index: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  /** A null value: a tombstone. */
  tombstone: boolean;
}

/** The delete horizon of a batch (KIP-534), or -1 when it has none. */
export function deleteHorizonOf(buf: Buffer, pos: number): number {
  return (buf.readInt16BE(pos + OFFSET_ATTRIBUTES) & DELETE_HORIZON_FLAG_MASK) !== 0 ? readInt64(buf, pos + OFFSET_BASE_TIMESTAMP) : -1;
}

interface Slice extends RecordView {
  start: number;
  end: number;
  /** Where the key length varint starts: everything from here to `end` is copied as is. */
  tail: number;
  offsetDelta: number;
  attributes: number;
}

/** The batch's records as bytes (inflated when compressed). */
function payloadOf(buf: Buffer, pos: number, maxDecompressedBytes: number): Buffer {
  const size = buf.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
  const codec = (buf.readInt16BE(pos + OFFSET_ATTRIBUTES) & COMPRESSION_CODEC_MASK) as CompressionType;
  const body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + size);
  return codec === 0 ? body : decompress(codec, body, maxDecompressedBytes);
}

function* slices(buf: Buffer, pos: number, payload: Buffer): Generator<Slice> {
  const baseOffset = readInt64(buf, pos);
  const attributes = buf.readInt16BE(pos + OFFSET_ATTRIBUTES);
  const baseTimestamp = readInt64(buf, pos + OFFSET_BASE_TIMESTAMP);
  const logAppendTime = (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? readInt64(buf, pos + OFFSET_MAX_TIMESTAMP) : -1;
  const count = buf.readInt32BE(pos + OFFSET_RECORDS_COUNT);
  const r = { p: 0 };
  for (let i = 0; i < count; i++) {
    const recordStart = r.p;
    const length = varint(payload, r, payload.length);
    const start = r.p;
    const end = start + length;
    if (length < 1 || end > payload.length) throw malformed(`record ${i} length ${length} does not fit`);
    const recAttributes = payload[r.p++]!;
    const timestampDelta = varlong(payload, r, end);
    const offsetDelta = varint(payload, r, end);
    const tail = r.p;
    const keyLength = varint(payload, r, end);
    if (keyLength < -1 || keyLength > end - r.p) throw malformed(`record ${i} key length ${keyLength}`);
    const key = keyLength < 0 ? null : payload.subarray(r.p, r.p + keyLength);
    if (keyLength > 0) r.p += keyLength;
    const valueLength = varint(payload, r, end);
    if (valueLength < -1 || valueLength > end - r.p) throw malformed(`record ${i} value length ${valueLength}`);
    yield {
      index: i,
      offset: baseOffset + offsetDelta,
      timestamp: logAppendTime >= 0 ? logAppendTime : baseTimestamp + timestampDelta,
      key,
      tombstone: valueLength < 0,
      start: recordStart,
      end,
      tail,
      offsetDelta,
      attributes: recAttributes,
    };
    r.p = end;
  }
}

/** Calls `visit` for every record of the batch at pos (inflating a compressed payload). */
export function forEachRecord(buf: Buffer, pos: number, visit: (r: RecordView) => void, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): void {
  for (const s of slices(buf, pos, payloadOf(buf, pos, maxDecompressedBytes))) visit(s);
}

/** Indexes (batchIndex) of the records without a key, for a compacted topic's produce check. */
export function keylessRecordIndexes(buf: Buffer, pos: number, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): number[] {
  const out: number[] = [];
  forEachRecord(buf, pos, (r) => {
    if (r.key === null) out.push(r.index);
  }, maxDecompressedBytes);
  return out;
}

export interface FilterOptions {
  /** Whether a record stays. */
  retain: (r: RecordView) => boolean;
  /** Stamp this delete horizon on the batch (it must have none yet); -1 to leave the batch's as it is. */
  setDeleteHorizon: number;
  /** Stamp this delete horizon only if a retained record is a tombstone and the batch has none; -1: never. */
  deleteHorizonIfTombstone?: number;
  /** Keep an empty batch (header only) when no record stays: the producer's last batch (Kafka's RETAIN_EMPTY). */
  retainEmpty: boolean;
  maxDecompressedBytes?: number;
}

export type FilterResult =
  | { kind: 'unchanged'; retained: number }
  | { kind: 'deleted' }
  | { kind: 'rewritten'; batch: Buffer; retained: number };

/** Applies `retain` to the records of the batch at pos; see the file comment for what a rewrite keeps. */
export function filterBatch(buf: Buffer, pos: number, opts: FilterOptions): FilterResult {
  const payload = payloadOf(buf, pos, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  const kept: Slice[] = [];
  let total = 0;
  let tombstones = false;
  for (const s of slices(buf, pos, payload)) {
    total++;
    if (opts.retain(s)) {
      kept.push(s);
      if (s.tombstone) tombstones = true;
    }
  }
  let horizon = opts.setDeleteHorizon;
  const ifTombstone = opts.deleteHorizonIfTombstone ?? -1;
  if (horizon < 0 && ifTombstone >= 0 && tombstones && deleteHorizonOf(buf, pos) < 0) horizon = ifTombstone;
  if (kept.length === 0) {
    if (!opts.retainEmpty) return { kind: 'deleted' };
    return total === 0 ? { kind: 'unchanged', retained: 0 } : { kind: 'rewritten', batch: emptyBatch(buf, pos), retained: 0 };
  }
  if (kept.length === total && horizon < 0) return { kind: 'unchanged', retained: total };

  const attributes = buf.readInt16BE(pos + OFFSET_ATTRIBUTES);
  const oldBase = readInt64(buf, pos + OFFSET_BASE_TIMESTAMP);
  const newBase = horizon >= 0 ? horizon : oldBase;
  const logAppendTime = (attributes & TIMESTAMP_TYPE_MASK) !== 0;
  const parts: Buffer[] = [];
  let bodySize = 0;
  let maxTimestamp = -1;
  for (const s of kept) {
    if (s.timestamp > maxTimestamp) maxTimestamp = s.timestamp;
    let rec: Buffer;
    if (newBase === oldBase) {
      rec = payload.subarray(s.start, s.end);
    } else {
      // Same record with its timestamp delta re-based on the horizon (LogAppendTime ignores deltas: keep them).
      const tsDelta = logAppendTime ? 0 : s.timestamp - newBase;
      const tailBytes = payload.subarray(s.tail, s.end);
      const length = 1 + varintSize(tsDelta) + varintSize(s.offsetDelta) + tailBytes.length;
      rec = Buffer.allocUnsafe(varintSize(length) + length);
      let p = writeVarint(rec, 0, length);
      rec[p++] = s.attributes;
      p = writeVarint(rec, p, tsDelta);
      p = writeVarint(rec, p, s.offsetDelta);
      tailBytes.copy(rec, p);
    }
    parts.push(rec);
    bodySize += rec.length;
  }
  const codec = (attributes & COMPRESSION_CODEC_MASK) as CompressionType;
  const plain = Buffer.concat(parts, bodySize);
  const body = codec === 0 ? plain : compress(codec, plain);
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  buf.copy(out, 0, pos, pos + BATCH_HEADER_SIZE);
  body.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, OFFSET_BATCH_LENGTH);
  out.writeInt16BE(horizon >= 0 ? attributes | DELETE_HORIZON_FLAG_MASK : attributes, OFFSET_ATTRIBUTES);
  writeInt64(out, OFFSET_BASE_TIMESTAMP, newBase);
  if (!logAppendTime) writeInt64(out, OFFSET_MAX_TIMESTAMP, maxTimestamp);
  out.writeInt32BE(kept.length, OFFSET_RECORDS_COUNT);
  out.writeUInt32BE(computeCrc(out, 0), OFFSET_CRC);
  return { kind: 'rewritten', batch: out, retained: kept.length };
}

/** The batch's header with no records (uncompressed), still spanning its original offsets. */
function emptyBatch(buf: Buffer, pos: number): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
  buf.copy(out, 0, pos, pos + BATCH_HEADER_SIZE);
  const maxTimestamp = readInt64(buf, pos + OFFSET_MAX_TIMESTAMP);
  out.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD, OFFSET_BATCH_LENGTH);
  out.writeInt16BE(buf.readInt16BE(pos + OFFSET_ATTRIBUTES) & ~(COMPRESSION_CODEC_MASK | DELETE_HORIZON_FLAG_MASK), OFFSET_ATTRIBUTES);
  writeInt64(out, OFFSET_BASE_TIMESTAMP, maxTimestamp);
  out.writeInt32BE(buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA), OFFSET_LAST_OFFSET_DELTA);
  out.writeInt32BE(0, OFFSET_RECORDS_COUNT);
  out.writeUInt32BE(computeCrc(out, 0), OFFSET_CRC);
  return out;
}

function varlong(buf: Buffer, r: { p: number }, end: number): number {
  let raw = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (r.p >= end || i === 10) throw malformed('bad varint');
    const b = buf[r.p++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

function varint(buf: Buffer, r: { p: number }, end: number): number {
  const start = r.p;
  const v = varlong(buf, r, end);
  if (r.p - start > 5) throw malformed('varint longer than 5 bytes');
  return v;
}

function malformed(message: string): RecordError {
  return new RecordError('INVALID_RECORD', 'RECORD_MALFORMED', message);
}
