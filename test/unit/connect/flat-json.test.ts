/** The SQL sinks' flat JSON decoder against JSON.parse, on a seeded corpus of plain and awkward values. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlatJsonDecoder } from '../../../src/connect/flat-json.js';
import { prng } from '../../../src/util/prng.js';

const rand = prng(16);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const TEXTS = ['', 'a', 'Berlin', 'São Paulo', 'Zürich 🚀', 'quote " inside', 'back\\slash', 'tab\there', 'line\nbreak', '\u0001', '\u2028', 'x'.repeat(300)];
const NUMBERS = [0, -0, 1, -1, 42, 123456789012345, 1234567890123456, 2 ** 53 + 2, 0.5, -0.25, 3.14159, 1e21, 5e-7, 1.5e300, 100, 0.1 + 0.2];

function randomValue(): unknown {
  const r = rand();
  if (r < 0.45) return pick(TEXTS);
  if (r < 0.85) return pick(NUMBERS);
  if (r < 0.9) return rand() < 0.5;
  if (r < 0.95) return null;
  return rand() < 0.5 ? { nested: 1 } : [1, 'two'];
}

/** Byte-level edits JSON.parse judges: whitespace, escapes, exponents, trailing text, truncation, invalid UTF-8. */
function mangle(text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  switch (Math.floor(rand() * 7)) {
    case 0: {
      const at = Math.floor(rand() * b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from(pick([' ', '\n', ',', '"', '}', '\\u0041', 'e5', '0', '-'])), b.subarray(at)]);
    }
    case 1:
      return b.subarray(0, Math.floor(rand() * b.length));
    case 2:
      return Buffer.concat([b, Buffer.from(pick([' ', 'x', '}', ',{}']))]);
    case 3: {
      const c = Buffer.from(b);
      c[Math.floor(rand() * c.length)] = pick([0xff, 0xc3, 0x80, 0x00]);
      return c;
    }
    default:
      return b;
  }
}

/** JSON.parse's answer: the object, or null when it is not one (or not JSON). */
function reference(b: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Equal as JSON.parse gives them: the same keys in the same order, values Object.is-equal (so -0 counts). */
function assertSame(got: Record<string, unknown>, want: Record<string, unknown>, text: string): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), text);
  for (const k of Object.keys(want)) assert.ok(Object.is(got[k], want[k]), `${text}: ${k} is ${String(got[k])}, JSON.parse says ${String(want[k])}`);
}

describe('FlatJsonDecoder', () => {
  test('gives what JSON.parse gives, or gives up; plain values of the learnt shape are read', () => {
    let decoded = 0;
    let plain = 0;
    for (let s = 0; s < 60; s++) {
      const keys = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => pick(['id', 'name', 'age', 'city', 'event_time', 'ü', 'a b', 'q"k', 'x']) + i);
      const flat = new FlatJsonDecoder();
      const first: Record<string, unknown> = {};
      for (const k of keys) first[k] = pick(TEXTS);
      flat.learn(first);
      for (let i = 0; i < 200; i++) {
        const obj: Record<string, unknown> = {};
        for (const k of keys) obj[k] = rand() < 0.9 ? (rand() < 0.5 ? pick(TEXTS) : pick(NUMBERS)) : randomValue();
        const text = JSON.stringify(obj);
        const mangled = rand() < 0.4;
        const bytes = mangled ? mangle(text) : Buffer.from(text, 'utf8');
        const got = flat.decode(bytes);
        const want = reference(bytes);
        if (got !== undefined) {
          decoded++;
          assert.ok(want !== null, `decoded what JSON.parse refuses: ${bytes.toString('utf8')}`);
          assertSame(got, want, bytes.toString('utf8'));
        }
        const simple = Object.values(obj).every((v) => (typeof v === 'string' && ![...v].some((ch) => ch === '"' || ch === '\\' || ch < ' ')) || (typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) < 1e15));
        if (!mangled && simple) {
          plain++;
          assert.ok(got !== undefined, `a plain value of the learnt shape was not read: ${text}`);
        }
      }
    }
    assert.ok(plain > 1000 && decoded >= plain, `${plain} plain, ${decoded} decoded`);
  });

  test('learns only flat shapes with plain keys; another key order or shape is left to JSON.parse', () => {
    const flat = new FlatJsonDecoder();
    assert.equal(flat.decode(Buffer.from('{"a":1}')), undefined, 'nothing learnt yet');
    flat.learn({ a: 1, b: { c: 2 } });
    assert.equal(flat.decode(Buffer.from('{"a":1,"b":2}')), undefined, 'a nested value is not a flat shape');
    flat.learn({ 1: 'x', b: 2 });
    assert.equal(flat.decode(Buffer.from('{"1":"x","b":2}')), undefined, 'integer-like keys come first in JSON.parse');
    flat.learn({ a: 1, b: 'x' });
    assert.deepEqual(flat.decode(Buffer.from('{"a":-0.5,"b":"ü"}')), { a: -0.5, b: 'ü' });
    assert.equal(flat.decode(Buffer.from('{"b":"x","a":1}')), undefined);
    assert.equal(flat.decode(Buffer.from('{"a":1,"b":"x","c":3}')), undefined);
    assert.equal(flat.decode(Buffer.from('{"a":1e3,"b":"x"}')), undefined);
    assert.equal(flat.decode(Buffer.from('{"a":01,"b":"x"}')), undefined);
    assert.equal(flat.decode(Buffer.from('{"a":1,"b":"x"} ')), undefined);
    assert.ok(Object.is(flat.decode(Buffer.from('{"a":-0,"b":null}'))!.a, -0));
  });
});
