/**
 * PostgreSQL CDC's pure parts: LSN text ⇄ bigint, and the text → JSON mapping of column values (the same for the
 * snapshot and the pgoutput stream; the real server's output for each type is checked in test/compat/cdc-postgres).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnValue, formatLsn, parseLsn } from '../../../src/connect/cdc/postgres.js';

test('LSNs: X/Y hex halves to bigint and back, ordered as numbers', () => {
  assert.equal(parseLsn('0/16B3748'), 0x16b3748n);
  assert.equal(parseLsn('1/0'), 1n << 32n);
  assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), (1n << 64n) - 1n);
  assert.equal(formatLsn(parseLsn('00000002/0000A0B0')), '2/A0B0');
  assert.ok(parseLsn('1/0') > parseLsn('0/FFFFFFFF'));
  assert.throws(() => parseLsn('16B3748'), /not an LSN/);
});

const INT8 = 20;
const NUMERIC = 1700;
const FLOAT8 = 701;

test('int8: a number while it is a safe integer, else the decimal string', () => {
  assert.equal(columnValue(INT8, '42'), 42);
  assert.equal(columnValue(INT8, '-9007199254740991'), -9007199254740991);
  assert.equal(columnValue(INT8, '9007199254740992'), '9007199254740992');
  assert.equal(columnValue(INT8, '-9223372036854775808'), '-9223372036854775808');
});

test('numeric: its decimal string, always (scale kept; one JSON type per column)', () => {
  assert.equal(columnValue(NUMERIC, '12.5'), '12.5');
  assert.equal(columnValue(NUMERIC, '12.50'), '12.50');
  assert.equal(columnValue(NUMERIC, '0.30000000000000000001'), '0.30000000000000000001');
  assert.equal(columnValue(NUMERIC, '123456789012345678901234567890'), '123456789012345678901234567890');
  assert.equal(columnValue(NUMERIC, 'NaN'), 'NaN');
});

test('floats: numbers, with NaN and infinities as strings', () => {
  assert.equal(columnValue(FLOAT8, '1.25'), 1.25);
  assert.equal(columnValue(FLOAT8, '-Infinity'), '-Infinity');
  assert.equal(columnValue(FLOAT8, 'NaN'), 'NaN');
});

test('times, bytes, JSON and the rest', () => {
  assert.equal(columnValue(1184, '2024-05-06 05:08:09.123456+00'), '2024-05-06T05:08:09.123456Z');
  assert.equal(columnValue(1184, 'infinity'), 'infinity');
  assert.equal(columnValue(1114, '2024-05-06 07:08:09'), '2024-05-06T07:08:09');
  assert.equal(columnValue(1114, '0044-03-15 12:00:00 BC'), '0044-03-15 12:00:00 BC');
  assert.equal(columnValue(1082, '2024-05-06'), '2024-05-06');
  assert.equal(columnValue(1186, 'P1Y2M3DT4H5M6S'), 'P1Y2M3DT4H5M6S');
  assert.equal(columnValue(17, '\\x00ff'), 'AP8=');
  assert.equal(columnValue(3802, '{"a": [1, {"b": null}]}'), '{"a": [1, {"b": null}]}', 'JSON text, as Debezium gives json');
  assert.equal(columnValue(16, 't'), true);
  assert.equal(columnValue(16, 'f'), false);
  assert.deepEqual(columnValue(1007, '{1,NULL,3}'), [1, null, 3]);
  assert.deepEqual(columnValue(1007, '{{1,2},{3,4}}'), [[1, 2], [3, 4]]);
  // Array elements get the column mapping of their type.
  assert.deepEqual(columnValue(1016, '{1,9223372036854775807}'), [1, '9223372036854775807']);
  assert.deepEqual(columnValue(1231, '{1.5,NaN}'), ['1.5', 'NaN']);
  assert.deepEqual(columnValue(1185, '{"2024-01-01 00:00:00.123456+00",NULL}'), ['2024-01-01T00:00:00.123456Z', null]);
  assert.deepEqual(columnValue(3807, '{"{\\"a\\":1}"}'), ['{"a":1}']);
  assert.deepEqual(columnValue(1001, '{"\\\\x00ff"}'), ['AP8=']);
  assert.deepEqual(columnValue(1009, '{a,"b c"}'), ['a', 'b c']);
  assert.equal(columnValue(2950, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.equal(columnValue(99999, 'some enum label'), 'some enum label', 'unknown types stay text');
});
