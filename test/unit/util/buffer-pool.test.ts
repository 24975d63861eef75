import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, MIN_POOLED_BYTES } from '../../../src/util/buffer-pool.js';

test('a released buffer serves the next request of its size class; classes are powers of two', () => {
  const pool = new BufferPool(() => Infinity);
  const a = pool.acquire(600_000);
  assert.equal(a.length, 1 << 20);
  pool.release(a);
  assert.equal(pool.pooledBytes, 1 << 20);
  assert.equal(pool.acquire(1 << 20), a);
  assert.equal(pool.pooledBytes, 0);
  assert.notEqual(pool.acquire(600_000), a, 'taken once');
  const b = pool.acquire(300_000);
  assert.equal(b.length, 1 << 19);
  pool.release(b);
  assert.notEqual(pool.acquire(600_000), b, 'another class');
});

test('small requests, views and foreign sizes are not pooled; room bounds what is kept', () => {
  let room = 3 << 20;
  const pool: BufferPool = new BufferPool((): number => room - pool.pooledBytes);
  assert.equal(pool.acquire(100).length, 100);
  pool.release(Buffer.allocUnsafe(MIN_POOLED_BYTES - 1));
  pool.release(Buffer.allocUnsafeSlow(2 << 20).subarray(0, 1 << 20));
  pool.release(Buffer.allocUnsafeSlow(700_000));
  assert.equal(pool.pooledBytes, 0);
  pool.release(pool.acquire(1 << 21));
  pool.release(pool.acquire(1 << 20));
  pool.release(pool.acquire(1 << 20));
  assert.equal(pool.pooledBytes, 3 << 20, 'the third buffer did not fit');
  room = 0;
  pool.release(pool.acquire(MIN_POOLED_BYTES));
  assert.equal(pool.pooledBytes, 3 << 20);
  pool.clear();
  assert.equal(pool.pooledBytes, 0);
});
