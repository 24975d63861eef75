/**
 * The Producer against the in-process broker. What it wrote is read back with the generated Fetch
 * codecs over a plain Connection (not the Consumer), so these tests check the bytes on the broker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Producer, type CompressionCodec, type ProducerOptions, type SendListener } from '../../../src/client/producer.js';
import { Connection } from '../../../src/client/connection.js';
import { ClientStateError, ConnectionError, ProtocolError, RequestTimeoutError } from '../../../src/client/errors.js';
import { partitionForKey } from '../../../src/client/partitioner.js';
import { FetchRequest } from '../../../src/protocol/generated/fetch-request.js';
import { FetchResponse } from '../../../src/protocol/generated/fetch-response.js';
import { DescribeProducersRequest } from '../../../src/protocol/generated/describe-producers-request.js';
import { DescribeProducersResponse } from '../../../src/protocol/generated/describe-producers-response.js';
import { OffsetFetchRequest } from '../../../src/protocol/generated/offset-fetch-request.js';
import { OffsetFetchResponse } from '../../../src/protocol/generated/offset-fetch-response.js';
import { CreateTopicsRequest } from '../../../src/protocol/generated/create-topics-request.js';
import { CreateTopicsResponse } from '../../../src/protocol/generated/create-topics-response.js';
import { decodeRecordBatch, iterateBatches, readControlRecord, type Record as LogRecord } from '../../../src/protocol/records/record.js';
import type { BatchHeader } from '../../../src/protocol/records/record-batch.js';

interface ReadBatch {
  header: BatchHeader;
  records: LogRecord[];
  control: 'COMMIT' | 'ABORT' | 'UNKNOWN' | null;
}

async function startTestBroker(config: Record<string, string> = {}, port = 0, dataDir?: string): Promise<{ broker: RunningBroker; dataDir: string }> {
  const dir = dataDir ?? await mkdtemp(join(tmpdir(), 'tributary-producer-'));
  const broker = await startBroker({ host: '127.0.0.1', port, dataDir: dir, config: { 'num.partitions': '3', ...config }, logLevel: 'silent' });
  return { broker, dataDir: dir };
}

async function connect(address: string): Promise<Connection> {
  const i = address.lastIndexOf(':');
  return Connection.connect(address.slice(0, i), Number(address.slice(i + 1)));
}

/**
 * Every batch of a partition from offset 0 up to the high watermark (read_uncommitted) or the last
 * stable offset (read_committed, where aborted transactions' batches are dropped as a consumer would).
 */
async function readPartition(conn: Connection, topic: string, partition: number, readCommitted = false): Promise<ReadBatch[]> {
  const out: ReadBatch[] = [];
  let offset = 0;
  const aborted: Array<{ producerId: bigint; firstOffset: bigint }> = [];
  for (let round = 0; round < 100; round++) {
    const res = await conn.send(FetchRequest, FetchResponse, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: readCommitted ? 1 : 0,
      topics: [{ topic, partitions: [{ partition, fetchOffset: BigInt(offset), partitionMaxBytes: 8 << 20 }] }],
    }, { maxVersion: 12 });
    const p = res.responses[0].partitions[0];
    assert.equal(p.errorCode, 0, `fetch ${topic}-${partition}`);
    aborted.push(...(p.abortedTransactions ?? []));
    const records = p.records ?? Buffer.alloc(0);
    let last = offset;
    for (const { pos } of iterateBatches(records)) {
      const { header, records: recs } = decodeRecordBatch(records, pos);
      last = header.baseOffset + header.lastOffsetDelta + 1;
      if (last <= offset) continue;
      const control = (header.attributes & 0x20) !== 0 ? readControlRecord(recs[0]).type : null;
      out.push({ header, records: recs, control });
    }
    const end = Number(readCommitted ? p.lastStableOffset : p.highWatermark);
    if (last >= end || last === offset) break;
    offset = last;
  }
  if (!readCommitted) return out;
  // A consumer's read_committed filter: skip batches of aborted transactions, and control batches.
  const abortedPids = new Set<bigint>();
  const visible: ReadBatch[] = [];
  const pending = [...aborted].sort((a, b) => Number(a.firstOffset - b.firstOffset));
  for (const b of out) {
    while (pending.length > 0 && Number(pending[0].firstOffset) <= b.header.baseOffset) abortedPids.add(pending.shift()!.producerId);
    if (b.control !== null) {
      if (b.control === 'ABORT') abortedPids.delete(b.header.producerId);
      continue;
    }
    if ((b.header.attributes & 0x10) !== 0 && abortedPids.has(b.header.producerId)) continue;
    visible.push(b);
  }
  return visible;
}

const dataRecords = (batches: ReadBatch[]): LogRecord[] => batches.filter((b) => b.control === null).flatMap((b) => b.records);
const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

describe('Producer against the in-process broker', () => {
  let broker: RunningBroker;
  let dataDir: string;
  let reader: Connection;
  const producers: Producer[] = [];
  const make = async (options: Partial<ProducerOptions> = {}, doConnect = true): Promise<Producer> => {
    const p = new Producer({ bootstrapServers: broker.address, retryBackoffMs: 20, ...options });
    producers.push(p);
    if (doConnect) await p.connect();
    return p;
  };

  before(async () => {
    ({ broker, dataDir } = await startTestBroker());
    reader = await connect(broker.address);
  });
  after(async () => {
    for (const p of producers) await p.close().catch(() => {});
    reader?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('many sends become few batches; offsets are consecutive; lingerMs holds a lone record back', async () => {
    const p = await make({ lingerMs: 20 });
    const sent = Array.from({ length: 300 }, (_, i) => p.send({ topic: 'batching', partition: 1, key: `k${i}`, value: `v${i}` }));
    const metas = await Promise.all(sent);
    assert.deepEqual(metas.map((m) => m.offset), metas.map((_, i) => i));
    assert.ok(metas.every((m) => m.topic === 'batching' && m.partition === 1));
    const batches = await readPartition(reader, 'batching', 1);
    assert.ok(batches.length <= 3, `300 small records in ${batches.length} batches`);
    assert.deepEqual(dataRecords(batches).map((r) => text(r.value)), metas.map((_, i) => `v${i}`));

    const slow = await make({ lingerMs: 300 });
    const started = performance.now();
    await slow.send({ topic: 'batching', partition: 0, value: 'lingering' });
    const waited = performance.now() - started;
    assert.ok(waited >= 250, `acknowledged after ${waited.toFixed(0)} ms, lingerMs is 300`);
    const fast = await make({ lingerMs: 0 });
    const t0 = performance.now();
    await fast.send({ topic: 'batching', partition: 0, value: 'no linger' });
    assert.ok(performance.now() - t0 < 250);
  });

  test('a batch reaching batchSize leaves without waiting for lingerMs; batches queued behind it keep filling', async () => {
    const p = await make({ batchSize: 2048, lingerMs: 60_000 });
    await p.sendBatch([{ topic: 'batch-size', partition: 2, value: 'creates the topic' }]);
    const value = Buffer.alloc(200, 'b');
    const started = performance.now();
    const metas = await Promise.all(Array.from({ length: 40 }, () => p.send({ topic: 'batch-size', partition: 2, value })));
    assert.ok(performance.now() - started < 5000, 'did not wait for lingerMs');
    assert.deepEqual(metas.map((m) => m.offset), Array.from({ length: 40 }, (_, i) => i + 1));
    const batches = (await readPartition(reader, 'batch-size', 2)).slice(1);
    assert.equal(batches.length, 2, `${batches.length} batches`);
    assert.ok(batches[0].header.batchLength + 12 <= 2048 + 300, `first batch of ${batches[0].header.batchLength} bytes`);
    assert.equal(batches[0].records.length + batches[1].records.length, 40);
  });

  test('sendBatch resolves every record in order, with consecutive offsets per partition', async () => {
    const p = await make();
    const records = Array.from({ length: 500 }, (_, i) => ({ topic: 'send-batch', key: `key-${i % 7}`, value: `value-${i}` }));
    const metas = await p.sendBatch(records);
    assert.equal(metas.length, 500);
    const next = new Map<number, number>();
    for (let i = 0; i < metas.length; i++) {
      assert.equal(metas[i].partition, partitionForKey(Buffer.from(`key-${i % 7}`), 3));
      const expected = next.get(metas[i].partition) ?? metas[i].offset;
      assert.equal(metas[i].offset, expected);
      next.set(metas[i].partition, expected + 1);
    }
    for (const [partition, end] of next) {
      const values = dataRecords(await readPartition(reader, 'send-batch', partition)).map((r) => text(r.value));
      assert.equal(values.length, end);
      assert.deepEqual(values, records.filter((_, i) => metas[i].partition === partition).map((r) => r.value));
    }
  });

  test('acknowledged batch buffers are reused: large sendBatch calls, 4 at a time, land byte for byte', async () => {
    // Each call is about 600 KiB, so its batch buffer comes from the pool's 1 MiB class once an earlier batch was acknowledged.
    const p = await make({ idempotent: false });
    const value = (call: number, i: number): Buffer => Buffer.alloc(600, `${call}:${i};`);
    const calls = 12;
    const pending: Array<Promise<unknown>> = [];
    const metas: Array<Array<{ partition: number; offset: number }>> = [];
    for (let c = 0; c < calls; c++) {
      pending.push(p.sendBatch(Array.from({ length: 1000 }, (_, i) => ({ topic: 'pooled', partition: c % 2, value: value(c, i) }))).then((m) => (metas[c] = m)));
      if (pending.length === 4) await pending.shift();
    }
    await Promise.all(pending);
    const pool = (p as unknown as { pool: { pooledBytes: number } }).pool;
    assert.ok(pool.pooledBytes >= 1 << 20, `${pool.pooledBytes} bytes pooled after ${calls} acknowledged 600 KiB batches`);
    for (const partition of [0, 1]) {
      const got = dataRecords(await readPartition(reader, 'pooled', partition)).map((r) => r.value!);
      const want: Buffer[] = [];
      for (let c = partition; c < calls; c += 2) for (let i = 0; i < 1000; i++) want[metas[c][i].offset] = value(c, i);
      assert.equal(got.length, want.length);
      for (let o = 0; o < want.length; o++) assert.ok(want[o].equals(got[o]), `${partition}@${o}`);
    }
  });

  test('sendBatch does not wait for lingerMs, also when the topic is new', async () => {
    const p = await make({ lingerMs: 60_000 });
    const started = performance.now();
    const metas = await p.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic: 'send-batch-new', partition: 0, value: `n${i}` })));
    assert.deepEqual(metas.map((m) => m.offset), [0, 1, 2, 3, 4]);
    assert.deepEqual(await p.sendBatch([{ topic: 'send-batch-new', partition: 0, value: 'again' }]).then((m) => m.map((x) => x.offset)), [5]);
    assert.ok(performance.now() - started < 5000);
  });

  test('keyed records land on partitionForKey (murmur2); a custom partitioner wins over the key', async () => {
    const p = await make();
    const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const metas = await Promise.all(keys.map((key) => p.send({ topic: 'keyed', key, value: key })));
    for (let i = 0; i < keys.length; i++) assert.equal(metas[i].partition, partitionForKey(Buffer.from(keys[i]), 3), keys[i]);
    for (let partition = 0; partition < 3; partition++) {
      for (const r of dataRecords(await readPartition(reader, 'keyed', partition))) {
        assert.equal(partitionForKey(r.key!, 3), partition);
        assert.equal(text(r.key), text(r.value));
      }
    }
    const custom = await make({ partitioner: (record, n) => (record.value === 'last' ? n - 1 : 0) });
    assert.equal((await custom.send({ topic: 'keyed', key: 'user-1', value: 'last' })).partition, 2);
    assert.equal((await custom.send({ topic: 'keyed', key: 'user-1', value: 'first' })).partition, 0);
  });

  test('null keys stick to one partition per batch and move to another partition for the next', async () => {
    const p = await make({ lingerMs: 5 });
    const runs: number[] = [];
    for (let round = 0; round < 6; round++) {
      const metas = await Promise.all(Array.from({ length: 20 }, (_, i) => p.send({ topic: 'sticky', value: `r${round}-${i}` })));
      const partitions = new Set(metas.map((m) => m.partition));
      assert.equal(partitions.size, 1, `round ${round} went to ${[...partitions].join(',')}`);
      runs.push(metas[0].partition);
    }
    for (let i = 1; i < runs.length; i++) assert.notEqual(runs[i], runs[i - 1], `runs ${runs.join(',')}`);
  });

  for (const acks of [0, 1, 'all'] as const) {
    test(`acks=${acks}`, async () => {
      const topic = `acks-${acks}`;
      const p = await make({ acks });
      const metas = await Promise.all(Array.from({ length: 10 }, (_, i) => p.send({ topic, partition: 0, value: `a${i}` })));
      if (acks === 0) assert.ok(metas.every((m) => m.offset === -1));
      else assert.deepEqual(metas.map((m) => m.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await p.flush();
      // acks=0 gets no answer: wait for the broker to have appended before reading.
      let values: Array<string | null> = [];
      for (let i = 0; i < 50 && values.length < 10; i++) {
        values = dataRecords(await readPartition(reader, topic, 0)).map((r) => text(r.value));
        if (values.length < 10) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(values, Array.from({ length: 10 }, (_, i) => `a${i}`));
      const header = (await readPartition(reader, topic, 0))[0].header;
      // Idempotence is on by default only with acks=all, as in Kafka.
      assert.equal(header.producerId >= 0n, acks === 'all');
    });
  }

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionCodec[]) {
    test(`compression ${compression} round-trips keys, values, headers and timestamps`, async () => {
      const topic = `codec-${compression}`;
      const p = await make({ compression, lingerMs: 10 });
      const ts = Date.UTC(2024, 0, 1);
      const records = Array.from({ length: 50 }, (_, i) => ({
        topic, partition: 0, key: i % 5 === 0 ? null : `k${i}`, value: i % 7 === 0 ? null : `value ${i} `.repeat(10),
        headers: { h: `x${i}`, bin: Buffer.from([i]) }, timestamp: ts + i,
      }));
      const metas = await Promise.all(records.map((r) => p.send(r)));
      assert.deepEqual(metas.map((m) => m.timestamp), records.map((r) => r.timestamp));
      const batches = await readPartition(reader, topic, 0);
      for (const b of batches) assert.equal(b.header.attributes & 7, ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(compression));
      const got = dataRecords(batches);
      assert.deepEqual(got.map((r) => [text(r.key), text(r.value), r.timestamp]), records.map((r) => [r.key, r.value, r.timestamp]));
      assert.deepEqual(got.map((r) => r.headers.map((h) => [h.key, h.value])), records.map((r) => [['h', Buffer.from(r.headers.h)], ['bin', r.headers.bin]]));
    });
  }

  test('headers in array form keep order, duplicates and null values; non-ASCII text survives', async () => {
    const p = await make();
    await p.send({
      topic: 'headers', partition: 0, key: 'ключ', value: 'värde ✓',
      headers: [{ key: 'a', value: '1' }, { key: 'a', value: null }, { key: 'ü', value: Buffer.from('b') }],
    });
    const [r] = dataRecords(await readPartition(reader, 'headers', 0));
    assert.equal(text(r.key), 'ключ');
    assert.equal(text(r.value), 'värde ✓');
    assert.deepEqual(r.headers.map((h) => [h.key, text(h.value)]), [['a', '1'], ['a', null], ['ü', 'b']]);
  });

  test('back-pressure: a full buffer makes send() wait, then proceed; waitForSpace() paces', async () => {
    const p = await make({ bufferMemory: 4000, lingerMs: 30, batchSize: 1024 });
    const value = Buffer.alloc(900, 'm');
    await p.send({ topic: 'pressure', partition: 0, value: 'creates the topic' });
    const sends = Array.from({ length: 12 }, () => p.send({ topic: 'pressure', partition: 0, value }));
    assert.ok(p.bufferFull || p.bufferedBytes > 3000, `buffered ${p.bufferedBytes}`);
    assert.ok(p.bufferedBytes <= 4000);
    const metas = await Promise.all(sends);
    assert.deepEqual(metas.map((m) => m.offset), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(p.bufferedBytes, 0);
    for (let i = 0; i < 10; i++) {
      if (p.bufferFull) await p.waitForSpace();
      void p.send({ topic: 'pressure', partition: 0, value });
      assert.ok(p.bufferedBytes <= 4000);
    }
    await p.flush();
    assert.equal(dataRecords(await readPartition(reader, 'pressure', 0)).length, 23);
  });

  test('back-pressure: send() rejects after maxBlockMs when the buffer stays full', async () => {
    // A long linger keeps the first record buffered, so the second cannot get space.
    const p = await make({ bufferMemory: 2000, lingerMs: 10_000, maxBlockMs: 200 });
    const first = p.send({ topic: 'pressure-timeout', partition: 0, value: Buffer.alloc(1500) });
    const started = performance.now();
    await assert.rejects(p.send({ topic: 'pressure-timeout', partition: 0, value: Buffer.alloc(1500) }),
      (e: unknown) => e instanceof RequestTimeoutError && /waited maxBlockMs \(200 ms\) for buffer space/.test(e.message));
    assert.ok(performance.now() - started >= 190);
    await p.flush();
    assert.equal((await first).offset, 0);
    await assert.rejects(p.send({ topic: 'pressure-timeout', value: Buffer.alloc(3000) }), /exceeds bufferMemory/);
  });

  test('idempotence: producer id and epoch on every batch, sequences continue across batches', async () => {
    const p = await make({ lingerMs: 1 });
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 5 + round }, (_, i) => p.send({ topic: 'idem', partition: 0, value: `${round}-${i}` })));
    }
    const batches = await readPartition(reader, 'idem', 0);
    assert.ok(batches.length >= 4);
    const pid = batches[0].header.producerId;
    assert.ok(pid >= 0n);
    let expected = 0;
    for (const b of batches) {
      assert.equal(b.header.producerId, pid);
      assert.equal(b.header.producerEpoch, batches[0].header.producerEpoch);
      assert.equal(b.header.baseSequence, expected);
      expected += b.header.recordsCount;
    }
    const described = await reader.send(DescribeProducersRequest, DescribeProducersResponse, { topics: [{ name: 'idem', partitionIndexes: [0] }] });
    const state = described.topics[0].partitions[0].activeProducers.find((s) => s.producerId === pid);
    assert.equal(state?.lastSequence, expected - 1);
  });

  test('transactions: read_committed sees committed records only; markers are written', async () => {
    const p = await make({ transactionalId: 'txn-basic' });
    p.beginTransaction();
    await Promise.all([p.send({ topic: 'txn', partition: 0, value: 'committed-1' }), p.send({ topic: 'txn', partition: 1, value: 'committed-2' })]);
    await p.commitTransaction();
    p.beginTransaction();
    const aborted = p.send({ topic: 'txn', partition: 0, value: 'aborted-1' });
    await p.flush();
    await aborted;
    await p.abortTransaction();
    p.beginTransaction();
    await p.send({ topic: 'txn', partition: 0, value: 'committed-3' });
    await p.commitTransaction();

    const all = await readPartition(reader, 'txn', 0);
    assert.deepEqual(all.map((b) => b.control ?? dataRecords([b]).map((r) => text(r.value)).join()), ['committed-1', 'COMMIT', 'aborted-1', 'ABORT', 'committed-3', 'COMMIT']);
    assert.ok(all.every((b) => (b.header.attributes & 0x10) !== 0), 'every batch is transactional');
    assert.deepEqual(dataRecords(await readPartition(reader, 'txn', 0, true)).map((r) => text(r.value)), ['committed-1', 'committed-3']);
    assert.deepEqual(dataRecords(await readPartition(reader, 'txn', 1, true)).map((r) => text(r.value)), ['committed-2']);

    // Unsent records are dropped by abort; sending outside a transaction is refused.
    p.beginTransaction();
    const dropped = p.send({ topic: 'txn', partition: 2, value: 'never' });
    await p.abortTransaction();
    await assert.rejects(dropped, /aborted/);
    await assert.rejects(p.send({ topic: 'txn', value: 'x' }), (e: unknown) => e instanceof ClientStateError && /beginTransaction/.test(e.message));
    assert.deepEqual(dataRecords(await readPartition(reader, 'txn', 2, true)), []);
  });

  test('sendOffsetsToTransaction: the offset is committed with the transaction, not with an abort', async () => {
    const p = await make({ transactionalId: 'txn-offsets' });
    const fetchOffset = async (group: string): Promise<number> => {
      const res = await reader.send(OffsetFetchRequest, OffsetFetchResponse, { groupId: group, topics: [{ name: 'source', partitionIndexes: [0] }], requireStable: true }, { maxVersion: 7 });
      return Number(res.topics[0].partitions[0].committedOffset);
    };
    p.beginTransaction();
    await p.send({ topic: 'sink', partition: 0, value: 'out' });
    await p.sendOffsetsToTransaction([{ topic: 'source', partition: 0, offset: 42 }], 'txn-group');
    await p.commitTransaction();
    assert.equal(await fetchOffset('txn-group'), 42);

    p.beginTransaction();
    await p.sendOffsetsToTransaction([{ topic: 'source', partition: 0, offset: 99 }], { groupId: 'txn-group', generationId: -1, memberId: '', groupInstanceId: null });
    await p.abortTransaction();
    assert.equal(await fetchOffset('txn-group'), 42);
  });

  test('fencing: a second producer with the same transactionalId fences the first', async () => {
    const first = await make({ transactionalId: 'txn-fence', maxBlockMs: 5000 });
    first.beginTransaction();
    await first.send({ topic: 'fence', partition: 0, value: 'zombie' });
    const second = await make({ transactionalId: 'txn-fence', maxBlockMs: 5000 });
    second.beginTransaction();
    await second.send({ topic: 'fence', partition: 0, value: 'live' });
    await second.commitTransaction();
    await assert.rejects(first.commitTransaction(), (e: unknown) => e instanceof ProtocolError && /fenced/.test(e.message) &&
      (e.kafkaError === 'PRODUCER_FENCED' || e.kafkaError === 'INVALID_PRODUCER_EPOCH'));
    await assert.rejects(first.send({ topic: 'fence', value: 'again' }), /fenced/);
    assert.deepEqual(dataRecords(await readPartition(reader, 'fence', 0, true)).map((r) => text(r.value)), ['live']);
  });

  test('send() before connect() connects; send() after close() rejects; close() flushes', async () => {
    const p = await make({ lingerMs: 1000 }, false);
    const pending = p.send({ topic: 'lifecycle', partition: 0, value: 'early' });
    await p.close();
    assert.equal((await pending).offset, 0);
    await assert.rejects(p.send({ topic: 'lifecycle', value: 'late' }), (e: unknown) => e instanceof ClientStateError && /close/.test(e.message));
  });

  test('a batch larger than the topic\'s max.message.bytes fails with advice; a lower maxRequestSize and batchSize fit it', async () => {
    const created = await reader.send(CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 'small-messages', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'max.message.bytes', value: '4000' }] }], timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, 0);
    const records = Array.from({ length: 100 }, (_, i) => ({ topic: 'small-messages', partition: 0, value: `${i}`.padEnd(100, '.') }));
    const big = await make();
    await assert.rejects(big.sendBatch(records), (e: unknown) => e instanceof ProtocolError && e.kafkaError === 'MESSAGE_TOO_LARGE' && /lower maxRequestSize/.test(e.message));
    const small = await make({ maxRequestSize: 3000, batchSize: 2000 });
    const metas = await small.sendBatch(records);
    assert.equal(metas[99].offset, 99);
  });

  test('sendTo: one call per batch and listener with the offset of its last record there; failures reach the listener', async () => {
    const p = await make({ lingerMs: 20 });
    const calls: Array<{ topic: string; partition: number; lastOffset: number; records: number; who: string }> = [];
    const failures: Error[] = [];
    const failedRecords: number[] = [];
    const listener = (who: string): SendListener => ({
      onAcknowledged: (topic, partition, lastOffset, records) => calls.push({ topic, partition, lastOffset, records, who }),
      onFailed: (_t, _p, err, records) => {
        failures.push(err);
        failedRecords.push(records);
      },
    });
    const a = listener('a');
    const b = listener('b');
    // a and b interleave in one partition's batches: each hears of its own last record.
    for (let i = 0; i < 400; i++) p.sendTo({ topic: 'send-to', partition: 2, value: `v${i}` }, i % 4 === 3 ? b : a);
    await p.flush();
    const batches = await readPartition(reader, 'send-to', 2);
    assert.equal(dataRecords(batches).length, 400);
    assert.ok(calls.length <= 2 * batches.length, `${calls.length} calls for ${batches.length} batches`);
    const lastOf = (who: string): number => Math.max(...calls.filter((c) => c.who === who).map((c) => c.lastOffset));
    assert.equal(lastOf('a'), 398);
    assert.equal(lastOf('b'), 399);
    // Each call counts the listener's records in that batch: together, every record once.
    const countOf = (who: string): number => calls.filter((c) => c.who === who).reduce((n, c) => n + c.records, 0);
    assert.equal(countOf('a'), 300);
    assert.equal(countOf('b'), 100);
    assert.ok(calls.every((c) => c.topic === 'send-to' && c.partition === 2));
    assert.deepEqual(failures, []);

    // A record the producer refuses at once throws; one whose batch the broker refuses reaches onFailed.
    assert.throws(() => p.sendTo({ topic: 'send-to', value: Buffer.alloc(2 * 1024 * 1024) }, a), ClientStateError);
    const created = await reader.send(CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 'send-to-small', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'max.message.bytes', value: '200' }] }], timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, 0);
    const small = await make({ lingerMs: 0 });
    small.sendTo({ topic: 'send-to-small', partition: 0, value: 'x'.repeat(500) }, a);
    await small.flush();
    await new Promise((r) => setImmediate(r));
    assert.equal(failures.length, 1);
    assert.deepEqual(failedRecords, [1]);
    const failure: unknown = failures[0];
    assert.ok(failure instanceof ProtocolError && failure.kafkaError === 'MESSAGE_TOO_LARGE', String(failure));
  });

  test('bad arguments fail clearly', async () => {
    assert.throws(() => new Producer({ bootstrapServers: broker.address, acks: 1, idempotent: true }), /idempotence needs acks/);
    assert.throws(() => new Producer({ bootstrapServers: broker.address, transactionalId: 't', idempotent: false }), /must be idempotent/);
    assert.throws(() => new Producer({ bootstrapServers: broker.address, compression: 'brotli' as CompressionCodec }), /unknown compression/);
    const p = await make({ maxRequestSize: 1000 });
    await assert.rejects(p.send({ topic: 'bad', value: Buffer.alloc(2000) }), /exceeds maxRequestSize/);
    await assert.rejects(p.send({ topic: 'bad', partition: -1, value: 'x' }), /bad partition/);
    assert.throws(() => p.beginTransaction(), /transactionalId/);
  });
});

test('lost Produce requests, lost responses and NOT_LEADER_OR_FOLLOWER are retried with the same sequences: every record once, in order', async () => {
  const { broker, dataDir } = await startTestBroker();
  const p = new Producer({ bootstrapServers: broker.address, retryBackoffMs: 10, retryBackoffMaxMs: 50, lingerMs: 0, batchSize: 512 });
  try {
    await p.connect();
    await p.send({ topic: 'lossy', partition: 0, value: 'creates the topic' });
    // Of every four Produce requests, one is lost before reaching the broker, one loses its response
    // after the broker wrote it (both look like a broken connection), and one is refused as if leadership had moved.
    const cluster = (p as unknown as { cluster: { connection(node: number): Promise<Connection> } }).cluster;
    const original = cluster.connection.bind(cluster);
    let produced = 0;
    let metadataRequests = 0;
    cluster.connection = async (node: number) => {
      const conn = await original(node);
      const send = conn.send.bind(conn);
      return Object.assign(Object.create(conn) as Connection, {
        send: async (req: typeof FetchRequest, res: typeof FetchResponse, body: unknown, opts?: object) => {
          if (req.apiKey === 3) metadataRequests++;
          if (req.apiKey !== 0) return send(req, res, body as never, opts);
          const n = produced++;
          if (n % 4 === 0) throw new ConnectionError(conn.address, 'request lost (test)');
          if (n % 4 === 2) {
            // As if leadership had moved: every partition answers NOT_LEADER_OR_FOLLOWER, nothing is written.
            const request = body as { topicData: Array<{ name: string; partitionData: Array<{ index: number }> }> };
            return {
              throttleTimeMs: 0, nodeEndpoints: [],
              responses: request.topicData.map((t) => ({
                name: t.name,
                partitionResponses: t.partitionData.map((pd) => ({ index: pd.index, errorCode: 6, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null })),
              })),
            };
          }
          const answer = await send(req, res, body as never, opts);
          if (n % 4 === 1) throw new ConnectionError(conn.address, 'response lost (test)');
          return answer;
        },
      });
    };
    const value = Buffer.alloc(100, 'r');
    const metas = await Promise.all(Array.from({ length: 60 }, (_, i) => p.send({ topic: 'lossy', partition: i % 2, value: Buffer.concat([Buffer.from(`${i};`), value]) })));
    assert.ok(produced > 10, `${produced} Produce requests`);
    assert.ok(metadataRequests > 0, 'NOT_LEADER_OR_FOLLOWER and lost connections refresh metadata');
    const reader = await connect(broker.address);
    for (const partition of [0, 1]) {
      const got = dataRecords(await readPartition(reader, 'lossy', partition)).map((r) => text(r.value)!.split(';')[0]).filter((v) => v !== 'creates the topic');
      const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 2 === partition).map(String);
      assert.deepEqual(got, expected, `partition ${partition}`);
    }
    reader.close();
    // Offsets that came back are the records' real offsets (a duplicate answers with the original's).
    for (const m of metas.filter((x) => x.offset >= 0)) assert.ok(m.offset < 31);
  } finally {
    await p.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a batch refused for good fails its records only; the idempotent producer restarts its sequences under a new id', async () => {
  const { broker, dataDir } = await startTestBroker();
  const p = new Producer({ bootstrapServers: broker.address, retryBackoffMs: 10, lingerMs: 0 });
  try {
    await p.connect();
    await p.send({ topic: 'refused', partition: 0, value: 'before' });
    const cluster = (p as unknown as { cluster: { connection(node: number): Promise<Connection> } }).cluster;
    const original = cluster.connection.bind(cluster);
    let refuse = true;
    cluster.connection = async (node: number) => {
      const conn = await original(node);
      const send = conn.send.bind(conn);
      return Object.assign(Object.create(conn) as Connection, {
        send: async (req: typeof FetchRequest, res: typeof FetchResponse, body: unknown, opts?: object) => {
          if (req.apiKey !== 0 || !refuse) return send(req, res, body as never, opts);
          refuse = false;
          const request = body as { topicData: Array<{ name: string; partitionData: Array<{ index: number }> }> };
          return {
            throttleTimeMs: 0, nodeEndpoints: [],
            responses: request.topicData.map((t) => ({
              name: t.name,
              partitionResponses: t.partitionData.map((pd) => ({ index: pd.index, errorCode: 87, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: 'refused (test)' })),
            })),
          };
        },
      });
    };
    await assert.rejects(p.send({ topic: 'refused', partition: 0, value: 'refused' }), (e: unknown) => e instanceof ProtocolError && e.kafkaError === 'INVALID_RECORD');
    const after = await Promise.all([p.send({ topic: 'refused', partition: 0, value: 'after-1' }), p.send({ topic: 'refused', partition: 0, value: 'after-2' })]);
    assert.deepEqual(after.map((m) => m.offset), [1, 2]);
    const reader = await connect(broker.address);
    const batches = await readPartition(reader, 'refused', 0);
    reader.close();
    assert.deepEqual(dataRecords(batches).map((r) => text(r.value)), ['before', 'after-1', 'after-2']);
    assert.notEqual(batches[1].header.producerId, batches[0].header.producerId, 'a new producer id after the gap');
    assert.equal(batches[1].header.baseSequence, 0);
  } finally {
    await p.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('unknown topic with auto-creation off: send() fails clearly after maxBlockMs', async () => {
  const { broker, dataDir } = await startTestBroker({ 'auto.create.topics.enable': 'false' });
  const p = new Producer({ bootstrapServers: broker.address, maxBlockMs: 300, retryBackoffMs: 20 });
  try {
    await p.connect();
    const started = performance.now();
    await assert.rejects(p.send({ topic: 'nope', value: 'x' }), (e: unknown) =>
      e instanceof RequestTimeoutError && /topic 'nope' not present in metadata after 300 ms/.test(e.message) && /UNKNOWN_TOPIC_OR_PARTITION/.test(e.message));
    assert.ok(performance.now() - started >= 290);
    // A partition beyond the topic's count waits for metadata the same way.
    const conn = await connect(broker.address);
    const created = await conn.send(CreateTopicsRequest, CreateTopicsResponse, { topics: [{ name: 'two', numPartitions: 2, replicationFactor: 1 }], timeoutMs: 5000 });
    conn.close();
    assert.equal(created.topics[0].errorCode, 0);
    // A second producer with a longer block: 300 ms can pass before a loaded machine has even fetched the
    // new topic's metadata, and this checks the message, not the timing.
    const p2 = new Producer({ bootstrapServers: broker.address, maxBlockMs: 1500, retryBackoffMs: 20 });
    try {
      await assert.rejects(p2.send({ topic: 'two', partition: 5, value: 'x' }), /partition 5 of topic 'two' \(which has 2 partitions\) is not present/);
      assert.equal((await p2.send({ topic: 'two', partition: 1, value: 'x' })).offset, 0);
    } finally {
      await p2.close();
    }
  } finally {
    await p.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a broker restart mid-stream: sends retry until it is back, each record written exactly once', async () => {
  const started = await startTestBroker();
  const dataDir = started.dataDir;
  let broker = started.broker;
  const port = broker.port;
  const p = new Producer({ bootstrapServers: broker.address, retryBackoffMs: 20, retryBackoffMaxMs: 100, lingerMs: 2 });
  try {
    await p.connect();
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => p.send({ topic: 'restart', partition: 0, value: `a${i}` })));
    assert.equal(first[49].offset, 49);
    await broker.close();
    // Sent while the broker is down: they wait in the accumulator and retry.
    const second = Array.from({ length: 50 }, (_, i) => p.send({ topic: 'restart', partition: 0, value: `b${i}` }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    ({ broker } = await startTestBroker({}, port, dataDir));
    const metas = await Promise.all(second);
    assert.deepEqual(metas.map((m) => m.offset), Array.from({ length: 50 }, (_, i) => 50 + i));
    const reader = await connect(broker.address);
    const values = dataRecords(await readPartition(reader, 'restart', 0)).map((r) => text(r.value));
    reader.close();
    assert.deepEqual(values, [...Array.from({ length: 50 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`)]);
  } finally {
    await p.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('an idempotent producer without InitProducerId on the broker fails clearly; idempotent: false still works', async () => {
  const { broker, dataDir } = await startTestBroker();
  const p = new Producer({ bootstrapServers: broker.address, maxBlockMs: 2000 });
  try {
    // Pretend the broker is too old: hide InitProducerId from what the connection negotiated.
    const cluster = (p as unknown as { cluster: { anyConnection(): Promise<Connection> } }).cluster;
    const original = cluster.anyConnection.bind(cluster);
    cluster.anyConnection = async () => {
      const conn = await original();
      conn.brokerVersions.delete(22);
      return conn;
    };
    await assert.rejects(p.connect(), /does not offer InitProducerId.*idempotent: false/);
    const plain = new Producer({ bootstrapServers: broker.address, idempotent: false });
    await plain.connect();
    assert.equal((await plain.send({ topic: 'old', partition: 0, value: 'x' })).offset, 0);
    await plain.close();
  } finally {
    await p.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
