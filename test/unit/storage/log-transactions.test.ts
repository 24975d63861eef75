import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { buildRecordBatch, decodeRecordBatch, readControlRecord } from '../../../src/protocol/records/record.js';
import type { KafkaError } from '../../../src/errors.js';
import type { Log } from '../../../src/storage/log.js';
import { ProducerStateManager } from '../../../src/storage/producer-state-manager.js';
import { batch, batchRanges, openLog, tmpDir } from './storage-helpers.js';

/** A transactional batch of n records from producer `pid` at `epoch`, first sequence `seq`. */
function txn(pid: bigint, epoch: number, seq: number, n = 1, pad = 0): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: `p${pid}-s${seq + i}`.padEnd(pad, '.'), timestamp: Date.now() }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional: true });
}

/** A non-transactional batch stamped now (old timestamps would make the segment roll by segment.ms). */
const plain = (): Buffer => batch(1, { ts: () => Date.now() });

const marker = (log: Log, producerId: bigint, commit: boolean, producerEpoch = 0, coordinatorEpoch = 0): number =>
  log.writeTxnMarker({ producerId, producerEpoch, coordinatorEpoch, commit, timestamp: Date.now() });

function kafkaErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as KafkaError).kafkaError;
  }
  return 'NONE';
}

const txnIndexes = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.txnindex')).sort();

describe('Log transactions', () => {
  it('the LSO stays at the first offset of the oldest ongoing transaction until its marker, then moves on', async () => {
    const log = openLog(tmpDir());
    log.append(plain(), { leaderEpoch: 0 }); // 0
    assert.equal(log.lastStableOffset, 1);
    assert.equal(log.append(txn(1n, 0, 0, 2), { leaderEpoch: 0 }).baseOffset, 1); // 1-2
    log.append(plain(), { leaderEpoch: 0 }); // 3
    log.append(txn(2n, 0, 0), { leaderEpoch: 0 }); // 4
    log.append(txn(1n, 0, 2), { leaderEpoch: 0 }); // 5, same transaction of producer 1
    assert.equal(log.highWatermark, 6);
    assert.equal(log.lastStableOffset, 1);
    // read_committed reads stop before the LSO, at a batch boundary
    assert.deepEqual(batchRanges(log.read(0, 1 << 20, true, log.lastStableOffset)), [[0, 0]]);
    assert.equal(log.read(1, 1 << 20, true, log.lastStableOffset).length, 0);

    const commitAt = marker(log, 1n, true);
    assert.equal(commitAt, 6);
    assert.equal(log.lastStableOffset, 4, 'producer 2 still holds the LSO');
    assert.deepEqual(batchRanges(log.read(0, 1 << 20, true, log.lastStableOffset)), [[0, 0], [1, 2], [3, 3]]);
    const ctl = decodeRecordBatch(log.read(6, 1 << 20, true));
    assert.equal(readControlRecord(ctl.records[0]!).type, 'COMMIT');
    assert.equal(ctl.header.producerId, 1n);

    assert.equal(marker(log, 2n, false), 7);
    assert.equal(log.lastStableOffset, log.highWatermark);
    assert.equal(log.highWatermark, 8);
    assert.deepEqual(log.abortedTransactions(0, 8), [{ producerId: 2n, firstOffset: 4 }]);
    assert.deepEqual(log.abortedTransactions(0, 4), [], 'the range ends before the aborted transaction starts');
    assert.deepEqual(log.abortedTransactions(8, 9), [], 'the range starts after the abort marker');
    await log.close();
  });

  it('refuses stale epochs and coordinator epochs, non-transactional batches mid-transaction; markers leave sequences alone', async () => {
    const log = openLog(tmpDir());
    log.append(txn(5n, 3, 0), { leaderEpoch: 0 });
    assert.equal(kafkaErrorOf(() => log.append(buildRecordBatch([{ value: 'x' }], { producerId: 5n, producerEpoch: 3, baseSequence: 1 }), { leaderEpoch: 0 })), 'INVALID_TXN_STATE');
    assert.equal(kafkaErrorOf(() => marker(log, 5n, true, 2)), 'INVALID_PRODUCER_EPOCH');
    marker(log, 5n, true, 3, 4);
    assert.equal(kafkaErrorOf(() => marker(log, 5n, false, 3, 3)), 'TRANSACTION_COORDINATOR_FENCED');
    // next transaction continues the sequence; a gap is still refused
    assert.equal(kafkaErrorOf(() => log.append(txn(5n, 3, 5), { leaderEpoch: 0 })), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    const next = log.append(txn(5n, 3, 1), { leaderEpoch: 0 });
    assert.equal(log.lastStableOffset, next.baseOffset);
    // the coordinator aborts with a bumped epoch (timeout): the old epoch is fenced afterwards
    marker(log, 5n, false, 4, 4);
    assert.equal(log.lastStableOffset, log.highWatermark);
    assert.equal(kafkaErrorOf(() => log.append(txn(5n, 3, 2), { leaderEpoch: 0 })), 'INVALID_PRODUCER_EPOCH');
    await log.close();
  });

  it('a clean restart keeps ongoing transactions (snapshot) and the transaction index', async () => {
    const dir = tmpDir();
    let log = openLog(dir);
    log.append(txn(1n, 0, 0), { leaderEpoch: 0 }); // 0
    log.append(txn(2n, 0, 0), { leaderEpoch: 0 }); // 1
    marker(log, 1n, false); // 2
    log.append(txn(3n, 0, 0), { leaderEpoch: 0 }); // 3
    assert.equal(log.lastStableOffset, 1);
    await log.close();
    assert.deepEqual(txnIndexes(dir), ['00000000000000000000.txnindex']);
    log = openLog(dir, { hadCleanShutdown: true });
    assert.equal(log.lastStableOffset, 1);
    assert.deepEqual(log.producerState.ongoingTransactions(), [{ producerId: 2n, firstOffset: 1 }, { producerId: 3n, firstOffset: 3 }]);
    assert.deepEqual(log.abortedTransactions(0, 4), [{ producerId: 1n, firstOffset: 0 }]);
    marker(log, 2n, true);
    assert.equal(log.lastStableOffset, 3);
    await log.close();
  });

  it('an unclean restart rebuilds the transaction indexes and ongoing transactions from the control batches', async () => {
    const dir = tmpDir();
    const log = openLog(dir, { overrides: { 'segment.bytes': '300' } });
    const aborted: Array<{ producerId: bigint; firstOffset: number }> = [];
    for (let i = 0; i < 12; i++) {
      const pid = BigInt(10 + (i % 3));
      const first = log.append(txn(pid, 0, Math.floor(i / 3) * 2, 1, 60), { leaderEpoch: 0 }).baseOffset;
      log.append(txn(pid, 0, Math.floor(i / 3) * 2 + 1, 1, 60), { leaderEpoch: 0 });
      if (i === 11) break; // producer 12's last transaction stays open
      const abort = i % 2 === 0;
      marker(log, pid, !abort);
      if (abort) aborted.push({ producerId: pid, firstOffset: first });
    }
    assert.ok(log.segmentCount > 4, `segments: ${log.segmentCount}`);
    const hw = log.highWatermark;
    const lso = log.lastStableOffset;
    assert.ok(lso < hw);
    const before = log.abortedTransactions(0, hw);
    assert.deepEqual(before, aborted);
    // Crash: no clean-close snapshot; the transaction indexes are lost too.
    await log.close({ flush: false });
    for (const name of txnIndexes(dir)) fs.rmSync(path.join(dir, name));
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot'))) fs.rmSync(path.join(dir, name));
    const reopened = openLog(dir, { overrides: { 'segment.bytes': '300' }, hadCleanShutdown: false, recoveryPoint: 0 });
    assert.equal(reopened.highWatermark, hw);
    assert.equal(reopened.lastStableOffset, lso);
    assert.deepEqual(reopened.abortedTransactions(0, hw), aborted);
    // a fetch from the middle sees only the overlapping aborted transactions
    const mid = aborted[2]!.firstOffset + 1;
    assert.deepEqual(reopened.abortedTransactions(mid, hw), aborted.slice(2));
    assert.ok(txnIndexes(dir).length > 0);
    await reopened.close();
  });

  it('encodes ongoing transactions and coordinator epochs in snapshots and still reads version-1 snapshots', () => {
    const dir = tmpDir();
    const state = new ProducerStateManager(dir);
    state.update(9n, 2, 0, 0, 40, 40, Date.now(), true);
    state.update(8n, 1, 0, 0, 41, 41, Date.now(), false);
    state.applyMarker(8n, 1, 7, true, 42, Date.now());
    state.writeSnapshot(43, true);
    const loaded = new ProducerStateManager(dir);
    assert.equal(loaded.loadLatestSnapshot(43, Date.now()), 43);
    assert.equal(loaded.firstUnstableOffset, 40);
    assert.equal(loaded.entry(9n)!.currentTxnFirstOffset, 40);
    assert.equal(loaded.entry(8n)!.coordinatorEpoch, 7);
    // A version-1 snapshot (no transaction fields): rewrite the header and drop the 12 extra bytes per producer.
    const v2 = state.encode();
    const e = ProducerStateManager.decode(v2)!;
    assert.equal(e.length, 2);
    const old = new ProducerStateManager(tmpDir());
    old.update(4n, 0, 0, 1, 0, 1, Date.now());
    const buf = old.encode();
    const v1 = Buffer.concat([buf.subarray(0, 10 + 18), buf.subarray(10 + 30)]);
    v1.writeInt16BE(1, 0);
    v1.writeUInt32BE(0, 2);
    v1.writeUInt32BE(crc32c(v1.subarray(6)) >>> 0, 2);
    const decoded = ProducerStateManager.decode(v1);
    assert.ok(decoded);
    assert.deepEqual([decoded[0]!.producerId, decoded[0]!.batches.length, decoded[0]!.currentTxnFirstOffset], [4n, 1, -1]);
  });
});
