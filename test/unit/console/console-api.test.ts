/**
 * The console's JSON API over real HTTP against an in-process broker: topics (create, list, describe, configs,
 * partitions, delete), messages (produce, browse from beginning/end/offset/timestamp with filters, binary as
 * base64, live tail), groups (lag, reset, delete, 409 on an active group), cluster views, the events stream, and
 * SECURITY_DISABLED for ACLs on a broker without an authorizer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { startConsole, type RunningConsole } from '../../../src/console/server.js';
import { apiClient, fakeAssets, openSse } from './helpers.js';

describe('console API', () => {
  let dataDir: string;
  let assets: string;
  let broker: RunningBroker;
  let cons: RunningConsole;
  let api: ReturnType<typeof apiClient>;
  let producer: Producer;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-console-api-'));
    assets = await fakeAssets();
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
    cons = await startConsole({ client: { bootstrapServers: broker.address, retries: 2, retryBackoffMs: 50 }, port: 0, assetsDir: assets });
    api = apiClient(cons.url);
    producer = new Producer({ bootstrapServers: broker.address, lingerMs: 0 });
    await producer.connect();
  });
  after(async () => {
    await producer?.close();
    await cons?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(assets, { recursive: true, force: true });
  });

  test('session, overview, brokers and broker configs', async () => {
    let r = await api('GET', '/api/session');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { readOnly: false, loginRequired: false, authenticated: true, bootstrap: broker.address, metrics: false, version: '0.1.0' });
    r = await api('GET', '/api/brokers');
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 1);
    assert.deepEqual({ ...r.json[0], sizeBytes: typeof r.json[0].sizeBytes }, { nodeId: broker.nodeId, host: '127.0.0.1', port: broker.port, rack: null, isController: true, sizeBytes: 'number' });
    r = await api('GET', `/api/brokers/${broker.nodeId}/configs`);
    assert.equal(r.status, 200);
    const numPartitions = r.json.find((c: any) => c.name === 'num.partitions');
    assert.deepEqual(numPartitions, { name: 'num.partitions', value: '1', source: 'DEFAULT_CONFIG', readOnly: true, sensitive: false });
    assert.equal((await api('GET', '/api/brokers/x/configs')).status, 400);
    await api('POST', '/api/topics', { name: 'ov', partitions: 2, replicationFactor: 1 });
    await producer.sendBatch([{ topic: 'ov', partition: 0, value: 'a' }, { topic: 'ov', partition: 1, value: 'b' }, { topic: 'ov', partition: 1, value: 'c' }]);
    r = await api('GET', '/api/overview');
    assert.equal(r.status, 200);
    assert.equal(r.json.clusterId, broker.clusterId);
    assert.equal(r.json.controllerId, broker.nodeId);
    assert.deepEqual(r.json.brokers, [{ nodeId: broker.nodeId, host: '127.0.0.1', port: broker.port, rack: null }]);
    assert.ok(r.json.topicCount >= 1 && r.json.partitionCount >= 2, JSON.stringify(r.json));
    assert.equal(r.json.underReplicatedPartitions, 0);
    assert.equal(r.json.offlinePartitions, 0);
    assert.ok(r.json.totalMessages >= 3, JSON.stringify(r.json));
    assert.ok(r.json.totalSizeBytes > 0, JSON.stringify(r.json));
    assert.equal(typeof r.json.groupCount, 'number');
    r = await api('GET', '/api/reports');
    assert.deepEqual(r.json, []);
    r = await api('GET', '/api/nope');
    assert.equal(r.status, 404);
    r = await api('PUT', '/api/overview', {});
    assert.equal(r.status, 405);
  });

  test('topics: create → listed with partitions; describe; configs round trip; add partitions; delete', async () => {
    let r = await api('POST', '/api/topics', { name: 'orders', partitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json, { name: 'orders' });
    r = await api('POST', '/api/topics', { name: 'orders', partitions: 1 });
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'TOPIC_ALREADY_EXISTS');
    r = await api('POST', '/api/topics', { name: 'bad', partitions: 0 });
    assert.equal(r.status, 400);
    r = await api('GET', '/api/topics');
    assert.deepEqual(r.json.find((t: any) => t.name === 'orders'), { name: 'orders', internal: false, partitions: 3, replicationFactor: 1, sizeBytes: 0, messages: 0, underReplicated: 0 });
    assert.ok(r.json.every((t: any) => !t.internal));
    r = await api('GET', '/api/topics/orders');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.partitions, [0, 1, 2].map((partition) => ({
      partition, leader: broker.nodeId, replicas: [broker.nodeId], isr: [broker.nodeId], startOffset: 0, endOffset: 0, sizeBytes: 0,
    })));
    assert.deepEqual(r.json.configs.find((c: any) => c.name === 'retention.ms'), { name: 'retention.ms', value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG', readOnly: false, sensitive: false });
    assert.deepEqual(r.json.consumers, []);
    assert.equal(r.json.internal, false);

    r = await api('PUT', '/api/topics/orders/configs', { set: { 'cleanup.policy': 'compact' }, delete: ['retention.ms'] });
    assert.equal(r.status, 204);
    r = await api('GET', '/api/topics/orders');
    const cfg = Object.fromEntries(r.json.configs.map((c: any) => [c.name, [c.value, c.source]]));
    assert.deepEqual(cfg['cleanup.policy'], ['compact', 'DYNAMIC_TOPIC_CONFIG']);
    assert.deepEqual(cfg['retention.ms'], ['604800000', 'DEFAULT_CONFIG']);
    r = await api('PUT', '/api/topics/orders/configs', { set: { 'cleanup.policy': 'sideways' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_CONFIG');

    r = await api('POST', '/api/topics/orders/partitions', { count: 4 });
    assert.equal(r.status, 204);
    r = await api('GET', '/api/topics/orders');
    assert.deepEqual(r.json.partitions.map((p: any) => p.partition), [0, 1, 2, 3]);
    r = await api('POST', '/api/topics/orders/partitions', { count: 2 });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_PARTITIONS');

    r = await api('DELETE', '/api/topics/orders');
    assert.equal(r.status, 204);
    r = await api('GET', '/api/topics/orders');
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'UNKNOWN_TOPIC_OR_PARTITION');
    r = await api('GET', '/api/topics?internal=true');
    assert.ok(!r.json.some((t: any) => t.name === 'orders'));
  });

  test('messages: produce via POST, browse with headers, base64, filter, from beginning/offset/end/timestamp', async () => {
    await api('POST', '/api/topics', { name: 'browse', partitions: 2, replicationFactor: 1 });
    let r = await api('POST', '/api/topics/browse/messages', { key: 'k1', value: 'hello world', headers: [{ key: 'trace', value: 'abc' }], partition: 0 });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json, { partition: 0, offset: 0 });
    r = await api('POST', '/api/topics/browse/messages', { key: null, value: null, partition: 9 });
    assert.equal(r.status, 404);
    // Known timestamps (a minute ahead, within the broker's window) and a binary value, written by the client.
    const base = Math.floor(Date.now() / 1000) * 1000 + 60_000;
    await producer.sendBatch([
      { topic: 'browse', partition: 0, key: 'k2', value: Buffer.from([0xff, 0xfe, 0x00]), timestamp: base },
      { topic: 'browse', partition: 1, key: 'k3', value: 'on one', timestamp: base + 1000, headers: [{ key: 'bin', value: Buffer.from([0xc3]) }] },
      { topic: 'browse', partition: 0, key: null, value: 'last', timestamp: base + 2000 },
    ]);
    r = await api('GET', '/api/topics/browse/messages?partition=0&from=beginning');
    assert.equal(r.status, 200);
    const p0 = r.json.messages;
    assert.equal(p0.length, 3);
    assert.deepEqual({ ...p0[0], timestamp: 0 }, { partition: 0, offset: 0, timestamp: 0, key: 'k1', value: 'hello world', headers: [{ key: 'trace', value: 'abc' }] });
    assert.deepEqual(p0[1], { partition: 0, offset: 1, timestamp: base, key: 'k2', value: '//4A', valueBase64: true, headers: [] });
    assert.deepEqual(p0[2], { partition: 0, offset: 2, timestamp: base + 2000, key: null, value: 'last', headers: [] });

    r = await api('GET', '/api/topics/browse/messages?partition=all&from=beginning&limit=50');
    assert.deepEqual(r.json.messages.map((m: any) => `${m.partition}:${m.offset}`), ['0:0', '0:1', '1:0', '0:2'], 'ordered by timestamp');
    assert.deepEqual(r.json.messages[2].headers, [{ key: 'bin', value: 'ww==', valueBase64: true }]);
    r = await api('GET', '/api/topics/browse/messages?from=beginning&limit=2');
    assert.deepEqual(r.json.messages.map((m: any) => `${m.partition}:${m.offset}`), ['0:0', '0:1'], 'the first two');
    r = await api('GET', '/api/topics/browse/messages?from=end&limit=2');
    assert.deepEqual(r.json.messages.map((m: any) => `${m.partition}:${m.offset}`), ['1:0', '0:2'], 'the last two');
    r = await api('GET', '/api/topics/browse/messages?partition=0&from=offset&offset=1');
    assert.deepEqual(r.json.messages.map((m: any) => m.offset), [1, 2]);
    r = await api('GET', `/api/topics/browse/messages?from=timestamp&timestamp=${base + 1000}`);
    assert.deepEqual(r.json.messages.map((m: any) => `${m.partition}:${m.offset}`), ['1:0', '0:2']);
    r = await api('GET', '/api/topics/browse/messages?from=beginning&filter=WORLD');
    assert.deepEqual(r.json.messages.map((m: any) => m.key), ['k1'], 'value, case-insensitive');
    r = await api('GET', '/api/topics/browse/messages?from=end&filter=trace');
    assert.deepEqual(r.json.messages.map((m: any) => m.key), ['k1'], 'header key');
    r = await api('GET', '/api/topics/browse/messages?from=beginning&filter=k3');
    assert.deepEqual(r.json.messages.map((m: any) => m.value), ['on one'], 'key');
    r = await api('GET', '/api/topics/browse/messages?from=beginning&filter=nothing-matches');
    assert.deepEqual(r.json.messages, []);
    // Bad queries.
    assert.equal((await api('GET', '/api/topics/browse/messages?limit=501')).status, 400);
    assert.equal((await api('GET', '/api/topics/browse/messages?from=sideways')).status, 400);
    assert.equal((await api('GET', '/api/topics/browse/messages?from=offset')).status, 400);
    assert.equal((await api('GET', '/api/topics/browse/messages?partition=7')).status, 404);
    assert.equal((await api('GET', '/api/topics/none/messages')).status, 404);
  });

  test('tail: a message produced after connecting arrives as an event', async () => {
    await api('POST', '/api/topics', { name: 'live', partitions: 2, replicationFactor: 1 });
    await producer.send({ topic: 'live', partition: 1, value: 'before' });
    const stream = await openSse(new URL('/api/topics/live/tail?partition=all&filter=after', cons.url).href);
    try {
      assert.equal(stream.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      await stream.next((e) => e.event === 'ready');
      await producer.send({ topic: 'live', partition: 1, value: 'not this one' });
      const r = await api('POST', '/api/topics/live/messages', { key: 'x', value: 'after connect', headers: [], partition: 1 });
      assert.equal(r.status, 201);
      const e = await stream.next((ev) => ev.event === 'message');
      assert.deepEqual({ ...e.data, timestamp: 0 }, { partition: 1, offset: 2, timestamp: 0, key: 'x', value: 'after connect', headers: [] });
    } finally {
      stream.close();
    }
  });

  test('groups: lag = end − committed; reset to earliest; 409 on an active group; delete', async () => {
    await api('POST', '/api/topics', { name: 'work', partitions: 1, replicationFactor: 1 });
    await producer.sendBatch([1, 2, 3, 4, 5].map((i) => ({ topic: 'work', partition: 0, value: `m${i}` })));
    const committer = new Consumer({ bootstrapServers: broker.address, groupId: 'billing', enableAutoCommit: false });
    await committer.connect();
    committer.assign([{ topic: 'work', partition: 0 }]);
    await committer.commit([{ topic: 'work', partition: 0, offset: 2 }]);
    await committer.close();

    let r = await api('GET', '/api/groups');
    const row = r.json.find((g: any) => g.groupId === 'billing');
    assert.deepEqual(row, { groupId: 'billing', state: 'Empty', type: 'classic', protocol: '', members: 0, topics: ['work'], lag: 3 });
    r = await api('GET', '/api/groups/billing');
    assert.equal(r.status, 200);
    assert.equal(r.json.state, 'Empty');
    assert.equal(r.json.coordinator, broker.nodeId);
    assert.deepEqual(r.json.members, []);
    assert.deepEqual(r.json.offsets, [{ topic: 'work', partition: 0, committed: 2, end: 5, lag: 3 }]);
    r = await api('GET', '/api/topics/work');
    assert.deepEqual(r.json.consumers, [{ groupId: 'billing', state: 'Empty', lag: 3 }]);
    assert.equal((await api('GET', '/api/groups/nobody')).status, 404);

    r = await api('POST', '/api/groups/billing/reset', { to: 'earliest', dryRun: true });
    assert.deepEqual(r.json, { offsets: [{ topic: 'work', partition: 0, offset: 0 }] });
    assert.deepEqual((await api('GET', '/api/groups/billing')).json.offsets[0].committed, 2, 'a dry run changes nothing');
    r = await api('POST', '/api/groups/billing/reset', { to: 'earliest' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { offsets: [{ topic: 'work', partition: 0, offset: 0 }] });
    assert.deepEqual((await api('GET', '/api/groups/billing')).json.offsets, [{ topic: 'work', partition: 0, committed: 0, end: 5, lag: 5 }]);
    r = await api('POST', '/api/groups/billing/reset', { topic: 'work', to: 'offset', offset: 99 });
    assert.deepEqual(r.json, { offsets: [{ topic: 'work', partition: 0, offset: 5 }] }, 'clamped to the end');
    r = await api('POST', '/api/groups/billing/reset', { to: 'sideways' });
    assert.equal(r.status, 400);

    // An active group: reset and delete are refused.
    const member = new Consumer({ bootstrapServers: broker.address, groupId: 'active', autoOffsetReset: 'earliest', sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 });
    await member.connect();
    await member.subscribe(['work']);
    try {
      for (let i = 0; i < 40 && member.assignment().length === 0; i++) await member.poll(250);
      assert.equal(member.assignment().length, 1);
      r = await api('GET', '/api/groups/active');
      assert.equal(r.json.state, 'Stable');
      assert.deepEqual(r.json.members.map((m: any) => m.assignments), [[{ topic: 'work', partitions: [0] }]]);
      assert.equal(r.json.protocol, 'range');
      r = await api('POST', '/api/groups/active/reset', { topic: 'work', to: 'earliest' });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'NON_EMPTY_GROUP');
      assert.match(r.json.error, /Assignments can only be reset if the group 'active' is inactive, but the current state is Stable/);
      r = await api('DELETE', '/api/groups/active');
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'NON_EMPTY_GROUP');
    } finally {
      await member.close();
    }
    r = await api('DELETE', '/api/groups/billing');
    assert.equal(r.status, 204);
    assert.equal((await api('GET', '/api/groups/billing')).status, 404);
  });

  test('events: history first, then ticks whose topic rate reflects produced messages; lag history', async () => {
    await api('POST', '/api/topics', { name: 'rate', partitions: 1, replicationFactor: 1 });
    await producer.sendBatch([1, 2, 3].map((i) => ({ topic: 'rate', partition: 0, value: `r${i}` })));
    const c = new Consumer({ bootstrapServers: broker.address, groupId: 'lagging', enableAutoCommit: false });
    await c.connect();
    c.assign([{ topic: 'rate', partition: 0 }]);
    await c.commit([{ topic: 'rate', partition: 0, offset: 1 }]);
    await c.close();
    const stream = await openSse(new URL('/api/events', cons.url).href);
    try {
      const first = await stream.next();
      assert.equal(first.event, 'history');
      assert.ok(Array.isArray(first.data));
      const t0 = await stream.next((e) => e.event === 'tick' && e.data.topics.some((t: any) => t.name === 'rate'));
      assert.equal(t0.data.brokers, 1);
      assert.equal(t0.data.metrics, undefined, 'no metrics URL');
      assert.deepEqual(t0.data.groups.find((g: any) => g.groupId === 'lagging'), { groupId: 'lagging', lag: 2 });
      await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic: 'rate', partition: 0, value: `n${i}` })));
      const t1 = await stream.next((e) => e.event === 'tick' && e.data.topics.find((t: any) => t.name === 'rate').messagesPerSec > 0);
      const rate = t1.data.topics.find((t: any) => t.name === 'rate').messagesPerSec;
      const dt = (t1.data.time - t0.data.time) / 1000;
      assert.ok(rate >= 20 / (dt + 1) && rate <= 20 / 0.5, `20 messages in one ~1 s interval: ${rate}/s`);
      assert.deepEqual(t1.data.groups.find((g: any) => g.groupId === 'lagging'), { groupId: 'lagging', lag: 22 });
      const r = await api('GET', '/api/groups/lagging/lag-history');
      assert.ok(r.json.length >= 2, JSON.stringify(r.json));
      assert.deepEqual(r.json.at(-1).lag, [{ topic: 'rate', partition: 0, lag: 22 }]);
    } finally {
      stream.close();
    }
    // A new listener first gets what was kept.
    const again = await openSse(new URL('/api/events', cons.url).href);
    try {
      const h = await again.next();
      assert.equal(h.event, 'history');
      assert.ok(h.data.length >= 2 && h.data.every((t: any) => typeof t.time === 'number' && Array.isArray(t.topics)), `${h.data.length} ticks kept`);
    } finally {
      again.close();
    }
  });

  test('events with a metrics URL: rates and p99 from the scraped counters; session says metrics: true', async () => {
    let scrapes = 0;
    const metrics = createServer((req, res) => {
      scrapes++;
      const n = scrapes;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end([
        `kafka_server_brokertopicmetrics_bytesin_total{topic="rate"} ${4096 * n}`,
        `kafka_server_brokertopicmetrics_bytesout_total{topic="rate"} ${1024 * n}`,
        `kafka_server_brokertopicmetrics_messagesin_total{topic="rate"} ${100 * n}`,
        `kafka_network_requestmetrics_requests_total{request="Produce",version="9"} ${10 * n}`,
        `kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="2"} ${10 * n}`,
        `kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="+Inf"} ${10 * n}`,
        '',
      ].join('\n'));
    });
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', () => r()));
    const metricsUrl = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`;
    const c = await startConsole({ client: { bootstrapServers: broker.address }, port: 0, assetsDir: assets, metricsUrl, tickIntervalMs: 300 });
    const stream = await openSse(new URL('/api/events', c.url).href);
    try {
      assert.equal((await apiClient(c.url)('GET', '/api/session')).json.metrics, true);
      const t = await stream.next((e) => e.event === 'tick' && e.data.metrics?.bytesInPerSec > 0);
      const secs = 0.3;
      assert.ok(Math.abs(t.data.metrics.bytesInPerSec - 4096 / secs) < 4096 / secs * 0.6, JSON.stringify(t.data.metrics));
      assert.ok(t.data.metrics.messagesInPerSec > 0 && t.data.metrics.bytesOutPerSec > 0 && t.data.metrics.requestsPerSec > 0);
      assert.equal(t.data.metrics.produceP99Ms, 2);
      assert.equal(t.data.metrics.fetchP99Ms, 0);
      assert.ok(t.data.topics.find((x: any) => x.name === 'rate').bytesInPerSec > 0);
    } finally {
      stream.close();
      await c.close();
      metrics.close();
    }
  });

  test('ACLs on a broker without an authorizer: 400 SECURITY_DISABLED', async () => {
    const r = await api('GET', '/api/acls');
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'SECURITY_DISABLED');
    const p = await api('POST', '/api/acls', { resourceType: 'TOPIC', resourceName: 't', patternType: 'LITERAL', principal: 'User:a', host: '*', operation: 'READ', permissionType: 'ALLOW' });
    assert.equal(p.status, 400);
    assert.equal(p.json.code, 'SECURITY_DISABLED');
  });
});
