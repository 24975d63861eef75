/**
 * One partition's record batch as the producer builds it: records are encoded straight into the
 * batch buffer (RecordBatch v2 layout) as they are sent, so no per-record objects outlive send().
 * The header (producer id, sequence, counts, CRC) is written when the batch is drained for sending;
 * a retry re-sends the very same bytes, which is what keeps idempotent sequences stable.
 */
import { crc32c } from '@node-rs/crc32';
import { compress, type CompressionType } from '../../protocol/records/compression.js';
import {
  BATCH_HEADER_SIZE,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  NO_SEQUENCE,
  OFFSET_ATTRIBUTES,
  OFFSET_CRC,
  TRANSACTIONAL_FLAG_MASK,
  writeInt64,
} from '../../protocol/records/record-batch.js';
import { varintSize, writeVarint } from '../../protocol/records/record.js';
import type { BufferPool } from '../../util/buffer-pool.js';

export interface EncodedHeader {
  key: string;
  value: Buffer | string | null;
}

/** What a batch resolves with once the broker acknowledged it. */
/** Told once per batch, not per record, about records sent with Producer.sendTo(). */
export interface SendListener {
  /**
   * A batch holding `records` of the listener's records was acknowledged; lastOffset is the offset of the last of
   * them (-1 with acks=0).
   */
  onAcknowledged(topic: string, partition: number, lastOffset: number, records: number): void;
  /** A batch holding `records` of the listener's records failed for good. */
  onFailed(topic: string, partition: number, err: Error, records: number): void;
}

export interface BatchResult {
  baseOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: number;
}

/** Size in bytes of a zigzag varint of an int32 (the common case; avoids the generic number path). */
function varint32Size(v: number): number {
  const u = ((v << 1) ^ (v >> 31)) >>> 0;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

function writeVarint32(buf: Buffer, pos: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

/** Encoded length of a key or value; -1 for null. */
export function byteLength(v: Buffer | string | null): number {
  if (v === null) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function writeBytes(buf: Buffer, pos: number, v: Buffer | string | null, len: number): number {
  if (v === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint32(buf, pos, len);
  if (typeof v === 'string') buf.write(v, pos, len, 'utf8');
  else v.copy(buf, pos);
  return pos + len;
}

// Scratch for header lengths of the record being appended (headers are rare and few).
const headerLens: number[] = [];

/** The body size of a record at `offsetDelta` / `timestampDelta` (without its length prefix). */
export function recordBodySize(
  offsetDelta: number,
  timestampDelta: number,
  keyLen: number,
  valueLen: number,
  headers: EncodedHeader[] | null,
): number {
  let body = 1 + varintSize(timestampDelta) + varint32Size(offsetDelta) +
    (keyLen < 0 ? 1 : varint32Size(keyLen) + keyLen) + (valueLen < 0 ? 1 : varint32Size(valueLen) + valueLen);
  if (headers === null) body += 1;
  else {
    body += varint32Size(headers.length);
    headerLens.length = 0;
    for (const h of headers) {
      const kl = Buffer.byteLength(h.key, 'utf8');
      const vl = h.value === null ? -1 : byteLength(h.value);
      headerLens.push(kl, vl);
      body += varint32Size(kl) + kl + (vl < 0 ? 1 : varint32Size(vl) + vl);
    }
  }
  return body;
}

const EMPTY = Buffer.alloc(0);

export class ProducerBatch {
  buf: Buffer;
  /** Write position: the end of the last record. */
  pos = BATCH_HEADER_SIZE;
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = -1;
  /** Per-record timestamps, for RecordMetadata (CreateTime topics). */
  readonly timestamps: number[] = [];
  /** Closed: no more appends (full, or a later batch exists). */
  closed = false;
  /** Send without waiting for lingerMs (sendBatch() callers await the whole batch). */
  sendNow = false;
  /** -1 until the sender assigns it (idempotent producers). */
  baseSequence = NO_SEQUENCE;
  /** The bytes sent: the batch buffer, or its compressed form. */
  wire: Buffer | null = null;
  attempts = 0;
  retryAt = 0;
  /** Bytes counted against bufferMemory. */
  reserved = 0;
  readonly createdAt: number;
  readonly promise: Promise<BatchResult>;
  resolve!: (r: BatchResult) => void;
  reject!: (err: Error) => void;
  done = false;
  /** sendTo() listeners of this batch, each with the index of the last of its records here and their count (see Producer.sendTo). */
  listeners: Array<{ listener: SendListener; last: number; count: number }> | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    capacity: number,
    now: number,
    private readonly pool: BufferPool,
  ) {
    this.buf = pool.acquire(Math.max(capacity, BATCH_HEADER_SIZE + 64));
    this.createdAt = now;
    this.promise = new Promise<BatchResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers attach their own handlers per record; the batch promise itself must never count as unhandled.
    this.promise.catch(() => {});
  }

  get sizeInBytes(): number {
    return this.pos;
  }

  /**
   * Appends a record if it fits within `limit` bytes (always, when the batch is empty). Returns the
   * record's encoded size, or -1 when it does not fit.
   */
  tryAppend(
    timestamp: number,
    key: Buffer | string | null,
    keyLen: number,
    value: Buffer | string | null,
    valueLen: number,
    headers: EncodedHeader[] | null,
    limit: number,
  ): number {
    if (this.count === 0) this.baseTimestamp = timestamp;
    const tsDelta = timestamp - this.baseTimestamp;
    const body = recordBodySize(this.count, tsDelta, keyLen, valueLen, headers);
    const size = varint32Size(body) + body;
    if (this.count > 0 && this.pos + size > limit) return -1;
    if (this.pos + size > this.buf.length) this.grow(this.pos + size);
    const buf = this.buf;
    let p = writeVarint32(buf, this.pos, body);
    buf[p++] = 0; // record attributes: unused
    p = writeVarint(buf, p, tsDelta);
    p = writeVarint32(buf, p, this.count);
    p = writeBytes(buf, p, key, keyLen);
    p = writeBytes(buf, p, value, valueLen);
    if (headers === null) buf[p++] = 0;
    else {
      p = writeVarint32(buf, p, headers.length);
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i];
        p = writeBytes(buf, p, h.key, headerLens[2 * i]);
        p = writeBytes(buf, p, h.value, headerLens[2 * i + 1]);
      }
    }
    this.pos = p;
    this.count++;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    this.timestamps.push(timestamp);
    return size;
  }

  private grow(min: number): void {
    const next = this.pool.acquire(Math.max(min, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.pool.release(this.buf);
    this.buf = next;
  }

  /**
   * Gives the batch's buffer back to the pool: only once the broker has acknowledged the batch (the
   * request that carried it is written and will not be retried). The batch is unusable afterwards.
   */
  recycle(): void {
    const buf = this.buf;
    this.buf = EMPTY;
    this.wire = null;
    this.pool.release(buf);
  }

  /**
   * Writes the batch header (and compresses) the first time the batch is sent; later calls only
   * rewrite the producer fields (after a producer id reset) and the CRC.
   */
  seal(compression: CompressionType, producerId: bigint, producerEpoch: number, transactional: boolean): Buffer {
    if (this.wire === null) {
      if (compression === 0) this.wire = this.buf.subarray(0, this.pos);
      else {
        const packed = compress(compression, this.buf.subarray(BATCH_HEADER_SIZE, this.pos));
        const wire = Buffer.allocUnsafe(BATCH_HEADER_SIZE + packed.length);
        packed.copy(wire, BATCH_HEADER_SIZE);
        this.wire = wire;
      }
      // The uncompressed copy is no longer needed once compressed.
      if (compression !== 0) {
        this.pool.release(this.buf);
        this.buf = EMPTY;
      }
    }
    const w = this.wire;
    writeInt64(w, 0, 0);
    w.writeInt32BE(w.length - LOG_OVERHEAD, 8);
    w.writeInt32BE(NO_PARTITION_LEADER_EPOCH, 12);
    w[16] = CURRENT_MAGIC;
    w.writeInt16BE(compression | (transactional ? TRANSACTIONAL_FLAG_MASK : 0), OFFSET_ATTRIBUTES);
    w.writeInt32BE(this.count - 1, 23);
    writeInt64(w, 27, this.baseTimestamp);
    writeInt64(w, 35, this.maxTimestamp);
    w.writeBigInt64BE(producerId, 43);
    w.writeInt16BE(producerEpoch, 51);
    w.writeInt32BE(this.baseSequence, 53);
    w.writeInt32BE(this.count, 57);
    w.writeUInt32BE(crc32c(w.subarray(OFFSET_ATTRIBUTES)), OFFSET_CRC);
    return w;
  }
}
