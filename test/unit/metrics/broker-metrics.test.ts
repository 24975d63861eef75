import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { RawClient } from '../../helpers/raw-client.js';
import { find, scrape, sum, type Exposition } from '../../helpers/prometheus-text.js';

const PRODUCE = 0, FETCH = 1;
const TOPIC_METRIC = (m: string): string => `kafka_server_brokertopicmetrics_${m}_total`;
const TIMES = ['totaltimems', 'requestqueuetimems', 'localtimems', 'remotetimems', 'responsesendtimems', 'throttletimems'];

const produceBody = (topic: string, batch: Buffer, acks = 1) => ({
  acks, timeoutMs: 5000, transactionalId: null,
  topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
});
const fetchBody = (topic: string) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 24, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
  forgottenTopicsData: [], rackId: '',
});
const records = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${tag}-${i}`) }));

/** Active TCP servers of this process (the broker's listeners, the metrics endpoint). */
const tcpServers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('broker metrics (metrics.port set)', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let admin: Admin;
  let url: string;
  const get = (accept?: string): ReturnType<typeof scrape> => scrape(url, accept);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-metrics-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: {
      'metrics.port': 0,
      // A second listener that only the connection test uses, so its counts start at zero.
      'listeners': 'PLAINTEXT://127.0.0.1:0,SECOND://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SECOND:PLAINTEXT',
    } });
    url = broker.metricsUrl!;
    admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    await admin.connect();
    await admin.createTopics([{ name: 'm-own', numPartitions: 1 }, { name: 'm-raw', numPartitions: 1 }, { name: 'm-err', numPartitions: 1 }, { name: 'm-quota', numPartitions: 1 }]);
  });
  after(async () => {
    await admin?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('serves Prometheus text at metricsUrl on 127.0.0.1, 404 elsewhere', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const other = await fetch(url.replace('/metrics', '/other'));
    assert.equal(other.status, 404);
    await other.text();
    const exp = await get();
    assert.equal(exp.types.get('kafka_network_requestmetrics_requests_total'), 'counter');
    assert.equal(exp.types.get('kafka_network_requestmetrics_totaltimems'), 'histogram');
    const info = find(exp, 'tributary_build_info');
    assert.equal(info.length, 1);
    assert.deepEqual({ ...info[0]!.labels, version: undefined }, { version: undefined, node_id: String(broker.nodeId), cluster_id: broker.clusterId });
    assert.equal(info[0]!.value, 1);
    // prom-client's process and Node.js metrics, on this broker's own registry.
    for (const family of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      assert.ok(exp.types.has(family), family);
    }
    assert.equal(sum(exp, 'kafka_server_socket_server_metrics_connection_count', { listener: 'PLAINTEXT' }) >= 1, true);
  });

  test('OpenMetrics when Accept asks for it; Prometheus text again afterwards', async () => {
    const om = await get('application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5');
    assert.equal(om.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    const text = om.text;
    assert.ok(text.endsWith('# EOF\n'));
    // OpenMetrics: the family has no _total, its samples do.
    assert.equal(om.types.get('kafka_network_requestmetrics_requests'), 'counter');
    assert.ok(find(om, 'kafka_network_requestmetrics_requests_total').length > 0);
    const prom = await get();
    assert.equal(prom.types.get('kafka_network_requestmetrics_requests_total'), 'counter');
    assert.ok(find(prom, 'process_cpu_seconds_total').length > 0);
  });

  test('a produce of N records with the own client moves messagesin by N and bytesin by the bytes written', async () => {
    const before = await get();
    assert.equal(find(before, TOPIC_METRIC('messagesin'), { topic: 'm-own' }).length, 0);
    const produceRequestsBefore = sum(before, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' });
    const producer = new Producer({ bootstrapServers: broker.address, acks: 'all', lingerMs: 5, batchSize: 4096 });
    await producer.connect();
    const N = 777;
    await Promise.all(Array.from({ length: N }, (_, i) => producer.send({ topic: 'm-own', partition: 0, key: `k${i}`, value: `value-${i}` })));
    await producer.close();
    const after = await get();
    assert.equal(sum(after, TOPIC_METRIC('messagesin'), { topic: 'm-own' }), N);
    assert.equal(sum(after, TOPIC_METRIC('bytesin'), { topic: 'm-own' }), broker.context.topics.log('m-own', 0).size());
    // One partition per request: the partition count equals the Produce requests the client sent.
    const produceRequests = sum(after, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }) - produceRequestsBefore;
    assert.ok(produceRequests >= 2, String(produceRequests)); // 4 KiB batches
    assert.equal(sum(after, TOPIC_METRIC('totalproducerequests'), { topic: 'm-own' }), produceRequests);
    assert.equal(sum(after, TOPIC_METRIC('failedproducerequests'), { topic: 'm-own' }), 0);
  });

  test('a raw produce moves bytesin by the batch bytes, a fetch moves bytesout by the record bytes returned; per version counts', async () => {
    const raw = await RawClient.connect(broker.address);
    try {
      const e0 = await get();
      const batch = buildRecordBatch(records(25, 'raw'));
      const res = await raw.send(PRODUCE, 9, produceBody('m-raw', batch));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      const f = await raw.send(FETCH, 12, fetchBody('m-raw'));
      const fetched: Buffer = f.responses[0].partitions[0].records;
      assert.equal(fetched.length, batch.length);
      const e1 = await get();
      const delta = (name: string, labels: Record<string, string>): number => sum(e1, name, labels) - sum(e0, name, labels);
      assert.equal(delta(TOPIC_METRIC('messagesin'), { topic: 'm-raw' }), 25);
      assert.equal(delta(TOPIC_METRIC('bytesin'), { topic: 'm-raw' }), batch.length);
      assert.equal(delta(TOPIC_METRIC('bytesout'), { topic: 'm-raw' }), fetched.length);
      assert.equal(delta(TOPIC_METRIC('totalfetchrequests'), { topic: 'm-raw' }), 1);
      assert.equal(delta('kafka_network_requestmetrics_requests_total', { request: 'Produce', version: '9' }), 1);
      assert.equal(delta('kafka_network_requestmetrics_requests_total', { request: 'Fetch', version: '12' }), 1);
      // Every histogram has one observation per request, per API and version.
      for (const s of find(e1, 'kafka_network_requestmetrics_requests_total')) {
        for (const t of TIMES) {
          assert.equal(sum(e1, `kafka_network_requestmetrics_${t}_count`, s.labels), s.value, `${t} ${JSON.stringify(s.labels)}`);
          assert.equal(sum(e1, `kafka_network_requestmetrics_${t}_bucket`, { ...s.labels, le: '+Inf' }), s.value);
        }
      }
      // The +Inf bucket of total time is the count; time buckets are cumulative.
      const buckets = find(e1, 'kafka_network_requestmetrics_totaltimems_bucket', { request: 'Produce', version: '9' });
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    } finally {
      raw.close();
    }
  });

  test('a produce to a missing topic and one with bad acks count as errors (and failed produce for the existing topic)', async () => {
    const raw = await RawClient.connect(broker.address);
    try {
      const e0 = await get();
      const batch = buildRecordBatch(records(3, 'err'));
      const missing = await raw.send(PRODUCE, 9, produceBody('m-missing', batch));
      assert.equal(missing.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const badAcks = await raw.send(PRODUCE, 9, produceBody('m-err', batch, 5));
      assert.equal(badAcks.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
      const e1 = await get();
      const delta = (name: string, labels: Record<string, string>): number => sum(e1, name, labels) - sum(e0, name, labels);
      assert.equal(delta('kafka_network_requestmetrics_errors_total', { request: 'Produce', error: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1);
      assert.equal(delta('kafka_network_requestmetrics_errors_total', { request: 'Produce', error: 'INVALID_REQUIRED_ACKS' }), 1);
      assert.equal(delta(TOPIC_METRIC('failedproducerequests'), { topic: 'm-err' }), 1);
      assert.equal(delta(TOPIC_METRIC('totalproducerequests'), { topic: 'm-err' }), 1);
      assert.equal(delta(TOPIC_METRIC('messagesin'), { topic: 'm-err' }), 0);
      // A topic that does not exist gets no series (label values stay the broker's topics).
      assert.equal(e1.samples.some((s) => s.labels.topic === 'm-missing'), false);
      // Deleting a topic removes its series, as Kafka removes its metrics.
      await admin.deleteTopics(['m-err']);
      const e2 = await get();
      assert.equal(e2.samples.some((s) => s.labels.topic === 'm-err'), false);
    } finally {
      raw.close();
    }
  });

  test('connection_count follows real connections; creations, closes and bytes per listener', async () => {
    const second = broker.listeners.find((l) => l.name === 'SECOND')!;
    const address = `127.0.0.1:${second.port}`;
    const metric = (e: Exposition, name: string): number => sum(e, `kafka_server_socket_server_metrics_${name}`, { listener: 'SECOND' });
    const e0 = await get();
    assert.equal(find(e0, 'kafka_server_socket_server_metrics_connection_count', { listener: 'SECOND' }).length, 1); // listed from the start
    for (const name of ['connection_count', 'connection_creation_total', 'connection_close_total', 'incoming_byte_total', 'outgoing_byte_total']) assert.equal(metric(e0, name), 0, name);
    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(address)));
    await until('3 connections', async () => metric(await get(), 'connection_count') === 3);
    const body = { clientSoftwareName: 'metrics-test', clientSoftwareVersion: '1' };
    await Promise.all(clients.map((c) => c.send(18, 3, body)));
    clients[0]!.close();
    await until('2 connections', async () => metric(await get(), 'connection_count') === 2);
    for (const c of clients.slice(1)) c.close();
    await until('no connection', async () => metric(await get(), 'connection_count') === 0);
    const e1 = await get();
    assert.equal(metric(e1, 'connection_creation_total'), 3);
    assert.equal(metric(e1, 'connection_close_total'), 3);
    assert.equal(metric(e1, 'incoming_byte_total'), 3 * RawClient.frame(18, 3, body, 1).length);
    const versions = find(e1, 'kafka_network_requestmetrics_requests_total', { request: 'ApiVersions', version: '3' });
    assert.ok(versions[0]!.value >= 3);
    assert.ok(metric(e1, 'outgoing_byte_total') > 3 * 4);
    assert.equal(metric(await get(), 'incoming_byte_total'), metric(e1, 'incoming_byte_total'));
  });

  test('the log flush histogram grows after an acks=all produce (fdatasync)', async () => {
    const e0 = await get();
    const raw = await RawClient.connect(broker.address);
    try {
      const res = await raw.send(PRODUCE, 9, produceBody('m-raw', buildRecordBatch(records(2, 'sync')), -1));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    } finally {
      raw.close();
    }
    const e1 = await get();
    assert.ok(sum(e1, 'kafka_log_logflushstats_logflushtimems_count') > sum(e0, 'kafka_log_logflushstats_logflushtimems_count'));
    // acks=all waits for the flush: remote time was observed for that request.
    assert.ok(sum(e1, 'kafka_network_requestmetrics_remotetimems_sum', { request: 'Produce' }) > sum(e0, 'kafka_network_requestmetrics_remotetimems_sum', { request: 'Produce' }));
  });

  test('client quota throttling is counted per quota type', async () => {
    await admin.alterClientQuotas([{ entity: { 'client-id': 'raw-test' }, ops: [{ key: 'producer_byte_rate', value: 5_000 }] }]);
    const raw = await RawClient.connect(broker.address); // client id 'raw-test'
    try {
      const e0 = await get();
      const res = await raw.send(PRODUCE, 9, produceBody('m-quota', buildRecordBatch([{ value: Buffer.alloc(60_000, 1) }])));
      assert.ok(res.throttleTimeMs > 0);
      const e1 = await get();
      const delta = (name: string, q: string): number => sum(e1, name, { quota_type: q }) - sum(e0, name, { quota_type: q });
      assert.equal(delta('kafka_server_clientquota_throttled_requests_total', 'produce'), 1);
      assert.equal(delta('kafka_server_clientquota_throttle_time_ms_total', 'produce'), res.throttleTimeMs);
      assert.equal(delta('kafka_server_clientquota_throttled_requests_total', 'fetch'), 0);
      const throttled = find(e1, 'kafka_network_requestmetrics_throttletimems_sum', { request: 'Produce', version: '9' });
      assert.ok(throttled[0]!.value >= res.throttleTimeMs);
    } finally {
      raw.close();
      await admin.alterClientQuotas([{ entity: { 'client-id': 'raw-test' }, ops: [{ key: 'producer_byte_rate', value: null }] }]);
    }
  });
});

describe('broker metrics off (the default)', () => {
  test('no metrics port, no metricsUrl, no hooks on the request path; on: one more server, closed by close()', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-metrics-off-'));
    try {
      const servers0 = tcpServers();
      const off = await startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dataDir, 'off'), logLevel: 'silent' });
      assert.equal(off.metricsUrl, undefined);
      assert.equal(off.context.metrics, undefined);
      assert.equal(tcpServers(), servers0 + 1); // the Kafka listener only
      await off.close();
      await until('the listener closed', async () => tcpServers() === servers0); // handles close a loop turn later
      const on = await startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dataDir, 'on'), logLevel: 'silent', config: { 'metrics.port': 0 } });
      assert.equal(tcpServers(), servers0 + 2);
      const url = on.metricsUrl!;
      assert.equal((await fetch(url)).status, 200);
      await on.close();
      await until('both servers closed', async () => tcpServers() === servers0);
      await assert.rejects(fetch(url));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a taken metrics port stops start-up with a clear message', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-metrics-busy-'));
    const first = await startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dataDir, 'a'), logLevel: 'silent', config: { 'metrics.port': 0 } });
    try {
      const port = Number(new URL(first.metricsUrl!).port);
      await assert.rejects(
        startBroker({ host: '127.0.0.1', port: 0, dataDir: join(dataDir, 'b'), logLevel: 'silent', config: { 'metrics.port': port } }),
        /Cannot serve metrics on 127\.0\.0\.1:\d+: the port is in use/,
      );
    } finally {
      await first.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
