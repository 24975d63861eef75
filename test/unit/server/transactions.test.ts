import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const PRODUCE = 0, FETCH = 1, OFFSET_FETCH = 9, FIND_COORDINATOR = 10, CREATE_TOPICS = 19, INIT_PRODUCER_ID = 22;
const ADD_PARTITIONS = 24, ADD_OFFSETS = 25, END_TXN = 26, TXN_OFFSET_COMMIT = 28, DESCRIBE_TXNS = 65, LIST_TXNS = 66;
const CONFIG = { 'num.partitions': 2, 'offsets.topic.num.partitions': 3, 'transaction.state.log.num.partitions': 3, 'transaction.max.timeout.ms': 60000 };


type Producer = { producerId: bigint; producerEpoch: number };

async function init(c: RawClient, transactionalId: string, extra: object = {}, version = 4): Promise<Producer & { errorCode: number }> {
  return c.send(INIT_PRODUCER_ID, version, { transactionalId, transactionTimeoutMs: 30000, producerId: -1n, producerEpoch: -1, ...extra });
}

async function addPartitions(c: RawClient, id: string, p: Producer, topic: string, partitions: number[], version = 3): Promise<number[]> {
  const r = await c.send(ADD_PARTITIONS, version, {
    v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }], transactions: [],
  });
  return r.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: any) => x.partitionErrorCode);
}

async function addOffsets(c: RawClient, id: string, p: Producer, groupId: string): Promise<number> {
  return (await c.send(ADD_OFFSETS, 3, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId })).errorCode;
}

async function txnCommit(c: RawClient, id: string, p: Producer, groupId: string, topic: string, offset: bigint): Promise<number> {
  const r = await c.send(TXN_OFFSET_COMMIT, 3, {
    transactionalId: id, groupId, producerId: p.producerId, producerEpoch: p.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'txn' }] }],
  });
  return r.topics[0].partitions[0].errorCode;
}

async function endTxn(c: RawClient, id: string, p: Producer, committed: boolean, version = 3): Promise<number> {
  return (await c.send(END_TXN, version, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed })).errorCode;
}

async function fetchOffset(c: RawClient, groupId: string, topic: string, requireStable: boolean): Promise<{ errorCode: number; committedOffset: bigint }> {
  const r = await c.send(OFFSET_FETCH, 7, { groupId, topics: [{ name: topic, partitionIndexes: [0] }], requireStable });
  return r.topics[0].partitions[0];
}

async function describe1(c: RawClient, id: string): Promise<any> {
  return (await c.send(DESCRIBE_TXNS, 0, { transactionalIds: [id] })).transactionStates[0];
}

async function produceTxn(c: RawClient, topic: string, p: Producer, seq: number, values: string[]): Promise<number> {
  const batch = buildRecordBatch(values.map((value) => ({ value })), { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq, transactional: true });
  const r = await c.send(PRODUCE, 9, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  return r.responses[0].partitionResponses[0].errorCode;
}

describe('transactions over the wire', () => {
  let dir: string;
  let broker: RunningBroker;
  let client: RawClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-txn-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    const res = await client.send(CREATE_TOPICS, 5, { topics: [{ name: 'tx', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('FindCoordinator for a transactional id names this broker and creates __transaction_state', async () => {
    const r = await client.send(FIND_COORDINATOR, 4, { keyType: 1, coordinatorKeys: ['t1', ''] });
    assert.deepEqual(r.coordinators.map((x: any) => [x.key, x.errorCode, x.nodeId]), [['t1', ErrorCode.NONE, broker.nodeId], ['', ErrorCode.INVALID_REQUEST, -1]]);
    const v1 = await client.send(FIND_COORDINATOR, 1, { key: 't1', keyType: 1 });
    assert.equal(v1.errorCode, ErrorCode.NONE);
    const md = await client.send(3, 9, { topics: [{ name: '__transaction_state' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual([md.topics[0].errorCode, md.topics[0].partitions.length], [ErrorCode.NONE, 3]);
  });

  test('InitProducerId bumps the epoch of a transactional id and fences the older producer', async () => {
    const a = await init(client, 'fence');
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal(a.producerEpoch, 0);
    const b = await init(client, 'fence');
    assert.deepEqual([b.errorCode, b.producerId, b.producerEpoch], [ErrorCode.NONE, a.producerId, 1]);
    assert.deepEqual(await addPartitions(client, 'fence', a, 'tx', [0]), [ErrorCode.PRODUCER_FENCED]);
    assert.deepEqual(await addPartitions(client, 'fence', a, 'tx', [0], 1), [ErrorCode.INVALID_PRODUCER_EPOCH], 'v1 predates PRODUCER_FENCED');
    assert.deepEqual(await addPartitions(client, 'fence', { producerId: a.producerId + 1000n, producerEpoch: 1 }, 'tx', [0]), [ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(await addPartitions(client, 'fence', b, 'tx', [0, 9]), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal((await init(client, 'fence', { transactionTimeoutMs: 60001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  });

  test('AddOffsetsToTxn + TxnOffsetCommit: checks the producer; the offset is pending (UNSTABLE_OFFSET_COMMIT) until the transaction ends', async () => {
    const p = await init(client, 'offsets');
    assert.equal(await txnCommit(client, 'offsets', p, 'g-off', 'tx', 5n), ErrorCode.INVALID_TXN_STATE, 'group not added yet');
    assert.equal(await addOffsets(client, 'offsets', p, 'g-off'), ErrorCode.NONE);
    assert.equal(await txnCommit(client, 'offsets', { ...p, producerEpoch: p.producerEpoch + 1 }, 'g-off', 'tx', 5n), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await txnCommit(client, 'offsets', { ...p, producerId: 999_999n }, 'g-off', 'tx', 5n), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await txnCommit(client, 'offsets', p, 'g-off', 'tx', 5n), ErrorCode.NONE);
    assert.deepEqual(await fetchOffset(client, 'g-off', 'tx', true), { partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    const loose = await fetchOffset(client, 'g-off', 'tx', false);
    assert.deepEqual([loose.errorCode, loose.committedOffset], [ErrorCode.NONE, -1n], 'not committed yet');
    // A null topic list: requireStable reports the partition that only has a pending offset; without it, nothing.
    const all7 = await client.send(OFFSET_FETCH, 7, { groupId: 'g-off', topics: null, requireStable: true });
    assert.deepEqual(all7.topics.map((t: any) => [t.name, t.partitions.map((x: any) => [x.partitionIndex, x.committedOffset, x.errorCode])]),
      [['tx', [[0, -1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]]]]);
    const all8 = await client.send(OFFSET_FETCH, 8, { groups: [{ groupId: 'g-off', topics: null }], requireStable: true });
    assert.deepEqual(all8.groups[0].topics.map((t: any) => t.partitions.map((x: any) => x.errorCode)), [[ErrorCode.UNSTABLE_OFFSET_COMMIT]]);
    assert.deepEqual((await client.send(OFFSET_FETCH, 7, { groupId: 'g-off', topics: null, requireStable: false })).topics, []);
    const d = await describe1(client, 'offsets');
    assert.equal(d.transactionState, 'Ongoing');
    assert.deepEqual(d.topics.map((t: any) => t.topic), ['__consumer_offsets']);
  });

  test('DescribeTransactions and ListTransactions report ids, states and filters', async () => {
    const missing = await describe1(client, 'never-seen');
    assert.equal(missing.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const p = await init(client, 'listed');
    const d = await describe1(client, 'listed');
    assert.deepEqual([d.errorCode, d.transactionState, d.producerId, d.producerEpoch, d.transactionTimeoutMs], [ErrorCode.NONE, 'Empty', p.producerId, p.producerEpoch, 30000]);
    const all = await client.send(LIST_TXNS, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
    assert.ok(all.transactionStates.some((t: any) => t.transactionalId === 'listed' && t.transactionState === 'Empty'));
    const ongoing = await client.send(LIST_TXNS, 1, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: -1n });
    assert.deepEqual(ongoing.unknownStateFilters, ['Bogus']);
    assert.ok(ongoing.transactionStates.every((t: any) => t.transactionState === 'Ongoing'));
    assert.ok(!ongoing.transactionStates.some((t: any) => t.transactionalId === 'listed'));
    const byPid = await client.send(LIST_TXNS, 0, { stateFilters: [], producerIdFilters: [p.producerId] });
    assert.deepEqual(byPid.transactionStates.map((t: any) => t.transactionalId), ['listed']);
  });

  test('commit: data and offsets become visible; abort: offsets dropped; EndTxn retries are answered', async () => {
    const p = await init(client, 'flow');
    assert.deepEqual(await addPartitions(client, 'flow', p, 'tx', [0]), [ErrorCode.NONE]);
    assert.equal(await produceTxn(client, 'tx', p, 0, ['c1', 'c2']), ErrorCode.NONE);
    assert.equal(await addOffsets(client, 'flow', p, 'g-flow'), ErrorCode.NONE);
    assert.equal(await txnCommit(client, 'flow', p, 'g-flow', 'tx', 7n), ErrorCode.NONE);
    assert.equal(await endTxn(client, 'flow', p, true), ErrorCode.NONE);
    assert.equal((await describe1(client, 'flow')).transactionState, 'CompleteCommit');
    assert.equal(await endTxn(client, 'flow', p, true), ErrorCode.NONE, 'a retried commit succeeds');
    assert.equal(await endTxn(client, 'flow', p, false), ErrorCode.INVALID_TXN_STATE);
    const committed = await fetchOffset(client, 'g-flow', 'tx', true);
    assert.deepEqual([committed.errorCode, committed.committedOffset], [ErrorCode.NONE, 7n]);

    assert.deepEqual(await addPartitions(client, 'flow', p, 'tx', [0]), [ErrorCode.NONE]);
    assert.equal(await produceTxn(client, 'tx', p, 2, ['a1']), ErrorCode.NONE);
    assert.equal(await addOffsets(client, 'flow', p, 'g-flow'), ErrorCode.NONE);
    assert.equal(await txnCommit(client, 'flow', p, 'g-flow', 'tx', 9n), ErrorCode.NONE);
    assert.equal(await endTxn(client, 'flow', p, false), ErrorCode.NONE);
    assert.equal((await describe1(client, 'flow')).transactionState, 'CompleteAbort');
    const after = await fetchOffset(client, 'g-flow', 'tx', true);
    assert.deepEqual([after.errorCode, after.committedOffset], [ErrorCode.NONE, 7n], 'the aborted offset is dropped');

    const r = await client.send(FETCH, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'tx', topicId: Buffer.alloc(16), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const part = r.responses[0].partitions[0];
    assert.equal(part.abortedTransactions.length, 1, 'the aborted transaction is listed for read_committed');
    assert.equal(part.abortedTransactions[0].producerId, p.producerId);
  });

  test('an ongoing transaction is fenced and aborted by a new InitProducerId', async () => {
    const p = await init(client, 'zombie');
    assert.deepEqual(await addPartitions(client, 'zombie', p, 'tx', [1]), [ErrorCode.NONE]);
    assert.equal((await init(client, 'zombie')).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'the fence aborts first');
    assert.equal((await describe1(client, 'zombie')).transactionState, 'CompleteAbort');
    const q = await init(client, 'zombie');
    assert.deepEqual([q.errorCode, q.producerEpoch], [ErrorCode.NONE, p.producerEpoch + 2]);
    assert.equal(await endTxn(client, 'zombie', p, true), ErrorCode.PRODUCER_FENCED);
  });
});
