/**
 * JsonBytesEncoder against JSON.stringify: the same bytes for every value, on a seeded random corpus of flat objects
 * (unicode incl. astral and lone surrogates, escapes, control characters, numbers of every kind) and of values it
 * must leave to JSON.stringify (nested, arrays, toJSON, class instances, undefined members, boxed primitives).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonBytesEncoder } from '../../../src/connect/json-bytes.js';
import { serializeValue } from '../../../src/connect/source-offsets.js';
import { prng } from '../../../src/util/prng.js';

const bytesOf = (v: string | Buffer | null): Buffer | null => (v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

function expectSame(enc: JsonBytesEncoder, value: unknown): void {
  const got = bytesOf(enc.encode(value));
  const want = bytesOf(serializeValue(value));
  if (want === null) assert.equal(got, null);
  else assert.ok(got !== null && got.equals(want), `${JSON.stringify(value)}: got ${got?.toString('utf8')}`);
}

const SPECIAL_NUMBERS = [0, -0, 1, -1, 9, 10, 99, 100, 2147483647, -2147483648, 2147483648, -2147483649, 4294967296, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e21, -1e21, 1e20, 999999999999999900000, 5e-7, 1e-6, 0.1, -0.5, 1.5e300, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 123.456, 1 / 3];
const CODE_UNITS = [0x22, 0x5c, 0x2f, 0x08, 0x0c, 0x0a, 0x0d, 0x09, 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0x2028, 0x2029, 0xfeff, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff];

function randomString(random: () => number): string {
  const len = Math.floor(random() * 12);
  let s = '';
  for (let i = 0; i < len; i++) {
    const r = random();
    if (r < 0.5) s += String.fromCharCode(0x20 + Math.floor(random() * 95));
    else if (r < 0.7) s += String.fromCharCode(CODE_UNITS[Math.floor(random() * CODE_UNITS.length)]!);
    else if (r < 0.8) s += String.fromCodePoint(0x10000 + Math.floor(random() * 0xfffff)); // astral: a surrogate pair
    else if (r < 0.9) s += String.fromCharCode(Math.floor(random() * 0x10000)); // any code unit, lone surrogates too
    else s += String.fromCharCode(Math.floor(random() * 0x20));
  }
  return s;
}

function randomNumber(random: () => number): number {
  const r = random();
  if (r < 0.3) return SPECIAL_NUMBERS[Math.floor(random() * SPECIAL_NUMBERS.length)]!;
  if (r < 0.6) return Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 60));
  if (r < 0.8) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
  return random() * 1000;
}

function randomScalar(random: () => number): string | number | boolean | null {
  const r = random();
  if (r < 0.45) return randomString(random);
  if (r < 0.85) return randomNumber(random);
  if (r < 0.95) return random() < 0.5;
  return null;
}

const KEYS = ['id', 'name', 'age', 'city', 'event_time', 'é', '"q"', 'a\\b', '\n', '0', '12', '😀', '\ud800', ''];

test('flat objects of random shapes and values: the bytes of JSON.stringify', () => {
  const random = prng(1616);
  const enc = new JsonBytesEncoder();
  const shapes: string[][] = [];
  for (let s = 0; s < 40; s++) {
    const n = 1 + Math.floor(random() * 6);
    const keys = new Set<string>();
    while (keys.size < n) keys.add(KEYS[Math.floor(random() * KEYS.length)]!);
    shapes.push([...keys]);
  }
  for (let i = 0; i < 20_000; i++) {
    // Runs of one shape (as a source's records come), then another.
    const keys = shapes[Math.floor(i / 50) % 7 === 0 ? Math.floor(random() * shapes.length) : Math.floor(i / 200) % shapes.length]!;
    const v: Record<string, unknown> = {};
    for (const k of keys) v[k] = randomScalar(random);
    expectSame(enc, v);
  }
  assert.ok(enc.encoded > 19_000, `encoded ${enc.encoded}, stringified ${enc.stringified}`);
});

test('every special number and code unit alone', () => {
  const enc = new JsonBytesEncoder();
  for (const x of SPECIAL_NUMBERS) expectSame(enc, { x });
  for (let c = 0; c < 0x10000; c++) expectSame(enc, { s: String.fromCharCode(c), t: `a${String.fromCharCode(c)}b` });
  expectSame(enc, { s: '\ud83d\ude00\ud83d', t: '\ude00\ud83d' });
  assert.equal(enc.stringified, 0);
});

test('what it leaves to JSON.stringify comes out as JSON.stringify writes it', () => {
  const enc = new JsonBytesEncoder();
  class Row {
    constructor(readonly id: number) {}
  }
  const inherits = Object.create({ inherited: 1 }) as Record<string, unknown>;
  inherits.own = 2;
  const values: unknown[] = [
    null,
    undefined,
    'text',
    Buffer.from('raw bytes'),
    5,
    true,
    [1, 2, 3],
    { id: 1, nested: { a: 1 } },
    { id: 1, list: [1, 'a'] },
    { id: 1, skipped: undefined },
    { id: 1, fn: () => 1 },
    { id: 1, when: new Date(0) },
    { id: 1, toJSON: () => 'custom' },
    new Row(7),
    inherits,
    Object.assign(Object.create(null) as object, { id: 1, name: 'n' }),
    {},
    new Uint8Array([1, 2]),
    new String('ab'),
    new Map([[1, 2]]),
  ];
  for (const v of values) expectSame(enc, v);
  // The same keys as a learnt shape but a nested value, then the plain one again.
  expectSame(enc, { id: 1, name: 'a' });
  expectSame(enc, { id: 1, name: { first: 'a' } });
  expectSame(enc, { id: 2, name: 'b' });
  // Keys in another order are another shape; fewer or more keys too.
  expectSame(enc, { name: 'b', id: 2 });
  expectSame(enc, { id: 2 });
  expectSame(enc, { id: 2, name: 'b', age: 3 });
  assert.throws(() => enc.encode({ id: 1n }), TypeError);
});

test('values across many slabs stay intact, and one too large for a slab is stringified', () => {
  const enc = new JsonBytesEncoder();
  const random = prng(7);
  const out: Array<[unknown, Buffer | string | null]> = [];
  for (let i = 0; i < 5000; i++) {
    const v = { id: i, text: randomString(random).repeat(1 + Math.floor(random() * 40)) };
    out.push([v, enc.encode(v)]);
  }
  // Checked after all were written: a later record never overwrites an earlier one's bytes.
  for (const [v, got] of out) assert.ok(bytesOf(got)!.equals(Buffer.from(JSON.stringify(v), 'utf8')));
  const big = { id: 1, text: 'x'.repeat(20_000) };
  expectSame(enc, big);
  assert.equal(enc.stringified, 1);
  expectSame(enc, { id: 2, text: 'small again' });
});

test('keys: short ASCII keys as their bytes, others as given, intact across slabs', () => {
  const enc = new JsonBytesEncoder();
  const random = prng(99);
  const out: Array<[string, Buffer | string | null | undefined]> = [];
  for (let i = 0; i < 30_000; i++) {
    const k = random() < 0.9 ? String(i) : randomString(random);
    out.push([k, enc.key(k)]);
    enc.encode({ id: i, pad: 'x'.repeat(Math.floor(random() * 300)) });
  }
  let asBytes = 0;
  for (const [k, got] of out) {
    if (Buffer.isBuffer(got)) {
      asBytes++;
      assert.ok(got.equals(Buffer.from(k, 'utf8')), k);
    } else assert.equal(got, k);
    // A key with a non-ASCII character stays a string (the producer encodes it as before).
    if ([...k].some((c) => c.charCodeAt(0) >= 0x80)) assert.equal(got, k);
  }
  assert.ok(asBytes > 27_000, `${asBytes}`);
  const long = 'k'.repeat(65);
  assert.equal(enc.key(long), long);
  assert.equal(enc.key(null), null);
  const raw = Buffer.from([1, 2]);
  assert.equal(enc.key(raw), raw);
});
