import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin, type ConfigEntry } from '../../../src/client/admin.js';
import { ProtocolError } from '../../../src/client/errors.js';
import { RawClient } from '../../helpers/raw-client.js';
import { joinConsumerMember, produce } from '../client/admin-fixtures.js';
import { DYNAMIC_CONFIGS_FILE } from '../../../src/storage/dynamic-config-store.js';

const METADATA = 3, DESCRIBE_GROUPS = 15, CONSUMER_GROUP_DESCRIBE = 69, DESCRIBE_CONFIGS = 32, INCREMENTAL_ALTER_CONFIGS = 44;
const NOT_REQUESTED = -2147483648;

const kafkaError = (name: string, ...mentions: string[]) => (e: unknown): boolean => {
  assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
  assert.equal(e.kafkaError, name, e.message);
  for (const m of mentions) assert.ok(e.message.includes(m), `${e.message} should mention ${m}`);
  return true;
};

describe('dynamic broker configs', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let admin: Admin;
  let node: string;

  const start = async (): Promise<void> => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'num.partitions': '1', 'log.retention.hours': '100' } });
    admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    await admin.connect();
    node = String(broker.nodeId);
  };
  const stop = async (): Promise<void> => {
    await admin.close();
    await broker.close();
  };
  const brokerEntry = async (name: string, key: string): Promise<ConfigEntry | undefined> =>
    (await admin.describeConfigs([{ type: 'broker', name, keys: [key] }], { includeSynonyms: true }))[0]!.configs[0];
  const topicEntry = async (topic: string, key: string): Promise<ConfigEntry> =>
    (await admin.describeConfigs([{ type: 'topic', name: topic, keys: [key] }], { includeSynonyms: true }))[0]!.configs[0]!;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-dyncfg-'));
    await start();
    await admin.createTopics([{ name: 'plain', numPartitions: 1 }, { name: 'own', numPartitions: 1, configs: { 'max.message.bytes': '100000' } }]);
  });
  after(async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('describe: read-only flags and sources of static, default and synonym keys', async () => {
    const hours = await brokerEntry(node, 'log.retention.hours');
    assert.equal(hours?.value, '100');
    assert.equal(hours?.source, 'STATIC_BROKER_CONFIG');
    assert.equal(hours?.readOnly, true, 'only the millisecond key of the family is dynamic, as in Kafka');
    const ms = await brokerEntry(node, 'log.retention.ms');
    assert.equal(ms?.readOnly, false);
    assert.equal(ms?.value, null);
    assert.equal(ms?.source, 'STATIC_BROKER_CONFIG', 'the family synonym log.retention.hours decides');
    assert.deepEqual(ms?.synonyms.map((s) => [s.name, s.value, s.source]), [
      ['log.retention.hours', '100', 'STATIC_BROKER_CONFIG'], ['log.retention.hours', '168', 'DEFAULT_CONFIG'],
    ]);
    assert.equal((await brokerEntry(node, 'num.partitions'))?.readOnly, true);
    assert.equal((await brokerEntry(node, 'auto.create.topics.enable'))?.readOnly, true);
    const mmb = await brokerEntry(node, 'message.max.bytes');
    assert.deepEqual([mmb?.value, mmb?.source, mmb?.readOnly], ['1048588', 'DEFAULT_CONFIG', false]);
    assert.deepEqual((await admin.describeConfigs([{ type: 'broker', name: '' }]))[0]!.configs, [], 'no dynamic defaults yet');
    await assert.rejects(admin.describeConfigs([{ type: 'broker', name: '77' }]), kafkaError('INVALID_REQUEST', 'Unexpected broker id'));
  });

  test('a cluster default reaches existing topics without an override at once; a per-broker value wins over it', async () => {
    const big = 'x'.repeat(3000);
    assert.equal(typeof await produce(broker.address, 'plain', 0, [big]), 'number');
    await admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'message.max.bytes', op: 'set', value: '2000' }] }]);
    const dflt = (await admin.describeConfigs([{ type: 'broker', name: '' }], { includeSynonyms: true }))[0]!.configs;
    assert.deepEqual(dflt.map((c) => [c.name, c.value, c.source]), [['message.max.bytes', '2000', 'DYNAMIC_DEFAULT_BROKER_CONFIG']]);
    const topic = await topicEntry('plain', 'max.message.bytes');
    assert.deepEqual([topic.value, topic.source], ['2000', 'DYNAMIC_DEFAULT_BROKER_CONFIG']);
    assert.deepEqual(topic.synonyms.map((s) => [s.name, s.value, s.source]), [
      ['message.max.bytes', '2000', 'DYNAMIC_DEFAULT_BROKER_CONFIG'], ['message.max.bytes', '1048588', 'DEFAULT_CONFIG'],
    ]);
    await assert.rejects(produce(broker.address, 'plain', 0, [big]), /error 10\b/, 'MESSAGE_TOO_LARGE on the topic created before the change');
    assert.equal(typeof await produce(broker.address, 'own', 0, [big]), 'number', 'a topic override is not affected');
    assert.equal((await topicEntry('own', 'max.message.bytes')).source, 'DYNAMIC_TOPIC_CONFIG');

    await admin.alterConfigs([{ type: 'broker', name: node, set: { 'message.max.bytes': '5000', 'log.retention.ms': '60000' } }]);
    const mine = await brokerEntry(node, 'message.max.bytes');
    assert.deepEqual([mine?.value, mine?.source], ['5000', 'DYNAMIC_BROKER_CONFIG']);
    assert.deepEqual(mine?.synonyms.map((s) => s.source), ['DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'DEFAULT_CONFIG']);
    assert.equal(typeof await produce(broker.address, 'plain', 0, [big]), 'number');
    assert.equal(broker.context.topics.log('plain', 0).config.retentionMs, 60000, 'the log itself runs with the new retention');
    assert.equal((await topicEntry('plain', 'retention.ms')).source, 'DYNAMIC_BROKER_CONFIG');
    assert.equal(broker.config.get('log.retention.ms'), '60000');
  });

  test('refusals: read-only keys, bad values, foreign broker ids, thread pools out of range, append on a scalar', async () => {
    const alter = (name: string, ops: Parameters<Admin['incrementalAlterConfigs']>[0][number]['ops']) =>
      admin.incrementalAlterConfigs([{ type: 'broker', name, ops }]);
    await assert.rejects(alter('', [{ name: 'num.partitions', op: 'set', value: '4' }]), kafkaError('INVALID_REQUEST', 'Cannot update these configs dynamically', 'num.partitions'));
    await assert.rejects(alter(node, [{ name: 'auto.create.topics.enable', op: 'set', value: 'false' }]), kafkaError('INVALID_REQUEST', 'auto.create.topics.enable'));
    await assert.rejects(alter(node, [{ name: 'log.retention.hours', op: 'set', value: '1' }]), kafkaError('INVALID_REQUEST', 'log.retention.hours'));
    await assert.rejects(alter('', [{ name: 'log.segment.bytes', op: 'set', value: 'big' }]), kafkaError('INVALID_REQUEST', 'log.segment.bytes'));
    await assert.rejects(alter('', [{ name: 'log.cleanup.policy', op: 'set', value: 'shred' }]), kafkaError('INVALID_REQUEST', 'log.cleanup.policy'));
    await assert.rejects(alter('9', [{ name: 'log.retention.ms', op: 'set', value: '1' }]), kafkaError('INVALID_REQUEST', 'Unexpected broker id'));
    await assert.rejects(alter('x', [{ name: 'log.retention.ms', op: 'set', value: '1' }]), kafkaError('INVALID_REQUEST', 'must be an integer'));
    await assert.rejects(alter('', [{ name: 'num.io.threads', op: 'set', value: '100' }]), kafkaError('INVALID_REQUEST', 'double the current value 8'));
    await alter('', [{ name: 'num.io.threads', op: 'set', value: '16' }]);
    await assert.rejects(alter('', [{ name: 'message.max.bytes', op: 'append', value: '1' }]), kafkaError('INVALID_CONFIG', 'append'));
    await alter('', [{ name: 'log.cleanup.policy', op: 'append', value: 'compact' }]);
    assert.equal((await brokerEntry('', 'log.cleanup.policy'))?.value, 'delete,compact', 'APPEND starts from the default');
    await alter('', [{ name: 'log.cleanup.policy', op: 'delete' }]);
    assert.equal(await brokerEntry('', 'log.cleanup.policy'), undefined);
    // validateOnly checks and changes nothing.
    await admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'log.segment.bytes', op: 'set', value: '1048576' }] }], { validateOnly: true });
    assert.equal(await brokerEntry('', 'log.segment.bytes'), undefined);
    // A key Kafka does not define is stored, as Kafka does.
    await alter('', [{ name: 'custom.plugin.setting', op: 'set', value: 'on' }]);
    assert.equal((await brokerEntry('', 'custom.plugin.setting'))?.value, 'on');
  });

  test('legacy AlterConfigs replaces the whole dynamic set of the resource', async () => {
    await admin.replaceConfigs([{ type: 'broker', name: '', configs: { 'message.max.bytes': '3000', 'log.retention.bytes': '1000000' } }]);
    const dflt = (await admin.describeConfigs([{ type: 'broker', name: '' }]))[0]!.configs;
    assert.deepEqual(dflt.map((c) => [c.name, c.value]), [['log.retention.bytes', '1000000'], ['message.max.bytes', '3000']]);
    await assert.rejects(admin.replaceConfigs([{ type: 'broker', name: node, configs: { 'delete.topic.enable': 'false' } }]), kafkaError('INVALID_REQUEST'));
    assert.equal((await brokerEntry(node, 'message.max.bytes'))?.value, '5000', 'the refused replace left the per-broker set alone');
  });

  test('BROKER_LOGGER: the root level is described and set; it cannot be removed', async () => {
    const root = async () => (await admin.describeConfigs([{ type: 'broker-logger', name: node }]))[0]!.configs;
    assert.deepEqual((await root()).map((c) => [c.name, c.value, c.source]), [['root', 'OFF', 'DYNAMIC_BROKER_LOGGER_CONFIG']]);
    await admin.incrementalAlterConfigs([{ type: 'broker-logger', name: node, ops: [{ name: 'root', op: 'set', value: 'ERROR' }] }]);
    assert.equal((await root())[0]!.value, 'ERROR');
    await assert.rejects(admin.incrementalAlterConfigs([{ type: 'broker-logger', name: node, ops: [{ name: 'root', op: 'delete' }] }]), kafkaError('INVALID_REQUEST', 'root'));
    await assert.rejects(admin.incrementalAlterConfigs([{ type: 'broker-logger', name: node, ops: [{ name: 'root', op: 'set', value: 'LOUD' }] }]), kafkaError('INVALID_CONFIG', 'LOUD'));
    await assert.rejects(admin.incrementalAlterConfigs([{ type: 'broker-logger', name: node, ops: [{ name: 'kafka.server', op: 'set', value: 'INFO' }] }]), kafkaError('INVALID_CONFIG', 'does not exist'));
    await assert.rejects(admin.replaceConfigs([{ type: 'broker-logger', name: node, configs: { root: 'INFO' } }]), kafkaError('INVALID_REQUEST', 'IncrementalAlterConfigs'));
  });

  test('dynamic configs survive a restart and apply before the logs open', async () => {
    await stop();
    const file = join(dataDir, DYNAMIC_CONFIGS_FILE);
    assert.ok(existsSync(file));
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { version: number; clusterDefault: Record<string, string>; brokers: Record<string, Record<string, string>> };
    assert.equal(doc.version, 1);
    assert.equal(doc.clusterDefault['message.max.bytes'], '3000');
    await start();
    assert.equal((await brokerEntry(node, 'message.max.bytes'))?.source, 'DYNAMIC_BROKER_CONFIG');
    assert.equal((await brokerEntry(node, 'message.max.bytes'))?.value, '5000');
    assert.equal(broker.context.topics.log('plain', 0).config.retentionMs, 60000);
    assert.equal(broker.context.topics.log('plain', 0).config.retentionBytes, 1000000);
    // Deleting the per-broker value falls back to the cluster default, at once.
    await admin.alterConfigs([{ type: 'broker', name: node, delete: ['message.max.bytes'] }]);
    assert.equal(broker.context.topics.log('plain', 0).config.maxMessageBytes, 3000);
  });
});

describe('include_authorized_operations', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let client: RawClient;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-authops-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'group.initial.rebalance.delay.ms': '0' } });
    client = await RawClient.connect(broker.address);
    await broker.context.topics.create('ops', { partitions: 1, replicationFactor: 1 });
  });
  after(async () => {
    client.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('Metadata, DescribeCluster, DescribeGroups and ConsumerGroupDescribe answer every operation when asked', async () => {
    const md = await client.send(METADATA, 10, { topics: [{ name: 'ops', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    assert.equal(md.clusterAuthorizedOperations, 8096, 'CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE');
    assert.equal(md.topics[0].topicAuthorizedOperations, 3576, 'READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS');
    const plain = await client.send(METADATA, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(plain.topics[0].topicAuthorizedOperations, NOT_REQUESTED);

    const admin = new Admin({ bootstrapServers: broker.address });
    try {
      const cluster = await admin.describeCluster({ includeAuthorizedOperations: true });
      assert.deepEqual(cluster.authorizedOperations, ['CREATE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE']);
      assert.equal((await admin.describeCluster()).authorizedOperations, undefined);
    } finally {
      await admin.close();
    }

    const groups = await client.send(DESCRIBE_GROUPS, 5, { groups: ['nobody'], includeAuthorizedOperations: true });
    assert.equal(groups.groups[0].authorizedOperations, 3400, 'READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS');
    const unasked = await client.send(DESCRIBE_GROUPS, 5, { groups: ['nobody'], includeAuthorizedOperations: false });
    assert.equal(unasked.groups[0].authorizedOperations, NOT_REQUESTED);

    const member = await joinConsumerMember(broker.address, 'cg-ops', ['ops']);
    try {
      const cg = await client.send(CONSUMER_GROUP_DESCRIBE, 0, { groupIds: ['cg-ops', 'cg-none'], includeAuthorizedOperations: true });
      assert.equal(cg.groups[0].authorizedOperations, 3400);
      assert.notEqual(cg.groups[1].errorCode, 0);
      assert.equal(cg.groups[1].authorizedOperations, NOT_REQUESTED, 'only groups described without error carry them');
    } finally {
      await member.leave();
    }
  });

  test('raw DescribeConfigs v0 and IncrementalAlterConfigs on BROKER', async () => {
    const set = await client.send(INCREMENTAL_ALTER_CONFIGS, 1, { resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1234' }] }], validateOnly: false });
    assert.equal(set.responses[0].errorCode, 0);
    const v0 = await client.send(DESCRIBE_CONFIGS, 0, { resources: [{ resourceType: 4, resourceName: String(broker.nodeId), configurationKeys: ['log.retention.ms'] }] });
    assert.deepEqual(v0.results[0].configs.map((c: any) => [c.name, c.value, c.readOnly, c.isDefault]), [['log.retention.ms', '1234', false, false]]);
  });
});
