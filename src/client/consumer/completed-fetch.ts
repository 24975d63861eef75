/**
 * The records one Fetch returned for one partition, decoded lazily: a batch is checked (CRC),
 * inflated and turned into ConsumerRecords only when poll() reaches it, record by record, with keys
 * and values as views into the response (no copies). Control batches and, under read_committed,
 * batches of aborted transactions are skipped here, with the Java client's algorithm.
 */
import { decompress, isKnownCompression, type CompressionType } from '../../protocol/records/compression.js';
import {
  BATCH_HEADER_SIZE,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BASE_TIMESTAMP,
  OFFSET_BATCH_LENGTH,
  OFFSET_CRC,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_PARTITION_LEADER_EPOCH,
  OFFSET_PRODUCER_ID,
  OFFSET_RECORDS_COUNT,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  computeCrc,
  readInt64,
} from '../../protocol/records/record-batch.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '../../protocol/records/record.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { ProtocolError } from '../errors.js';
import type { ConsumerRecord } from './types.js';

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: number;
}

/** Offset after the last complete batch in `records` (where the next fetch starts), or -1 when there is none. */
export function endOffsetOf(records: Buffer): number {
  let pos = 0;
  let end = -1;
  const len = records.length;
  while (len - pos >= BATCH_HEADER_SIZE) {
    const size = records.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) throw corrupt(`batch at byte ${pos} declares ${size} bytes`);
    if (size > len - pos) break;
    end = readInt64(records, pos) + records.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA) + 1;
    pos += size;
  }
  return end;
}

// Cursor of the record decoder; module-level so the varint readers need not return pairs.
let cur = 0;

function readVarint(b: Buffer): number {
  let byte = b[cur++];
  if (byte < 0x80) return (byte >>> 1) ^ -(byte & 1);
  let v = byte & 0x7f;
  let shift = 7;
  do {
    byte = b[cur++];
    v |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80 && shift < 35);
  return (v >>> 1) ^ -(v & 1);
}

/** Zigzag varlong through doubles (exact below 2^53, which timestamp deltas are). */
function readVarlong(b: Buffer): number {
  let byte = b[cur++];
  if (byte < 0x80) return (byte >>> 1) ^ -(byte & 1);
  let raw = byte & 0x7f;
  let scale = 128;
  do {
    byte = b[cur++];
    raw += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80 && scale < 2 ** 70);
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

export class CompletedFetch {
  /** Offset after everything consumed or skipped so far. */
  nextOffset: number;
  private pos = 0;
  private done = false;
  // The batch being read.
  private body: Buffer | null = null;
  private bodyPos = 0;
  private left = 0;
  private baseOffset = 0;
  private baseTimestamp = 0;
  private logAppendTime = false;
  private maxTimestamp = 0;
  private leaderEpoch = -1;
  private batchNext = 0;
  // read_committed: aborted transactions not yet reached (sorted by first offset), and producers whose
  // aborted transaction is in progress.
  private readonly aborted: AbortedTxn[];
  private readonly abortedProducers = new Set<bigint>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly records: Buffer,
    /** The position this data was fetched from. */
    readonly fetchOffset: number,
    /** Where the next fetch starts: after the last complete batch. */
    readonly endOffset: number,
    aborted: AbortedTxn[] | null,
    private readonly readCommitted: boolean,
  ) {
    this.nextOffset = fetchOffset;
    this.aborted = aborted ? aborted.slice().sort((a, b) => a.firstOffset - b.firstOffset) : [];
  }

  /** Every complete batch has been read (a torn batch at the end, cut by the fetch size limits, is left for the next fetch). */
  get exhausted(): boolean {
    return this.left === 0 && this.done;
  }

  /**
   * Appends up to `max` records at or after `position` to `out`; returns how many. nextOffset moves past
   * everything read or skipped.
   */
  take(max: number, position: number, out: ConsumerRecord[]): number {
    let n = 0;
    while (n < max) {
      if (this.left === 0) {
        if (!this.nextBatch(position)) break;
        continue;
      }
      const r = this.decodeRecord();
      if (r.offset >= position) {
        out.push(r);
        n++;
      }
    }
    return n;
  }

  /** Moves to the next batch with records to return; false when the data is used up. */
  private nextBatch(position: number): boolean {
    const buf = this.records;
    const len = buf.length;
    while (len - this.pos >= BATCH_HEADER_SIZE) {
      const p = this.pos;
      const size = buf.readInt32BE(p + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) throw corrupt(`batch at byte ${p} declares ${size} bytes`);
      if (size > len - p) break; // a torn tail: the next fetch starts there
      this.pos = p + size;
      const baseOffset = readInt64(buf, p);
      const lastOffset = baseOffset + buf.readInt32BE(p + OFFSET_LAST_OFFSET_DELTA);
      const next = lastOffset + 1;
      if (lastOffset < position) {
        if (next > this.nextOffset) this.nextOffset = next;
        continue;
      }
      const magic = buf.readInt8(p + OFFSET_MAGIC);
      if (magic !== CURRENT_MAGIC) {
        throw new ProtocolError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `${this.topic}-${this.partition} at offset ${baseOffset}`, `message format v${magic} is not supported`);
      }
      const attributes = buf.readInt16BE(p + OFFSET_ATTRIBUTES);
      const control = (attributes & CONTROL_FLAG_MASK) !== 0;
      if (this.readCommitted && (attributes & TRANSACTIONAL_FLAG_MASK) !== 0) {
        const producerId = buf.readBigInt64BE(p + OFFSET_PRODUCER_ID);
        // Producers whose aborted transaction started at or before this batch.
        while (this.aborted.length > 0 && this.aborted[0].firstOffset <= lastOffset) this.abortedProducers.add(this.aborted.shift()!.producerId);
        if (control) {
          if (this.isAbortMarker(p)) this.abortedProducers.delete(producerId);
        } else if (this.abortedProducers.has(producerId)) {
          this.nextOffset = next;
          continue;
        }
      }
      if (control) {
        this.nextOffset = next;
        continue;
      }
      if (computeCrc(buf, p) !== buf.readUInt32BE(p + OFFSET_CRC)) {
        throw corrupt(`${this.topic}-${this.partition}: batch at offset ${baseOffset} fails its CRC check`);
      }
      const codec = attributes & COMPRESSION_CODEC_MASK;
      if (!isKnownCompression(codec)) {
        throw new ProtocolError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `${this.topic}-${this.partition} at offset ${baseOffset}`, `unknown codec ${codec}`);
      }
      const count = buf.readInt32BE(p + OFFSET_RECORDS_COUNT);
      let body = buf.subarray(p + BATCH_HEADER_SIZE, p + size);
      if (codec !== 0) body = decompress(codec as CompressionType, body, DEFAULT_MAX_DECOMPRESSED_BYTES);
      this.body = body;
      this.bodyPos = 0;
      this.left = count;
      this.baseOffset = baseOffset;
      this.baseTimestamp = readInt64(buf, p + OFFSET_BASE_TIMESTAMP);
      this.maxTimestamp = readInt64(buf, p + OFFSET_MAX_TIMESTAMP);
      this.logAppendTime = (attributes & TIMESTAMP_TYPE_MASK) !== 0;
      this.leaderEpoch = buf.readInt32BE(p + OFFSET_PARTITION_LEADER_EPOCH);
      this.batchNext = next;
      if (count === 0) this.nextOffset = next;
      else return true;
    }
    this.done = true;
    return false;
  }

  private isAbortMarker(p: number): boolean {
    // A control batch holds one record whose key is version int16 + type int16 (0 = ABORT). Decode it
    // the ordinary way (control batches are never compressed in practice, but may be).
    const buf = this.records;
    const size = buf.readInt32BE(p + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
    const codec = buf.readInt16BE(p + OFFSET_ATTRIBUTES) & COMPRESSION_CODEC_MASK;
    let body = buf.subarray(p + BATCH_HEADER_SIZE, p + size);
    if (codec !== 0 && isKnownCompression(codec)) body = decompress(codec, body, DEFAULT_MAX_DECOMPRESSED_BYTES);
    if (body.length === 0) return false;
    cur = 0;
    readVarint(body); // length
    cur++; // attributes
    readVarlong(body);
    readVarint(body);
    const keyLen = readVarint(body);
    if (keyLen < 4 || cur + keyLen > body.length) return false;
    return body.readInt16BE(cur + 2) === 0;
  }

  private decodeRecord(): ConsumerRecord {
    const b = this.body!;
    cur = this.bodyPos;
    const length = readVarint(b);
    const end = cur + length;
    if (length < 1 || end > b.length) throw corrupt(`${this.topic}-${this.partition}: record length ${length} does not fit its batch`);
    cur++; // attributes
    const timestampDelta = readVarlong(b);
    const offsetDelta = readVarint(b);
    const keyLen = readVarint(b);
    let key: Buffer | null = null;
    if (keyLen >= 0) {
      key = b.subarray(cur, cur + keyLen);
      cur += keyLen;
    }
    const valueLen = readVarint(b);
    let value: Buffer | null = null;
    if (valueLen >= 0) {
      value = b.subarray(cur, cur + valueLen);
      cur += valueLen;
    }
    const headerCount = readVarint(b);
    const headers: Array<{ key: string; value: Buffer | null }> = [];
    for (let i = 0; i < headerCount && cur < end; i++) {
      const hkLen = readVarint(b);
      const hk = b.toString('utf8', cur, cur + hkLen);
      cur += hkLen;
      const hvLen = readVarint(b);
      let hv: Buffer | null = null;
      if (hvLen >= 0) {
        hv = b.subarray(cur, cur + hvLen);
        cur += hvLen;
      }
      headers.push({ key: hk, value: hv });
    }
    if (cur !== end) throw corrupt(`${this.topic}-${this.partition}: record at offset ${this.baseOffset + offsetDelta} disagrees with its length`);
    this.bodyPos = end;
    const offset = this.baseOffset + offsetDelta;
    if (--this.left === 0) {
      this.body = null;
      this.nextOffset = this.batchNext;
    } else {
      this.nextOffset = offset + 1;
    }
    return {
      topic: this.topic,
      partition: this.partition,
      offset,
      timestamp: this.logAppendTime ? this.maxTimestamp : this.baseTimestamp + timestampDelta,
      timestampType: this.logAppendTime ? 'LogAppendTime' : 'CreateTime',
      key,
      value,
      headers,
      leaderEpoch: this.leaderEpoch,
    };
  }
}

function corrupt(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.CORRUPT_MESSAGE, 'Fetch', message);
}
