import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import type { KafkaError } from '../../../src/errors.js';
import { ProducerStateManager, incrementSequence } from '../../../src/storage/producer-state-manager.js';
import { batch, openLog, readAll, tmpDir } from './storage-helpers.js';

const INT32_MAX = 2147483647;

/** An idempotent batch of n records from producer `pid` at `epoch`, first sequence `seq`. */
function idem(pid: bigint, epoch: number, seq: number, n = 1, tag = `p${pid}-e${epoch}-s${seq}`, ts = Date.now()): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: `${tag}-${i}`, timestamp: ts }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq });
}

function kafkaErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as KafkaError).kafkaError;
  }
  return 'NONE';
}

const snapshots = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot')).sort();

describe('ProducerStateManager', () => {
  it('answers a retry of any of the last five batches with its original offsets and writes nothing', async () => {
    const log = openLog(tmpDir());
    const first: number[] = [];
    for (let b = 0; b < 6; b++) {
      log.append(batch(1), { leaderEpoch: 0 }); // another writer in between
      first.push(log.append(idem(7n, 0, b * 2, 2), { leaderEpoch: 0 }).baseOffset);
    }
    const end = log.logEndOffset;
    for (let b = 1; b < 6; b++) {
      const res = log.append(idem(7n, 0, b * 2, 2), { leaderEpoch: 0 });
      assert.deepEqual(res, { baseOffset: first[b], lastOffset: first[b]! + 1, logAppendTime: -1, duplicate: true });
    }
    assert.equal(log.logEndOffset, end);
    // The oldest one has left the window of five: it is no longer recognised, and is out of order.
    assert.equal(kafkaErrorOf(() => log.append(idem(7n, 0, 0, 2), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    // A different range overlapping a known batch is not a duplicate either.
    assert.equal(kafkaErrorOf(() => log.append(idem(7n, 0, 10, 1), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(log.logEndOffset, end);
    assert.equal(log.append(idem(7n, 0, 12, 3), { leaderEpoch: 0 }).baseOffset, end);
    await log.close();
  });

  it('refuses gaps and stale epochs, requires a new epoch to start at 0, accepts unknown producers anywhere', async () => {
    const log = openLog(tmpDir());
    // Unknown producer: any sequence (current Kafka: its batches may have been removed by retention).
    assert.equal(log.append(idem(1n, 3, 100), { leaderEpoch: 0 }).baseOffset, 0);
    assert.equal(kafkaErrorOf(() => log.append(idem(1n, 3, 102), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(kafkaErrorOf(() => log.append(idem(1n, 3, 100, 2), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(kafkaErrorOf(() => log.append(idem(1n, 2, 101), { leaderEpoch: 0 })), 'INVALID_PRODUCER_EPOCH');
    assert.equal(kafkaErrorOf(() => log.append(idem(1n, 4, 5), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(log.logEndOffset, 1);
    assert.equal(log.append(idem(1n, 3, 101), { leaderEpoch: 0 }).baseOffset, 1);
    assert.equal(log.append(idem(1n, 4, 0), { leaderEpoch: 0 }).baseOffset, 2);
    // The new epoch replaced the old one: its batches are gone, and it is now stale.
    assert.equal(kafkaErrorOf(() => log.append(idem(1n, 3, 101), { leaderEpoch: 0 })), 'INVALID_PRODUCER_EPOCH');
    const e = log.producerState.entry(1n)!;
    assert.equal(e.epoch, 4);
    assert.deepEqual(e.batches.map((b) => [b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset]), [[0, 0, 2, 2]]);
    // Two batches in one payload are refused when one carries a producer id (Kafka: one batch per partition).
    const two = Buffer.concat([idem(1n, 4, 1), idem(1n, 4, 2)]);
    assert.equal(kafkaErrorOf(() => log.append(two, { leaderEpoch: 0 })), 'INVALID_RECORD');
    assert.equal(kafkaErrorOf(() => log.append(Buffer.concat([batch(1), idem(9n, 0, 0)]), { leaderEpoch: 0 })), 'INVALID_RECORD');
    assert.equal(log.logEndOffset, 3);
    await log.close();
  });

  it('wraps sequences from Int32.MAX to 0', async () => {
    assert.equal(incrementSequence(INT32_MAX, 1), 0);
    assert.equal(incrementSequence(INT32_MAX - 1, 3), 1);
    assert.equal(incrementSequence(5, 2), 7);
    const log = openLog(tmpDir());
    log.append(idem(2n, 0, INT32_MAX - 2, 2), { leaderEpoch: 0 });
    assert.equal(log.producerState.entry(2n)!.batches[0]!.lastSeq, INT32_MAX - 1);
    log.append(idem(2n, 0, INT32_MAX, 3), { leaderEpoch: 0 }); // sequences MAX, 0, 1
    assert.equal(log.producerState.entry(2n)!.batches[1]!.lastSeq, 1);
    assert.equal(log.append(idem(2n, 0, INT32_MAX, 3), { leaderEpoch: 0 }).duplicate, true);
    assert.equal(kafkaErrorOf(() => log.append(idem(2n, 0, 3), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(log.append(idem(2n, 0, 2), { leaderEpoch: 0 }).baseOffset, 5);
    await log.close();
  });

  it('keeps dedup state across a clean restart through the snapshot at the log end, without replaying', async () => {
    const dir = tmpDir();
    let log = openLog(dir);
    for (let s = 0; s < 3; s++) log.append(idem(5n, 1, s), { leaderEpoch: 0 });
    await log.close();
    assert.deepEqual(snapshots(dir), ['00000000000000000003.snapshot']);
    log = openLog(dir, { hadCleanShutdown: true });
    assert.equal(log.producerState.producerCount, 1);
    const res = log.append(idem(5n, 1, 2), { leaderEpoch: 0 });
    assert.deepEqual([res.baseOffset, res.duplicate], [2, true]);
    assert.equal(log.append(idem(5n, 1, 3), { leaderEpoch: 0 }).baseOffset, 3);
    await log.close();
  });

  it('rebuilds after an unclean restart from the newest roll snapshot plus the batch headers after it', async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: { 'segment.bytes': '400' } });
    const offsets = new Map<number, number>();
    for (let s = 0; s < 20; s++) {
      offsets.set(s, log.append(idem(11n, 0, s, 1, 'x'.repeat(60)), { leaderEpoch: 0 }).baseOffset);
      log.append(idem(12n, 2, s), { leaderEpoch: 0 });
    }
    assert.ok(log.segmentCount > 3);
    const rolled = snapshots(dir);
    assert.equal(rolled.length, log.segmentCount - 1, 'one snapshot per roll');
    // Crash: closed without the flush and log-end snapshot of a clean close; a bogus snapshot beyond the log end must be ignored and removed.
    await log.close({ flush: false });
    fs.writeFileSync(path.join(dir, '00000000000000099999.snapshot'), new ProducerStateManager(dir).encode());
    // The newest roll snapshot is torn: the loader falls back to the one before it.
    const newest = path.join(dir, rolled[rolled.length - 1]!);
    fs.truncateSync(newest, 5);
    const reopened = openLog(dir, { hadCleanShutdown: false, recoveryPoint: 0 });
    assert.ok(!fs.existsSync(path.join(dir, '00000000000000099999.snapshot')));
    assert.ok(!fs.existsSync(newest));
    for (let s = 15; s < 20; s++) {
      const res = reopened.append(idem(11n, 0, s, 1, 'x'.repeat(60)), { leaderEpoch: 0 });
      assert.deepEqual([res.baseOffset, res.duplicate], [offsets.get(s), true], `retry of sequence ${s}`);
    }
    assert.equal(kafkaErrorOf(() => reopened.append(idem(12n, 1, 20), { leaderEpoch: 0 })), 'INVALID_PRODUCER_EPOCH');
    assert.equal(reopened.append(idem(12n, 2, 20), { leaderEpoch: 0 }).duplicate, undefined);
    assert.equal(reopened.producerState.entry(11n)!.batches.length, 5);
    // Log was not otherwise touched by the fallback.
    assert.equal(readAll(reopened).length, 41);
    await reopened.close();
  });

  it('replays everything when no snapshot exists, forgets expired producers and those below the log start', async () => {
    const dir = tmpDir();
    let now = Date.now();
    const log = openLog(dir, { now: () => now });
    log.append(idem(20n, 0, 0, 1, 'old', now - 10_000), { leaderEpoch: 0 });
    log.append(idem(21n, 0, 0, 1, 'new', now), { leaderEpoch: 0 });
    log.append(idem(22n, 0, 0, 1, 'newer', now), { leaderEpoch: 0 });
    const state = new ProducerStateManager(dir, { expirationMs: 5_000 });
    for (const id of [20n, 21n]) {
      const e = log.producerState.entry(id)!;
      const b = e.batches[0]!;
      state.update(id, e.epoch, b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset, b.timestamp);
    }
    assert.equal(state.removeExpired(now), 1);
    assert.equal(state.entry(20n), undefined);
    // DeleteRecords past producer 21's only batch forgets it; 22 stays.
    log.deleteRecordsBefore(2);
    assert.equal(log.producerState.entry(21n), undefined);
    assert.ok(log.producerState.entry(22n));
    now += 1;
    const reopened = openLog(dir, { hadCleanShutdown: false, logStartOffset: 2, now: () => now });
    assert.deepEqual([...reopened.producerState.activeProducers()].map((e) => e.producerId), [22n]);
    await reopened.close();
  });

  it('round-trips its snapshot encoding and rejects damaged bytes', () => {
    const s = new ProducerStateManager(tmpDir());
    s.update(9_007_199_254_740_993n, 32767, 1, 4, 100, 103, 1_700_000_000_000);
    s.update(3n, 0, 0, 0, 5, 5, 1);
    const buf = s.encode();
    const back = ProducerStateManager.decode(buf)!;
    assert.deepEqual(back.map((e) => [e.producerId, e.epoch, e.lastTimestamp, e.batches]), [
      [9_007_199_254_740_993n, 32767, 1_700_000_000_000, [{ firstSeq: 1, lastSeq: 4, firstOffset: 100, lastOffset: 103, timestamp: 1_700_000_000_000 }]],
      [3n, 0, 1, [{ firstSeq: 0, lastSeq: 0, firstOffset: 5, lastOffset: 5, timestamp: 1 }]],
    ]);
    for (const at of [0, 3, 12, buf.length - 1]) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 1;
      assert.equal(ProducerStateManager.decode(bad), null, `flipped byte ${at}`);
    }
    assert.equal(ProducerStateManager.decode(buf.subarray(0, buf.length - 8)), null);
  });
});
