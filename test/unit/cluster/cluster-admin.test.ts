/**
 * Administration of a three-broker cluster on one real etcd: dynamic broker configs stored in etcd and applied
 * by every broker, topic configs seen by every broker, KIP-951 leader hints on Produce and Fetch, per-broker
 * DescribeLogDirs, DescribeCluster, `tributary topics describe` and kafka-topics.sh --describe with real
 * leaders, and an offline partition (two of three brokers closed) in Metadata and the partition filters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { RawClient } from '../../helpers/raw-client.js';
import { runCli, runKafkaScript } from '../../helpers/cli.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const PRODUCE = 0, FETCH = 1, METADATA = 3, DESCRIBE_CONFIGS = 32, DESCRIBE_LOG_DIRS = 35, INCREMENTAL_ALTER_CONFIGS = 44, DESCRIBE_CLUSTER = 60, DESCRIBE_TOPIC_PARTITIONS = 75;
const BROKER = 4, TOPIC = 2;
const DYNAMIC_TOPIC_CONFIG = 1, DYNAMIC_BROKER_CONFIG = 2, DYNAMIC_DEFAULT_BROKER_CONFIG = 3;

describe('administering a three-broker cluster on etcd', () => {
  const cluster = new InProcessCluster('cluster-admin');
  const { brokers } = cluster;
  /** One request to one broker over a fresh connection. */
  const ask = async (id: number, apiKey: number, version: number, body: unknown): Promise<any> => {
    const c = await RawClient.connect(brokers.get(id)!.address);
    try {
      return await c.send(apiKey, version, body);
    } finally {
      c.close();
    }
  };
  const describeConfig = async (id: number, resourceType: number, resourceName: string, key: string): Promise<{ errorCode: number; value?: string | null; source?: number }> => {
    const res = await ask(id, DESCRIBE_CONFIGS, 4, { resources: [{ resourceType, resourceName, configurationKeys: [key] }], includeSynonyms: false, includeDocumentation: false });
    const r = res.results[0];
    const c = r.configs.find((x: { name: string }) => x.name === key);
    return { errorCode: r.errorCode, value: c?.value, source: c?.configSource };
  };
  const alterBroker = async (via: number, resourceName: string, name: string, value: string | null): Promise<{ errorCode: number; errorMessage: string | null }> => {
    const res = await ask(via, INCREMENTAL_ALTER_CONFIGS, 1, {
      resources: [{ resourceType: BROKER, resourceName, configs: [{ name, configOperation: value === null ? 1 : 0, value }] }], validateOnly: false,
    });
    return res.responses[0];
  };

  before(async () => {
    await cluster.open([1, 2, 3]);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await until('three brokers registered', async () => (await admin.describeCluster()).brokers.length === 3);
    } finally {
      await admin.close();
    }
  });

  after(async () => cluster.close());

  test('a cluster-default broker config set through broker 1 applies on every broker (DYNAMIC_DEFAULT_BROKER_CONFIG)', async () => {
    assert.deepEqual(await alterBroker(1, '', 'log.retention.ms', '3600000'), { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: BROKER, resourceName: '' });
    // Read-your-writes on the broker that took it; the others as their watch delivers it.
    assert.equal(brokers.get(1)!.context.config.get('log.retention.ms'), '3600000');
    await until('every broker applied the default', () => [1, 2, 3].every((id) => brokers.get(id)!.context.config.get('log.retention.ms') === '3600000'));
    for (const id of [1, 2, 3]) {
      assert.deepEqual(await describeConfig(id, BROKER, String(id), 'log.retention.ms'), { errorCode: 0, value: '3600000', source: DYNAMIC_DEFAULT_BROKER_CONFIG });
      assert.deepEqual(await describeConfig(id, BROKER, '', 'log.retention.ms'), { errorCode: 0, value: '3600000', source: DYNAMIC_DEFAULT_BROKER_CONFIG });
    }
    // A bad value is refused before anything is written.
    assert.equal((await alterBroker(2, '', 'log.retention.ms', 'soon')).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(brokers.get(3)!.context.config.get('log.retention.ms'), '3600000');
    // kafka-configs.sh --entity-default through broker 1 alone reaches broker 3.
    const viaScript = await runKafkaScript('kafka-configs.sh', ['--bootstrap-server', brokers.get(1)!.address, '--entity-type', 'brokers', '--entity-default', '--alter', '--add-config', 'log.segment.bytes=2097152'], { timeoutMs: 20_000 });
    assert.equal(viaScript.code, 0, viaScript.stderr);
    await until('broker 3 applied the script\'s default', () => brokers.get(3)!.context.config.get('log.segment.bytes') === '2097152');
    assert.deepEqual(await describeConfig(3, BROKER, '3', 'log.segment.bytes'), { errorCode: 0, value: '2097152', source: DYNAMIC_DEFAULT_BROKER_CONFIG });
    assert.equal((await alterBroker(2, '', 'log.segment.bytes', null)).errorCode, ErrorCode.NONE);
    assert.deepEqual(await describeConfig(2, BROKER, '', 'log.segment.bytes'), { errorCode: 0, value: undefined, source: undefined });
  });

  test('a per-broker config for broker 2 sent to broker 1 applies on broker 2 only (DYNAMIC_BROKER_CONFIG)', async () => {
    assert.equal((await alterBroker(1, '2', 'log.retention.ms', '7200000')).errorCode, ErrorCode.NONE);
    await until('broker 2 applied its config', () => brokers.get(2)!.context.config.get('log.retention.ms') === '7200000');
    assert.deepEqual(await describeConfig(2, BROKER, '2', 'log.retention.ms'), { errorCode: 0, value: '7200000', source: DYNAMIC_BROKER_CONFIG });
    for (const id of [1, 3]) assert.deepEqual(await describeConfig(id, BROKER, String(id), 'log.retention.ms'), { errorCode: 0, value: '3600000', source: DYNAMIC_DEFAULT_BROKER_CONFIG });
    // Describing another broker's own configs still needs that broker, as in Kafka.
    assert.equal((await describeConfig(1, BROKER, '2', 'log.retention.ms')).errorCode, ErrorCode.INVALID_REQUEST);
    // Deleting it (through broker 3) falls back to the cluster default.
    assert.equal((await alterBroker(3, '2', 'log.retention.ms', null)).errorCode, ErrorCode.NONE);
    await until('broker 2 back on the default', () => brokers.get(2)!.context.config.get('log.retention.ms') === '3600000');
    assert.deepEqual(await describeConfig(2, BROKER, '2', 'log.retention.ms'), { errorCode: 0, value: '3600000', source: DYNAMIC_DEFAULT_BROKER_CONFIG });
    assert.equal((await alterBroker(1, '', 'log.retention.ms', null)).errorCode, ErrorCode.NONE);
    await until('the default removed everywhere', () => [1, 2, 3].every((id) => brokers.get(id)!.context.config.get('log.retention.ms') !== '3600000'));
  });

  test('a topic config altered through one broker is described by every broker', async () => {
    const admin = new Admin({ bootstrapServers: brokers.get(1)!.address });
    try {
      await admin.createTopics([{ name: 'cfg', numPartitions: 1, replicationFactor: 3 }]);
      await admin.alterConfigs([{ type: 'topic', name: 'cfg', set: { 'retention.ms': '123456' } }]);
    } finally {
      await admin.close();
    }
    await until('every broker sees the topic config', async () => {
      for (const id of [1, 2, 3]) if ((await describeConfig(id, TOPIC, 'cfg', 'retention.ms')).value !== '123456') return false;
      return true;
    });
    for (const id of [1, 2, 3]) assert.deepEqual(await describeConfig(id, TOPIC, 'cfg', 'retention.ms'), { errorCode: 0, value: '123456', source: DYNAMIC_TOPIC_CONFIG });
  });

  test('KIP-951: Produce v11 and Fetch v16 at a follower name the current leader, its epoch and its endpoint', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let leader: number, topicId: string;
    try {
      await admin.createTopics([{ name: 'hints', numPartitions: 1, replicationFactor: 3 }]);
      const [t] = await admin.describeTopics(['hints']);
      leader = t!.partitions[0]!.leader;
      topicId = t!.topicId;
    } finally {
      await admin.close();
    }
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const info = brokers.get(follower)!.context.replication.partitionInfo('hints', 0)!;
    assert.equal(info.leader, leader);
    const leaderBroker = brokers.get(leader)!;
    const endpoint = { nodeId: leader, host: leaderBroker.context.advertisedHost, port: leaderBroker.context.advertisedPort, rack: null };

    const batch = buildRecordBatch([{ value: Buffer.from('x') }]);
    const produce = (version: number) => ask(follower, PRODUCE, version, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'hints', partitionData: [{ index: 0, records: Buffer.from(batch) }] }] });
    const p11 = await produce(11);
    const pr = p11.responses[0].partitionResponses[0];
    assert.equal(pr.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(pr.currentLeader, { leaderId: leader, leaderEpoch: info.leaderEpoch });
    assert.deepEqual(p11.nodeEndpoints, [endpoint]);
    // v9 has no such fields: the defaults come back.
    const p9 = await produce(9);
    assert.deepEqual(p9.responses[0].partitionResponses[0].currentLeader, { leaderId: -1, leaderEpoch: -1 });
    // At the leader, a produce succeeds and carries no hint.
    const atLeader = await ask(leader, PRODUCE, 11, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'hints', partitionData: [{ index: 0, records: Buffer.from(batch) }] }] });
    assert.equal(atLeader.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(atLeader.nodeEndpoints, []);

    const fetch = (id: number, currentLeaderEpoch: number) => ask(id, FETCH, 16, {
      replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const f = await fetch(follower, -1);
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.deepEqual(f.responses[0].partitions[0].currentLeader, { leaderId: leader, leaderEpoch: info.leaderEpoch });
    assert.deepEqual(f.nodeEndpoints, [endpoint]);
    const ok = await fetch(leader, info.leaderEpoch);
    assert.equal(ok.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.deepEqual(ok.nodeEndpoints, []);

    // The leader goes (controlled shutdown): the new leader answers a fetch at the old epoch FENCED_LEADER_EPOCH,
    // naming itself at the new epoch, and the old leader, once back as a follower, points at it.
    await cluster.stop(leader);
    await until('a new leader for hints-0', () => {
      const now = brokers.get(follower)!.context.replication.partitionInfo('hints', 0)!;
      return now.leader >= 0 && now.leader !== leader;
    });
    const moved = brokers.get(follower)!.context.replication.partitionInfo('hints', 0)!;
    assert.ok(moved.leaderEpoch > info.leaderEpoch);
    await until('the new leader leads', () => brokers.get(moved.leader)!.context.replication.checkLeaderEpoch('hints', 0, -1) === ErrorCode.NONE);
    const fenced = await fetch(moved.leader, info.leaderEpoch);
    assert.equal(fenced.responses[0].partitions[0].errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.deepEqual(fenced.responses[0].partitions[0].currentLeader, { leaderId: moved.leader, leaderEpoch: moved.leaderEpoch });
    const newLeader = brokers.get(moved.leader)!;
    assert.deepEqual(fenced.nodeEndpoints, [{ nodeId: moved.leader, host: newLeader.context.advertisedHost, port: newLeader.context.advertisedPort, rack: null }]);
    await cluster.start(leader);
    await until('the old leader a follower again', () => brokers.get(leader)!.context.replication.partitionInfo('hints', 0)?.leader === moved.leader);
    const back = await fetch(leader, -1);
    assert.equal(back.responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(back.responses[0].partitions[0].currentLeader.leaderId, moved.leader);
    const admin2 = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await until('three brokers registered again', async () => (await admin2.describeCluster()).brokers.length === 3);
    } finally {
      await admin2.close();
    }
  });

  test('DescribeLogDirs answers for the broker\'s own replicas; DescribeCluster names the same controller everywhere', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let replicas: number[];
    try {
      await admin.createTopics([{ name: 'dirs', numPartitions: 1, replicationFactor: 2 }]);
      replicas = [...(await admin.describeTopics(['dirs']))[0]!.partitions[0]!.replicas];
      const outsider = [1, 2, 3].find((id) => !replicas.includes(id))!;
      for (const id of [1, 2, 3]) {
        const res = await ask(id, DESCRIBE_LOG_DIRS, 4, { topics: [{ topic: 'dirs', partitions: [0] }] });
        const names = res.results[0].topics.map((t: { name: string }) => t.name);
        assert.deepEqual(names, id === outsider ? [] : ['dirs'], `broker ${id}`);
      }
      const dirs = await admin.describeLogDirs([1, 2, 3]);
      assert.deepEqual(dirs.map((d) => d.broker), [1, 2, 3]);
      const holders = dirs.filter((d) => d.partitions.some((p) => p.topic === 'dirs')).map((d) => d.broker);
      assert.deepEqual(holders, [...replicas].sort());

      const controllers = new Set<number>();
      for (const id of [1, 2, 3]) {
        const d = await ask(id, DESCRIBE_CLUSTER, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
        assert.deepEqual(d.brokers.map((b: { brokerId: number }) => b.brokerId).sort(), [1, 2, 3]);
        controllers.add(d.controllerId);
      }
      assert.equal(controllers.size, 1);
      const [controller] = [...controllers];
      assert.equal(brokers.get(controller!)!.context.replication.controllerId(), controller);
    } finally {
      await admin.close();
    }
  });

  test('SCRAM credentials live in etcd: set through one broker, every broker describes them; deleted likewise', async () => {
    const DESCRIBE_SCRAM = 50;
    const usersOn = async (id: number): Promise<string> => {
      const res = await ask(id, DESCRIBE_SCRAM, 0, { users: null });
      return JSON.stringify(res.results.map((r: { user: string; credentialInfos: Array<{ mechanism: number; iterations: number }> }) => [r.user, r.credentialInfos.map((c) => [c.mechanism, c.iterations])]));
    };
    const admin = new Admin({ bootstrapServers: brokers.get(1)!.address });
    try {
      assert.deepEqual(await admin.alterUserScramCredentials([{ user: 'carol', mechanism: 'SCRAM-SHA-512', password: 'carol-secret', iterations: 8192 }]), [{ user: 'carol', error: null }]);
      for (const id of [1, 2, 3]) await until(`broker ${id} describes carol`, async () => (await usersOn(id)) === '[["carol",[[2,8192]]]]', 5000);
      assert.deepEqual(await admin.alterUserScramCredentials([{ user: 'carol', mechanism: 'SCRAM-SHA-512', delete: true }]), [{ user: 'carol', error: null }]);
      for (const id of [1, 2, 3]) await until(`broker ${id} forgets carol`, async () => (await usersOn(id)) === '[]', 5000);
    } finally {
      await admin.close();
    }
  });

  test('tributary topics describe and kafka-topics.sh --describe print the real leaders, replicas and ISRs', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let t;
    try {
      await admin.createTopics([{ name: 'shown', numPartitions: 3, replicationFactor: 2 }]);
      t = (await admin.describeTopics(['shown']))[0]!;
    } finally {
      await admin.close();
    }
    const lines = t.partitions.map((p) => `\tTopic: shown\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`);
    assert.ok(t.partitions.every((p) => p.replicas.length === 2 && p.leader === p.replicas[0]));
    assert.equal(new Set(t.partitions.map((p) => p.leader)).size, 3, 'leaders spread over the brokers');
    const own = await runCli(['topics', 'describe', '--topic', 'shown', '--bootstrap-server', cluster.bootstrap()], { timeoutMs: 20_000 });
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(own.stdout.trimEnd().split('\n').slice(1), lines);
    const k = await runKafkaScript('kafka-topics.sh', ['--bootstrap-server', cluster.bootstrap(), '--describe', '--topic', 'shown'], { timeoutMs: 20_000 });
    assert.equal(k.code, 0, k.stderr);
    assert.deepEqual(k.stdout.trimEnd().split('\n').slice(1), lines);
    const under = await runKafkaScript('kafka-topics.sh', ['--bootstrap-server', cluster.bootstrap(), '--describe', '--topic', 'shown', '--under-replicated-partitions'], { timeoutMs: 20_000 });
    assert.deepEqual([under.code, under.stdout], [0, '']);
  });

  test('two of three brokers closed: an RF 2 partition on them is offline (LEADER_NOT_AVAILABLE, offline replicas), the filters find it', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let replicas: number[];
    try {
      await admin.createTopics([{ name: 'fragile', numPartitions: 1, replicationFactor: 2 }]);
      replicas = [...(await admin.describeTopics(['fragile']))[0]!.partitions[0]!.replicas];
    } finally {
      await admin.close();
    }
    const survivor = [1, 2, 3].find((id) => !replicas.includes(id))!;
    for (const id of replicas) await cluster.stop(id);
    const metadata = () => ask(survivor, METADATA, 12, { topics: [{ name: 'fragile', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    // The partition goes offline and the survivor becomes controller (if a stopped broker was) in either order.
    await until('the partition offline at the survivor, which is controller', async () => {
      const md = await metadata();
      const p = md.topics[0].partitions[0];
      return p.leaderId === -1 && p.offlineReplicas.length === 2 && md.controllerId === survivor;
    }, 20_000);
    const md = await metadata();
    assert.equal(md.brokers.length, 1);
    assert.equal(md.controllerId, survivor);
    const p = md.topics[0].partitions[0];
    assert.equal(p.errorCode, ErrorCode.LEADER_NOT_AVAILABLE);
    assert.deepEqual([...p.replicaNodes].sort(), [...replicas].sort());
    assert.deepEqual([...p.offlineReplicas].sort(), [...replicas].sort());
    assert.equal(p.isrNodes.length, 1, 'the ISR keeps its last member');
    const dtp = await ask(survivor, DESCRIBE_TOPIC_PARTITIONS, 0, { topics: [{ name: 'fragile' }], responsePartitionLimit: 100, cursor: null });
    const dp = dtp.topics[0].partitions[0];
    assert.deepEqual([dp.errorCode, dp.leaderId, [...dp.offlineReplicas].sort()], [ErrorCode.LEADER_NOT_AVAILABLE, -1, [...replicas].sort()]);

    const address = brokers.get(survivor)!.address;
    const unavailable = await runKafkaScript('kafka-topics.sh', ['--bootstrap-server', address, '--describe', '--topic', 'fragile', '--unavailable-partitions'], { timeoutMs: 20_000 });
    assert.equal(unavailable.code, 0, unavailable.stderr);
    assert.match(unavailable.stdout, /^\tTopic: fragile\tPartition: 0\tLeader: none\tReplicas: \d,\d\tIsr: \d\tOffline: \d,\d\n$/);
    const underMin = await runKafkaScript('kafka-topics.sh', ['--bootstrap-server', address, '--describe', '--topic', 'fragile', '--under-min-isr-partitions'], { timeoutMs: 20_000 });
    assert.match(underMin.stdout, /Partition: 0\tLeader: none/);
    const own = await runCli(['topics', 'describe', '--topic', 'fragile', '--bootstrap-server', address], { timeoutMs: 20_000 });
    assert.match(own.stdout, /\tPartition: 0\tLeader: none\tReplicas: /);
  });
});
