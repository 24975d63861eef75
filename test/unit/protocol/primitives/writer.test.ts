import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError, Writer } from '../../../../src/protocol/primitives/writer.js';
import { Reader } from '../../../../src/protocol/primitives/reader.js';

const bytesOf = (w: Writer): string => w.toBuffer().toString('hex');

test('fixed-width integers are big-endian', () => {
  const w = new Writer();
  w.writeInt8(-1);
  w.writeInt16(-2);
  w.writeUInt16(0x8001);
  w.writeInt32(-2147483648);
  w.writeUInt32(4294967295);
  w.writeInt64(-2n);
  w.writeBool(true);
  w.writeBool(false);
  assert.equal(bytesOf(w), 'ff' + 'fffe' + '8001' + '80000000' + 'ffffffff' + 'fffffffffffffffe' + '01' + '00');
  assert.equal(w.length, 1 + 2 + 2 + 4 + 4 + 8 + 2);
});

test('varints match the protocol guide encodings', () => {
  const w = new Writer();
  w.writeUnsignedVarInt(0);
  w.writeUnsignedVarInt(300);
  w.writeUnsignedVarInt(4294967295);
  w.writeVarInt(-1);
  w.writeVarInt(1);
  w.writeVarLong(-1n);
  w.writeVarLong(9223372036854775807n);
  assert.equal(bytesOf(w), '00' + 'ac02' + 'ffffffff0f' + '01' + '02' + '01' + 'feffffffffffffffff01');
  assert.throws(() => w.writeUnsignedVarInt(-1), EncodeError);
  assert.throws(() => w.writeUnsignedVarInt(2 ** 32), EncodeError);
  assert.throws(() => w.writeVarInt(2 ** 31), EncodeError);
  assert.throws(() => w.writeVarLong(2n ** 63n), EncodeError);
});

test('strings: int16 and compact lengths are UTF-8 byte counts', () => {
  const w = new Writer();
  w.writeString('ab');
  w.writeString('é');
  w.writeNullableString(null);
  w.writeCompactString('🎉');
  w.writeCompactNullableString(null);
  w.writeCompactString('');
  assert.equal(bytesOf(w), '0002 6162'.replace(' ', '') + '0002c3a9' + 'ffff' + '05f09f8e89' + '00' + '01');
});

test('strings above 32767 bytes and nulls in non-nullable slots are EncodeErrors', () => {
  const w = new Writer();
  assert.throws(() => w.writeString('x'.repeat(32768)), EncodeError);
  assert.throws(() => w.writeCompactString('é'.repeat(16384)), EncodeError);
  w.writeString('x'.repeat(32767));
  assert.throws(() => w.writeString(null as unknown as string), EncodeError);
  assert.throws(() => w.writeBytes(null as unknown as Buffer), EncodeError);
});

test('bytes and array lengths, null forms', () => {
  const w = new Writer();
  w.writeBytes(Buffer.from([1, 2]));
  w.writeNullableBytes(null);
  w.writeCompactBytes(Buffer.from([3]));
  w.writeCompactNullableBytes(null);
  w.writeArrayLength(3);
  w.writeArrayLength(null);
  w.writeCompactArrayLength(3);
  w.writeCompactArrayLength(null);
  assert.equal(bytesOf(w), '00000002 0102'.replace(' ', '') + 'ffffffff' + '0203' + '00' + '00000003' + 'ffffffff' + '04' + '00');
});

test('uuid: canonical text to 16 bytes; malformed text is an EncodeError', () => {
  const w = new Writer();
  w.writeUuid('01234567-89AB-cdef-0123-456789abcdef');
  assert.equal(bytesOf(w), '0123456789abcdef0123456789abcdef');
  assert.throws(() => w.writeUuid('0123456789abcdef0123456789abcdef'), EncodeError);
  assert.throws(() => w.writeUuid('01234567-89ab-cdef-0123-456789abcdeg'), EncodeError);
});

test('many small writes across buffer growth produce the same bytes', () => {
  const w = new Writer(16);
  for (let i = 0; i < 20000; i++) w.writeInt32(i);
  const buf = w.toBuffer();
  assert.equal(buf.length, 80000);
  assert.equal(w.length, 80000);
  const r = new Reader(buf);
  for (let i = 0; i < 20000; i++) assert.equal(r.readInt32(), i);
});

test('large raw buffers are appended by reference, small ones copied', () => {
  const big = Buffer.alloc(4096, 7);
  const small = Buffer.from([1, 2, 3]);
  const w = new Writer();
  w.writeInt32(big.length);
  w.writeRaw(big);
  w.writeRaw(small);
  w.writeInt8(9);
  const chunks = w.toChunks();
  assert.ok(chunks.includes(big), 'big buffer kept by reference');
  assert.ok(!chunks.includes(small));
  assert.equal(chunks.reduce((n, c) => n + c.length, 0), w.length);
  small[0] = 0xff; // copied, so the writer does not see this
  const all = w.toBuffer();
  assert.equal(all.length, 4 + 4096 + 3 + 1);
  assert.equal(all.readInt32BE(0), 4096);
  assert.deepStrictEqual([...all.subarray(4100)], [1, 2, 3, 9]);
});

test('reserved int32 slots are filled after later writes, across growth', () => {
  const w = new Writer(16);
  w.writeInt8(1);
  const slot = w.reserveInt32();
  const start = w.length;
  for (let i = 0; i < 1000; i++) w.writeInt32(i);
  w.writeRaw(Buffer.alloc(1000));
  w.fillInt32(slot, w.length - start);
  const buf = w.toBuffer();
  assert.equal(buf.readInt32BE(1), 5000);
});

test('the writer keeps working after toChunks', () => {
  const w = new Writer();
  w.writeInt8(1);
  assert.equal(w.toChunks().length, 1);
  w.writeInt8(2);
  assert.equal(bytesOf(w), '0102');
  assert.equal(new Writer().toBuffer().length, 0);
});

test('writeWriter appends another writer', () => {
  const inner = new Writer();
  inner.writeInt16(5);
  inner.writeRaw(Buffer.alloc(300, 1));
  const w = new Writer();
  w.writeInt8(0);
  w.writeWriter(inner);
  assert.equal(w.length, 1 + 2 + 300);
  assert.equal(w.toBuffer().readInt16BE(1), 5);
});
