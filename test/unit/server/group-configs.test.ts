import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { RawClient } from '../../helpers/raw-client.js';

const DESCRIBE_CONFIGS = 32, INCREMENTAL_ALTER_CONFIGS = 44, CG_HEARTBEAT = 68;
const GROUP = 32;
const SET = 0, DELETE = 1, APPEND = 2;
const CONFIG = { 'group.consumer.heartbeat.interval.ms': '5000', 'offsets.topic.num.partitions': '2' };

describe('GROUP config resource (consumer.session.timeout.ms, consumer.heartbeat.interval.ms)', () => {
  let dir: string;
  let broker: RunningBroker;
  let client: RawClient;

  const alter = async (group: string, configs: Array<{ name: string; configOperation: number; value: string | null }>, validateOnly = false) =>
    (await client.send(INCREMENTAL_ALTER_CONFIGS, 1, { resources: [{ resourceType: GROUP, resourceName: group, configs }], validateOnly })).responses[0];
  const describeGroup = async (group: string, keys: string[] | null = null) =>
    (await client.send(DESCRIBE_CONFIGS, 4, { resources: [{ resourceType: GROUP, resourceName: group, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false })).results[0];
  // DescribeConfigs v1+ says "default" with configSource 5 (DEFAULT_CONFIG); 8 is GROUP_CONFIG.
  const valueOf = (r: any, name: string): { value: string; isDefault: boolean } => {
    const c = r.configs.find((e: any) => e.name === name);
    return { value: c.value, isDefault: c.configSource === 5 };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-group-configs-'));
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
  });
  after(async () => {
    client.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('describe: the broker defaults for a group without overrides (a group need not exist)', async () => {
    const r = await describeGroup('nobody-yet');
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(r.configs.map((c: any) => c.name), ['consumer.heartbeat.interval.ms', 'consumer.session.timeout.ms']);
    assert.deepEqual(valueOf(r, 'consumer.session.timeout.ms'), { value: '45000', isDefault: true });
    assert.equal(valueOf(r, 'consumer.heartbeat.interval.ms').value, '5000');
    assert.equal((await describeGroup('')).errorCode, ErrorCode.INVALID_REQUEST);
  });

  test("alter: Kafka's validation against the broker's group.consumer.min/max bounds", async () => {
    const refused = async (configs: Array<{ name: string; configOperation: number; value: string | null }>, pattern: RegExp) => {
      const r = await alter('g1', configs);
      assert.equal(r.errorCode, ErrorCode.INVALID_CONFIG, JSON.stringify(configs));
      assert.match(r.errorMessage, pattern);
    };
    await refused([{ name: 'consumer.session.timeout.ms', configOperation: SET, value: '44999' }], /greater than or equal to group.consumer.min.session.timeout.ms/);
    await refused([{ name: 'consumer.session.timeout.ms', configOperation: SET, value: '60001' }], /less than or equal to group.consumer.max.session.timeout.ms/);
    await refused([{ name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '4999' }], /group.consumer.min.heartbeat.interval.ms/);
    await refused([{ name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '15001' }], /group.consumer.max.heartbeat.interval.ms/);
    await refused([{ name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: 'soon' }], /Not a number/);
    await refused([{ name: 'session.timeout.ms', configOperation: SET, value: '50000' }], /Unknown group config name/);
    await refused([{ name: 'consumer.heartbeat.interval.ms', configOperation: APPEND, value: '1' }], /not allowed/);
    assert.equal((await describeGroup('g1')).configs.every((c: any) => c.configSource === 5), true, 'nothing applied');
    const validateOnly = await alter('g1', [{ name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '6000' }], true);
    assert.equal(validateOnly.errorCode, ErrorCode.NONE);
    assert.equal(valueOf(await describeGroup('g1'), 'consumer.heartbeat.interval.ms').isDefault, true, 'validateOnly changes nothing');
  });

  test('an override is used by the coordinator for that group, survives a restart, and DELETE restores the default', async () => {
    const ok = await alter('g2', [
      { name: 'consumer.heartbeat.interval.ms', configOperation: SET, value: '7000' },
      { name: 'consumer.session.timeout.ms', configOperation: SET, value: '50000' },
    ]);
    assert.equal(ok.errorCode, ErrorCode.NONE, ok.errorMessage);
    const d = await describeGroup('g2', ['consumer.heartbeat.interval.ms']);
    assert.deepEqual(d.configs.map((c: any) => [c.name, c.value, c.configSource]), [['consumer.heartbeat.interval.ms', '7000', 8]]);

    const join = (group: string) => client.send(CG_HEARTBEAT, 1, {
      groupId: group, memberId: `m-${group}`, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [], subscribedTopicRegex: '', serverAssignor: null, topicPartitions: [],
    });
    assert.equal((await join('g2')).heartbeatIntervalMs, 7000);
    assert.equal((await join('other')).heartbeatIntervalMs, 5000, 'other groups keep the broker default');

    client.close();
    await broker.close();
    broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: CONFIG });
    client = await RawClient.connect(broker.address);
    assert.equal(valueOf(await describeGroup('g2'), 'consumer.session.timeout.ms').value, '50000', 'persisted');

    assert.equal((await alter('g2', [{ name: 'consumer.heartbeat.interval.ms', configOperation: DELETE, value: null }])).errorCode, ErrorCode.NONE);
    const after = await describeGroup('g2');
    assert.equal(valueOf(after, 'consumer.heartbeat.interval.ms').isDefault, true);
    assert.equal(valueOf(after, 'consumer.session.timeout.ms').value, '50000');
  });
});
