/**
 * Hostile input: whatever bytes a client sends, decoding either succeeds or
 * throws DecodeError — never another error, never a hang, never a huge
 * allocation driven by a length prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MessageCodec } from '../../../../src/protocol/primitives/codec.js';
import { DecodeError, Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { ProduceRequest } from '../../../../src/protocol/generated/produce-request.js';
import { MetadataRequest } from '../../../../src/protocol/generated/metadata-request.js';
import { buildStruct, loadEntries, needsKafkaReference, rng } from '../helpers/spec-values.js';

const entries = await loadEntries();

function seedOf(name: string, version: number): number {
  let h = 2166136261;
  for (const c of `${name}:${version}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h | 0;
}

/** Decodes and rethrows anything that is not a DecodeError. */
function decodeOnly(codec: MessageCodec<any, any>, version: number, bytes: Uint8Array): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    codec.decode(new Reader(buf), version);
  } catch (err) {
    if (!(err instanceof DecodeError)) {
      throw new Error(`${codec.name} v${version} threw ${String(err)} on ${buf.toString('hex')}`, { cause: err });
    }
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('int32' as const), pos: fc.nat(), value: fc.constantFrom(0x7fffffff, -2, -1, 0x10000) }),
  fc.record({ kind: fc.constant('int16' as const), pos: fc.nat(), value: fc.constantFrom(0x7fff, -2, -1) }),
  fc.record({ kind: fc.constant('varint' as const), pos: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(src: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.pos % b.length;
    switch (m.kind) {
      case 'flip': b[at] ^= 1 << m.bit; break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'int32': if (b.length >= 4) b.writeInt32BE(m.value, at % (b.length - 3)); break;
      case 'int16': if (b.length >= 2) b.writeInt16BE(m.value, at % (b.length - 1)); break;
      // An unsigned varint of 2^32-1 in place of one byte: a compact length claiming everything.
      case 'varint': b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at + 1)]); break;
    }
  }
  return b;
}

const requests = entries.filter((e) => e.model.type === 'request' || e.model.type === 'header');
const others = entries.filter((e) => e.model.type !== 'request' && e.model.type !== 'header');

test('random bytes: every request and header codec × version throws only DecodeError', { ...needsKafkaReference, timeout: 20000 }, () => {
  for (const { model, codec } of requests) {
    for (let v = model.validVersions.lo; v <= model.validVersions.hi; v++) {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => decodeOnly(codec, v, bytes)),
        { numRuns: 100, seed: seedOf(model.name, v) });
    }
  }
});

test('mutated valid encodings: every request and header codec × version throws only DecodeError', { ...needsKafkaReference, timeout: 20000 }, () => {
  for (const { model, codec } of requests) {
    for (let v = model.validVersions.lo; v <= model.validVersions.hi; v++) {
      const w = new Writer();
      codec.encode(w, v, buildStruct(model, model.root, v, rng(seedOf(model.name, v)), false).init);
      const valid = w.toBuffer();
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => decodeOnly(codec, v, mutate(valid, ms))),
        { numRuns: 150, seed: seedOf(model.name, v) });
    }
  }
});

test('responses, data and internal records: mutated encodings throw only DecodeError', { ...needsKafkaReference, timeout: 20000 }, () => {
  for (const { model, codec } of others) {
    for (let v = model.validVersions.lo; v <= model.validVersions.hi; v++) {
      const w = new Writer();
      codec.encode(w, v, buildStruct(model, model.root, v, rng(seedOf(model.name, v)), false).init);
      const valid = w.toBuffer();
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => decodeOnly(codec, v, mutate(valid, ms))),
        { numRuns: 40, seed: seedOf(model.name, v) });
    }
  }
});

/** Runs fn, which must throw DecodeError, and reports time and heap growth. */
function cheapFailure(fn: () => unknown, reason: RegExp): { ms: number; heap: number } {
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  assert.throws(fn, (err) => err instanceof DecodeError && reason.test(err.message));
  const ms = performance.now() - start;
  return { ms, heap: process.memoryUsage().heapUsed - heapBefore };
}

test('huge claimed lengths fail at once without allocating', () => {
  const frames: [MessageCodec<any, any>, number, string, RegExp][] = [
    // transactional id null, acks -1, timeout, topic array count 2^31-1, in a 14-byte frame
    [ProduceRequest, 3, 'ffff ffff 00007530 7fffffff', /claims 2147483647 elements/],
    // flexible: compact array count 2^32-2
    [ProduceRequest, 9, '00 ffff 00007530 ffffffff0f', /claims 4294967294 elements/],
    // one topic whose partition array claims 2^31-1 entries
    [ProduceRequest, 3, 'ffff ffff 00007530 00000001 0001 74 7fffffff 00', /claims 2147483647 elements/],
    // records claiming 2^31-1 bytes
    [ProduceRequest, 3, 'ffff ffff 00007530 00000001 0001 74 00000001 00000000 7fffffff 0102', /bytes length 2147483647 exceeds/],
    // topic name claiming 32767 bytes
    [MetadataRequest, 1, '00000001 7fff 6162', /string length 32767 exceeds/],
  ];
  for (const [codec, v, hexBytes, reason] of frames) {
    const bytes = Buffer.from(hexBytes.replace(/\s/g, ''), 'hex');
    const { ms, heap } = cheapFailure(() => codec.decode(new Reader(bytes), v), reason);
    assert.ok(ms < 50, `${codec.name} v${v} took ${ms} ms`);
    assert.ok(heap < 16 * 1024 * 1024, `${codec.name} v${v} grew the heap by ${heap} bytes`);
  }
});

test('an array of minimal elements filling the frame decodes quickly', () => {
  // 40,000 empty topic names (2 bytes each) in an 80 kB frame.
  const bytes = Buffer.alloc(4 + 80_000);
  bytes.writeInt32BE(40_000, 0);
  const start = performance.now();
  const decoded = MetadataRequest.decode(new Reader(bytes), 1);
  assert.equal(decoded.topics?.length, 40_000);
  assert.ok(performance.now() - start < 1000);
  // One element more than the bytes can hold is refused before decoding any.
  bytes.writeInt32BE(40_001, 0);
  assert.throws(() => MetadataRequest.decode(new Reader(bytes), 1), /claims 40001 elements/);
});
