import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey } from '../../../src/client/partitioner.js';

// Vectors from the Java client's UtilsTest.testMurmur2 and DefaultPartitionerTest.
test('murmur2 matches the Java client', () => {
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [s, h] of cases) assert.equal(murmur2(Buffer.from(s)), h, s);
});

test('partitionForKey is non-negative and stable', () => {
  assert.equal(partitionForKey(Buffer.from('foobar'), 3), (-790332482 & 0x7fffffff) % 3);
  for (let i = 0; i < 1000; i++) {
    const p = partitionForKey(Buffer.from(`key-${i}`), 7);
    assert.ok(p >= 0 && p < 7);
  }
});
