// Coordinator ownership on the real in-process broker: resigning a __consumer_offsets / __transaction_state
// partition (as a broker losing its leadership would) makes its keys answer NOT_COORDINATOR, and electing it
// again reloads its state from the log; transactions caught in PrepareCommit complete on election with the
// new coordinator epoch. Also WriteTxnMarkers (key 27).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { partitionFor } from '../../../src/coordinator/runtime.js';
import { txnRecordSerde } from '../../../src/coordinator/transaction/transaction-records.js';
import { TransactionState } from '../../../src/coordinator/transaction/transaction-state.js';
import { TRANSACTION_STATE_TOPIC } from '../../../src/coordinator/transaction/transaction-coordinator-service.js';

const PRODUCE = 0, OFFSET_COMMIT = 8, OFFSET_FETCH = 9, JOIN_GROUP = 11, SYNC_GROUP = 14, DESCRIBE_GROUPS = 15, LIST_GROUPS = 16, CREATE_TOPICS = 19;
const INIT_PRODUCER_ID = 22, ADD_PARTITIONS = 24, END_TXN = 26, WRITE_TXN_MARKERS = 27, DELETE_GROUPS = 42, DESCRIBE_PRODUCERS = 61;
const DESCRIBE_TXNS = 65, LIST_TXNS = 66, CG_HEARTBEAT = 68;
const PARTITIONS = 3;
const CONFIG = {
  'num.partitions': 1, 'offsets.topic.num.partitions': PARTITIONS, 'transaction.state.log.num.partitions': PARTITIONS,
  'group.initial.rebalance.delay.ms': 0,
};

describe('coordinator ownership over the wire', () => {
  let dir: string;
  let broker: RunningBroker;
  let client: RawClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-ownership-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    const res = await client.send(CREATE_TOPICS, 5, {
      topics: ['t', 'tx', 'wm'].map((name) => ({ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] })), timeoutMs: 5000, validateOnly: false,
    });
    assert.deepEqual(res.topics.map((t: any) => t.errorCode), [0, 0, 0]);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const commit = async (groupId: string, offset: bigint): Promise<number> => {
    const r = await client.send(OFFSET_COMMIT, 8, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    return r.topics[0].partitions[0].errorCode;
  };
  const fetchOffset = async (groupId: string): Promise<{ errorCode: number; offset?: bigint }> => {
    const r = await client.send(OFFSET_FETCH, 8, { groups: [{ groupId, topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: false });
    return { errorCode: r.groups[0].errorCode, offset: r.groups[0].topics[0]?.partitions[0].committedOffset };
  };
  const listed = async (): Promise<string[]> => (await client.send(LIST_GROUPS, 4, { statesFilter: [] })).groups.map((g: any) => g.groupId);

  test('a resigned __consumer_offsets partition answers NOT_COORDINATOR for its groups; re-election reloads them', async () => {
    const groups = broker.context.groups;
    const group = 'owned-group';
    const p = partitionFor(group, PARTITIONS);
    assert.equal(await commit(group, 42n), ErrorCode.NONE);
    assert.deepEqual(groups.runtime.ownedPartitions(), [0, 1, 2]);
    assert.ok((await listed()).includes(group));

    groups.onResignation(p, 1);
    assert.equal(groups.runtime.isOwned(p), false);
    assert.equal(groups.coordinator.group(group), undefined, 'the group left the state machine');
    assert.equal(await commit(group, 43n), ErrorCode.NOT_COORDINATOR);
    assert.equal((await fetchOffset(group)).errorCode, ErrorCode.NOT_COORDINATOR);
    const described = await client.send(DESCRIBE_GROUPS, 5, { groups: [group], includeAuthorizedOperations: false });
    assert.equal(described.groups[0].errorCode, ErrorCode.NOT_COORDINATOR);
    assert.ok(!(await listed()).includes(group), 'ListGroups lists only the partitions owned here');
    const deleted = await client.send(DELETE_GROUPS, 2, { groupsNames: [group] });
    assert.equal(deleted.results[0].errorCode, ErrorCode.NOT_COORDINATOR);
    const hb = await client.send(CG_HEARTBEAT, 1, {
      groupId: group, memberId: 'm1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ['t'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [],
    });
    assert.equal(hb.errorCode, ErrorCode.NOT_COORDINATOR);

    // Stale: an election not newer than the resignation's epoch changes nothing.
    await groups.onElection(p, 1);
    assert.equal(groups.runtime.isOwned(p), false);
    // Loading: COORDINATOR_LOAD_IN_PROGRESS until the partition is replayed, then the committed offset is back.
    const loading = groups.onElection(p, 2);
    assert.equal(groups.runtime.ownershipError(group), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    await assert.rejects(groups.runtime.query(() => 0, group), { kafkaError: 'COORDINATOR_LOAD_IN_PROGRESS' });
    await loading;
    assert.deepEqual(await fetchOffset(group), { errorCode: ErrorCode.NONE, offset: 42n });
    assert.ok((await listed()).includes(group));
    // A resignation with an epoch not newer than the one elected is stale.
    groups.onResignation(p, 2);
    assert.equal(groups.runtime.isOwned(p), true);
  });

  test('a JoinGroup waiting in a resigned group is answered NOT_COORDINATOR', async () => {
    const groups = broker.context.groups;
    const group = 'waiting-group';
    const p = partitionFor(group, PARTITIONS);
    const join = (memberId: string): Promise<any> => client.send(JOIN_GROUP, 5, {
      groupId: group, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId, groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    const a = await join('');
    assert.equal(a.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const leader = await join(a.memberId);
    assert.equal(leader.errorCode, ErrorCode.NONE);
    const synced = await client.send(SYNC_GROUP, 3, {
      groupId: group, generationId: leader.generationId, memberId: a.memberId, groupInstanceId: null,
      assignments: [{ memberId: a.memberId, assignment: Buffer.from([1]) }],
    });
    assert.equal(synced.errorCode, ErrorCode.NONE);
    // A second member starts a rebalance: its join waits for the first to rejoin.
    const b = await join('');
    const waiting = join(b.memberId);
    const settled = await Promise.race([waiting.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 100))]);
    assert.equal(settled, 'waiting');
    groups.onResignation(p);
    const r = await waiting;
    assert.equal(r.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(groups.coordinator.group(group), undefined);
    await groups.onElection(p, 5);
    assert.equal(groups.coordinator.group(group)?.generationId, 1, 'the generation persisted before the resignation is reloaded');
  });

  test('a resigned __transaction_state partition answers NOT_COORDINATOR; a PrepareCommit left in it completes on election with the new epoch', async () => {
    const txns = broker.context.transactions;
    const id = 'owned-txn';
    const p = partitionFor(id, PARTITIONS);
    const init = await client.send(INIT_PRODUCER_ID, 4, { transactionalId: id, transactionTimeoutMs: 30000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const producer = { producerId: init.producerId as bigint, producerEpoch: init.producerEpoch as number };
    const added = await client.send(ADD_PARTITIONS, 3, {
      v3AndBelowTransactionalId: id, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch,
      v3AndBelowTopics: [{ name: 'tx', partitions: [0] }], transactions: [],
    });
    assert.equal(added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
    const batch = buildRecordBatch([{ value: 'v' }], { ...producer, baseSequence: 0, transactional: true });
    const produced = await client.send(PRODUCE, 9, { acks: -1, timeoutMs: 5000, transactionalId: id, topicData: [{ name: 'tx', partitionData: [{ index: 0, records: batch }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

    txns.onResignation(p, 3);
    assert.equal(txns.coordinator.get(id), undefined);
    const again = await client.send(INIT_PRODUCER_ID, 4, { transactionalId: id, transactionTimeoutMs: 30000, producerId: -1n, producerEpoch: -1 });
    assert.equal(again.errorCode, ErrorCode.NOT_COORDINATOR);
    const ended = await client.send(END_TXN, 3, { transactionalId: id, ...producer, committed: true });
    assert.equal(ended.errorCode, ErrorCode.NOT_COORDINATOR);
    const described = await client.send(DESCRIBE_TXNS, 0, { transactionalIds: [id] });
    assert.equal(described.transactionStates[0].errorCode, ErrorCode.NOT_COORDINATOR);
    const list = await client.send(LIST_TXNS, 0, { stateFilters: [], producerIdFilters: [] });
    assert.ok(!list.transactionStates.some((t: any) => t.transactionalId === id));
    const batched = await client.send(ADD_PARTITIONS, 4, {
      v3AndBelowTransactionalId: '', v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [],
      transactions: [{ transactionalId: id, ...producer, verifyOnly: true, topics: [{ name: 'tx', partitions: [0] }] }],
    });
    assert.deepEqual(batched.resultsByTransaction.map((t: any) => [t.transactionalId, t.topicResults[0].resultsByPartition[0].partitionErrorCode]), [[id, ErrorCode.NOT_COORDINATOR]]);

    // The old coordinator got as far as PrepareCommit before leadership moved: that record ends the partition.
    const log = broker.context.topics.log(TRANSACTION_STATE_TOPIC, p);
    let last: ReturnType<typeof txnRecordSerde.decode> = null;
    txns.runtime['log'].readAll(p, (raw: any) => {
      const rec = txnRecordSerde.decode(raw);
      if (rec?.key.transactionalId === id) last = rec;
    });
    assert.ok(last);
    const ongoing = last as NonNullable<ReturnType<typeof txnRecordSerde.decode>>;
    assert.equal(ongoing.value!.transactionStatus, TransactionState.Ongoing);
    const prepare = txnRecordSerde.encode({ key: ongoing.key, value: { ...ongoing.value!, transactionStatus: TransactionState.PrepareCommit } });
    log.append(buildRecordBatch([{ key: prepare.key, value: prepare.value }]), { leaderEpoch: 0 });
    await log.flush();

    await txns.onElection(p, 4);
    assert.equal(txns.coordinator.get(id)?.state, 'CompleteCommit');
    const after = await client.send(DESCRIBE_TXNS, 0, { transactionalIds: [id] });
    assert.equal(after.transactionStates[0].errorCode, ErrorCode.NONE);
    assert.equal(after.transactionStates[0].transactionState, 'CompleteCommit');
    // The marker on the data partition carries the new coordinator epoch, and closed the transaction there.
    const producers = await client.send(DESCRIBE_PRODUCERS, 0, { topics: [{ name: 'tx', partitionIndexes: [0] }] });
    const state = producers.topics[0].partitions[0].activeProducers.find((x: any) => x.producerId === producer.producerId);
    assert.equal(state.coordinatorEpoch, 4);
    assert.equal(state.currentTxnStartOffset, -1n);
    // A stale (older) coordinator's marker is now fenced.
    const stale = await client.send(WRITE_TXN_MARKERS, 1, {
      markers: [{ ...producer, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 'tx', partitionIndexes: [0] }] }],
    });
    assert.equal(stale.markers[0].topics[0].partitions[0].errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  });

  test('WriteTxnMarkers writes each marker to the local log, with per-partition errors', async () => {
    const init = await client.send(INIT_PRODUCER_ID, 4, { transactionalId: null, transactionTimeoutMs: 30000, producerId: -1n, producerEpoch: -1 });
    const producer = { producerId: init.producerId as bigint, producerEpoch: 3 };
    const batch = buildRecordBatch([{ value: 'a' }, { value: 'b' }], { ...producer, baseSequence: 0, transactional: true });
    const log = broker.context.topics.log('wm', 0);
    log.append(batch, { leaderEpoch: 0 });
    assert.equal(log.lastStableOffset, 0, 'the open transaction holds the LSO');

    for (const version of [0, 1]) {
      const r = await client.send(WRITE_TXN_MARKERS, version, {
        markers: [{
          ...producer, transactionResult: true, coordinatorEpoch: 7 + version,
          topics: [{ name: 'wm', partitionIndexes: [0, 5] }, { name: 'missing', partitionIndexes: [0] }],
        }],
      });
      assert.equal(r.markers[0].producerId, producer.producerId);
      assert.deepEqual(r.markers[0].topics.map((t: any) => [t.name, t.partitions.map((x: any) => [x.partitionIndex, x.errorCode])]), [
        ['wm', [[0, ErrorCode.NONE], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ]);
    }
    assert.equal(log.lastStableOffset, log.logEndOffset, 'the COMMIT marker released the LSO');
    const fenced = await client.send(WRITE_TXN_MARKERS, 1, {
      markers: [
        { ...producer, transactionResult: false, coordinatorEpoch: 2, topics: [{ name: 'wm', partitionIndexes: [0] }] },
        { ...producer, producerEpoch: 1, transactionResult: false, coordinatorEpoch: 9, topics: [{ name: 'wm', partitionIndexes: [0] }] },
      ],
    });
    assert.deepEqual(fenced.markers.map((m: any) => m.topics[0].partitions[0].errorCode), [ErrorCode.TRANSACTION_COORDINATOR_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH]);
  });
});
