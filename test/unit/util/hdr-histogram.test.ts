import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HdrHistogram, HIGHEST_TRACKABLE_MICROS } from '../../../src/util/hdr-histogram.js';

/** Nearest-rank percentile of a sorted array: the smallest value with at least p % of values ≤ it. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** A deterministic generator so failures reproduce (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

function checkAgainstExact(values: number[]): void {
  const h = new HdrHistogram();
  for (const v of values) h.record(v);
  const sorted = values.map((v) => Math.round(v)).sort((a, b) => a - b);
  assert.equal(h.count, values.length);
  assert.equal(h.min, sorted[0]);
  assert.equal(h.max, sorted[sorted.length - 1]);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  assert.ok(Math.abs(h.mean - mean) <= 1e-9 * Math.max(1, mean), `mean ${h.mean} vs ${mean}`);
  for (const p of PERCENTILES) {
    const exact = exactPercentile(sorted, p);
    const got = h.percentile(p);
    // Two significant digits: never below the exact value, never more than 1/128 above it.
    assert.ok(got >= exact && got <= exact + exact / 128, `p${p}: got ${got}, exact ${exact}`);
  }
}

test('small values (below 256 µs) are exact', () => {
  const h = new HdrHistogram();
  for (let v = 0; v < 256; v++) h.record(v);
  for (let v = 1; v <= 256; v++) assert.equal(h.percentile((v / 256) * 100), v - 1);
});

test('uniform, log-uniform and bimodal latencies match exact percentiles within 2 significant digits', () => {
  const r = rng(12345);
  checkAgainstExact(Array.from({ length: 20_000 }, () => 1 + r() * 100_000));
  // 1 µs … 1 h, evenly across the decades: exercises every bucket.
  checkAgainstExact(Array.from({ length: 20_000 }, () => Math.exp(r() * Math.log(HIGHEST_TRACKABLE_MICROS))));
  checkAgainstExact(Array.from({ length: 10_000 }, (_, i) => (i % 100 === 0 ? 2_000_000 + r() * 1000 : 300 + r() * 50)));
  checkAgainstExact([42]);
});

test('empty histogram reports zeros; values above one hour are clamped; reset and add', () => {
  const h = new HdrHistogram();
  assert.equal(h.count, 0);
  assert.equal(h.percentile(50), 0);
  assert.equal(h.mean, 0);
  h.record(HIGHEST_TRACKABLE_MICROS * 10);
  assert.equal(h.max, HIGHEST_TRACKABLE_MICROS);
  h.record(-5);
  assert.equal(h.min, 0);
  const other = new HdrHistogram();
  other.record(1000, 3);
  h.add(other);
  assert.equal(h.count, 5);
  assert.ok(Math.abs(h.percentile(50) - 1000) <= 1000 / 128);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.max, 0);
});
