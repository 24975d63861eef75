/**
 * Dynamic broker configs through real clients: kafkajs 2.2.4 (DescribeConfigs with synonyms, legacy
 * AlterConfigs on the BROKER resource) and @platformatic/kafka (IncrementalAlterConfigs
 * on the broker, DescribeConfigs v4). A default changed this way reaches a topic that already exists.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Admin as KafkajsAdmin } from 'kafkajs';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { Admin } from '../../src/client/admin.js';

const BROKER = 4;
/** kafkajs' ConfigResourceTypes (a TypeScript enum it does not export at run time under ESM). */
const ConfigResourceTypes = { TOPIC: 2, BROKER: 4 } as const;
const SET = 0, DELETE = 1;
const SOURCE = { DYNAMIC_TOPIC: 1, DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5 };

describe('dynamic broker configs with kafkajs and @platformatic/kafka', () => {
  let broker: TestBroker;
  let kafkajs: KafkajsAdmin;
  let platformatic: PlatformaticAdmin;
  let node: string;

  before(async () => {
    broker = await startTestBroker({ 'log.segment.bytes': '104857600' });
    kafkajs = new Kafka({ clientId: 'tributary-compat', brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await kafkajs.connect();
    platformatic = new PlatformaticAdmin({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address] });
    node = String((await kafkajs.describeCluster()).brokers[0]!.nodeId);
    await kafkajs.createTopics({ topics: [{ topic: 'cfg-existing', numPartitions: 1 }] });
  });
  after(async () => {
    await platformatic?.close();
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

  // Neither client can name the cluster default (""): kafkajs refuses an empty name, @platformatic/kafka routes
  // it to broker 0. It is set with Tributary's own Admin; the real clients see its effect.
  test('@platformatic/kafka: IncrementalAlterConfigs on the broker over a cluster default; DescribeConfigs shows the layers', async () => {
    const own = new Admin({ bootstrapServers: broker.address });
    try {
      await own.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'message.max.bytes', op: 'set', value: '200000' }] }]);
    } finally {
      await own.close();
    }

    await platformatic.incrementalAlterConfigs({
      resources: [{ resourceType: BROKER, resourceName: node, configs: [{ name: 'message.max.bytes', configOperation: SET, value: '300000' }] }],
    });
    const [mine] = await platformatic.describeConfigs({ resources: [{ resourceType: BROKER, resourceName: node, configurationKeys: ['message.max.bytes'] }], includeSynonyms: true });
    assert.deepEqual(mine!.configs[0]!.synonyms.map((s) => [s.value, s.source]), [['300000', SOURCE.DYNAMIC_BROKER], ['200000', SOURCE.DYNAMIC_DEFAULT_BROKER], ['1048588', SOURCE.DEFAULT]]);
    const [topic] = await platformatic.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'cfg-existing', configurationKeys: ['max.message.bytes'] }] });
    assert.deepEqual(topic!.configs.map((c) => [c.value, c.configSource]), [['300000', SOURCE.DYNAMIC_BROKER]]);

    await platformatic.incrementalAlterConfigs({ resources: [{ resourceType: BROKER, resourceName: node, configs: [{ name: 'message.max.bytes', configOperation: DELETE }] }] });
    const [after1] = await platformatic.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'cfg-existing', configurationKeys: ['max.message.bytes'] }] });
    assert.deepEqual(after1!.configs.map((c) => [c.value, c.configSource]), [['200000', SOURCE.DYNAMIC_DEFAULT_BROKER]]);

    await assert.rejects(platformatic.incrementalAlterConfigs({
      resources: [{ resourceType: BROKER, resourceName: node, configs: [{ name: 'log.segment.bytes', configOperation: SET, value: 'huge' }] }],
    }));
  });
});
