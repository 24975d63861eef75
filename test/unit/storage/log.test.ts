import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { TIMESTAMP_TYPE_MASK, isCrcValid, readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { OffsetOutOfRangeError } from '../../../src/storage/storage-error.js';
import { batch, batchRanges, countingSync, decodeAll, logFiles, openLog, readAll, tmpDir } from './storage-helpers.js';

function assertOutOfRange(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OffsetOutOfRangeError, String(err));
    assert.equal(err.kafkaError, 'OFFSET_OUT_OF_RANGE');
    return true;
  });
}

describe('Log', () => {
  it('round-trips appends across segment rolls and returns the batch containing any offset', async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: { 'segment.bytes': '2000', 'index.interval.bytes': '300' } });
    const expected: string[] = [];
    const ranges: Array<[number, number]> = [];
    for (let b = 0; b < 60; b++) {
      const n = 1 + (b % 7);
      const res = log.append(batch(n, { tag: `b${b}`, valueSize: 20 + (b % 5) * 30 }), { leaderEpoch: 3 });
      assert.equal(res.baseOffset, expected.length);
      assert.equal(res.lastOffset, expected.length + n - 1);
      assert.equal(res.logAppendTime, -1);
      ranges.push([res.baseOffset, res.lastOffset]);
      for (let i = 0; i < n; i++) expected.push(`b${b}-${i}`.padEnd(20 + (b % 5) * 30, '.'));
    }
    assert.equal(log.logEndOffset, expected.length);
    assert.equal(log.highWatermark, log.logEndOffset);
    assert.ok(log.segmentCount >= 10, `rolled into ${log.segmentCount} segments`);
    for (const f of logFiles(dir)) assert.ok(fs.statSync(f).size <= 2000);
    assert.deepEqual(readAll(log).map((r) => r.value), expected);
    // Every offset, including ones in the middle of a batch, starts the read at the batch holding it.
    for (let o = 0; o < expected.length; o++) {
      const buf = log.read(o, 1, true);
      const range = ranges.find(([a, z]) => a <= o && o <= z)!;
      assert.deepEqual(batchRanges(buf), [range], `offset ${o}`);
      const h = readBatchHeader(buf, 0);
      assert.equal(h.partitionLeaderEpoch, 3);
      assert.ok(isCrcValid(buf, 0));
    }
    assert.equal(log.size(), logFiles(dir).reduce((s, f) => s + fs.statSync(f).size, 0));
    await log.close();
  });

  it('honours maxBytes and minOneBatch and reads from one segment', async () => {
    const log = openLog(tmpDir(), { overrides: { 'segment.bytes': String(3 * 400) } });
    const sizes: number[] = [];
    for (let b = 0; b < 6; b++) {
      const buf = batch(2, { valueSize: 150 });
      sizes.push(buf.length);
      log.append(buf, { leaderEpoch: 0 });
    }
    assert.equal(log.segmentCount, 2);
    assert.deepEqual(batchRanges(log.read(0, sizes[0]! * 2 + 10, false)), [[0, 1], [2, 3]]);
    assert.equal(log.read(0, sizes[0]! - 1, false).length, 0);
    assert.deepEqual(batchRanges(log.read(1, 1, true)), [[0, 1]]);
    // A huge maxBytes stops at the end of the first segment.
    assert.deepEqual(batchRanges(log.read(0, 1 << 20, false)), [[0, 1], [2, 3], [4, 5]]);
    assert.deepEqual(batchRanges(log.read(6, 1 << 20, false)), [[6, 7], [8, 9], [10, 11]]);
    await log.close();
  });

  it('throws OffsetOutOfRange outside [logStartOffset, logEndOffset] and returns nothing at the end', async () => {
    const log = openLog(tmpDir());
    assert.equal(log.read(0, 100, true).length, 0);
    assertOutOfRange(() => log.read(1, 100, true));
    log.append(batch(5), { leaderEpoch: 0 });
    assert.equal(log.read(5, 100, true).length, 0);
    assertOutOfRange(() => log.read(6, 100, true));
    assertOutOfRange(() => log.read(-1, 100, true));
    assertOutOfRange(() => log.deleteRecordsBefore(6));
    assert.equal(log.deleteRecordsBefore(2), 2);
    assertOutOfRange(() => log.read(1, 100, true));
    assert.deepEqual(readAll(log, 2).map((r) => r.offset), [2, 3, 4]);
    await log.close();
  });

  it('finds the exact earliest record at or after a timestamp, in plain and compressed batches', async () => {
    for (const compression of [0, 1, 4] as const) {
      const log = openLog(tmpDir(), { overrides: { 'segment.bytes': '200' } });
      const stamps = [[100, 200, 300], [150, 400], [50], [400, 399]];
      for (const s of stamps) log.append(batch(s.length, { ts: (i) => s[i]!, compression }), { leaderEpoch: 0 });
      assert.ok(log.segmentCount > 1);
      const flat = stamps.flat().map((timestamp, offset) => ({ offset, timestamp }));
      for (let ts = 0; ts <= 401; ts++) {
        const want = flat.find((r) => r.timestamp >= ts) ?? null;
        assert.deepEqual(log.offsetForTimestamp(ts), want, `ts ${ts} codec ${compression}`);
      }
      assert.deepEqual(log.offsetOfMaxTimestamp(), { offset: 4, timestamp: 400 });
      // Records below the log start offset are not answers.
      log.deleteRecordsBefore(2);
      assert.deepEqual(log.offsetForTimestamp(100), { offset: 2, timestamp: 300 });
      await log.close();
    }
  });

  it('has no timestamps to offer when empty', async () => {
    const log = openLog(tmpDir());
    assert.equal(log.offsetForTimestamp(0), null);
    assert.equal(log.offsetOfMaxTimestamp(), null);
    await log.close();
  });

  it('stamps LogAppendTime when the topic uses it, keeping the CRC valid', async () => {
    const log = openLog(tmpDir(), { overrides: { 'message.timestamp.type': 'LogAppendTime' }, now: () => 1_234_567 });
    const res = log.append(Buffer.concat([batch(2), batch(3)]), { leaderEpoch: 0 });
    assert.equal(res.logAppendTime, 1_234_567);
    const buf = log.read(0, 1 << 20, true);
    for (const pos of [0, buf.readInt32BE(8) + 12]) {
      const h = readBatchHeader(buf, pos);
      assert.ok(h.attributes & TIMESTAMP_TYPE_MASK);
      assert.equal(h.maxTimestamp, 1_234_567);
      assert.ok(isCrcValid(buf, pos));
    }
    assert.deepEqual(decodeAll(buf).map((r) => r.timestamp), [1_234_567, 1_234_567, 1_234_567, 1_234_567, 1_234_567]);
    assert.deepEqual(log.offsetOfMaxTimestamp(), { offset: 0, timestamp: 1_234_567 });
    await log.close();
  });

  it('rejects bytes that are not whole v2 batches without writing anything', async () => {
    const log = openLog(tmpDir());
    const good = batch(2);
    assert.throws(() => log.append(good.subarray(0, good.length - 1), { leaderEpoch: 0 }), { kafkaError: 'CORRUPT_MESSAGE' });
    assert.throws(() => log.append(Buffer.alloc(0), { leaderEpoch: 0 }), { kafkaError: 'CORRUPT_MESSAGE' });
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.size(), 0);
    await log.close();
    assert.throws(() => log.append(batch(1), { leaderEpoch: 0 }), { kafkaError: 'KAFKA_STORAGE_ERROR' });
  });

  it('rolls by segment.ms measured in record time', async () => {
    const log = openLog(tmpDir(), { overrides: { 'segment.ms': '1000' } });
    log.append(batch(1, { ts: () => 10_000 }), { leaderEpoch: 0 });
    log.append(batch(1, { ts: () => 10_900 }), { leaderEpoch: 0 });
    assert.equal(log.segmentCount, 1);
    log.append(batch(1, { ts: () => 11_001 }), { leaderEpoch: 0 });
    assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
    await log.close();
  });

  it('applies retention.bytes oldest first, never deleting the active segment', async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: { 'segment.bytes': '1000', 'retention.bytes': '2500' } });
    const now = Date.now();
    for (let b = 0; b < 20; b++) log.append(batch(3, { valueSize: 80, ts: () => now }), { leaderEpoch: 0 });
    const before = log.segmentCount;
    const deleted = log.applyRetention(now);
    assert.ok(deleted > 0);
    assert.equal(log.segmentCount, before - deleted);
    // Kafka's rule: delete the oldest while the rest still holds at least retention.bytes.
    assert.ok(log.size() >= 2500 && log.size() < 2500 + 1000, `size ${log.size()}`);
    const base = log.segmentBaseOffsets()[0]!;
    assert.equal(log.logStartOffset, base);
    assertOutOfRange(() => log.read(base - 1, 100, true));
    assert.equal(readAll(log)[0]!.offset, base);
    // Tiny limit: everything but the active segment goes.
    log.config = { ...log.config, retentionBytes: 0 };
    log.applyRetention(now);
    assert.equal(log.segmentCount, 1);
    assert.ok(log.size() > 0);
    await log.close();
    assert.equal(logFiles(dir).length, 1);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.deleted')), []);
  });

  it('applies retention.ms by the largest record timestamp of each segment', async () => {
    const log = openLog(tmpDir(), { overrides: { 'segment.bytes': '300', 'retention.ms': '1000' } });
    for (let b = 0; b < 6; b++) log.append(batch(1, { ts: () => 10_000 + b * 1000, valueSize: 200 }), { leaderEpoch: 0 });
    assert.equal(log.segmentCount, 6);
    assert.equal(log.applyRetention(12_000), 1); // segment with ts 10000 is 2000 old; 11000 is exactly 1000: kept
    assert.equal(log.applyRetention(14_500), 3);
    assert.equal(log.logStartOffset, 4);
    assert.equal(log.applyRetention(1e12), 1); // the active segment stays
    assert.equal(log.segmentCount, 1);
    log.config = { ...log.config, cleanupPolicy: ['compact'] };
    log.append(batch(1, { ts: () => 1, valueSize: 200 }), { leaderEpoch: 0 });
    assert.equal(log.applyRetention(1e12), 0); // compact-only topics are not deleted by time
    await log.close();
  });

  it('group-commits concurrent flushes into few fdatasyncs and advances the recovery point', async () => {
    const sync = countingSync();
    const log = openLog(tmpDir(), { fdatasync: sync.fdatasync });
    await log.flush(); // the new directory
    const base = sync.count();
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      log.append(batch(2), { leaderEpoch: 0 });
      flushes.push(log.flush());
    }
    assert.equal(log.recoveryPoint, 0);
    await Promise.all(flushes);
    assert.equal(sync.count() - base, 1);
    assert.equal(log.recoveryPoint, 200);
    assert.equal(log.isDirty, false);
    await log.flush();
    assert.equal(sync.count() - base, 1, 'nothing new: no sync');
    // A flush requested while one is in flight waits for it, then covers the newer appends with one more sync.
    log.append(batch(1), { leaderEpoch: 0 });
    const first = log.flush();
    await new Promise((resolve) => setImmediate(resolve)); // the first sync is now in flight
    log.append(batch(1), { leaderEpoch: 0 });
    const second = log.flush();
    const third = log.flush();
    assert.notEqual(first, second);
    await Promise.all([first, second, third]);
    assert.equal(sync.count() - base, 3);
    assert.equal(log.recoveryPoint, 202);
    await log.close();
  });

  it('reports a failed fdatasync to the waiting callers and retries on the next flush', async () => {
    const sync = countingSync();
    const log = openLog(tmpDir(), { fdatasync: sync.fdatasync });
    await log.flush();
    log.append(batch(1), { leaderEpoch: 0 });
    sync.failNext(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await assert.rejects(log.flush(), { kafkaError: 'KAFKA_STORAGE_ERROR' });
    assert.equal(log.recoveryPoint, 0);
    assert.ok(log.isDirty);
    await log.flush();
    assert.equal(log.recoveryPoint, 1);
    await log.close();
  });

  it('flushes by itself after flush.messages records', async () => {
    const synced = new EventEmitter();
    const log = openLog(tmpDir(), {
      overrides: { 'flush.messages': '10' },
      fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : (resolve(), synced.emit('sync'))))),
    });
    await log.flush();
    log.append(batch(9), { leaderEpoch: 0 });
    assert.equal(log.unflushedMessages, 9);
    const done = once(synced, 'sync');
    log.append(batch(1), { leaderEpoch: 0 });
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(log.unflushedMessages, 0);
    assert.equal(log.recoveryPoint, 10);
    await log.close();
  });

  it('calls append listeners until they unsubscribe', async () => {
    const log = openLog(tmpDir());
    const seen: number[] = [];
    const off = log.onAppend((l) => seen.push(l.logEndOffset));
    log.append(batch(2), { leaderEpoch: 0 });
    log.append(batch(3), { leaderEpoch: 0 });
    off();
    log.append(batch(1), { leaderEpoch: 0 });
    assert.deepEqual(seen, [2, 5]);
    await log.close();
  });

  it('wakes a one-shot append waiter once, skips done ones, and does not pile up waiters of polls that ended elsewhere', async () => {
    const log = openLog(tmpDir());
    let woken = 0;
    const live = { done: false, wake: (): void => { woken++; } };
    log.wakeOnAppend(live);
    // 1,000 long polls that timed out or were woken by another log, with no append here meanwhile.
    for (let i = 0; i < 1000; i++) log.wakeOnAppend({ done: true, wake: () => assert.fail('a done waiter was woken') });
    assert.ok((log as unknown as { waiters: unknown[] }).waiters.length <= 16, 'done waiters are swept');
    log.append(batch(1), { leaderEpoch: 0 });
    log.append(batch(1), { leaderEpoch: 0 });
    assert.equal(woken, 1, 'one-shot: the second append does not wake it again');
    await log.close();
  });

  it('keeps an append waiter that turns a notification down, until it accepts one', async () => {
    const log = openLog(tmpDir());
    const seen: number[] = [];
    // Like a follower's fetch at offset 2: only an append that takes the log end past 2 is of interest.
    const picky = { done: false, wake: (l: { logEndOffset: number }): boolean => { seen.push(l.logEndOffset); return l.logEndOffset > 2; } };
    log.wakeOnAppend(picky);
    log.append(batch(1), { leaderEpoch: 0 });
    log.append(batch(1), { leaderEpoch: 0 });
    log.append(batch(1), { leaderEpoch: 0 });
    log.append(batch(1), { leaderEpoch: 0 });
    assert.deepEqual(seen, [1, 2, 3], 'declined twice, accepted the third, then no longer registered');
    await log.close();
  });

  it('keeps offsets across batches built with arbitrary base offsets', async () => {
    const log = openLog(tmpDir());
    const a = buildRecordBatch([{ value: 'x' }, { value: 'y' }], { baseOffset: 999 });
    log.append(a, { leaderEpoch: 0 });
    log.append(buildRecordBatch([{ value: 'z' }], { baseOffset: 5 }), { leaderEpoch: 0 });
    assert.deepEqual(readAll(log).map((r) => [r.offset, r.value]), [[0, 'x'], [1, 'y'], [2, 'z']]);
    await log.close();
  });
});
