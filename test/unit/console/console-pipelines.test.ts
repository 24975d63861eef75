/**
 * GET /api/pipelines against real pipelines: a CSV source into a topic and a jsonl sink from it, run with the
 * connect runtime, then read back over the Kafka protocol only — the source's stored position from
 * connect-offsets (latest record per key, tombstones remove, foreign keys ignored) and the sink's consumer group
 * with its lag after more records arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Producer } from '../../../src/client/producer.js';
import { parseConfig } from '../../../src/connect/config.js';
import { runSourcePipeline } from '../../../src/connect/source-runtime.js';
import { runSinkPipeline } from '../../../src/connect/sink-runtime.js';
import { startConsole, type RunningConsole } from '../../../src/console/server.js';
import { apiClient, fakeAssets } from './helpers.js';

let dir: string;
let assets: string;
let broker: RunningBroker;
let cons: RunningConsole;
let api: ReturnType<typeof apiClient>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-console-pipelines-'));
  assets = await fakeAssets();
  broker = await startBroker({
    host: '127.0.0.1', port: 0, dataDir: join(dir, 'data'), logLevel: 'silent',
    config: { 'num.partitions': '3', 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100', 'offsets.topic.num.partitions': '1' },
  });
  cons = await startConsole({ client: { bootstrapServers: broker.address, retries: 2, retryBackoffMs: 50 }, port: 0, assetsDir: assets });
  api = apiClient(cons.url);
});

after(async () => {
  await cons?.close();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(assets, { recursive: true, force: true });
});

test('no pipelines yet: no connect-offsets topic, no connect-* group', async () => {
  const r = await api('GET', '/api/pipelines');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { sources: [], sinks: [] });
});

test('a CSV source and a jsonl sink: the source position and the sink group with its lag', async () => {
  const client = { bootstrapServers: broker.address, retryBackoffMs: 50 };
  await writeFile(join(dir, 'orders.csv'), 'id,item,qty\n1,apple,3\n2,pear,1\n3,plum,7\n4,fig,2\n5,kiwi,9\n');
  const config = parseConfig({
    pipelines: [
      { name: 'orders-in', topic: 'orders', source: { type: 'csv', path: 'orders.csv', keyColumn: 'id' } },
      { name: 'orders-out', topic: 'orders', sink: { type: 'jsonl', url: 'orders-out.jsonl' } },
    ],
  }, dir);
  const [source, sink] = config.pipelines;
  const t0 = Date.now();
  const produced = await runSourcePipeline(source!, client, { stream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream });
  assert.equal(produced.records, 5);
  const logs: string[] = [];
  const written = await runSinkPipeline(sink!, client, {
    signal: AbortSignal.timeout(20_000), once: true, idleMs: 500, progressIntervalMs: 100, log: (m) => logs.push(m),
    consumer: { sessionTimeoutMs: 3000, heartbeatIntervalMs: 100, fetchMaxWaitMs: 100 },
  });
  assert.equal(written.rows, 5, logs.join('\n'));
  assert.equal((await readFile(join(dir, 'orders-out.jsonl'), 'utf8')).trim().split('\n').length, 5);

  // Three more records after the sink stopped: its group lags by exactly three.
  const producer = new Producer({ ...client, lingerMs: 0 });
  try {
    await producer.connect();
    await producer.sendBatch([0, 1, 2].map((partition) => ({ topic: 'orders', partition, value: JSON.stringify({ late: partition }) })));
    // In connect-offsets: a pipeline whose only input was then tombstoned (not listed), and a key no pipeline wrote (ignored).
    const gone = JSON.stringify(['gone-in', { path: '/tmp/gone.csv' }]);
    await producer.sendBatch([
      { topic: 'connect-offsets', partition: 0, key: gone, value: JSON.stringify({ position: 4, eof: true }) },
      { topic: 'connect-offsets', partition: 0, key: gone, value: null },
      { topic: 'connect-offsets', partition: 0, key: 'not json', value: '{}' },
    ]);
  } finally {
    await producer.close();
  }
  // A group that is not a sink pipeline's (offsets committed, no members) is not listed.
  assert.equal((await api('POST', '/api/groups/billing/reset', { topic: 'orders', to: 'earliest' })).status, 200);
  assert.ok((await api('GET', '/api/groups')).json.some((x: { groupId: string }) => x.groupId === 'billing'));

  const r = await api('GET', '/api/pipelines');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const { sources, sinks } = r.json;
  assert.equal(sources.length, 1, JSON.stringify(sources));
  const updated = sources[0].updated;
  assert.ok(updated >= t0 - 1000 && updated <= Date.now(), `updated ${updated} not between ${t0} and now`);
  assert.deepEqual(sources, [{ pipeline: 'orders-in', input: join(dir, 'orders.csv'), position: 5, eof: true, updated }]);
  assert.deepEqual(sinks, [{ pipeline: 'orders-out', groupId: 'connect-orders-out', state: 'Empty', topics: ['orders'], lag: 3, members: 0 }]);
  // The same lag as the group's own page.
  const g = await api('GET', '/api/groups/connect-orders-out');
  assert.equal(g.json.offsets.reduce((s: number, o: { lag: number }) => s + o.lag, 0), 3);
});
