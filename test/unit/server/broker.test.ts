import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { createRegistry } from '../../../src/server/registry.js';

const PRODUCE = 0, FETCH = 1, LIST_OFFSETS = 2, METADATA = 3, OFFSET_FOR_LEADER_EPOCH = 23, API_VERSIONS = 18;
const CREATE_TOPICS = 19, DELETE_TOPICS = 20, DELETE_RECORDS = 21, DESCRIBE_CONFIGS = 32, ALTER_CONFIGS = 33;
const DESCRIBE_LOG_DIRS = 35, CREATE_PARTITIONS = 37, INCREMENTAL_ALTER_CONFIGS = 44, DESCRIBE_CLUSTER = 60;
const DESCRIBE_TOPIC_PARTITIONS = 75;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tributary-broker-test-'));
}

function records(buf: Buffer | null): Array<{ offset: number; value: string; key: string | null; timestamp: number }> {
  const out = [];
  if (!buf) return [];
  for (const { pos } of iterateBatches(buf)) {
    for (const r of decodeRecordBatch(buf, pos).records) {
      out.push({ offset: r.offset, value: r.value?.toString() ?? '', key: r.key?.toString() ?? null, timestamp: r.timestamp });
    }
  }
  return out;
}

const produceBody = (topic: string, partition: number, batch: Buffer, acks = -1) => ({
  acks, timeoutMs: 5000, transactionalId: null,
  topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
});

const fetchBody = (topic: string, partition: number, offset: bigint, extra: object = {}) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
  forgottenTopicsData: [], rackId: '', ...extra,
});

describe('broker over the wire', () => {
  let broker: RunningBroker;
  let dir: string;
  let client: RawClient;

  before(async () => {
    dir = tmp();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'num.partitions': 2 } });
    client = await RawClient.connect(broker.address);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ApiVersions v0..v4 list every handler with its range', async () => {
    for (const v of [0, 1, 2, 3, 4]) {
      const body = v >= 3 ? { clientSoftwareName: 'raw-test', clientSoftwareVersion: '1.0' } : {};
      const res = await client.send(API_VERSIONS, v, body);
      assert.equal(res.errorCode, 0);
      const produce = res.apiKeys.find((k: any) => k.apiKey === PRODUCE);
      assert.deepEqual([produce.minVersion, produce.maxVersion], [3, 11]);
      const fetch = res.apiKeys.find((k: any) => k.apiKey === FETCH);
      assert.deepEqual([fetch.minVersion, fetch.maxVersion], [4, 17]);
      assert.equal(res.apiKeys.length, createRegistry().size);
    }
  });

  test('ApiVersions newer than supported gets UNSUPPORTED_VERSION in the v0 layout', async () => {
    const c = await RawClient.connect(broker.address);
    // Hand-built v9 request: header v2 is fine to send; the broker answers in v0 layout.
    const res = await new Promise<Buffer>((resolve) => {
      c.socket.removeAllListeners('data');
      c.socket.on('data', (d: Buffer) => resolve(d));
      const body = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1);
      body.writeInt32BE(body.length - 4, 0);
      body.writeInt16BE(API_VERSIONS, 4);
      body.writeInt16BE(9, 6);
      body.writeInt32BE(77, 8);
      body.writeInt16BE(-1, 12); // null client id
      body.writeInt8(0, 14); // empty tagged fields
      c.socket.write(body);
    });
    assert.equal(res.readInt32BE(4), 77); // correlation id
    assert.equal(res.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION);
    const n = res.readInt32BE(10);
    assert.equal(n, createRegistry().size);
    c.close();
  });

  test('responses leave in request order when requests are pipelined', async () => {
    const c = await RawClient.connect(broker.address);
    await c.send(METADATA, 12, { topics: [{ name: 'ordered', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true });
    const slow = c.send(FETCH, 12, fetchBody('ordered', 0, 0n, { maxWaitMs: 300, minBytes: 1 }));
    const fast = [c.send(METADATA, 1, { topics: [] }), c.send(API_VERSIONS, 0, {}), c.send(LIST_OFFSETS, 1, { replicaId: -1, topics: [{ name: 'ordered', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })];
    await Promise.all([slow, ...fast]);
    const order = c.order.slice(1);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    c.close();
  });

  test('metadata auto-creates topics with num.partitions and reports this broker as leader and controller', async () => {
    const res = await client.send(METADATA, 12, { topics: [{ name: 'auto-1', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true });
    assert.equal(res.brokers.length, 1);
    assert.equal(res.brokers[0].port, broker.port);
    assert.equal(res.controllerId, broker.nodeId);
    assert.equal(res.clusterId, broker.clusterId);
    const t = res.topics[0];
    assert.equal(t.errorCode, 0);
    assert.equal(t.partitions.length, 2);
    assert.equal(t.partitions[0].leaderId, broker.nodeId);
    const none = await client.send(METADATA, 12, { topics: [{ name: 'auto-2', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false });
    assert.equal(none.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const bad = await client.send(METADATA, 1, { topics: [{ name: 'bad name!' }] });
    assert.equal(bad.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const byId = await client.send(METADATA, 12, { topics: [{ name: null, topicId: t.topicId }] });
    assert.equal(byId.topics[0].name, 'auto-1');
  });

  test('produce acks=-1/1/0 then fetch returns the records at their offsets', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'pf', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const now = Date.now();
    const r1 = await client.send(PRODUCE, 11, produceBody('pf', 0, buildRecordBatch([{ key: 'k1', value: 'v1', timestamp: now }, { key: 'k2', value: 'v2', timestamp: now }]), -1));
    assert.equal(r1.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(r1.responses[0].partitionResponses[0].baseOffset, 0n);
    const r2 = await client.send(PRODUCE, 3, produceBody('pf', 0, buildRecordBatch([{ value: 'v3', timestamp: now }]), 1));
    assert.equal(r2.responses[0].partitionResponses[0].baseOffset, 2n);
    client.sendNoResponse(PRODUCE, 9, produceBody('pf', 0, buildRecordBatch([{ value: 'v4', timestamp: now }]), 0));
    const after0 = await client.send(LIST_OFFSETS, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'pf', partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] }] });
    assert.equal(after0.topics[0].partitions[0].offset, 4n);
    for (const v of [4, 11, 12, 16, 17]) {
      const body = fetchBody('pf', 0, 1n);
      if (v >= 13) {
        const md = await client.send(METADATA, 12, { topics: [{ name: 'pf', topicId: '00000000-0000-0000-0000-000000000000' }] });
        (body.topics[0] as any).topicId = md.topics[0].topicId;
      }
      const f = await client.send(FETCH, v, body);
      const p = f.responses[0].partitions[0];
      assert.equal(p.errorCode, 0, `fetch v${v}`);
      assert.equal(p.highWatermark, 4n);
      const got = records(p.records).filter((r) => r.offset >= 1);
      assert.deepEqual(got.map((r) => [r.offset, r.value]), [[1, 'v2'], [2, 'v3'], [3, 'v4']], `fetch v${v}`);
    }
  });

  test('fetch long-polls until an append arrives', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'lp', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const c2 = await RawClient.connect(broker.address);
    const started = Date.now();
    const pending = c2.send(FETCH, 12, fetchBody('lp', 0, 0n, { maxWaitMs: 5000, minBytes: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    await client.send(PRODUCE, 11, produceBody('lp', 0, buildRecordBatch([{ value: 'wake' }]), 1));
    const f = await pending;
    assert.ok(Date.now() - started < 4000, 'fetch answered before max wait');
    assert.deepEqual(records(f.responses[0].partitions[0].records).map((r) => r.value), ['wake']);
    const empty = await c2.send(FETCH, 12, fetchBody('lp', 0, 1n, { maxWaitMs: 200, minBytes: 1 }));
    assert.equal(empty.responses[0].partitions[0].records.length, 0);
    c2.close();
  });

  test('fetch out of range and unknown topics give per-partition errors', async () => {
    const f = await client.send(FETCH, 12, fetchBody('pf', 0, 999n));
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const u = await client.send(FETCH, 12, fetchBody('nope', 0, 0n));
    assert.equal(u.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const id = await client.send(FETCH, 13, { ...fetchBody('x', 0, 0n), topics: [{ topicId: '11111111-1111-1111-1111-111111111111', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }] });
    assert.equal(id.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test('incremental fetch sessions return only partitions with news (KIP-227)', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'sess', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    await client.send(PRODUCE, 11, produceBody('sess', 0, buildRecordBatch([{ value: 'a' }]), 1));
    const full = await client.send(FETCH, 12, {
      ...fetchBody('sess', 0, 0n), sessionId: 0, sessionEpoch: 0,
      topics: [{ topic: 'sess', partitions: [0, 1].map((p) => ({ partition: p, fetchOffset: 0n, partitionMaxBytes: 1 << 20 })) }],
    });
    assert.ok(full.sessionId > 0);
    assert.equal(full.responses[0].partitions.length, 2);
    // The client moves partition 0 past what it got; nothing else changed, so nothing comes back.
    const inc1 = await client.send(FETCH, 12, { ...fetchBody('sess', 0, 0n), sessionId: full.sessionId, sessionEpoch: 1, topics: [{ topic: 'sess', partitions: [{ partition: 0, fetchOffset: 1n, partitionMaxBytes: 1 << 20 }] }] });
    assert.equal(inc1.errorCode, 0);
    assert.equal(inc1.responses.length, 0);
    await client.send(PRODUCE, 11, produceBody('sess', 1, buildRecordBatch([{ value: 'b' }]), 1));
    const inc2 = await client.send(FETCH, 12, { ...fetchBody('sess', 0, 0n), sessionId: full.sessionId, sessionEpoch: 2, topics: [] });
    assert.deepEqual(inc2.responses[0].partitions.map((p: any) => p.partitionIndex), [1]);
    assert.deepEqual(records(inc2.responses[0].partitions[0].records).map((r) => r.value), ['b']);
    const wrongEpoch = await client.send(FETCH, 12, { ...fetchBody('sess', 0, 0n), sessionId: full.sessionId, sessionEpoch: 7, topics: [] });
    assert.equal(wrongEpoch.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const unknown = await client.send(FETCH, 12, { ...fetchBody('sess', 0, 0n), sessionId: 123456, sessionEpoch: 1, topics: [] });
    assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  test('list offsets: earliest, latest, by timestamp, max timestamp; v0 old-style', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'lo', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const base = Date.now() - 10_000;
    await client.send(PRODUCE, 11, produceBody('lo', 0, buildRecordBatch([{ value: 'a', timestamp: base }, { value: 'b', timestamp: base + 5000 }, { value: 'c', timestamp: base + 1000 }])));
    const q = (ts: bigint, v = 7) => client.send(LIST_OFFSETS, v, { replicaId: -1, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: ts, currentLeaderEpoch: -1, maxNumOffsets: 1 }] }] })
      .then((r: any) => r.topics[0].partitions[0]);
    assert.equal((await q(-2n)).offset, 0n);
    assert.equal((await q(-1n)).offset, 3n);
    const byTs = await q(BigInt(base + 500));
    assert.equal(byTs.offset, 1n);
    assert.equal(byTs.timestamp, BigInt(base + 5000));
    const max = await q(-3n);
    assert.deepEqual([max.offset, max.timestamp], [1n, BigInt(base + 5000)]);
    assert.equal((await q(BigInt(base + 60_000))).offset, -1n);
    const v0 = await q(-1n, 0);
    assert.deepEqual(v0.oldStyleOffsets, [3n]);
    const eoe = await client.send(OFFSET_FOR_LEADER_EPOCH, 4, { replicaId: -1, topics: [{ topic: 'lo', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] });
    assert.deepEqual([eoe.topics[0].partitions[0].leaderEpoch, eoe.topics[0].partitions[0].endOffset], [0, 3n]);
  });

  test('bad produce input: CRC, too large, legacy magic, bad timestamp, unknown topic', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'bad', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'max.message.bytes', value: '2000' }] }], timeoutMs: 1000 });
    const code = async (batch: Buffer, topic = 'bad') => (await client.send(PRODUCE, 11, produceBody(topic, 0, batch))).responses[0].partitionResponses[0].errorCode;
    const crc = buildRecordBatch([{ value: 'x' }]);
    crc[crc.length - 1] ^= 0xff;
    assert.equal(await code(crc), ErrorCode.CORRUPT_MESSAGE);
    assert.equal(await code(buildRecordBatch([{ value: Buffer.alloc(5000, 1) }])), ErrorCode.MESSAGE_TOO_LARGE);
    const legacy = buildRecordBatch([{ value: 'x' }]);
    legacy[16] = 1;
    assert.equal(await code(legacy), ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    assert.equal(await code(buildRecordBatch([{ value: 'x', timestamp: Date.now() + 10 * 3600_000 }])), ErrorCode.INVALID_TIMESTAMP);
    assert.equal(await code(buildRecordBatch([{ value: 'x' }]), 'missing-topic'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(await code(Buffer.concat([buildRecordBatch([{ value: 'a' }]), buildRecordBatch([{ value: 'b' }])])), ErrorCode.INVALID_RECORD);
    // Nothing bad was appended.
    const lo = await client.send(LIST_OFFSETS, 7, { replicaId: -1, topics: [{ name: 'bad', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    assert.equal(lo.topics[0].partitions[0].offset, 0n);
  });

  test('create/delete topics and partitions, with validation errors', async () => {
    const res = await client.send(CREATE_TOPICS, 7, {
      topics: [
        { name: 'ct', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] },
        { name: 'ct-rf', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
        { name: 'ct-cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: 'soon' }] },
        { name: 'bad/name', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'ct-def', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 1000, validateOnly: false,
    });
    const byName = Object.fromEntries(res.topics.map((t: any) => [t.name, t]));
    assert.equal(byName['ct'].errorCode, 0);
    assert.equal(byName['ct'].numPartitions, 3);
    assert.ok(byName['ct'].configs.some((c: any) => c.name === 'retention.ms' && c.value === '1000' && c.configSource === 1));
    assert.equal(byName['ct-rf'].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.equal(byName['ct-cfg'].errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal(byName['bad/name'].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(byName['ct-def'].numPartitions, 2);
    const again = await client.send(CREATE_TOPICS, 2, { topics: [{ name: 'ct', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    assert.equal(again.topics[0].errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    const cp = await client.send(CREATE_PARTITIONS, 3, { topics: [{ name: 'ct', count: 5, assignments: null }, { name: 'ct-def', count: 1, assignments: null }], timeoutMs: 1000, validateOnly: false });
    assert.deepEqual(cp.results.map((r: any) => r.errorCode), [0, ErrorCode.INVALID_PARTITIONS]);
    const dtp = await client.send(DESCRIBE_TOPIC_PARTITIONS, 0, { topics: [{ name: 'ct' }], responsePartitionLimit: 2, cursor: null });
    assert.equal(dtp.topics[0].partitions.length, 2);
    assert.deepEqual(dtp.nextCursor, { topicName: 'ct', partitionIndex: 2 });
    const dtp2 = await client.send(DESCRIBE_TOPIC_PARTITIONS, 0, { topics: [{ name: 'ct' }], responsePartitionLimit: 10, cursor: dtp.nextCursor });
    assert.deepEqual(dtp2.topics[0].partitions.map((p: any) => p.partitionIndex), [2, 3, 4]);
    const del = await client.send(DELETE_TOPICS, 6, { topics: [{ name: 'ct', topicId: '00000000-0000-0000-0000-000000000000' }, { name: 'nope', topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 1000 });
    assert.deepEqual(del.responses.map((r: any) => r.errorCode), [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const del1 = await client.send(DELETE_TOPICS, 1, { topicNames: ['ct-def'], timeoutMs: 1000 });
    assert.equal(del1.responses[0].errorCode, 0);
    const md = await client.send(METADATA, 1, { topics: null });
    assert.ok(!md.topics.some((t: any) => t.name === 'ct' || t.name === 'ct-def'));
  });

  test('describe, alter and incrementally alter topic configs; describe broker configs', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const describe = async (keys: string[] | null) => (await client.send(DESCRIBE_CONFIGS, 4, { resources: [{ resourceType: 2, resourceName: 'cfg', configurationKeys: keys }], includeSynonyms: false, includeDocumentation: false })).results[0];
    const all = await describe(null);
    assert.equal(all.errorCode, 0);
    const ret = all.configs.find((c: any) => c.name === 'retention.ms');
    assert.equal(ret.value, '604800000');
    assert.equal(ret.configSource, 5);
    const inc = await client.send(INCREMENTAL_ALTER_CONFIGS, 1, { resources: [{ resourceType: 2, resourceName: 'cfg', configs: [
      { name: 'retention.ms', configOperation: 0, value: '12345' }, { name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }], validateOnly: false });
    assert.equal(inc.responses[0].errorCode, 0, inc.responses[0].errorMessage);
    const after1 = await describe(['retention.ms', 'cleanup.policy']);
    assert.deepEqual(after1.configs.map((c: any) => [c.name, c.value, c.configSource]), [['retention.ms', '12345', 1], ['cleanup.policy', 'delete,compact', 1]]);
    const bad = await client.send(INCREMENTAL_ALTER_CONFIGS, 0, { resources: [{ resourceType: 2, resourceName: 'cfg', configs: [{ name: 'segment.bytes', configOperation: 0, value: '-5' }] }], validateOnly: false });
    assert.equal(bad.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    const alter = await client.send(ALTER_CONFIGS, 2, { resources: [{ resourceType: 2, resourceName: 'cfg', configs: [{ name: 'segment.bytes', value: '1048576' }] }], validateOnly: false });
    assert.equal(alter.responses[0].errorCode, 0);
    const after2 = await describe(['retention.ms', 'segment.bytes']);
    assert.deepEqual(after2.configs.map((c: any) => [c.name, c.value]), [['retention.ms', '604800000'], ['segment.bytes', '1048576']]);
    const brokerCfg = (await client.send(DESCRIBE_CONFIGS, 1, { resources: [{ resourceType: 4, resourceName: String(broker.nodeId), configurationKeys: ['num.partitions'] }], includeSynonyms: false })).results[0];
    assert.deepEqual(brokerCfg.configs.map((c: any) => [c.name, c.value]), [['num.partitions', '2']]);
  });

  test('delete records moves the log start offset; describe log dirs and cluster', async () => {
    await client.send(CREATE_TOPICS, 7, { topics: [{ name: 'dr', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    for (let i = 0; i < 5; i++) await client.send(PRODUCE, 11, produceBody('dr', 0, buildRecordBatch([{ value: `r${i}` }])));
    const dr = await client.send(DELETE_RECORDS, 2, { topics: [{ name: 'dr', partitions: [{ partitionIndex: 0, offset: 3n }] }], timeoutMs: 1000 });
    assert.deepEqual([dr.topics[0].partitions[0].errorCode, dr.topics[0].partitions[0].lowWatermark], [0, 3n]);
    const f = await client.send(FETCH, 12, fetchBody('dr', 0, 1n));
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(f.responses[0].partitions[0].logStartOffset, 3n);
    const tooFar = await client.send(DELETE_RECORDS, 0, { topics: [{ name: 'dr', partitions: [{ partitionIndex: 0, offset: 99n }] }], timeoutMs: 1000 });
    assert.equal(tooFar.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const ld = await client.send(DESCRIBE_LOG_DIRS, 4, { topics: [{ topic: 'dr', partitions: [0] }] });
    assert.equal(ld.results[0].topics[0].name, 'dr');
    assert.ok(ld.results[0].topics[0].partitions[0].partitionSize > 0n);
    assert.ok(ld.results[0].totalBytes > 0n);
    const dc = await client.send(DESCRIBE_CLUSTER, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    assert.deepEqual([dc.clusterId, dc.controllerId, dc.brokers[0].brokerId, dc.brokers[0].port], [broker.clusterId, broker.nodeId, broker.nodeId, broker.port]);
  });

  test('oversized, unknown-API and undecodable requests close that connection only', async () => {
    const closedBy = async (bytes: Buffer) => {
      const c = await RawClient.connect(broker.address);
      c.socket.write(bytes);
      await c.closed;
    };
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(200 * 1024 * 1024);
    await closedBy(huge);
    const negative = Buffer.alloc(4);
    negative.writeInt32BE(-5);
    await closedBy(negative);
    const unknownApi = Buffer.alloc(14);
    unknownApi.writeInt32BE(10, 0); unknownApi.writeInt16BE(999, 4); unknownApi.writeInt16BE(0, 6); unknownApi.writeInt32BE(1, 8); unknownApi.writeInt16BE(-1, 12);
    await closedBy(unknownApi);
    // A Metadata v1 request whose topic array claims 2^30 entries in a tiny frame.
    const lying = Buffer.alloc(4 + 8 + 2 + 4);
    lying.writeInt32BE(lying.length - 4, 0);
    lying.writeInt16BE(METADATA, 4); lying.writeInt16BE(1, 6); lying.writeInt32BE(5, 8); lying.writeInt16BE(-1, 12);
    lying.writeInt32BE(1 << 30, 14);
    await closedBy(lying);
    // An unsupported version of a non-ApiVersions API.
    const v99 = Buffer.alloc(14); v99.writeInt32BE(10, 0); v99.writeInt16BE(METADATA, 4); v99.writeInt16BE(99, 6); v99.writeInt32BE(1, 8); v99.writeInt16BE(-1, 12);
    await closedBy(v99);
    // The broker still serves everyone else.
    const ok = await client.send(API_VERSIONS, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    assert.equal(ok.errorCode, 0);
  });
});

describe('broker lifecycle', () => {
  test('topics and data survive a restart; the cluster id is stable', async () => {
    const dir = tmp();
    try {
      let b = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
      let c = await RawClient.connect(b.address);
      await c.send(CREATE_TOPICS, 7, { topics: [{ name: 'keep', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '86400000' }] }], timeoutMs: 1000 });
      await c.send(PRODUCE, 11, produceBody('keep', 2, buildRecordBatch([{ value: 'durable' }])));
      const clusterId = b.clusterId;
      c.close();
      await b.close();
      b = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
      c = await RawClient.connect(b.address);
      assert.equal(b.clusterId, clusterId);
      const md = await c.send(METADATA, 12, { topics: null });
      assert.equal(md.topics.find((t: any) => t.name === 'keep').partitions.length, 3);
      const f = await c.send(FETCH, 12, fetchBody('keep', 2, 0n));
      assert.deepEqual(records(f.responses[0].partitions[0].records).map((r) => r.value), ['durable']);
      const cfg = await c.send(DESCRIBE_CONFIGS, 4, { resources: [{ resourceType: 2, resourceName: 'keep', configurationKeys: ['retention.ms'] }] });
      assert.equal(cfg.results[0].configs[0].value, '86400000');
      c.close();
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('advertised.listeners names the host and port clients are sent to (a proxy in front, say)', async () => {
    const dir = tmp();
    const b = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'advertised.listeners': 'PLAINTEXT://localhost:19999' } });
    const c = await RawClient.connect(b.address);
    try {
      const res = await c.send(METADATA, 12, { topics: [], allowAutoTopicCreation: false });
      assert.deepEqual(res.brokers.map((x: any) => [x.host, x.port]), [['localhost', 19999]]);
      const coordinator = await c.send(10, 3, { key: 'g', keyType: 0 });
      assert.deepEqual([coordinator.host, coordinator.port], ['localhost', 19999]);
    } finally {
      c.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad config values stop start-up with a message naming key, value and what is allowed', async () => {
    const dir = tmp();
    try {
      await assert.rejects(startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'num.partitions': 'many' } }), /num\.partitions.*many|many.*num\.partitions/);
      await assert.rejects(startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'log.message.timestamp.type': 'Whenever' } }), /CreateTime, LogAppendTime/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('idle connections are closed after connections.max.idle.ms; max.connections caps connections', async () => {
    const dir = tmp();
    const b = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'connections.max.idle.ms': 200, 'max.connections': 2 } });
    try {
      const c = await RawClient.connect(b.address);
      const t0 = Date.now();
      await c.closed;
      assert.ok(Date.now() - t0 >= 150);
      const a1 = await RawClient.connect(b.address);
      const a2 = await RawClient.connect(b.address);
      const extra = connect(b.port, b.host);
      await new Promise<void>((resolve) => extra.on('close', () => resolve()).on('error', () => {}));
      a1.close();
      a2.close();
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('close() answers a long-polling fetch and finishes promptly', async () => {
    const dir = tmp();
    const b = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    const c = await RawClient.connect(b.address);
    await c.send(CREATE_TOPICS, 7, { topics: [{ name: 'w', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
    const pending = c.send(FETCH, 12, fetchBody('w', 0, 0n, { maxWaitMs: 30000, minBytes: 1 }));
    // Let the request reach the broker: requests not yet read when close() starts are not served.
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await b.close();
    const res = await pending;
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
    assert.ok(Date.now() - t0 < 5000);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('one broker per data directory', () => {
  test('a second startBroker() on the same directory in the same process is refused until the first closes', async () => {
    const dir = tmp();
    const first = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    try {
      const c = await RawClient.connect(first.address);
      await c.send(CREATE_TOPICS, 7, { topics: [{ name: 'held', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 });
      const produced = await c.send(PRODUCE, 9, produceBody('held', 0, buildRecordBatch([{ value: 'kept', timestamp: Date.now() }])));
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
      await assert.rejects(startBroker({ port: 0, dataDir: dir, logLevel: 'silent' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_DATA_DIR_LOCKED');
        assert.ok(err.message.includes(dir), err.message);
        assert.match(err.message, new RegExp(`in use by another broker \\(pid=${process.pid} `));
        return true;
      });
      // The refused start touched nothing: the first broker still serves what it acknowledged.
      const fetched = await c.send(FETCH, 12, fetchBody('held', 0, 0n));
      assert.deepEqual(records(fetched.responses[0].partitions[0].records).map((r) => r.value), ['kept']);
      c.close();
    } finally {
      await first.close();
    }
    const again = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent' });
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
