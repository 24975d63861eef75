import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryChecker, describeReport } from '../../helpers/history-checker.js';

/** Acknowledged v0..v(n-1) at offsets 0..n-1 of t-0. */
function acked(n: number): HistoryChecker {
  const h = new HistoryChecker();
  for (let i = 0; i < n; i++) h.acknowledged('t', 0, i, `v${i}`);
  return h;
}

test('a clean history: everything acknowledged read back once, in order', () => {
  const h = acked(4);
  h.acknowledged('t', 1, 0, 'w0');
  // A value that was produced but never acknowledged may show up: not a defect.
  for (let i = 0; i < 4; i++) h.read('t', 0, i, `v${i}`);
  h.read('t', 1, 0, 'w0');
  h.read('t', 1, 1, 'unacknowledged');
  const r = h.check();
  assert.equal(r.ok, true, describeReport(r));
  assert.equal(r.acknowledged, 5);
  assert.equal(r.read, 6);
});

test('lost: an acknowledged value never read back', () => {
  const h = acked(3);
  h.read('t', 0, 0, 'v0');
  h.read('t', 0, 2, 'v2');
  const r = h.check();
  assert.equal(r.ok, false);
  assert.deepEqual(r.lost, [{ topic: 't', partition: 0, offset: 1, value: 'v1' }]);
  assert.deepEqual([r.duplicates, r.reordered, r.mismatched, r.conflictingAcks], [[], [], [], []]);
  assert.match(describeReport(r), /1 lost/);
});

test('duplicates: one value at two offsets (reading the same offset twice is not one)', () => {
  const h = acked(2);
  h.read('t', 0, 0, 'v0');
  h.read('t', 0, 1, 'v1');
  h.read('t', 0, 2, 'v1');
  const r = h.check();
  assert.deepEqual(r.duplicates, [{ value: 'v1', positions: [{ topic: 't', partition: 0, offset: 1 }, { topic: 't', partition: 0, offset: 2 }] }]);
  assert.deepEqual([r.lost, r.reordered, r.mismatched], [[], [], []]);
  assert.equal(r.ok, false);
});

test('reordered: offsets not increasing within a partition, in read order', () => {
  const h = acked(3);
  h.read('t', 0, 0, 'v0');
  h.read('t', 0, 2, 'v2');
  h.read('t', 0, 1, 'v1');
  // Another partition's offsets are independent.
  h.read('t', 1, 0, 'x');
  const r = h.check();
  assert.deepEqual(r.reordered, [{ topic: 't', partition: 0, previousOffset: 2, offset: 1 }]);
  assert.deepEqual([r.lost, r.duplicates, r.mismatched], [[], [], []]);
  assert.equal(r.ok, false);
});

test('mismatched: an offset acknowledged for A holds B', () => {
  const h = acked(2);
  h.acknowledged('t', 0, 2, 'v2');
  h.read('t', 0, 0, 'v0');
  h.read('t', 0, 1, 'v1');
  h.read('t', 0, 2, 'other');
  h.read('t', 0, 3, 'v2');
  const r = h.check();
  assert.deepEqual(r.mismatched, [{ topic: 't', partition: 0, offset: 2, acknowledged: 'v2', read: 'other' }]);
  assert.deepEqual(r.lost, [], 'v2 was read back, elsewhere');
  assert.equal(r.ok, false);
});

test('conflicting acknowledgements: one offset promised to two values', () => {
  const h = new HistoryChecker();
  h.acknowledged('t', 0, 0, 'a');
  h.acknowledged('t', 0, 0, 'b');
  h.read('t', 0, 0, 'a');
  const r = h.check();
  assert.deepEqual(r.conflictingAcks, [{ topic: 't', partition: 0, offset: 0, values: ['a', 'b'] }]);
  assert.deepEqual(r.lost, [{ topic: 't', partition: 0, offset: 0, value: 'b' }]);
  assert.deepEqual(r.mismatched, [{ topic: 't', partition: 0, offset: 0, acknowledged: 'b', read: 'a' }]);
});

test('an acknowledgement without an offset (-1) must be read back, but has no position to conflict or mismatch', () => {
  const h = new HistoryChecker();
  h.acknowledged('t', 0, -1, 'a');
  h.acknowledged('t', 0, -1, 'b');
  h.acknowledged('t', 0, -1, 'c');
  h.read('t', 0, 0, 'a');
  h.read('t', 0, 1, 'b');
  const r = h.check();
  assert.deepEqual(r.lost.map((l) => l.value), ['c']);
  assert.deepEqual([r.conflictingAcks, r.mismatched, r.duplicates, r.reordered], [[], [], [], []]);
});
