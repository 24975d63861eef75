/**
 * The records every compatibility test produces, and the checks every test runs on what it reads
 * back, so all clients are held to the same standard.
 */
import assert from 'node:assert/strict';

export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

export type Header = [string, string];

export interface TestRecord {
  key: string;
  value: string;
  headers: Header[];
  /** CreateTime in ms, for clients that let the producer set it. */
  timestamp?: number;
}

/** Where the broker said it put a record (from the produce acknowledgement). */
export interface Placement {
  partition: number;
  offset: number;
}

export interface ConsumedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Header[];
  timestamp?: number;
}

/** Seven keys, so each key lands on one of the partitions and most partitions get several keys. */
export const KEY_COUNT = 7;

/** `count` keyed records whose values are unique across tags; headers tell codec and sequence. */
export function makeRecords(tag: string, count: number): TestRecord[] {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: `key-${i % KEY_COUNT}`,
      // Repetitive payload so that compression actually compresses.
      value: `${tag}-${i}-${'abcdefgh'.repeat(8)}`,
      headers: [['codec', tag], ['seq', String(i)]],
    });
  }
  return records;
}

/** Records 0..count-1 with timestamps base + i*step, all in one partition, for consume-from-timestamp. */
export function makeTimedRecords(tag: string, count: number, base: number, step = 1000): TestRecord[] {
  return makeRecords(tag, count).map((record, i) => ({ ...record, timestamp: base + i * step }));
}

export interface CheckOptions {
  /** Whether the client under test carries headers both ways. */
  headers: boolean;
  /** The produce acknowledgements, parallel to `produced`; when given, each record must sit exactly there. */
  placements?: readonly Placement[];
}

/**
 * Every produced record is consumed exactly once with its key, value (and headers); all records of
 * one key share a partition; offsets are unique and increasing per partition in consume order.
 * Returns key → partition.
 */
export function assertExactlyOnce(produced: readonly TestRecord[], consumed: readonly ConsumedRecord[], options: CheckOptions): Map<string, number> {
  const byValue = new Map<string, ConsumedRecord>();
  for (const record of consumed) {
    assert.ok(record.value !== null, `record at ${record.partition}/${record.offset} has a null value`);
    assert.ok(!byValue.has(record.value), `value ${record.value} consumed twice (${record.partition}/${record.offset})`);
    byValue.set(record.value, record);
  }
  const missing = produced.filter((record) => !byValue.has(record.value)).map((record) => record.value);
  assert.deepEqual(missing, [], `${missing.length} of ${produced.length} produced records were not consumed`);
  assert.equal(consumed.length, produced.length, 'consumed records that were never produced');

  const partitionOfKey = new Map<string, number>();
  produced.forEach((record, i) => {
    const got = byValue.get(record.value)!;
    assert.equal(got.key, record.key, `key of ${record.value}`);
    if (options.headers) assert.deepEqual(got.headers, record.headers, `headers of ${record.value}`);
    if (record.timestamp !== undefined && got.timestamp !== undefined) assert.equal(got.timestamp, record.timestamp, `timestamp of ${record.value}`);
    const placement = options.placements?.[i];
    if (placement) {
      assert.deepEqual({ partition: got.partition, offset: got.offset }, placement, `${record.value} is not where its acknowledgement said`);
    }
    const partition = partitionOfKey.get(record.key);
    if (partition === undefined) partitionOfKey.set(record.key, got.partition);
    else assert.equal(got.partition, partition, `key ${record.key} was placed in partitions ${partition} and ${got.partition}`);
  });

  const lastOffset = new Map<number, number>();
  for (const record of consumed) {
    const previous = lastOffset.get(record.partition) ?? -1;
    assert.ok(record.offset > previous, `partition ${record.partition}: offset ${record.offset} after ${previous}`);
    lastOffset.set(record.partition, record.offset);
  }
  return partitionOfKey;
}

/** The record a consume from `timestamp` must start at: the first, in produce order (one partition), with a timestamp ≥ it. */
export function expectedFirstAtOrAfter(produced: readonly TestRecord[], timestamp: number): TestRecord | undefined {
  return produced.find((record) => (record.timestamp ?? -Infinity) >= timestamp);
}
