/**
 * Writer: encodes Kafka's wire primitives into a list of Buffer chunks.
 *
 * Small writes go into a growable scratch buffer; when it fills up, the used
 * part is kept as a chunk (never copied again) and a new scratch buffer is
 * started. writeRaw appends large buffers (record batches) by reference, so a
 * Fetch response never copies its records. Reserved int32 slots stay valid
 * because written bytes never move.
 */
import { TributaryError } from '../../errors.js';

export class EncodeError extends TributaryError {
  constructor(message: string) {
    super('ERR_ENCODE', message);
  }
}

/** writeRaw copies buffers shorter than this; longer ones are appended by reference. */
const BY_REFERENCE_MIN = 256;
/** Scratch buffers grow by doubling up to this size. */
const MAX_SCRATCH = 64 * 1024;
const MAX_STRING_LENGTH = 0x7fff;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A reserved int32 position, filled later with fillInt32. */
export interface Int32Slot {
  readonly buf: Buffer;
  readonly offset: number;
}

export class Writer {
  private buf: Buffer;
  /** Next write position in buf. */
  private pos = 0;
  /** Start of the bytes in buf not yet moved to chunks. */
  private mark = 0;
  private readonly chunks: Buffer[] = [];
  /** Total length of chunks. */
  private flushed = 0;

  constructor(initialCapacity = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.flushed + this.pos - this.mark;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    this.flush();
    this.buf = Buffer.allocUnsafe(Math.max(n, Math.min(this.buf.length * 2, MAX_SCRATCH)));
    this.pos = 0;
    this.mark = 0;
  }

  /** Moves the pending scratch bytes into the chunk list (by reference). */
  private flush(): void {
    if (this.pos > this.mark) {
      this.chunks.push(this.buf.subarray(this.mark, this.pos));
      this.flushed += this.pos - this.mark;
      this.mark = this.pos;
    }
  }

  writeInt8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  writeUInt8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  writeInt16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  writeUInt16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  writeInt32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  writeUInt32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  writeInt64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  writeFloat64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** Unsigned LEB128; v must be an integer in [0, 2^32). */
  writeUnsignedVarInt(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) throw new EncodeError(`unsigned varint out of range: ${v}`);
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Zigzag-encoded signed 32-bit varint. */
  writeVarInt(v: number): void {
    if (!(v >= -0x80000000 && v <= 0x7fffffff) || !Number.isInteger(v)) throw new EncodeError(`varint out of range: ${v}`);
    this.writeUnsignedVarInt(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zigzag-encoded signed 64-bit varint. */
  writeVarLong(v: bigint): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    if (v > -0x10000000000000n && v < 0x10000000000000n) {
      // |v| < 2^52, so the zigzag value stays below 2^53 and double arithmetic is exact.
      const n = Number(v);
      let z = n >= 0 ? n * 2 : -n * 2 - 1;
      while (z >= 0x80) {
        b[p++] = (z % 0x80) | 0x80;
        z = Math.floor(z / 0x80);
      }
      b[p++] = z;
    } else {
      if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) throw new EncodeError(`varlong out of range: ${v}`);
      let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
      while (z >= 0x80n) {
        b[p++] = Number(z & 0x7fn) | 0x80;
        z >>= 7n;
      }
      b[p++] = Number(z);
    }
    this.pos = p;
  }

  /** Appends buf; large buffers by reference (the caller must not modify them afterwards). */
  writeRaw(data: Buffer): void {
    const n = data.length;
    if (n >= BY_REFERENCE_MIN) {
      this.flush();
      this.chunks.push(data);
      this.flushed += n;
      return;
    }
    this.ensure(n);
    data.copy(this.buf, this.pos);
    this.pos += n;
  }

  /** Appends everything written to another writer. */
  writeWriter(other: Writer): void {
    for (const chunk of other.toChunks()) this.writeRaw(chunk);
  }

  private utf8(s: string, len: number): void {
    this.ensure(len);
    if (len === s.length && len < 64) {
      // ASCII: a plain loop beats a native call for short strings.
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < len; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      this.pos += this.buf.write(s, this.pos, len, 'utf8');
    }
  }

  private static stringLength(s: string): number {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > MAX_STRING_LENGTH) throw new EncodeError(`string of ${len} bytes exceeds ${MAX_STRING_LENGTH}`);
    return len;
  }

  writeString(s: string): void {
    if (typeof s !== 'string') throw new EncodeError(`expected a string, got ${s === null ? 'null' : typeof s}`);
    const len = Writer.stringLength(s);
    this.writeInt16(len);
    this.utf8(s, len);
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1);
    else this.writeString(s);
  }

  writeCompactString(s: string): void {
    if (typeof s !== 'string') throw new EncodeError(`expected a string, got ${s === null ? 'null' : typeof s}`);
    const len = Writer.stringLength(s);
    this.writeUnsignedVarInt(len + 1);
    this.utf8(s, len);
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUnsignedVarInt(0);
    else this.writeCompactString(s);
  }

  writeBytes(data: Buffer): void {
    if (!Buffer.isBuffer(data)) throw new EncodeError('expected a Buffer');
    this.writeInt32(data.length);
    this.writeRaw(data);
  }

  writeNullableBytes(data: Buffer | null): void {
    if (data === null) this.writeInt32(-1);
    else this.writeBytes(data);
  }

  writeCompactBytes(data: Buffer): void {
    if (!Buffer.isBuffer(data)) throw new EncodeError('expected a Buffer');
    this.writeUnsignedVarInt(data.length + 1);
    this.writeRaw(data);
  }

  writeCompactNullableBytes(data: Buffer | null): void {
    if (data === null) this.writeUnsignedVarInt(0);
    else this.writeCompactBytes(data);
  }

  /** int32 element count of an array; null is -1. */
  writeArrayLength(n: number | null): void {
    this.writeInt32(n === null ? -1 : n);
  }

  /** Unsigned varint count+1 of a compact array; null is 0. */
  writeCompactArrayLength(n: number | null): void {
    this.writeUnsignedVarInt(n === null ? 0 : n + 1);
  }

  /** A canonical 8-4-4-4-12 hex UUID as 16 bytes. */
  writeUuid(s: string): void {
    if (typeof s !== 'string' || !UUID_RE.test(s)) throw new EncodeError(`invalid UUID: ${String(s)}`);
    this.ensure(16);
    const hex = s.replace(/-/g, '');
    this.pos += this.buf.write(hex, this.pos, 16, 'hex');
  }

  /** Reserves 4 bytes (e.g. a size prefix) to be filled later with fillInt32. */
  reserveInt32(): Int32Slot {
    this.ensure(4);
    const slot = { buf: this.buf, offset: this.pos };
    this.pos += 4;
    return slot;
  }

  fillInt32(slot: Int32Slot, v: number): void {
    slot.buf.writeInt32BE(v, slot.offset);
  }

  /** The written bytes as chunks (no copying); the writer may keep writing afterwards. */
  toChunks(): Buffer[] {
    this.flush();
    return this.chunks.slice();
  }

  /** The written bytes as one Buffer (copies only if there is more than one chunk). */
  toBuffer(): Buffer {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    if (this.chunks.length === 0) return Buffer.alloc(0);
    return Buffer.concat(this.chunks, this.flushed);
  }
}
