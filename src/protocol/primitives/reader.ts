/**
 * Reader: bounds-checked decoding of Kafka's wire primitives from a Buffer.
 *
 * The bytes come from untrusted clients, so every read checks the bytes left
 * before touching them and every length prefix is checked against the bytes
 * left BEFORE anything is allocated. All failures are DecodeError (never a
 * RangeError, never a silently wrong value).
 *
 * Buffers returned by readRaw/readBytes/readCompactBytes (and their nullable
 * forms) are zero-copy views of the input: they stay valid only as long as the
 * input buffer is not reused.
 */
import { TributaryError } from '../../errors.js';

export class DecodeError extends TributaryError {
  /** A request that does not parse is answered the way Kafka answers one. */
  readonly kafkaError = 'INVALID_REQUEST';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('ERR_DECODE', `${message} (at offset ${offset})`);
    this.offset = offset;
  }
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Largest string length Kafka accepts (an int16 length prefix). */
const MAX_STRING_LENGTH = 0x7fff;

export class Reader {
  readonly buf: Buffer;
  readonly end: number;
  offset: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new DecodeError(`invalid reader window [${offset}, ${end}) on a ${buf.length}-byte buffer`, offset);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless n more bytes are available. */
  private need(n: number, what: string): void {
    if (this.end - this.offset < n) {
      throw new DecodeError(`${what} needs ${n} bytes, ${this.end - this.offset} left`, this.offset);
    }
  }

  skip(n: number): void {
    if (n < 0) throw new DecodeError(`cannot skip ${n} bytes`, this.offset);
    this.need(n, 'skip');
    this.offset += n;
  }

  readInt8(): number {
    this.need(1, 'int8');
    const v = this.buf[this.offset++];
    return (v << 24) >> 24;
  }

  readUInt8(): number {
    this.need(1, 'uint8');
    return this.buf[this.offset++];
  }

  readBool(): boolean {
    this.need(1, 'bool');
    return this.buf[this.offset++] !== 0;
  }

  readInt16(): number {
    this.need(2, 'int16');
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 2;
    return (((b[o] << 8) | b[o + 1]) << 16) >> 16;
  }

  readUInt16(): number {
    this.need(2, 'uint16');
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 2;
    return (b[o] << 8) | b[o + 1];
  }

  readInt32(): number {
    this.need(4, 'int32');
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 4;
    return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }

  readUInt32(): number {
    this.need(4, 'uint32');
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  readInt64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  readFloat64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** Unsigned LEB128 of at most 5 bytes holding a value below 2^32. */
  readUnsignedVarInt(): number {
    const b = this.buf;
    const end = this.end;
    const start = this.offset;
    let o = start;
    let v = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (o >= end) throw new DecodeError('truncated varint', start);
      const byte = b[o++];
      v |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.offset = o;
        return v >>> 0;
      }
    }
    if (o >= end) throw new DecodeError('truncated varint', start);
    const last = b[o++];
    // The fifth byte may carry only the top 4 bits of a 32-bit value and no continuation bit.
    if (last > 0x0f) throw new DecodeError('varint longer than 5 bytes or above 32 bits', start);
    this.offset = o;
    return (v >>> 0) + last * 0x10000000;
  }

  /** Zigzag-encoded signed 32-bit varint. */
  readVarInt(): number {
    const u = this.readUnsignedVarInt();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag-encoded signed 64-bit varint of at most 10 bytes. */
  readVarLong(): bigint {
    const b = this.buf;
    const end = this.end;
    const start = this.offset;
    let o = start;
    // The first 7 groups (49 bits) fit a double exactly, so most values never touch bigint arithmetic.
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (o >= end) throw new DecodeError('truncated varlong', start);
      const byte = b[o++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        this.offset = o;
        // zigzag: even → v/2, odd → -(v+1)/2; exact for v < 2^53
        return BigInt(v % 2 === 0 ? v / 2 : -(v + 1) / 2);
      }
      mul *= 128;
    }
    let big = BigInt(v);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (o >= end) throw new DecodeError('truncated varlong', start);
      const byte = b[o++];
      if (i === 9 && byte > 0x01) throw new DecodeError('varlong longer than 10 bytes or above 64 bits', start);
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.offset = o;
        return (big >> 1n) ^ -(big & 1n);
      }
      shift += 7n;
    }
    throw new DecodeError('varlong longer than 10 bytes', start);
  }

  /** Zero-copy view of the next n bytes. */
  readRaw(n: number): Buffer {
    if (!Number.isInteger(n) || n < 0) throw new DecodeError(`invalid raw length ${n}`, this.offset);
    this.need(n, 'raw bytes');
    const o = this.offset;
    this.offset = o + n;
    return this.buf.subarray(o, o + n);
  }

  private utf8(len: number, start: number): string {
    if (len > MAX_STRING_LENGTH) throw new DecodeError(`string length ${len} above ${MAX_STRING_LENGTH}`, start);
    if (this.end - this.offset < len) {
      throw new DecodeError(`string length ${len} exceeds the ${this.end - this.offset} bytes left`, start);
    }
    const o = this.offset;
    this.offset = o + len;
    return this.buf.toString('utf8', o, o + len);
  }

  /** int16 length, then UTF-8; -1 (null) is an error. */
  readString(): string {
    const start = this.offset;
    const len = this.readInt16();
    if (len < 0) throw new DecodeError(`non-nullable string has length ${len}`, start);
    return this.utf8(len, start);
  }

  readNullableString(): string | null {
    const start = this.offset;
    const len = this.readInt16();
    if (len === -1) return null;
    if (len < 0) throw new DecodeError(`invalid string length ${len}`, start);
    return this.utf8(len, start);
  }

  /** Unsigned varint length+1, then UTF-8; 0 (null) is an error. */
  readCompactString(): string {
    const start = this.offset;
    const n = this.readUnsignedVarInt();
    if (n === 0) throw new DecodeError('non-nullable compact string is null', start);
    return this.utf8(n - 1, start);
  }

  readCompactNullableString(): string | null {
    const start = this.offset;
    const n = this.readUnsignedVarInt();
    if (n === 0) return null;
    return this.utf8(n - 1, start);
  }

  private bytes(len: number, start: number): Buffer {
    if (this.end - this.offset < len) {
      throw new DecodeError(`bytes length ${len} exceeds the ${this.end - this.offset} bytes left`, start);
    }
    const o = this.offset;
    this.offset = o + len;
    return this.buf.subarray(o, o + len);
  }

  /** int32 length, then the bytes (zero-copy); -1 (null) is an error. */
  readBytes(): Buffer {
    const start = this.offset;
    const len = this.readInt32();
    if (len < 0) throw new DecodeError(`non-nullable bytes have length ${len}`, start);
    return this.bytes(len, start);
  }

  readNullableBytes(): Buffer | null {
    const start = this.offset;
    const len = this.readInt32();
    if (len === -1) return null;
    if (len < 0) throw new DecodeError(`invalid bytes length ${len}`, start);
    return this.bytes(len, start);
  }

  readCompactBytes(): Buffer {
    const start = this.offset;
    const n = this.readUnsignedVarInt();
    if (n === 0) throw new DecodeError('non-nullable compact bytes are null', start);
    return this.bytes(n - 1, start);
  }

  readCompactNullableBytes(): Buffer | null {
    const start = this.offset;
    const n = this.readUnsignedVarInt();
    if (n === 0) return null;
    return this.bytes(n - 1, start);
  }

  /**
   * int32 element count of an array; -1 means null. The count is checked
   * against the bytes left (each element takes at least minElementSize bytes),
   * so a hostile count never drives an allocation or a long loop.
   */
  readArrayLength(minElementSize = 1): number {
    const start = this.offset;
    const n = this.readInt32();
    if (n === -1) return -1;
    if (n < 0) throw new DecodeError(`invalid array length ${n}`, start);
    this.checkCount(n, minElementSize, start);
    return n;
  }

  /** Unsigned varint count+1 of a compact array; returns -1 for null. */
  readCompactArrayLength(minElementSize = 1): number {
    const start = this.offset;
    const n = this.readUnsignedVarInt() - 1;
    if (n === -1) return -1;
    this.checkCount(n, minElementSize, start);
    return n;
  }

  private checkCount(n: number, minElementSize: number, start: number): void {
    if (n * minElementSize > this.end - this.offset) {
      throw new DecodeError(`array claims ${n} elements but only ${this.end - this.offset} bytes are left`, start);
    }
  }

  /** 16 bytes as a canonical lowercase 8-4-4-4-12 UUID string. */
  readUuid(): string {
    this.need(16, 'uuid');
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 16;
    return (
      HEX[b[o]] + HEX[b[o + 1]] + HEX[b[o + 2]] + HEX[b[o + 3]] + '-' +
      HEX[b[o + 4]] + HEX[b[o + 5]] + '-' +
      HEX[b[o + 6]] + HEX[b[o + 7]] + '-' +
      HEX[b[o + 8]] + HEX[b[o + 9]] + '-' +
      HEX[b[o + 10]] + HEX[b[o + 11]] + HEX[b[o + 12]] + HEX[b[o + 13]] + HEX[b[o + 14]] + HEX[b[o + 15]]
    );
  }

  /**
   * Reads the size of one tagged field and returns the offset where its value
   * ends; the size must fit in the bytes left.
   */
  readTaggedFieldEnd(): number {
    const start = this.offset;
    const size = this.readUnsignedVarInt();
    if (size > this.end - this.offset) {
      throw new DecodeError(`tagged field size ${size} exceeds the ${this.end - this.offset} bytes left`, start);
    }
    return this.offset + size;
  }

  /** Fails unless a tagged field's value ended exactly where its size said. */
  expectTaggedFieldEnd(end: number, tag: number): void {
    if (this.offset !== end) {
      throw new DecodeError(`tagged field ${tag} should end at offset ${end} but its value ended at ${this.offset}`, this.offset);
    }
  }

  /** Skips a whole tagged-field section (for structs with no known tags in this version). */
  skipTaggedFields(): void {
    const count = this.readUnsignedVarInt();
    // Each field costs at least 2 bytes (tag, size), so the loop is bounded by the bytes left.
    for (let i = 0; i < count; i++) {
      this.readUnsignedVarInt();
      this.offset = this.readTaggedFieldEnd();
    }
  }
}
