import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  TransactionCoordinator, type TransactionCoordinatorConfig, type TxnMarkers, type TxnResult,
} from '../../../../src/coordinator/transaction/transaction-coordinator.js';
import type { TransactionMetadata, TxnRecord } from '../../../../src/coordinator/transaction/transaction-metadata.js';
import { ErrorCode } from '../../../../src/protocol/generated/error-codes.js';
import { TransactionLogKey } from '../../../../src/protocol/generated/internal/transaction-log-key.js';
import { TransactionLogValue } from '../../../../src/protocol/generated/internal/transaction-log-value.js';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';

const E = ErrorCode;
const START = 1_000_000;

/** Records go through the real v0 codecs, as the runtime will write and read them. */
function roundTrip(rec: TxnRecord): TxnRecord {
  const kw = new Writer();
  TransactionLogKey.encode(kw, 0, rec.key);
  const key = TransactionLogKey.decode(new Reader(kw.toBuffer()), 0);
  if (rec.value === null) return { key, value: null };
  const vw = new Writer();
  TransactionLogValue.encode(vw, 0, rec.value);
  return { key, value: TransactionLogValue.decode(new Reader(vw.toBuffer()), 0) };
}

interface HarnessOptions {
  config?: Partial<TransactionCoordinatorConfig>;
  partitionExists?: (topic: string, partition: number) => boolean;
}

function harness(opts: HarnessOptions = {}) {
  const clock = { t: START };
  let nextPid = 1000n;
  const log: TxnRecord[] = [];
  const deps = {
    now: () => clock.t,
    allocateProducerId: () => nextPid++,
    partitionForGroup: (g: string) => g.length,
    partitionExists: opts.partitionExists,
    coordinatorEpoch: 7,
    config: opts.config,
  };
  const coord = new TransactionCoordinator(deps);
  /** Appends an operation's records to the "log", as the runtime does. */
  const keep = <T extends { records: TxnRecord[] }>(r: T): T => {
    for (const rec of r.records) log.push(roundTrip(rec));
    return r;
  };
  const h = {
    coord, log, clock,
    advance(ms: number) { clock.t += ms; },
    init(id: string, opts2: { timeoutMs?: number; producerId?: bigint; producerEpoch?: number; version?: number } = {}) {
      return keep(coord.initProducerId({
        transactionalId: id, transactionTimeoutMs: opts2.timeoutMs ?? 60_000,
        producerId: opts2.producerId ?? -1n, producerEpoch: opts2.producerEpoch ?? -1,
      }, opts2.version ?? 5));
    },
    add(id: string, pid: bigint, epoch: number, topics: Record<string, number[]>, version = 3) {
      return keep(coord.addPartitionsToTxn({
        transactions: [], v3AndBelowTransactionalId: id, v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch,
        v3AndBelowTopics: Object.entries(topics).map(([name, partitions]) => ({ name, partitions })),
      }, version));
    },
    end(id: string, pid: bigint, epoch: number, committed: boolean, version = 4) {
      return keep(coord.endTxn({ transactionalId: id, producerId: pid, producerEpoch: epoch, committed }, version));
    },
    written(m: TxnMarkers) { return keep(coord.markersWritten(m)); },
    keep,
    /** A fresh coordinator loaded from the log must hold the same state. */
    assertReplayMatches() {
      const replica = new TransactionCoordinator(deps);
      for (const r of log) replica.replayRecord(r);
      assert.deepEqual(snapshot(replica), snapshot(coord));
      return replica;
    },
  };
  return h;
}

/** Everything persisted (lastProducerEpoch is in memory only, as in Kafka). */
function snapshot(c: TransactionCoordinator) {
  return c.transactionalIds().sort().map((id) => {
    const { lastProducerEpoch: _, ...rest } = c.get(id) as TransactionMetadata;
    return rest;
  });
}

function codes(r: TxnResult<{ resultsByTopicV3AndBelow: Array<{ resultsByPartition: Array<{ partitionErrorCode: number }> }> }>): number[] {
  return r.response.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));
}

describe('TransactionCoordinator: InitProducerId', () => {
  it('allocates a producer id for a new transactional id and bumps the epoch on every re-init', () => {
    const h = harness();
    const first = h.init('tx');
    assert.deepEqual(first.response, { throttleTimeMs: 0, errorCode: E.NONE, producerId: 1000n, producerEpoch: 0 });
    assert.equal(first.records.length, 1);
    assert.equal(first.records[0]!.value!.transactionStatus, 0);
    assert.equal(first.records[0]!.value!.transactionPartitions, null);
    assert.equal(first.records[0]!.value!.transactionStartTimestampMs, -1n);
    const second = h.init('tx', { timeoutMs: 30_000 });
    assert.deepEqual([second.response.producerId, second.response.producerEpoch], [1000n, 1]);
    assert.equal(h.coord.get('tx')!.timeoutMs, 30_000);
    // The first producer is fenced.
    assert.deepEqual(codes(h.add('tx', 1000n, 0, { t: [0] })), [E.PRODUCER_FENCED]);
    assert.deepEqual(codes(h.add('tx', 1000n, 0, { t: [0] }, 1)), [E.INVALID_PRODUCER_EPOCH]);
    assert.equal(h.init('other').response.producerId, 1001n);
    h.assertReplayMatches();
  });

  it('rejects bad timeouts and malformed ids without changing state', () => {
    const h = harness({ config: { transactionMaxTimeoutMs: 10_000 } });
    assert.equal(h.init('tx', { timeoutMs: 10_001 }).response.errorCode, E.INVALID_TRANSACTION_TIMEOUT);
    assert.equal(h.init('tx', { timeoutMs: 0 }).response.errorCode, E.INVALID_TRANSACTION_TIMEOUT);
    assert.equal(h.init('').response.errorCode, E.INVALID_REQUEST);
    assert.equal(h.init('tx', { timeoutMs: 10_000, producerId: 5n }).response.errorCode, E.INVALID_REQUEST);
    const nul = h.coord.initProducerId({ transactionalId: null, transactionTimeoutMs: 1000, producerId: -1n, producerEpoch: -1 }, 4);
    assert.equal(nul.response.errorCode, E.INVALID_REQUEST);
    assert.equal(h.log.length, 0);
    assert.equal(h.coord.get('tx'), undefined);
    assert.deepEqual(h.init('tx', { timeoutMs: 10_000 }).response.producerId, 1000n);
  });

  it('KIP-360: bumps a stated current epoch, answers a retry without a second bump, fences stale epochs', () => {
    const h = harness();
    h.init('tx');
    h.init('tx'); // epoch 1
    const bump = h.init('tx', { producerId: 1000n, producerEpoch: 1 });
    assert.deepEqual([bump.response.errorCode, bump.response.producerEpoch], [E.NONE, 2]);
    const retry = h.init('tx', { producerId: 1000n, producerEpoch: 1 });
    assert.deepEqual([retry.response.errorCode, retry.response.producerEpoch], [E.NONE, 2]);
    assert.equal(h.init('tx', { producerId: 1000n, producerEpoch: 0 }).response.errorCode, E.PRODUCER_FENCED);
    assert.equal(h.init('tx', { producerId: 1000n, producerEpoch: 0, version: 3 }).response.errorCode, E.INVALID_PRODUCER_EPOCH);
    assert.equal(h.init('tx', { producerId: 999n, producerEpoch: 2 }).response.errorCode, E.PRODUCER_FENCED);
    // A producer migrating its id to a new transactional id is accepted.
    const migrated = h.init('fresh', { producerId: 55n, producerEpoch: 3 });
    assert.deepEqual([migrated.response.errorCode, migrated.response.producerId, migrated.response.producerEpoch], [E.NONE, 1001n, 0]);
    h.assertReplayMatches();
  });

  it('moves to a new producer id when the epoch is exhausted, and recognises a retried rotation', () => {
    const h = harness();
    h.init('tx');
    // Jump to the last usable epoch through a replayed record.
    const rec = h.log[0]!;
    h.coord.replay(rec.key, { ...rec.value!, producerEpoch: 32765 });
    h.log.push({ key: rec.key, value: { ...rec.value!, producerEpoch: 32765 } });
    assert.equal(h.init('tx').response.producerEpoch, 32766);
    const rotated = h.init('tx', { producerId: 1000n, producerEpoch: 32766 });
    assert.deepEqual([rotated.response.errorCode, rotated.response.producerId, rotated.response.producerEpoch], [E.NONE, 1001n, 0]);
    assert.equal(h.coord.get('tx')!.lastProducerId, 1000n);
    const retried = h.init('tx', { producerId: 1000n, producerEpoch: 32766 });
    assert.deepEqual([retried.response.errorCode, retried.response.producerId, retried.response.producerEpoch], [E.NONE, 1001n, 0]);
    // The old id with a non-exhausted epoch is someone else's producer.
    assert.equal(h.init('tx', { producerId: 1000n, producerEpoch: 5 }).response.errorCode, E.PRODUCER_FENCED);
    const replica = h.assertReplayMatches();
    assert.equal(replica.get('tx')!.lastProducerId, 1000n);
  });

  it('re-init during a transaction fences the producer, aborts, and succeeds once the markers are written', () => {
    const h = harness();
    h.init('tx');
    h.add('tx', 1000n, 0, { t: [1, 0] });
    const first = h.init('tx');
    assert.equal(first.response.errorCode, E.CONCURRENT_TRANSACTIONS);
    assert.equal(first.response.producerId, -1n);
    assert.deepEqual(first.records.map((r) => [r.value!.transactionStatus, r.value!.producerEpoch]), [[3, 1]]);
    assert.deepEqual(first.markers, {
      transactionalId: 'tx', producerId: 1000n, producerEpoch: 1, transactionResult: false,
      topics: [{ name: 't', partitionIndexes: [0, 1] }], coordinatorEpoch: 7,
    });
    assert.equal(h.coord.get('tx')!.state, 'PrepareAbort');
    assert.equal(h.init('tx').response.errorCode, E.CONCURRENT_TRANSACTIONS);
    assert.equal(h.end('tx', 1000n, 0, true).response.errorCode, E.PRODUCER_FENCED);
    h.written(first.markers!);
    assert.equal(h.coord.get('tx')!.state, 'CompleteAbort');
    const retry = h.init('tx');
    assert.deepEqual([retry.response.errorCode, retry.response.producerEpoch], [E.NONE, 2]);
    h.assertReplayMatches();
  });
});

describe('TransactionCoordinator: AddPartitionsToTxn / AddOffsetsToTxn', () => {
  it('starts a transaction, adds partitions once each, and writes nothing for partitions already in it', () => {
    const h = harness();
    h.init('tx');
    h.advance(5);
    const added = h.add('tx', 1000n, 0, { b: [2], a: [1, 0] });
    assert.deepEqual(codes(added), [E.NONE, E.NONE, E.NONE]);
    assert.deepEqual(added.records[0]!.value!.transactionPartitions, [
      { topic: 'a', partitionIds: [0, 1] }, { topic: 'b', partitionIds: [2] },
    ]);
    assert.equal(added.records[0]!.value!.transactionStatus, 1);
    assert.equal(h.coord.get('tx')!.startTimestamp, START + 5);
    h.advance(5);
    assert.equal(h.add('tx', 1000n, 0, { a: [0] }).records.length, 0);
    assert.equal(h.add('tx', 1000n, 0, { a: [2] }).records.length, 1);
    assert.equal(h.coord.get('tx')!.startTimestamp, START + 5, 'the start time is the first add');
    const offsets = h.keep(h.coord.addOffsetsToTxn({ transactionalId: 'tx', producerId: 1000n, producerEpoch: 0, groupId: 'group' }, 3));
    assert.equal(offsets.response.errorCode, E.NONE);
    assert.deepEqual([...h.coord.get('tx')!.partitions.get('__consumer_offsets')!], [5]);
    h.assertReplayMatches();
  });

  it('answers errors for unknown ids, producer mismatches and (per partition) unknown partitions', () => {
    const h = harness({ partitionExists: (t, p) => t === 'known' && p < 3 });
    assert.deepEqual(codes(h.add('nope', 1n, 0, { known: [0] })), [E.INVALID_PRODUCER_ID_MAPPING]);
    h.init('tx');
    assert.deepEqual(codes(h.add('tx', 1n, 0, { known: [0] })), [E.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(codes(h.add('tx', 1000n, 0, { known: [0, 3], other: [0] })),
      [E.OPERATION_NOT_ATTEMPTED, E.UNKNOWN_TOPIC_OR_PARTITION, E.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(h.coord.get('tx')!.state, 'Empty');
    const stale = h.coord.addOffsetsToTxn({ transactionalId: 'tx', producerId: 1000n, producerEpoch: 9, groupId: 'g' }, 1);
    assert.equal(stale.response.errorCode, E.INVALID_PRODUCER_EPOCH);
  });

  it('v4+: batches transactions and verifies without adding', () => {
    const h = harness();
    h.init('a');
    h.init('b');
    h.add('a', 1000n, 0, { t: [0] });
    const r = h.keep(h.coord.addPartitionsToTxn({
      transactions: [
        { transactionalId: 'a', producerId: 1000n, producerEpoch: 0, verifyOnly: true, topics: [{ name: 't', partitions: [0, 1] }] },
        { transactionalId: 'b', producerId: 1001n, producerEpoch: 0, verifyOnly: false, topics: [{ name: 't', partitions: [1] }] },
        { transactionalId: 'b', producerId: 1001n, producerEpoch: 3, verifyOnly: true, topics: [{ name: 't', partitions: [1] }] },
      ],
      v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [],
    }, 5));
    assert.deepEqual(r.response.resultsByTransaction.map((t) => t.topicResults[0]!.resultsByPartition.map((p) => p.partitionErrorCode)),
      [[E.NONE, E.INVALID_TXN_STATE], [E.NONE], [E.PRODUCER_FENCED]]);
    assert.equal(r.records.length, 1);
    assert.equal(h.coord.get('a')!.partitions.get('t')!.has(1), false);
    assert.equal(h.coord.get('b')!.state, 'Ongoing');
  });
});

describe('TransactionCoordinator: EndTxn', () => {
  it('commits: Ongoing → PrepareCommit → markers → CompleteCommit, with retries answered consistently', () => {
    const h = harness();
    h.init('tx');
    h.add('tx', 1000n, 0, { t: [0] });
    h.keep(h.coord.addOffsetsToTxn({ transactionalId: 'tx', producerId: 1000n, producerEpoch: 0, groupId: 'grp' }, 3));
    h.advance(100);
    const end = h.end('tx', 1000n, 0, true);
    assert.equal(end.response.errorCode, E.NONE);
    assert.deepEqual(end.records.map((r) => r.value!.transactionStatus), [2]);
    assert.deepEqual(end.markers, {
      transactionalId: 'tx', producerId: 1000n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 7,
      topics: [{ name: '__consumer_offsets', partitionIndexes: [3] }, { name: 't', partitionIndexes: [0] }],
    });
    // While the markers are being written.
    assert.equal(h.end('tx', 1000n, 0, true).response.errorCode, E.CONCURRENT_TRANSACTIONS);
    assert.equal(h.end('tx', 1000n, 0, false).response.errorCode, E.INVALID_TXN_STATE);
    assert.deepEqual(codes(h.add('tx', 1000n, 0, { t: [1] })), [E.CONCURRENT_TRANSACTIONS]);
    assert.equal(h.init('tx').response.errorCode, E.CONCURRENT_TRANSACTIONS);
    assert.deepEqual(h.coord.describeTransactions({ transactionalIds: ['tx'] }).transactionStates[0]!.topics.length, 2);
    h.assertReplayMatches();
    // A completion for another epoch is stale and ignored.
    assert.equal(h.written({ ...end.markers!, producerEpoch: 5 }).records.length, 0);
    const done = h.written(end.markers!);
    assert.deepEqual(done.records.map((r) => [r.value!.transactionStatus, r.value!.transactionPartitions]), [[4, []]]);
    assert.equal(h.written(end.markers!).records.length, 0, 'a second completion is a no-op');
    const retry = h.end('tx', 1000n, 0, true);
    assert.deepEqual([retry.response.errorCode, retry.records.length], [E.NONE, 0]);
    assert.equal(h.end('tx', 1000n, 0, false).response.errorCode, E.INVALID_TXN_STATE);
    // The next transaction starts from CompleteCommit with a new start time.
    h.advance(50);
    h.add('tx', 1000n, 0, { t: [1] });
    assert.deepEqual([h.coord.get('tx')!.state, h.coord.get('tx')!.startTimestamp], ['Ongoing', START + 150]);
    h.assertReplayMatches();
  });

  it('aborts, rejects EndTxn without a transaction, and completes at once when nothing was added', () => {
    const h = harness();
    h.init('tx');
    assert.equal(h.end('tx', 1000n, 0, true).response.errorCode, E.INVALID_TXN_STATE);
    assert.equal(h.end('nope', 1000n, 0, true).response.errorCode, E.INVALID_PRODUCER_ID_MAPPING);
    h.add('tx', 1000n, 0, { t: [0] });
    assert.equal(h.end('tx', 1000n, 1, false).response.errorCode, E.PRODUCER_FENCED);
    assert.equal(h.end('tx', 1000n, 1, false, 1).response.errorCode, E.INVALID_PRODUCER_EPOCH);
    const abort = h.end('tx', 1000n, 0, false);
    assert.equal(abort.markers!.transactionResult, false);
    assert.equal(h.end('tx', 1000n, 0, true).response.errorCode, E.INVALID_TXN_STATE);
    assert.equal(h.end('tx', 1000n, 0, false).response.errorCode, E.CONCURRENT_TRANSACTIONS);
    h.written(abort.markers!);
    assert.equal(h.coord.get('tx')!.state, 'CompleteAbort');
    assert.equal(h.end('tx', 1000n, 0, false).response.errorCode, E.NONE);
    // An empty transaction (AddPartitions with no partitions) ends without markers.
    h.add('tx', 1000n, 0, {});
    const empty = h.end('tx', 1000n, 0, true);
    assert.equal(empty.markers, undefined);
    assert.deepEqual(empty.records.map((r) => r.value!.transactionStatus), [2, 4]);
    assert.equal(h.coord.get('tx')!.state, 'CompleteCommit');
    h.assertReplayMatches();
  });
});

describe('TransactionCoordinator: timeouts, expiry and loading', () => {
  it('aborts an Ongoing transaction past its timeout with an epoch bump that fences the producer', () => {
    const h = harness();
    h.init('slow', { timeoutMs: 1000 });
    h.init('idle', { timeoutMs: 1000 });
    h.add('slow', 1000n, 0, { t: [0] });
    h.advance(1000);
    assert.deepEqual(h.keep(h.coord.abortTimedOutTransactions()), { records: [], markers: [] });
    h.advance(1);
    const aborted = h.keep(h.coord.abortTimedOutTransactions());
    assert.deepEqual(aborted.records.map((r) => [r.key.transactionalId, r.value!.transactionStatus, r.value!.producerEpoch]), [['slow', 3, 1]]);
    assert.deepEqual(aborted.markers.map((m) => [m.transactionalId, m.producerEpoch, m.transactionResult]), [['slow', 1, false]]);
    assert.equal(h.end('slow', 1000n, 0, true).response.errorCode, E.PRODUCER_FENCED);
    h.written(aborted.markers[0]!);
    assert.equal(h.coord.get('slow')!.state, 'CompleteAbort');
    assert.deepEqual(codes(h.add('slow', 1000n, 0, { t: [0] })), [E.PRODUCER_FENCED]);
    // The fenced producer's KIP-360 re-init is refused; a new producer instance gets epoch 2.
    assert.equal(h.init('slow', { producerId: 1000n, producerEpoch: 0 }).response.errorCode, E.PRODUCER_FENCED);
    assert.equal(h.init('slow').response.producerEpoch, 2);
    h.assertReplayMatches();
  });

  it('a timeout fence at the last usable epoch leads to a new producer id', () => {
    const h = harness();
    h.init('tx', { timeoutMs: 10 });
    const rec = h.log[0]!;
    const atLimit = { key: rec.key, value: { ...rec.value!, producerEpoch: 32765 } };
    h.coord.replay(atLimit.key, atLimit.value);
    h.log.push(atLimit);
    h.add('tx', 1000n, 32765, { t: [0] });
    h.advance(11);
    const aborted = h.keep(h.coord.abortTimedOutTransactions());
    assert.equal(aborted.markers[0]!.producerEpoch, 32766);
    h.written(aborted.markers[0]!);
    assert.deepEqual([h.init('tx').response.producerId, h.coord.get('tx')!.producerEpoch], [1001n, 0]);
    h.assertReplayMatches();
  });

  it('expires ids idle for transactional.id.expiration.ms with tombstones, never an Ongoing one', () => {
    const h = harness({ config: { transactionalIdExpirationMs: 10_000 } });
    h.init('idle');
    h.init('busy', { timeoutMs: 900_000 });
    h.add('busy', 1001n, 0, { t: [0] });
    h.advance(9_999);
    assert.equal(h.keep(h.coord.expireTransactionalIds()).records.length, 0);
    h.advance(1);
    const expired = h.keep(h.coord.expireTransactionalIds());
    assert.deepEqual(expired.records, [{ key: { transactionalId: 'idle' }, value: null }]);
    assert.deepEqual(h.coord.transactionalIds(), ['busy']);
    assert.equal(h.coord.describeTransactions({ transactionalIds: ['idle'] }).transactionStates[0]!.errorCode, E.TRANSACTIONAL_ID_NOT_FOUND);
    h.assertReplayMatches();
    assert.equal(h.init('idle').response.producerId, 1002n);
  });

  it('replay reproduces state and yields the markers of transactions caught preparing', () => {
    const h = harness();
    h.init('a');
    h.init('b');
    h.init('c');
    h.add('a', 1000n, 0, { t: [0, 1] });
    h.add('b', 1001n, 0, { u: [3] });
    h.add('c', 1002n, 0, { u: [4] });
    h.end('a', 1000n, 0, true);
    const b = h.end('b', 1001n, 0, false);
    h.written(b.markers!);
    const replica = h.assertReplayMatches();
    assert.deepEqual(replica.pendingMarkers(), [{
      transactionalId: 'a', producerId: 1000n, producerEpoch: 0, transactionResult: true,
      topics: [{ name: 't', partitionIndexes: [0, 1] }], coordinatorEpoch: 7,
    }]);
    // The loaded coordinator carries on: completes 'a', fences 'c'.
    const done = replica.markersWritten(replica.pendingMarkers()[0]!);
    assert.equal(done.records[0]!.value!.transactionStatus, 4);
    assert.equal(replica.endTxn({ transactionalId: 'c', producerId: 1002n, producerEpoch: 1, committed: true }, 3).response.errorCode, E.PRODUCER_FENCED);
  });
});

describe('TransactionCoordinator: DescribeTransactions / ListTransactions', () => {
  it('describes an ongoing transaction and reports unknown ids', () => {
    const h = harness();
    h.init('tx', { timeoutMs: 30_000 });
    h.add('tx', 1000n, 0, { t: [2, 0], s: [1] });
    const r = h.coord.describeTransactions({ transactionalIds: ['tx', 'nope'] });
    assert.deepEqual(r.transactionStates, [
      {
        errorCode: E.NONE, transactionalId: 'tx', transactionState: 'Ongoing', transactionTimeoutMs: 30_000,
        transactionStartTimeMs: BigInt(START), producerId: 1000n, producerEpoch: 0,
        topics: [{ topic: 's', partitions: [1] }, { topic: 't', partitions: [0, 2] }],
      },
      {
        errorCode: E.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'nope', transactionState: '', transactionTimeoutMs: 0,
        transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [],
      },
    ]);
  });

  it('lists with state, producer id and duration filters and reports unknown states', () => {
    const h = harness();
    h.init('a');
    h.init('b');
    h.init('c');
    h.add('b', 1001n, 0, { t: [0] });
    h.advance(100);
    h.add('c', 1002n, 0, { t: [0] });
    h.advance(10);
    const list = (stateFilters: string[], producerIdFilters: bigint[] = [], durationFilter = -1n) =>
      h.coord.listTransactions({ stateFilters, producerIdFilters, durationFilter });
    const ids = (r: ReturnType<typeof list>) => r.transactionStates.map((t) => t.transactionalId);
    assert.deepEqual(list([]).transactionStates, [
      { transactionalId: 'a', producerId: 1000n, transactionState: 'Empty' },
      { transactionalId: 'b', producerId: 1001n, transactionState: 'Ongoing' },
      { transactionalId: 'c', producerId: 1002n, transactionState: 'Ongoing' },
    ]);
    assert.deepEqual(ids(list(['Ongoing'])), ['b', 'c']);
    assert.deepEqual(ids(list(['Ongoing'], [1002n, 7n])), ['c']);
    assert.deepEqual(ids(list([], [1000n])), ['a']);
    assert.deepEqual(ids(list(['Ongoing'], [], 50n)), ['b'], 'only transactions running longer than 50 ms');
    const unknown = list(['Bogus', 'Empty']);
    assert.deepEqual([unknown.errorCode, unknown.unknownStateFilters, ids(unknown)], [E.NONE, ['Bogus'], ['a']]);
    assert.deepEqual(ids(list(['Bogus'])), [], 'only unknown states match nothing');
  });
});
