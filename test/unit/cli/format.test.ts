import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFormat, formatJson, formatValueLine, withDeserializers, type FormattableRecord } from '../../../src/cli/format.js';
import { UsageError } from '../../../src/cli/common.js';

const record: FormattableRecord = {
  topic: 'orders',
  partition: 2,
  offset: 41,
  timestamp: 1700000000123,
  key: Buffer.from('k1'),
  value: Buffer.from('hello'),
  headers: [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: null }],
};

test('every directive and escape of a kcat -f template', () => {
  const f = compileFormat('%t|%p|%o|%k|%s|%K|%S|%T|%h|100%%\\t\\\\x\\n');
  assert.equal(f(record).toString(), 'orders|2|41|k1|hello|2|5|1700000000123|a=1,b=|100%\t\\x\n');
});

test('null key and value: empty text and -1 lengths; no headers print nothing', () => {
  const f = compileFormat('[%k][%s][%K][%S][%h]');
  assert.equal(f({ ...record, key: null, value: null, headers: [] }).toString(), '[][][-1][-1][]');
});

test('%R is the value length as 4 big-endian bytes, so %R%s frames binary values', () => {
  const value = Buffer.from([0, 255, 10, 13]);
  const out = compileFormat('%R%s')({ ...record, value });
  assert.deepEqual(out, Buffer.concat([Buffer.from([0, 0, 0, 4]), value]));
  assert.deepEqual(compileFormat('%R')({ ...record, value: null }), Buffer.from([255, 255, 255, 255]));
});

test('unknown directives and escapes, and a trailing %, are usage errors', () => {
  assert.throws(() => compileFormat('%x'), UsageError);
  assert.throws(() => compileFormat('\\q'), UsageError);
  assert.throws(() => compileFormat('abc%'), UsageError);
});

test('--json: one object per line; UTF-8 as text, other bytes as base64 with an encoding field', () => {
  assert.deepEqual(JSON.parse(formatJson(record).toString()), {
    topic: 'orders', partition: 2, offset: 41, timestamp: 1700000000123, key: 'k1', value: 'hello',
    headers: [{ key: 'a', value: '1' }, { key: 'b', value: null }],
  });
  const binary = Buffer.from([0xff, 0xfe, 0x00]);
  const line = formatJson({ ...record, key: null, value: binary, headers: [{ key: 'h', value: binary }] }).toString();
  assert.ok(line.endsWith('}\n'));
  const obj = JSON.parse(line);
  assert.equal(obj.key, null);
  assert.equal(obj.keyEncoding, undefined);
  assert.equal(obj.valueEncoding, 'base64');
  assert.deepEqual(Buffer.from(obj.value, 'base64'), binary);
  assert.deepEqual(obj.headers, [{ key: 'h', value: binary.toString('base64'), valueEncoding: 'base64' }]);
});

test('default output is the value per line, "null" for a null value', () => {
  assert.equal(formatValueLine(record).toString(), 'hello\n');
  assert.equal(formatValueLine({ ...record, value: null }).toString(), 'null\n');
});

test('key and value deserializers: hex, base64, big-endian int32 / int64; null stays null; wrong sizes name the record', () => {
  const int32 = Buffer.alloc(4);
  int32.writeInt32BE(-7);
  const int64 = Buffer.alloc(8);
  int64.writeBigInt64BE(2n ** 40n);
  const f = compileFormat('%k|%s');
  assert.equal(withDeserializers(f, 'int32', 'int64')({ ...record, key: int32, value: int64 }).toString(), `-7|${2 ** 40}`);
  assert.equal(withDeserializers(f, 'hex', 'base64')({ ...record, key: Buffer.from([1, 171]), value: Buffer.from('hi') }).toString(), '01ab|aGk=');
  assert.equal(withDeserializers(f, 'int32', 'string')({ ...record, key: null }).toString(), '|hello');
  assert.equal(withDeserializers(f, 'string', 'string'), f);
  assert.throws(() => withDeserializers(f, 'string', 'int32')(record), /orders-2@41: the value has 5 bytes, not the 4 of an int32/);
});
