import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isThrottledReplica, parseRate, TokenBucket, UNLIMITED_RATE } from '../../../src/cluster/replication-throttle.js';

test('throttled-replica lists: partition:broker pairs or *', () => {
  assert.equal(isThrottledReplica('0:2, 1:3', 1, 3), true);
  assert.equal(isThrottledReplica('0:2,1:3', 1, 2), false);
  assert.equal(isThrottledReplica('*', 7, 9), true);
  assert.equal(isThrottledReplica('', 0, 1), false);
  assert.equal(isThrottledReplica(undefined, 0, 1), false);
  assert.equal(isThrottledReplica('junk,0:1', 0, 1), true);
  assert.equal(parseRate('9223372036854775807'), UNLIMITED_RATE);
  assert.equal(parseRate('1000'), 1000);
  assert.equal(parseRate('x'), UNLIMITED_RATE);
});

test('the token bucket starts empty, refills at the rate up to one second, and may go into debt', () => {
  let now = 0;
  const b = new TokenBucket(1000, () => now);
  assert.equal(b.available(1000), 0);
  assert.equal(b.waitMs(1000), 1);
  now = 500;
  assert.equal(b.available(1000), 500);
  b.take(800, 1000);
  assert.equal(b.available(1000), 0);
  assert.equal(b.waitMs(1000), 301);
  now = 10_000;
  assert.equal(b.available(1000), 1000, 'capped at one second of rate');
  assert.equal(b.available(UNLIMITED_RATE), Number.MAX_SAFE_INTEGER);
});
