/**
 * Record batch (magic v2) header access on opaque bytes: the hot path of produce, storage and fetch.
 *
 * Layout (big-endian), offsets relative to the batch start:
 *   @0  baseOffset int64        @8  batchLength int32 (bytes after this field; total = batchLength + 12)
 *   @12 partitionLeaderEpoch int32   @16 magic int8 (2)   @17 crc uint32 (CRC-32C of bytes 21..end)
 *   @21 attributes int16  (bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control, 6 delete horizon)
 *   @23 lastOffsetDelta int32   @27 baseTimestamp int64   @35 maxTimestamp int64
 *   @43 producerId int64   @51 producerEpoch int16   @53 baseSequence int32   @57 recordsCount int32
 *   @61 records (compressed as one blob when the codec is not 0)
 * baseOffset and partitionLeaderEpoch sit before the CRC'd range, so the broker can rewrite them freely.
 * Offsets and timestamps are JS numbers (exact below 2^53); producerId is a bigint because it is an id.
 */
import { crc32c } from '@node-rs/crc32';
import type { CompressionType } from './compression.js';

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;

export const OFFSET_BASE_OFFSET = 0;
export const OFFSET_BATCH_LENGTH = 8;
export const OFFSET_PARTITION_LEADER_EPOCH = 12;
export const OFFSET_MAGIC = 16;
export const OFFSET_CRC = 17;
export const OFFSET_ATTRIBUTES = 21;
export const OFFSET_LAST_OFFSET_DELTA = 23;
export const OFFSET_BASE_TIMESTAMP = 27;
export const OFFSET_MAX_TIMESTAMP = 35;
export const OFFSET_PRODUCER_ID = 43;
export const OFFSET_PRODUCER_EPOCH = 51;
export const OFFSET_BASE_SEQUENCE = 53;
export const OFFSET_RECORDS_COUNT = 57;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

const TWO_32 = 4294967296;

export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the length field; the batch occupies batchLength + LOG_OVERHEAD bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** int64 as a JS number; exact for |v| < 2^53, which offsets and epoch-millisecond timestamps are. */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_32, pos + 4);
}

/** Caller guarantees BATCH_HEADER_SIZE bytes at pos. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + OFFSET_BATCH_LENGTH),
    partitionLeaderEpoch: buf.readInt32BE(pos + OFFSET_PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(pos + OFFSET_MAGIC),
    crc: buf.readUInt32BE(pos + OFFSET_CRC),
    attributes: buf.readInt16BE(pos + OFFSET_ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(buf, pos + OFFSET_BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + OFFSET_MAX_TIMESTAMP),
    producerId: buf.readBigInt64BE(pos + OFFSET_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + OFFSET_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFFSET_BASE_SEQUENCE),
    recordsCount: buf.readInt32BE(pos + OFFSET_RECORDS_COUNT),
  };
}

/** Total bytes of the batch at pos (batchLength + 12), or -1 if fewer than 12 bytes remain. May be < 12 on garbage. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  if (buf.length - pos < LOG_OVERHEAD) return -1;
  return buf.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
}

export function compressionOf(attributes: number): CompressionType {
  return (attributes & COMPRESSION_CODEC_MASK) as CompressionType;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_FLAG_MASK) !== 0;
}

/** 0 CreateTime, 1 LogAppendTime. */
export function timestampTypeOf(attributes: number): 0 | 1 {
  return (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 1 : 0;
}

/** Outside the CRC: no recomputation needed. */
export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64(buf, pos + OFFSET_BASE_OFFSET, offset);
}

/** Outside the CRC: no recomputation needed. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + OFFSET_PARTITION_LEADER_EPOCH);
}

/** CRC-32C over bytes pos+21 .. end of the batch (as declared by its length field). */
export function computeCrc(buf: Buffer, pos: number): number {
  const end = pos + buf.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
  return crc32c(buf.subarray(pos + OFFSET_ATTRIBUTES, end)) >>> 0;
}

export function isCrcValid(buf: Buffer, pos: number): boolean {
  return computeCrc(buf, pos) === buf.readUInt32BE(pos + OFFSET_CRC);
}

/** Recompute and store the CRC after changing bytes inside the CRC'd range; returns the new CRC. */
export function updateCrc(buf: Buffer, pos: number): number {
  const crc = computeCrc(buf, pos);
  buf.writeUInt32BE(crc, pos + OFFSET_CRC);
  return crc;
}
