import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { Cluster, isMetadataError, parseBootstrap, withRetry } from '../../../src/client/cluster.js';
import { Connection } from '../../../src/client/connection.js';
import { ConnectionError, ProtocolError, RequestTimeoutError } from '../../../src/client/errors.js';
import { MetadataRequest } from '../../../src/protocol/generated/metadata-request.js';
import { MetadataResponse } from '../../../src/protocol/generated/metadata-response.js';
import { ApiVersionsRequest } from '../../../src/protocol/generated/api-versions-request.js';

async function withBroker(fn: (address: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-client-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: { 'num.partitions': '3' }, logLevel: 'silent' });
  try {
    await fn(broker.address);
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('parseBootstrap accepts lists, commas and a default port; refuses junk with advice', () => {
  assert.deepEqual(parseBootstrap('a:1, b:2'), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
  assert.deepEqual(parseBootstrap(['c']), [{ host: 'c', port: 9092 }]);
  assert.throws(() => parseBootstrap('a:notaport'), /expected host:port/);
  assert.throws(() => parseBootstrap(''), /empty/);
});

test('a connection negotiates the highest common versions and pipelines requests in order', async () => {
  await withBroker(async (address) => {
    const [host, port] = address.split(':');
    const conn = await Connection.connect(host, Number(port));
    assert.equal(conn.versionFor(ApiVersionsRequest), 4);
    assert.equal(conn.versionFor(MetadataRequest), 13);
    assert.equal(conn.versionFor(MetadataRequest, { maxVersion: 5 }), 5);
    const all = await Promise.all(Array.from({ length: 50 }, () => conn.send(MetadataRequest, MetadataResponse, { topics: [] })));
    assert.equal(all.length, 50);
    for (const r of all) assert.equal(r.brokers.length, 1);
    conn.close();
    await assert.rejects(conn.send(MetadataRequest, MetadataResponse, { topics: [] }), ConnectionError);
  });
});

test('cluster metadata: auto-created topic leaders, unknown topics, coordinators', async () => {
  await withBroker(async (address) => {
    const cluster = new Cluster({ bootstrapServers: address, retries: 2, retryBackoffMs: 10 });
    try {
      await cluster.connect();
      assert.equal(cluster.brokers.size, 1);
      assert.ok(cluster.clusterId);
      await assert.rejects(cluster.topic('missing'), (e: unknown) => e instanceof ProtocolError && e.kafkaError === 'UNKNOWN_TOPIC_OR_PARTITION');
      const t = await cluster.topic('auto', true);
      assert.equal(t.partitions.length, 3);
      assert.equal(await cluster.leaderFor('auto', 2), [...cluster.brokers.keys()][0]);
      const node = await cluster.findCoordinator('g1');
      assert.equal(node, [...cluster.brokers.keys()][0]);
      const c1 = await cluster.coordinatorConnection('g1');
      const c2 = await cluster.connection(node, 'default');
      assert.notEqual(c1, c2, 'coordinator traffic gets its own connection');
    } finally {
      await cluster.close();
    }
  });
});

test('an unreachable bootstrap server fails with advice, after the retries', async () => {
  const cluster = new Cluster({ bootstrapServers: '127.0.0.1:1', retries: 1, retryBackoffMs: 5 });
  await assert.rejects(cluster.connect(), (e: unknown) => e instanceof ConnectionError && /^cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\) — is `tributary start` running[^:]*$/.test(e.message));
  await cluster.close();
});

test('withRetry retries retriable errors only', async () => {
  let n = 0;
  const v = await withRetry(async () => {
    if (n++ < 2) throw new ProtocolError(6, 'x');
    return 'ok';
  }, { retries: 3, backoffMs: 1, maxBackoffMs: 2 });
  assert.equal(v, 'ok');
  assert.equal(n, 3);
  let m = 0;
  await assert.rejects(withRetry(async () => {
    m++;
    throw new ProtocolError(17, 'y');
  }, { retries: 3, backoffMs: 1, maxBackoffMs: 2 }), /INVALID_TOPIC_EXCEPTION/);
  assert.equal(m, 1);
});

test('options given as undefined keep their defaults (the CLI passes unset flags that way): retries back off, as in a failover', () => {
  const cluster = new Cluster({ bootstrapServers: '127.0.0.1:1', retries: undefined, retryBackoffMs: undefined, retryBackoffMaxMs: undefined });
  assert.equal(cluster.options.retries, 10);
  assert.equal(cluster.options.retryBackoffMs, 100);
  assert.equal(cluster.options.retryBackoffMaxMs, 1000);
});

test('errors after which leaders are looked up again include a request timeout (a paused leader may have been replaced)', () => {
  assert.equal(isMetadataError(new RequestTimeoutError('Produce to 127.0.0.1:9 got no answer within 2000 ms')), true);
  assert.equal(isMetadataError(new ConnectionError('127.0.0.1:9', 'cannot reach 127.0.0.1:9')), true);
  assert.equal(isMetadataError(new ProtocolError(6, 'Produce')), true);
  assert.equal(isMetadataError(new ProtocolError(10, 'Produce')), false);
});
