/**
 * Dynamic broker configs through a real client: kafkajs 2.2.4 (DescribeConfigs with synonyms, legacy
 * AlterConfigs on the BROKER resource). A default changed this way reaches a topic that already exists.
 * (@platformatic/kafka 1.22, the version pinned for Node 20, has no config admin calls.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin as KafkajsAdmin } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { Admin } from '../../src/client/admin.js';

/** kafkajs' ConfigResourceTypes (a TypeScript enum it does not export at run time under ESM). */
const ConfigResourceTypes = { TOPIC: 2, BROKER: 4 } as const;
const SOURCE = { DYNAMIC_TOPIC: 1, DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5 };

describe('dynamic broker configs with kafkajs', () => {
  let broker: TestBroker;
  let kafkajs: KafkajsAdmin;
  let node: string;

  before(async () => {
    broker = await startTestBroker({ 'log.segment.bytes': '104857600' });
    kafkajs = new Kafka({ clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await kafkajs.connect();
    node = String((await kafkajs.describeCluster()).brokers[0]!.nodeId);
    await kafkajs.createTopics({ topics: [{ topic: 'cfg-existing', numPartitions: 1 }] });
  });
  after(async () => {
    await kafkajs?.disconnect();
    await broker?.close();
  });

  const kafkajsDescribe = async (type: number, name: string, key: string) => {
    const res = await kafkajs.describeConfigs({ includeSynonyms: true, resources: [{ type, name, configNames: [key] }] });
    return res.resources[0]!.configEntries.find((e) => e.configName === key);
  };

  test('kafkajs: describe the broker with synonyms; legacy AlterConfigs sets and replaces per-broker values', async () => {
    const seg = await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'log.segment.bytes');
    assert.equal(seg?.configValue, '104857600');
    assert.equal(seg?.configSource, SOURCE.STATIC_BROKER);
    assert.equal(seg?.readOnly, false);
    assert.deepEqual(seg?.configSynonyms.map((s) => [s.configName, s.configSource]), [['log.segment.bytes', SOURCE.STATIC_BROKER], ['log.segment.bytes', SOURCE.DEFAULT]]);
    assert.equal((await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'num.partitions'))?.readOnly, true);

    await kafkajs.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'log.retention.ms', value: '7200000' }] }] });
    const ret = await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'log.retention.ms');
    assert.deepEqual([ret?.configValue, ret?.configSource], ['7200000', SOURCE.DYNAMIC_BROKER]);
    const topic = await kafkajsDescribe(ConfigResourceTypes.TOPIC, 'cfg-existing', 'retention.ms');
    assert.deepEqual([topic?.configValue, topic?.configSource], ['7200000', SOURCE.DYNAMIC_BROKER], 'the existing topic follows the new default');

    await assert.rejects(
      kafkajs.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'num.partitions', value: '9' }] }] }),
      (e: Error & { type?: string }) => e.type === 'INVALID_REQUEST' || /INVALID_REQUEST|dynamically/.test(e.message),
    );
    // Legacy AlterConfigs replaces the resource's whole set: log.retention.ms goes back to the static/default value.
    await kafkajs.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'log.flush.interval.messages', value: '1000' }] }] });
    assert.equal((await kafkajsDescribe(ConfigResourceTypes.TOPIC, 'cfg-existing', 'retention.ms'))?.configSource, SOURCE.DEFAULT);
    assert.equal((await kafkajsDescribe(ConfigResourceTypes.TOPIC, 'cfg-existing', 'flush.messages'))?.configValue, '1000');
  });

  // kafkajs refuses an empty resource name, so the cluster default ("") is set with Tributary's own Admin;
  // kafkajs sees its effect and layers a per-broker value over it.
  test('kafkajs: a cluster default and a per-broker value, each with its source and synonyms', async () => {
    const own = new Admin({ bootstrapServers: broker.address });
    try {
      await own.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'message.max.bytes', op: 'set', value: '200000' }] }]);
    } finally {
      await own.close();
    }
    const dflt = await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'message.max.bytes');
    assert.deepEqual([dflt?.configValue, dflt?.configSource], ['200000', SOURCE.DYNAMIC_DEFAULT_BROKER]);
    await kafkajs.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'message.max.bytes', value: '300000' }] }] });
    const mine = await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'message.max.bytes');
    assert.deepEqual(mine?.configSynonyms.map((s) => [s.configValue, s.configSource]), [['300000', SOURCE.DYNAMIC_BROKER], ['200000', SOURCE.DYNAMIC_DEFAULT_BROKER], ['1048588', SOURCE.DEFAULT]]);
    const topic = await kafkajsDescribe(ConfigResourceTypes.TOPIC, 'cfg-existing', 'max.message.bytes');
    assert.deepEqual([topic?.configValue, topic?.configSource], ['300000', SOURCE.DYNAMIC_BROKER]);
    // validateOnly checks without applying; a bad value is refused.
    await kafkajs.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'message.max.bytes', value: '1000' }] }] });
    assert.equal((await kafkajsDescribe(ConfigResourceTypes.BROKER, node, 'message.max.bytes'))?.configValue, '300000');
    await assert.rejects(kafkajs.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: node, configEntries: [{ name: 'log.segment.bytes', value: 'huge' }] }] }));
  });
});
