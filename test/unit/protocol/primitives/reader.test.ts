import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const reader = (s: string): Reader => new Reader(hex(s));

function decodeError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_DECODE');
    assert.equal(err.kafkaError, 'INVALID_REQUEST');
    assert.match(err.message, /at offset \d+/);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('fixed-width integers are big-endian and signed where Kafka says so', () => {
  const r = reader('ff 7f | ff fe | 8000 | ffffffff | 80000000 | ffffffff | fffffffffffffffe | 01');
  assert.equal(r.readInt8(), -1);
  assert.equal(r.readInt8(), 127);
  assert.equal(r.readInt16(), -2);
  assert.equal(r.readUInt16(), 0x8000);
  assert.equal(r.readInt32(), -1);
  assert.equal(r.readInt32(), -2147483648);
  assert.equal(r.readUInt32(), 4294967295);
  assert.equal(r.readInt64(), -2n);
  assert.equal(r.readBool(), true);
  assert.equal(r.remaining(), 0);
});

test('float64 is an IEEE 754 double', () => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(-1.5);
  assert.equal(new Reader(b).readFloat64(), -1.5);
});

test('every read past the end throws DecodeError, never RangeError', () => {
  const reads: ((r: Reader) => unknown)[] = [
    (r) => r.readInt8(), (r) => r.readInt16(), (r) => r.readUInt16(), (r) => r.readInt32(), (r) => r.readUInt32(),
    (r) => r.readInt64(), (r) => r.readFloat64(), (r) => r.readBool(), (r) => r.readUuid(), (r) => r.readUnsignedVarInt(),
    (r) => r.readVarInt(), (r) => r.readVarLong(), (r) => r.readString(), (r) => r.readBytes(), (r) => r.readRaw(1),
    (r) => r.readCompactString(), (r) => r.readCompactBytes(), (r) => r.readArrayLength(), (r) => r.readCompactArrayLength(),
  ];
  for (const read of reads) decodeError(() => read(new Reader(Buffer.alloc(0))));
  // A window ends before the buffer does.
  const r = new Reader(hex('0001 0203'), 1, 2);
  assert.equal(r.readInt8(), 1);
  decodeError(() => r.readInt8());
});

test('unsigned varints: encodings, 5-byte limit, 32-bit limit', () => {
  assert.equal(reader('00').readUnsignedVarInt(), 0);
  assert.equal(reader('7f').readUnsignedVarInt(), 127);
  assert.equal(reader('8001').readUnsignedVarInt(), 128);
  assert.equal(reader('ac02').readUnsignedVarInt(), 300);
  assert.equal(reader('ffffffff0f').readUnsignedVarInt(), 4294967295);
  decodeError(() => reader('ffffffff10').readUnsignedVarInt(), /varint/);
  decodeError(() => reader('8080808080 01').readUnsignedVarInt(), /varint/);
  decodeError(() => reader('80').readUnsignedVarInt(), /truncated/);
});

test('signed varints use zigzag', () => {
  assert.equal(reader('00').readVarInt(), 0);
  assert.equal(reader('01').readVarInt(), -1);
  assert.equal(reader('02').readVarInt(), 1);
  assert.equal(reader('03').readVarInt(), -2);
  assert.equal(reader('feffffff0f').readVarInt(), 2147483647);
  assert.equal(reader('ffffffff0f').readVarInt(), -2147483648);
});

test('varlongs: zigzag, 10-byte limit, 64-bit limit', () => {
  assert.equal(reader('01').readVarLong(), -1n);
  assert.equal(reader('02').readVarLong(), 1n);
  assert.equal(reader('feffffffffffffffff01').readVarLong(), 9223372036854775807n);
  assert.equal(reader('ffffffffffffffffff01').readVarLong(), -9223372036854775808n);
  decodeError(() => reader('ffffffffffffffffff02').readVarLong(), /varlong/);
  decodeError(() => reader('ffffffffffffffffffff01').readVarLong(), /varlong/);
  decodeError(() => reader('ffff').readVarLong(), /truncated/);
});

/** Reference zigzag varlong encoder, independent of Writer. */
function refVarLong(v: bigint): Buffer {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  do {
    let byte = Number(z & 0x7fn);
    z >>= 7n;
    if (z > 0n) byte |= 0x80;
    out.push(byte);
  } while (z > 0n);
  return Buffer.from(out);
}

test('varlong and varint agree with a reference encoder and round trip', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
    const w = new Writer();
    w.writeVarLong(v);
    const bytes = w.toBuffer();
    assert.ok(bytes.equals(refVarLong(v)));
    const r = new Reader(bytes);
    assert.equal(r.readVarLong(), v);
    assert.equal(r.remaining(), 0);
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
    const w = new Writer();
    w.writeVarInt(v);
    const bytes = w.toBuffer();
    assert.ok(bytes.equals(refVarLong(BigInt(v))));
    assert.equal(new Reader(bytes).readVarInt(), v);
  }), { numRuns: 2000 });
});

test('strings: UTF-8, null, invalid and oversized lengths', () => {
  const utf8 = Buffer.from('héllo 🎉', 'utf8');
  const w = new Writer();
  w.writeInt16(utf8.length);
  w.writeRaw(utf8);
  assert.equal(new Reader(w.toBuffer()).readString(), 'héllo 🎉');
  assert.equal(reader('ffff').readNullableString(), null);
  decodeError(() => reader('ffff').readString(), /non-nullable/);
  decodeError(() => reader('fffe').readNullableString(), /invalid string length -2/);
  decodeError(() => reader('0005 6162').readString(), /exceeds/);
  assert.equal(reader('00').readCompactNullableString(), null);
  decodeError(() => reader('00').readCompactString(), /null/);
  assert.equal(reader('04 616263').readCompactString(), 'abc');
  // A compact length above Kafka's 32767-byte string limit.
  decodeError(() => reader('818002').readCompactString(), /above 32767/);
});

test('bytes: zero-copy views, null, invalid lengths', () => {
  const buf = hex('00000003 aabbcc');
  const b = new Reader(buf).readBytes();
  assert.deepStrictEqual([...b], [0xaa, 0xbb, 0xcc]);
  buf[4] = 0x11;
  assert.equal(b[0], 0x11, 'readBytes returns a view, not a copy');
  assert.equal(reader('ffffffff').readNullableBytes(), null);
  decodeError(() => reader('ffffffff').readBytes(), /non-nullable/);
  decodeError(() => reader('fffffffe').readNullableBytes(), /invalid bytes length/);
  decodeError(() => reader('7fffffff 00').readBytes(), /exceeds/);
  assert.equal(reader('00').readCompactNullableBytes(), null);
  assert.deepStrictEqual([...reader('03 0102').readCompactBytes()], [1, 2]);
  decodeError(() => reader('ffffffff0f 00').readCompactBytes(), /exceeds/);
});

test('array lengths are checked against the bytes left before anything is allocated', () => {
  assert.equal(reader('ffffffff').readArrayLength(), -1);
  assert.equal(reader('00').readCompactArrayLength(), -1);
  assert.equal(reader('00000002 0000').readArrayLength(), 2);
  decodeError(() => reader('fffffffe').readArrayLength(), /invalid array length/);
  decodeError(() => reader('7fffffff 00000000').readArrayLength(), /claims 2147483647 elements/);
  decodeError(() => reader('ffffffff0f 00').readCompactArrayLength(), /claims 4294967294 elements/);
  // With 4-byte elements, 2 elements need 8 bytes.
  decodeError(() => reader('00000002 00000000').readArrayLength(4), /claims 2/);
  assert.equal(reader('03 0000000000000000').readCompactArrayLength(4), 2);
});

test('uuid is canonical lowercase 8-4-4-4-12', () => {
  assert.equal(reader('0123456789ABCDEF0123456789abcdef').readUuid(), '01234567-89ab-cdef-0123-456789abcdef');
});

test('readRaw is a zero-copy view and rejects bad lengths', () => {
  const buf = hex('01020304');
  const r = new Reader(buf, 1);
  const raw = r.readRaw(2);
  assert.equal(raw.buffer, buf.buffer);
  assert.deepStrictEqual([...raw], [2, 3]);
  decodeError(() => r.readRaw(2));
  decodeError(() => r.readRaw(-1));
});

test('tagged sections: skipping, size checks', () => {
  const r = reader('02 | 00 02 aabb | 05 00 | 07');
  r.skipTaggedFields();
  assert.equal(r.readInt8(), 7);
  decodeError(() => reader('01 00 05 aa').skipTaggedFields(), /tagged field size 5/);
  const t = reader('02 0000');
  const end = t.readTaggedFieldEnd();
  assert.equal(end, 3);
  t.readInt8();
  decodeError(() => t.expectTaggedFieldEnd(end, 9), /tagged field 9/);
});

test('constructor rejects windows outside the buffer', () => {
  decodeError(() => new Reader(Buffer.alloc(4), 2, 8));
  decodeError(() => new Reader(Buffer.alloc(4), 3, 2));
});
