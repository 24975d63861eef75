import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { ZERO_UUID } from '../../../src/protocol/primitives/codec.js';

const PRODUCE = 0, FETCH = 1, METADATA = 3, API_VERSIONS = 18, CREATE_TOPICS = 19, DELETE_TOPICS = 20;

const produceBody = (topic: string, batch: Buffer) => ({
  acks: 1, timeoutMs: 5000, transactionalId: null,
  topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
});
const fetchBody = (topic: string) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
  forgottenTopicsData: [], rackId: '',
});

describe('quota throttling (throttle_time_ms, then the connection muted)', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let admin: Admin;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-throttle-'));
    // Five 1 s samples: a short burst allowance (four seconds' worth), so a few seconds measure the steady rate.
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'quota.window.num': '5', 'quota.window.size.seconds': '1' } });
    admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    await admin.connect();
    await admin.createTopics([{ name: 'q-raw', numPartitions: 1 }, { name: 'q-paced', numPartitions: 1 }]);
  });
  after(async () => {
    await admin.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a Produce over producer_byte_rate is answered at once with the throttle time; the next request waits it out', async () => {
    const raw = await RawClient.connect(broker.address); // client id 'raw-test'
    try {
      await admin.alterClientQuotas([{ entity: { 'client-id': 'raw-test' }, ops: [{ key: 'producer_byte_rate', value: 10_000 }, { key: 'consumer_byte_rate', value: 10_000 }] }]);
      const batch = buildRecordBatch([{ value: Buffer.alloc(60_000, 1) }]);
      const first = await raw.send(PRODUCE, 9, produceBody('q-raw', batch));
      assert.equal(first.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      // 60 kB over a padded 4 s window is 15 kB/s, 1.5× the quota: (15000-10000)/10000 × 4000 ms (+ the frame's overhead).
      assert.ok(first.throttleTimeMs >= 2000 && first.throttleTimeMs <= 2100, String(first.throttleTimeMs));
      const t0 = Date.now();
      await raw.send(API_VERSIONS, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      const waited = Date.now() - t0;
      assert.ok(waited >= first.throttleTimeMs - 100, `muted for ${waited} ms, throttle ${first.throttleTimeMs} ms`);

      // Fetch: 60 kB of response bytes over 10 kB/s → a throttled Fetch carries no data.
      const f = await raw.send(FETCH, 12, fetchBody('q-raw'));
      assert.ok(f.throttleTimeMs > 0, String(f.throttleTimeMs));
      assert.deepEqual(f.responses, []);
    } finally {
      raw.close();
    }
  });

  test('a producer sending 3x its producer_byte_rate is held within 10 % of it', async () => {
    const quota = 100_000;
    await admin.alterClientQuotas([{ entity: { 'client-id': 'paced' }, ops: [{ key: 'producer_byte_rate', value: quota }] }]);
    const producer = new Producer({ bootstrapServers: broker.address, clientId: 'paced', lingerMs: 5, acks: 1, maxRequestSize: 65536 });
    await producer.connect();
    const value = Buffer.alloc(3000, 7);
    const acked: Array<[number, number]> = [];
    const start = Date.now();
    const durationMs = 10_000;
    const sends: Array<Promise<unknown>> = [];
    try {
      // 3 kB every 10 ms: 300 kB/s offered.
      for (let i = 0; Date.now() - start < durationMs; i++) {
        sends.push(producer.send({ topic: 'q-paced', value }).then(() => { acked.push([Date.now() - start, value.length]); }));
        const next = start + (i + 1) * 10;
        if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
      }
      const from = 4000, to = durationMs;
      const bytes = acked.filter(([t]) => t >= from && t < to).reduce((n, [, b]) => n + b, 0);
      const rate = bytes / ((to - from) / 1000);
      console.log(`offered ${Math.round((sends.length * value.length) / (durationMs / 1000))} B/s, achieved ${Math.round(rate)} B/s between ${from} and ${to} ms (quota ${quota})`);
      assert.ok(Math.abs(rate - quota) <= quota * 0.1, `achieved ${Math.round(rate)} B/s, quota ${quota}`);
    } finally {
      // Lift the quota so that what is still buffered flushes at once.
      await admin.alterClientQuotas([{ entity: { 'client-id': 'paced' }, ops: [{ key: 'producer_byte_rate', value: null }] }]);
      await producer.close().catch(() => undefined);
      await Promise.allSettled(sends);
    }
  });

  test('controller_mutation_rate (KIP-599): strict versions get THROTTLING_QUOTA_EXCEEDED, older ones a throttle time', async () => {
    // 2 partitions/s on every client of the anonymous user: a burst of 11 × 2 = 22 tokens.
    await admin.alterClientQuotas([{ entity: { user: 'ANONYMOUS' }, ops: [{ key: 'controller_mutation_rate', value: 2 }] }]);
    const create = (name: string, numPartitions: number) => ({ topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const clients: RawClient[] = [];
    const connect = async (): Promise<RawClient> => { const c = await RawClient.connect(broker.address); clients.push(c); return c; };
    try {
      // Within the burst: accepted (the request that overdraws the bucket is let through), throttled 8/2 s.
      const first = await (await connect()).send(CREATE_TOPICS, 7, create('mut-a', 30));
      assert.equal(first.topics[0].errorCode, ErrorCode.NONE);
      assert.ok(first.throttleTimeMs >= 3900 && first.throttleTimeMs <= 4000, String(first.throttleTimeMs));
      // In debt: a strict version is refused, naming the error; nothing is created.
      const strict = await (await connect()).send(CREATE_TOPICS, 7, create('mut-b', 1));
      assert.equal(strict.topics[0].errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
      assert.ok(strict.throttleTimeMs > 3000, String(strict.throttleTimeMs));
      const del = await (await connect()).send(DELETE_TOPICS, 6, { topics: [{ name: 'mut-a', topicId: ZERO_UUID }], timeoutMs: 5000 });
      assert.equal(del.responses[0].errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
      // An older version (v5) cannot carry the error: the topic is created and the response throttled.
      const old = await (await connect()).send(CREATE_TOPICS, 5, create('mut-c', 2));
      assert.equal(old.topics[0].errorCode, ErrorCode.NONE);
      assert.ok(old.throttleTimeMs > 4000, String(old.throttleTimeMs));
      assert.deepEqual((await admin.listTopics()).filter((t) => t.startsWith('mut-')).sort(), ['mut-a', 'mut-c']);
    } finally {
      for (const c of clients) c.close();
      await admin.alterClientQuotas([{ entity: { user: 'ANONYMOUS' }, ops: [{ key: 'controller_mutation_rate', value: null }] }]);
    }
  });

  test('request_percentage (KIP-124): handling time over the quota throttles; ApiVersions is exempt', async () => {
    // A millionth of a percent of one thread: any real request is over it.
    await admin.alterClientQuotas([{ entity: { user: 'ANONYMOUS', 'client-id': 'raw-test' }, ops: [{ key: 'request_percentage', value: 1e-6 }] }]);
    const raw = await RawClient.connect(broker.address);
    try {
      const versions = await raw.send(API_VERSIONS, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      assert.equal(versions.throttleTimeMs, 0);
      const md = await raw.send(METADATA, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.ok(md.throttleTimeMs > 0, String(md.throttleTimeMs));
      assert.ok(md.throttleTimeMs <= 5000, 'capped at quota.window.num × quota.window.size.seconds');
    } finally {
      raw.close();
      await admin.alterClientQuotas([{ entity: { user: 'ANONYMOUS', 'client-id': 'raw-test' }, ops: [{ key: 'request_percentage', value: null }] }]);
    }
  });
});
