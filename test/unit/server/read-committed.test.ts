// read_committed over the wire: transactional batches produced by a raw client, markers written straight to the
// partition's Log (what the transaction coordinator does), then Fetch / ListOffsets in both isolation levels.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import type { Log } from '../../../src/storage/log.js';

const PRODUCE = 0, FETCH = 1, LIST_OFFSETS = 2, CREATE_TOPICS = 19;
const TOPIC = 'rc';

const txn = (producerId: bigint, baseSequence: number, n = 1): Buffer =>
  buildRecordBatch(Array.from({ length: n }, (_, i) => ({ value: `p${producerId}-${baseSequence + i}` })), { producerId, producerEpoch: 0, baseSequence, transactional: true });

const fetchBody = (offset: bigint, isolationLevel: number, extra: object = {}) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
  forgottenTopicsData: [], rackId: '', ...extra,
});

/** [first, last] offsets of each batch in a fetched record set. */
function ranges(records: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let pos = 0; pos < records.length;) {
    const h = readBatchHeader(records, pos);
    out.push([h.baseOffset, h.baseOffset + h.lastOffsetDelta]);
    pos += h.batchLength + 12;
  }
  return out;
}

describe('read_committed fetches and transaction markers', () => {
  let dir: string;
  let broker: RunningBroker;
  let client: RawClient;
  let log: Log;

  async function produce(batch: Buffer): Promise<bigint> {
    const res = await client.send(PRODUCE, 9, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] });
    const p = res.responses[0].partitionResponses[0];
    assert.equal(p.errorCode, ErrorCode.NONE);
    return p.baseOffset;
  }

  async function fetch(offset: bigint, isolationLevel: number, version = 12, extra: object = {}) {
    const res = await client.send(FETCH, version, fetchBody(offset, isolationLevel, extra));
    return res.responses[0].partitions[0];
  }

  async function latest(isolationLevel: number, version: number): Promise<bigint> {
    const res = await client.send(LIST_OFFSETS, version, { replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] }] });
    return res.topics[0].partitions[0].offset;
  }

  const marker = (producerId: bigint, commit: boolean): number => log.writeTxnMarker({ producerId, producerEpoch: 0, coordinatorEpoch: 0, commit, timestamp: Date.now() });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-read-committed-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    client = await RawClient.connect(broker.address);
    const res = await client.send(CREATE_TOPICS, 5, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(res.topics[0].errorCode, 0);
    log = broker.context.topics.log(TOPIC, 0);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only data below the LSO is returned to read_committed; read_uncommitted sees everything', async () => {
    assert.equal(await produce(buildRecordBatch([{ value: 'plain-0' }])), 0n);
    assert.equal(await produce(txn(1000n, 0, 2)), 1n); // 1-2, open
    assert.equal(await produce(buildRecordBatch([{ value: 'plain-3' }])), 3n);
    assert.equal(await produce(txn(2000n, 0)), 4n); // 4, open

    const uncommitted = await fetch(0n, 0);
    assert.deepEqual(ranges(uncommitted.records), [[0, 0], [1, 2], [3, 3], [4, 4]]);
    assert.deepEqual([uncommitted.highWatermark, uncommitted.lastStableOffset], [5n, 1n]);
    assert.equal(uncommitted.abortedTransactions, null);

    const committed = await fetch(0n, 1);
    assert.deepEqual(ranges(committed.records), [[0, 0]]);
    assert.deepEqual([committed.highWatermark, committed.lastStableOffset], [5n, 1n]);
    assert.deepEqual(committed.abortedTransactions, []);
    assert.equal((await fetch(1n, 1)).records.length, 0);

    assert.equal(await latest(1, 2), 1n, 'ListOffsets latest, read_committed: the LSO');
    assert.equal(await latest(0, 7), 5n, 'ListOffsets latest, read_uncommitted: the high watermark');
    assert.equal(await latest(1, 1), 5n, 'no isolation level before v2');
  });

  test('a long-polling read_committed fetch is woken by the marker that moves the LSO; aborted ranges come with the data', async () => {
    // Resolve once the fetch has subscribed to appends, so the marker is written while it waits.
    let subscribed!: () => void;
    const waiting = new Promise<void>((resolve) => (subscribed = resolve));
    const wakeOnAppend = log.wakeOnAppend.bind(log);
    log.wakeOnAppend = (waiter) => {
      subscribed();
      wakeOnAppend(waiter);
    };
    const started = Date.now();
    const pending = fetch(1n, 1, 12, { maxWaitMs: 10_000, minBytes: 1 });
    await waiting;
    log.wakeOnAppend = wakeOnAppend;
    assert.equal(marker(1000n, false), 5);
    await log.flush();
    const woken = await pending;
    assert.ok(Date.now() - started < 5000, 'answered before max wait');
    assert.deepEqual(ranges(woken.records), [[1, 2], [3, 3]], 'producer 2000 still holds the LSO at 4');
    assert.equal(woken.lastStableOffset, 4n);
    assert.deepEqual(woken.abortedTransactions, [{ producerId: 1000n, firstOffset: 1n }]);

    assert.equal(marker(2000n, true), 6);
    const rest = await fetch(4n, 1);
    assert.deepEqual(ranges(rest.records), [[4, 4], [5, 5], [6, 6]]);
    assert.equal(rest.lastStableOffset, 7n);
    // The abort of 1000 ends inside this range (its marker is at 5): the consumer needs it to drop nothing here.
    assert.deepEqual(rest.abortedTransactions, [{ producerId: 1000n, firstOffset: 1n }]);
    assert.deepEqual((await fetch(6n, 1)).abortedTransactions, [], 'nothing aborted overlaps [6, 7)');
    assert.equal(await latest(1, 7), 7n);
  });

  test('a transactional produce with a stale epoch is refused after a marker bumped the epoch', async () => {
    assert.equal(await produce(txn(3000n, 0)), 7n);
    log.writeTxnMarker({ producerId: 3000n, producerEpoch: 1, coordinatorEpoch: 0, commit: false, timestamp: Date.now() });
    const res = await client.send(PRODUCE, 9, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: txn(3000n, 1) }] }] });
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('markers and aborted ranges survive a broker restart', async () => {
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    client.close();
    client = await RawClient.connect(broker.address);
    log = broker.context.topics.log(TOPIC, 0);
    const all = await fetch(0n, 1, 4);
    assert.equal(all.lastStableOffset, 9n);
    assert.deepEqual(all.abortedTransactions, [{ producerId: 1000n, firstOffset: 1n }, { producerId: 3000n, firstOffset: 7n }]);
  });
});
