import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, defaultServerId } from '../../../src/connect/config.js';
import { CdcSourceConnector } from '../../../src/connect/cdc/connector.js';
import { mysqlValue } from '../../../src/connect/cdc/mysql.js';
import type { MysqlCdcSourceConfig, PostgresCdcSourceConfig } from '../../../src/connect/types.js';

test('a mysql source: topic optional (the prefix), defaults, and the guarantee of the sinks reading its tables', () => {
  const config = parseConfig({
    pipelines: [
      { name: 'shop-cdc', source: { type: 'mysql', url: 'mysql://cdc:pw@127.0.0.1:3306/', tables: ['shop.orders', 'shop.customers'], prefix: 'shop' } },
      { name: 'orders-copy', topic: 'shop.shop.orders', sink: { type: 'sqlite', url: ':memory:', table: 'orders', cdc: true, guarantee: 'exactly-once' } },
    ],
  });
  const [src, sink] = config.pipelines;
  assert.equal(src.topic, 'shop');
  const s = src.source as MysqlCdcSourceConfig;
  assert.deepEqual(
    { ...s },
    { type: 'mysql', url: 'mysql://cdc:pw@127.0.0.1:3306/', tables: ['shop.orders', 'shop.customers'], prefix: 'shop', snapshot: 'initial', tombstones: true, cleanupPolicy: 'delete', guarantee: 'exactly-once', serverId: defaultServerId('shop-cdc') },
  );
  assert.equal(sink.sink?.cdc, true);
  assert.equal(sink.sink?.mode, 'upsert');
});

test('a postgres source gets a slot and publication named after the pipeline', () => {
  const config = parseConfig({ pipelines: [{ name: 'pg-cdc', source: { type: 'postgres', url: 'postgres://u@h/db', tables: 'public.orders' } }] });
  const s = config.pipelines[0].source as PostgresCdcSourceConfig;
  assert.equal(s.slot, 'tributary_pg_cdc');
  assert.equal(s.publication, 'tributary_pg_cdc');
  assert.equal(s.prefix, 'pg-cdc');
  assert.equal(s.guarantee, 'at-least-once');
});

test('CDC config errors name the key and the fix', () => {
  const bad = (source: Record<string, unknown>, re: RegExp): void => assert.throws(() => parseConfig({ pipelines: [{ name: 'c', source }] }), re);
  bad({ type: 'mysql', url: 'mysql://h/', tables: ['orders'] }, /source\.tables is "orders": each table is db\.table/);
  bad({ type: 'mysql', url: 'http://h/', tables: ['a.b'] }, /source\.url is "http:\/\/h\/": must be a mysql:/);
  bad({ type: 'mysql', url: 'mysql://h/' }, /source\.tables is missing/);
  bad({ type: 'mysql', url: 'mysql://h/', tables: ['a.b'], slot: 's' }, /source\.slot .*not a known key/);
  assert.throws(
    () => parseConfig({ pipelines: [{ name: 'c', topic: 't', sink: { type: 'jsonl', url: 'x.jsonl', cdc: true } }] }),
    /sink\.cdc is true: applies to SQL sinks/,
  );
  assert.throws(() => parseConfig({ pipelines: [{ name: 'c', topic: 't', sink: { type: 'sqlite', url: ':memory:', table: 't', cdc: true, mode: 'insert' } }] }), /sink\.mode is "insert"/);
});

test('the connector partitions offsets by server (the prefix) and creates topics with Kafka Connect defaults', () => {
  const config = parseConfig({ pipelines: [{ name: 'x', source: { type: 'mysql', url: 'mysql://h/', tables: ['a.b'], prefix: 'p', cleanupPolicy: 'compact' } }] });
  const connector = CdcSourceConnector.fromConfig('x', config.pipelines[0].source as MysqlCdcSourceConfig);
  assert.deepEqual(connector.topicCreation, { partitions: -1, replicationFactor: -1, configs: { 'cleanup.policy': 'compact' } });
});

test('MySQL values as JSON', () => {
  assert.equal(mysqlValue('2024-05-01 10:00:00.250', 18), '2024-05-01T10:00:00.250');
  assert.equal(mysqlValue('2024-05-01 10:00:00', 7), '2024-05-01T10:00:00Z');
  assert.equal(mysqlValue('2024-05-01', 10), '2024-05-01');
  assert.equal(mysqlValue(Buffer.from([1, 2]), 15), 'AQI=');
  assert.equal(mysqlValue(1.100000023841858, 4), 1.1);
  assert.equal(mysqlValue(2n ** 63n, 8), '9223372036854775808');
  assert.equal(mysqlValue(42n, 8), 42);
  assert.equal(mysqlValue({ a: [1] }, 245), '{"a":[1]}');
  assert.equal(mysqlValue(null, 3), null);
});
