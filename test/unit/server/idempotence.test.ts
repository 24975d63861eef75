import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { ProducerIdManager } from '../../../src/coordinator/producer-id-manager.js';

const PRODUCE = 0, INIT_PRODUCER_ID = 22, DESCRIBE_PRODUCERS = 61, CREATE_TOPICS = 19;

const idem = (pid: bigint, epoch: number, seq: number, n = 1): Buffer =>
  buildRecordBatch(Array.from({ length: n }, (_, i) => ({ value: `s${seq + i}` })), { producerId: pid, producerEpoch: epoch, baseSequence: seq });

const produceBody = (topic: string, batch: Buffer) => ({
  acks: -1, timeoutMs: 5000, transactionalId: null,
  topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
});

async function produce(c: RawClient, topic: string, batch: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
  const res = await c.send(PRODUCE, 9, produceBody(topic, batch));
  return res.responses[0].partitionResponses[0];
}

async function initProducerId(c: RawClient, version = 4, body: object = {}): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
  return c.send(INIT_PRODUCER_ID, version, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1, ...body });
}

describe('idempotent producer over the wire', () => {
  let dir: string;
  let broker: RunningBroker;
  let client: RawClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-idempotence-test-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    client = await RawClient.connect(broker.address);
    const res = await client.send(CREATE_TOPICS, 5, { topics: [{ name: 'idem', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(res.topics[0].errorCode, 0);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('InitProducerId v0-5 hands out a new id at epoch 0 each time; transactional ids go to the transaction coordinator', async () => {
    const ids: bigint[] = [];
    for (const v of [0, 1, 2, 3, 4, 5]) {
      const res = await initProducerId(client, v);
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.producerEpoch, 0);
      ids.push(res.producerId);
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids increase: ${ids.join(',')}`);
    const txn = await initProducerId(client, 4, { transactionalId: 'tx-1' });
    assert.deepEqual([txn.errorCode, txn.producerEpoch], [ErrorCode.NONE, 0], 'the transaction coordinator answers transactional ids');
    assert.ok(txn.producerId > ids.at(-1)!, 'from the same allocator');
    const half = await initProducerId(client, 3, { producerId: 5n, producerEpoch: -1 });
    assert.equal(half.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test('Produce checks sequences: duplicates get the original offset, gaps and stale epochs are refused', async () => {
    const { producerId: pid } = await initProducerId(client);
    const first = await produce(client, 'idem', idem(pid, 0, 0, 3));
    assert.deepEqual([first.errorCode, first.baseOffset], [ErrorCode.NONE, 0n]);
    const retried = await produce(client, 'idem', idem(pid, 0, 0, 3));
    assert.deepEqual([retried.errorCode, retried.baseOffset], [ErrorCode.NONE, 0n]);
    const second = await produce(client, 'idem', idem(pid, 0, 3, 2));
    assert.deepEqual([second.errorCode, second.baseOffset], [ErrorCode.NONE, 3n]);
    const gap = await produce(client, 'idem', idem(pid, 0, 9));
    assert.deepEqual([gap.errorCode, gap.baseOffset], [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1n]);
    const bumped = await produce(client, 'idem', idem(pid, 1, 0));
    assert.deepEqual([bumped.errorCode, bumped.baseOffset], [ErrorCode.NONE, 5n]);
    const stale = await produce(client, 'idem', idem(pid, 0, 5));
    assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    const described = await client.send(DESCRIBE_PRODUCERS, 0, { topics: [{ name: 'idem', partitionIndexes: [0, 1, 7] }, { name: 'nope', partitionIndexes: [0] }] });
    const [p0, p1, p7] = described.topics[0].partitions;
    assert.equal(p0.errorCode, 0);
    const mine = p0.activeProducers.find((p: { producerId: bigint }) => p.producerId === pid);
    assert.deepEqual([mine.producerEpoch, mine.lastSequence, mine.coordinatorEpoch, mine.currentTxnStartOffset], [1, 0, -1, -1n]);
    assert.ok(mine.lastTimestamp > 0n);
    assert.deepEqual(p1.activeProducers, []);
    assert.equal(p7.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(described.topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('a restart keeps the dedup state and never reuses a producer id', async () => {
    const { producerId: pid } = await initProducerId(client);
    await produce(client, 'idem', idem(pid, 0, 0));
    const last = await produce(client, 'idem', idem(pid, 0, 1, 4));
    client.close();
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    client = await RawClient.connect(broker.address);
    const retry = await produce(client, 'idem', idem(pid, 0, 1, 4));
    assert.deepEqual([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, last.baseOffset]);
    const next = await produce(client, 'idem', idem(pid, 0, 5));
    assert.deepEqual([next.errorCode, next.baseOffset], [ErrorCode.NONE, last.baseOffset + 4n]);
    const fresh = await initProducerId(client);
    assert.ok(fresh.producerId > pid, `${fresh.producerId} > ${pid}`);
  });
});

test('ProducerIdManager persists the end of a block before handing out its ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pid-test-'));
  try {
    const a = ProducerIdManager.open(dir, { blockSize: 3 });
    assert.deepEqual([a.generate(), a.generate()], [0n, 1n]);
    assert.deepEqual(JSON.parse(readFileSync(a.file, 'utf8')), { version: 1, nextBlockStart: '3' });
    // A crash now: the next start skips the rest of the block rather than risk reusing 2.
    const b = ProducerIdManager.open(dir, { blockSize: 3 });
    assert.deepEqual([b.generate(), b.generate(), b.generate(), b.generate()], [3n, 4n, 5n, 6n]);
    assert.deepEqual(JSON.parse(readFileSync(b.file, 'utf8')), { version: 1, nextBlockStart: '9' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
