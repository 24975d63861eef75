/**
 * A latency histogram in the HdrHistogram layout, in fixed memory: values (microseconds) from 0 up
 * to one hour, with 2 significant decimal digits (every recorded value is reported within 1/128 of
 * itself, < 1 %). Bucket k ≥ 1 holds [128·2^k, 256·2^k) in 128 sub-buckets of width 2^k; bucket 0
 * holds 0…255 exactly. Count, min, max and sum are kept exactly, so mean, min and max are exact;
 * percentiles are the highest value equivalent to the bucket holding the rank (as HdrHistogram does),
 * clamped to [min, max].
 */

/** 2 significant digits need sub-buckets of half-width ≥ 2·10^2 / 2 → 128 (a power of two). */
const SUB_BUCKET_HALF_MAGNITUDE = 7;
const SUB_BUCKET_HALF = 1 << SUB_BUCKET_HALF_MAGNITUDE; // 128
const SUB_BUCKET_COUNT = SUB_BUCKET_HALF * 2; // 256

/** One hour in microseconds: the highest value tracked at full precision; larger values are clamped. */
export const HIGHEST_TRACKABLE_MICROS = 3_600_000_000;

/** Buckets needed so that 256·2^(n-1) > one hour: 2^24 · 256 ≈ 4.3e9. */
const BUCKET_COUNT = 25;
const COUNTS_LENGTH = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF;

export class HdrHistogram {
  /** Counts per (bucket, sub-bucket), HdrHistogram's flattened index. Float64 so counts never wrap. */
  private readonly counts = new Float64Array(COUNTS_LENGTH);
  private total = 0;
  private sum = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  /** Records one value (microseconds; rounded, negatives become 0, above one hour counted as one hour). */
  record(valueMicros: number, count = 1): void {
    if (!Number.isFinite(valueMicros) || count <= 0) return;
    const v = Math.min(Math.max(Math.round(valueMicros), 0), HIGHEST_TRACKABLE_MICROS);
    this.counts[countsIndex(v)] += count;
    this.total += count;
    this.sum += v * count;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  /** Smallest recorded value (exact); 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }

  /** Largest recorded value (exact); 0 when empty. */
  get max(): number {
    return this.total === 0 ? 0 : this.maxValue;
  }

  /** Arithmetic mean of the recorded values (exact); 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /**
   * The value at percentile p (0…100): the smallest recorded value v such that at least p % of all
   * values are ≤ v (nearest rank), reported as the top of v's bucket, so within 1/128 above it.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const clamped = Math.min(Math.max(p, 0), 100);
    const rank = Math.max(1, Math.ceil((clamped / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < COUNTS_LENGTH; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(Math.max(highestEquivalentValue(i), this.minValue), this.maxValue);
    }
    return this.maxValue;
  }

  /** Adds every value recorded in `other`. */
  add(other: HdrHistogram): void {
    for (let i = 0; i < COUNTS_LENGTH; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    this.sum += other.sum;
    if (other.total > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minValue = Infinity;
    this.maxValue = -Infinity;
  }
}

/** The bucket of v: how many doublings above the exact range (0…255) its top bit is. */
function bucketIndex(v: number): number {
  // v ≤ one hour < 2^32, so clz32 (which reads v as uint32) sees every bit.
  const topBit = 31 - Math.clz32(v);
  return Math.max(0, topBit - SUB_BUCKET_HALF_MAGNITUDE);
}

function countsIndex(v: number): number {
  const bucket = v < SUB_BUCKET_COUNT ? 0 : bucketIndex(v);
  const subBucket = Math.floor(v / 2 ** bucket);
  // Bucket 0 uses all 256 sub-buckets; higher buckets only their upper half (the lower half would repeat bucket k-1).
  return bucket === 0 ? subBucket : (bucket + 1) * SUB_BUCKET_HALF + (subBucket - SUB_BUCKET_HALF);
}

/** The largest value that lands in counts index i. */
function highestEquivalentValue(i: number): number {
  if (i < SUB_BUCKET_COUNT) return i;
  const bucket = Math.floor(i / SUB_BUCKET_HALF) - 1;
  const subBucket = (i % SUB_BUCKET_HALF) + SUB_BUCKET_HALF;
  return (subBucket + 1) * 2 ** bucket - 1;
}
