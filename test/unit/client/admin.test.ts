import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import type { Cluster } from '../../../src/client/cluster.js';
import { ClientStateError, ConnectionError, ProtocolError, UnsupportedApiError } from '../../../src/client/errors.js';
import { joinClassicMember, joinConsumerMember, openBroker, produce, type TestBroker } from './admin-fixtures.js';

let broker: TestBroker;
let admin: Admin;

before(async () => {
  broker = await openBroker();
  admin = new Admin({ bootstrapServers: broker.address, retries: 2, retryBackoffMs: 10 });
  await admin.connect();
});

after(async () => {
  await admin.close();
  await broker.close();
});

const kafkaError = (name: string, ...mentions: string[]) => (e: unknown): boolean => {
  assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
  assert.equal(e.kafkaError, name, e.message);
  for (const m of mentions) assert.match(e.message, new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return true;
};

test('createTopics / listTopics / describeTopics, with per-topic errors naming the topics', async () => {
  await admin.createTopics([
    { name: 'adm-a', numPartitions: 2, replicationFactor: 1, configs: { 'retention.ms': '3600000' } },
    { name: 'adm-b' },
  ]);
  await admin.createTopics([{ name: 'adm-dry', numPartitions: 1 }], { validateOnly: true });
  const names = await admin.listTopics();
  assert.ok(names.includes('adm-a') && names.includes('adm-b'));
  assert.ok(!names.includes('adm-dry'), 'validateOnly creates nothing');
  assert.deepEqual(names, [...names].sort());

  const [a, b] = await admin.describeTopics(['adm-a', 'adm-b']);
  assert.equal(a.name, 'adm-a');
  assert.match(a.topicId, /^[0-9a-f-]{36}$/);
  assert.notEqual(a.topicId, '00000000-0000-0000-0000-000000000000');
  assert.equal(a.isInternal, false);
  assert.deepEqual(a.partitions.map((p) => p.partition), [0, 1]);
  const node = (await admin.describeCluster()).brokers[0].nodeId;
  assert.deepEqual(a.partitions[0], { partition: 0, leader: node, leaderEpoch: a.partitions[0].leaderEpoch, replicas: [node], isr: [node], offlineReplicas: [] });
  assert.equal(b.partitions.length, 3, 'num.partitions is the default');
  const all = await admin.describeTopics();
  assert.deepEqual(all.map((t) => t.name), [...all.map((t) => t.name)].sort());

  await assert.rejects(admin.createTopics([{ name: 'adm-a', numPartitions: 1 }]), kafkaError('TOPIC_ALREADY_EXISTS', "topic 'adm-a'"));
  await assert.rejects(
    admin.createTopics([{ name: 'adm-a' }, { name: 'adm-bad', numPartitions: 0 }, { name: 'adm-ok' }]),
    kafkaError('TOPIC_ALREADY_EXISTS', "topic 'adm-a'", "topic 'adm-bad': INVALID_PARTITIONS"),
  );
  assert.ok((await admin.listTopics()).includes('adm-ok'), 'the valid topic of a partly failed batch is created');
  await assert.rejects(admin.describeTopics(['adm-a', 'nope-1', 'nope-2']), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', "topic 'nope-1'", "topic 'nope-2'"));
});

test('createPartitions raises the total; lowering it or an unknown topic fails naming the topic', async () => {
  await admin.createTopics([{ name: 'adm-grow', numPartitions: 1 }]);
  await admin.createPartitions([{ topic: 'adm-grow', count: 4 }]);
  const [t] = await admin.describeTopics(['adm-grow']);
  assert.equal(t.partitions.length, 4);
  await assert.rejects(admin.createPartitions([{ topic: 'adm-grow', count: 2 }]), kafkaError('INVALID_PARTITIONS', "topic 'adm-grow'"));
  await assert.rejects(admin.createPartitions([{ topic: 'adm-nowhere', count: 2 }]), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', "topic 'adm-nowhere'"));
});

test('describeConfigs and alterConfigs (SET and DELETE) on topics and the broker', async () => {
  await admin.createTopics([{ name: 'adm-cfg', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
  const [d] = await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg' }]);
  assert.equal(d.type, 'topic');
  const policy = d.configs.find((c) => c.name === 'cleanup.policy')!;
  assert.deepEqual(policy, { name: 'cleanup.policy', value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG', isDefault: false, readOnly: false, sensitive: false, synonyms: [] });
  const segment = d.configs.find((c) => c.name === 'segment.bytes')!;
  assert.equal(segment.isDefault, segment.source === 'DEFAULT_CONFIG');

  await admin.alterConfigs([{ type: 'topic', name: 'adm-cfg', set: { 'retention.ms': '1234' }, delete: ['cleanup.policy'] }]);
  const [after1] = await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg', keys: ['retention.ms', 'cleanup.policy'] }]);
  assert.deepEqual(after1.configs.map((c) => [c.name, c.value, c.source]).sort(), [
    ['cleanup.policy', 'delete', 'DEFAULT_CONFIG'],
    ['retention.ms', '1234', 'DYNAMIC_TOPIC_CONFIG'],
  ]);
  await admin.alterConfigs([{ type: 'topic', name: 'adm-cfg', set: { 'retention.ms': '99' } }], { validateOnly: true });
  const [after2] = await admin.describeConfigs([{ type: 'topic', name: 'adm-cfg', keys: ['retention.ms'] }]);
  assert.equal(after2.configs[0].value, '1234', 'validateOnly changes nothing');

  const { brokers } = await admin.describeCluster();
  const [b] = await admin.describeConfigs([{ type: 'broker', name: String(brokers[0].nodeId), keys: ['num.partitions'] }]);
  assert.equal(b.type, 'broker');
  assert.equal(b.configs.find((c) => c.name === 'num.partitions')?.value, '3');

  await assert.rejects(admin.describeConfigs([{ type: 'topic', name: 'adm-none' }]), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', "topic 'adm-none'"));
  await assert.rejects(admin.alterConfigs([{ type: 'topic', name: 'adm-cfg', set: { 'no.such.config': '1' } }]), kafkaError('INVALID_CONFIG', "topic 'adm-cfg'"));
});

test('deleteTopics removes topics; deleting an unknown one fails naming it', async () => {
  await admin.createTopics([{ name: 'adm-del', numPartitions: 1 }]);
  await admin.deleteTopics(['adm-del']);
  assert.ok(!(await admin.listTopics()).includes('adm-del'));
  await assert.rejects(admin.deleteTopics(['adm-del']), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', "topic 'adm-del'"));
});

test('listOffsets (earliest, latest, by timestamp) and deleteRecords at the leaders', async () => {
  await admin.createTopics([{ name: 'adm-off', numPartitions: 2 }]);
  const t0 = Date.now() - 10_000;
  await produce(broker.address, 'adm-off', 0, ['a', 'b', 'c', 'd'], t0);
  await produce(broker.address, 'adm-off', 0, ['e', 'f'], t0 + 5000);
  const res = await admin.listOffsets([
    { topic: 'adm-off', partition: 0, timestamp: 'earliest' },
    { topic: 'adm-off', partition: 0, timestamp: 'latest' },
    { topic: 'adm-off', partition: 0, timestamp: t0 + 1000 },
    { topic: 'adm-off', partition: 0, timestamp: Date.now() + 60_000 },
    { topic: 'adm-off', partition: 1, timestamp: 'latest' },
  ]);
  assert.deepEqual(res.map((r) => [r.topic, r.partition, r.offset]), [
    ['adm-off', 0, 0], ['adm-off', 0, 6], ['adm-off', 0, 4], ['adm-off', 0, -1], ['adm-off', 1, 0],
  ]);
  assert.equal(res[2].timestamp, t0 + 5000);

  const [del] = await admin.deleteRecords([{ topic: 'adm-off', partition: 0, offset: 3 }]);
  assert.deepEqual(del, { topic: 'adm-off', partition: 0, lowWatermark: 3 });
  const [earliest] = await admin.listOffsets([{ topic: 'adm-off', partition: 0, timestamp: 'earliest' }]);
  assert.equal(earliest.offset, 3);
  await assert.rejects(admin.deleteRecords([{ topic: 'adm-off', partition: 1, offset: 50 }]), kafkaError('OFFSET_OUT_OF_RANGE', 'adm-off-1'));
  await assert.rejects(admin.listOffsets([{ topic: 'adm-off', partition: 9, timestamp: 'latest' }]), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'adm-off-9'));
});

test('group offsets as a simple consumer: commit, list, delete offsets, delete the group', async () => {
  await admin.createTopics([{ name: 'adm-g', numPartitions: 3 }]);
  await admin.alterGroupOffsets('adm-g1', [
    { topic: 'adm-g', partition: 0, offset: 5, metadata: 'm' },
    { topic: 'adm-g', partition: 2, offset: 7 },
  ]);
  assert.deepEqual(
    (await admin.listGroupOffsets('adm-g1')).map((o) => [o.topic, o.partition, o.offset, o.metadata]),
    [['adm-g', 0, 5, 'm'], ['adm-g', 2, 7, '']],
  );
  const some = await admin.listGroupOffsets('adm-g1', [{ topic: 'adm-g', partition: 1 }, { topic: 'adm-g', partition: 2 }]);
  assert.deepEqual(some.map((o) => [o.partition, o.offset]), [[1, -1], [2, 7]], 'a partition without a commit reads -1');

  const listed = await admin.listGroups();
  const g = listed.find((x) => x.groupId === 'adm-g1');
  assert.deepEqual(g, { groupId: 'adm-g1', protocolType: '', state: 'Empty', type: 'classic' });
  assert.ok((await admin.listGroups({ states: ['stable'] })).every((x) => x.groupId !== 'adm-g1'));
  assert.ok((await admin.listGroups({ states: ['Empty'], types: ['classic'] })).some((x) => x.groupId === 'adm-g1'));

  const [desc, dead] = await admin.describeGroups(['adm-g1', 'adm-never']);
  assert.equal(desc.state, 'Empty');
  assert.equal(desc.type, 'classic');
  assert.deepEqual(desc.members, []);
  assert.equal(desc.coordinator, (await admin.describeCluster()).brokers[0].nodeId);
  assert.equal(dead.state, 'Dead');

  await admin.deleteGroupOffsets('adm-g1', [{ topic: 'adm-g', partition: 0 }]);
  assert.deepEqual((await admin.listGroupOffsets('adm-g1')).map((o) => o.partition), [2]);
  await admin.alterGroupOffsets('adm-g2', [{ topic: 'adm-g', partition: 0, offset: 1 }]);
  await admin.deleteGroups(['adm-g1', 'adm-g2']);
  assert.deepEqual(await admin.listGroupOffsets('adm-g1'), []);
  assert.ok((await admin.listGroups()).every((x) => x.groupId !== 'adm-g1' && x.groupId !== 'adm-g2'));
  await assert.rejects(admin.deleteGroups(['adm-g1', 'adm-nope']), kafkaError('GROUP_ID_NOT_FOUND', "group 'adm-g1'", "group 'adm-nope'"));
  await assert.rejects(admin.alterGroupOffsets('adm-g3', [{ topic: 'adm-missing', partition: 0, offset: 1 }]), kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'adm-missing-0'));
});

test('a classic group with a member: described with its decoded assignment; offsets and deletion refused', async () => {
  await admin.createTopics([{ name: 'adm-c', numPartitions: 2 }]);
  const member = await joinClassicMember(broker.address, 'adm-classic', ['adm-c'], [{ topic: 'adm-c', partition: 0 }, { topic: 'adm-c', partition: 1 }], 'client-x');
  try {
    const [d] = await admin.describeGroups(['adm-classic']);
    assert.equal(d.state, 'Stable');
    assert.equal(d.type, 'classic');
    assert.equal(d.protocolType, 'consumer');
    assert.equal(d.assignor, 'range');
    assert.equal(d.members.length, 1);
    assert.equal(d.members[0].memberId, member.memberId);
    assert.equal(d.members[0].clientId, 'client-x');
    assert.match(d.members[0].host, /127\.0\.0\.1/);
    assert.deepEqual(d.members[0].assignment, [{ topic: 'adm-c', partition: 0 }, { topic: 'adm-c', partition: 1 }]);
    assert.ok((await admin.listGroups({ states: ['Stable'] })).some((g) => g.groupId === 'adm-classic' && g.protocolType === 'consumer'));
    await assert.rejects(admin.alterGroupOffsets('adm-classic', [{ topic: 'adm-c', partition: 0, offset: 1 }]), (e: unknown) =>
      e instanceof ProtocolError && /adm-c-0/.test(e.message) && /stop its consumers first/.test(e.message));
    await assert.rejects(admin.deleteGroups(['adm-classic']), kafkaError('NON_EMPTY_GROUP', "group 'adm-classic'", 'stop its consumers first'));
  } finally {
    await member.leave();
  }
  const [empty] = await admin.describeGroups(['adm-classic']);
  assert.equal(empty.state, 'Empty');
  await admin.deleteGroups(['adm-classic']);
});

test('a KIP-848 consumer group is described through ConsumerGroupDescribe', async () => {
  await admin.createTopics([{ name: 'adm-k', numPartitions: 2 }]);
  const member = await joinConsumerMember(broker.address, 'adm-848', ['adm-k']);
  try {
    assert.equal(member.assigned, 2);
    const [d] = await admin.describeGroups(['adm-848']);
    assert.equal(d.type, 'consumer');
    assert.equal(d.protocolType, 'consumer');
    assert.equal(d.members.length, 1);
    assert.equal(d.members[0].memberId, member.memberId);
    assert.deepEqual(d.members[0].assignment.sort((a, b) => a.partition - b.partition), [{ topic: 'adm-k', partition: 0 }, { topic: 'adm-k', partition: 1 }]);
    const listed = await admin.listGroups({ types: ['consumer'] });
    assert.ok(listed.some((g) => g.groupId === 'adm-848' && g.type === 'consumer'));
  } finally {
    await member.leave();
  }
});

test('describeCluster and describeLogDirs', async () => {
  const c = await admin.describeCluster();
  assert.ok(c.clusterId);
  assert.equal(c.brokers.length, 1);
  assert.equal(c.controllerId, c.brokers[0].nodeId);
  assert.equal(`${c.brokers[0].host}:${c.brokers[0].port}`, broker.address);

  await admin.createTopics([{ name: 'adm-dirs', numPartitions: 1 }]);
  await produce(broker.address, 'adm-dirs', 0, ['x', 'y']);
  const dirs = await admin.describeLogDirs();
  assert.ok(dirs.length >= 1);
  assert.equal(dirs[0].broker, c.brokers[0].nodeId);
  assert.equal(dirs[0].error, null);
  const p = dirs.flatMap((d) => d.partitions).find((x) => x.topic === 'adm-dirs' && x.partition === 0);
  assert.ok(p && p.size > 0, 'the partition has bytes on disk');
  assert.equal(p.offsetLag, 0);
});

test('an unreachable bootstrap fails with the advice; a closed admin refuses; old brokers: filters refused, Metadata instead of DescribeCluster', async () => {
  const lost = new Admin({ bootstrapServers: '127.0.0.1:1', retries: 0 });
  await assert.rejects(lost.connect(), (e: unknown) => e instanceof ConnectionError && /tributary start/.test(e.message));
  await lost.close();
  await assert.rejects(lost.listTopics(), ClientStateError, 'a closed admin refuses calls instead of reconnecting');
  // Against a broker whose ListGroups is capped below v5, a type filter cannot be honoured.
  const capped = new Admin({ bootstrapServers: broker.address, retries: 0 });
  try {
    await capped.connect();
    const conn = await (capped as unknown as { cluster: { anyConnection(): Promise<{ brokerVersions: Map<number, { min: number; max: number }> }> } }).cluster.anyConnection();
    const nodeConn = await (capped as unknown as { cluster: { connection(n: number): Promise<{ brokerVersions: Map<number, { min: number; max: number }> }> } }).cluster.connection((await capped.describeCluster()).brokers[0].nodeId);
    for (const c of [conn, nodeConn]) c.brokerVersions.set(16, { min: 0, max: 4 });
    await assert.rejects(capped.listGroups({ types: ['consumer'] }), UnsupportedApiError);
    // Without DescribeCluster (key 60) the same facts come from Metadata.
    const viaDescribe = await capped.describeCluster();
    for (const c of [conn, nodeConn]) c.brokerVersions.delete(60);
    assert.deepEqual(await capped.describeCluster(), viaDescribe);
  } finally {
    await capped.close();
  }
});

test('NOT_COORDINATOR from a group request: the coordinator is looked up again and the request retried', async () => {
  await admin.alterGroupOffsets('adm-moved', [{ topic: 'adm-g', partition: 1, offset: 2 }]);
  const moving = new Admin({ bootstrapServers: broker.address, retries: 3, retryBackoffMs: 5 });
  try {
    await moving.connect();
    // Make the coordinator answer NOT_COORDINATOR once per API, as a broker does after the group moved.
    const cluster = (moving as unknown as { cluster: Cluster }).cluster;
    const lookups: string[] = [];
    const invalidated: string[] = [];
    const find = cluster.findCoordinator.bind(cluster);
    cluster.findCoordinator = (key, type) => {
      lookups.push(key);
      return find(key, type);
    };
    const invalidate = cluster.invalidateCoordinator.bind(cluster);
    cluster.invalidateCoordinator = (key, type) => {
      invalidated.push(key);
      invalidate(key, type);
    };
    const refused = new Set<string>();
    const connection = cluster.connection.bind(cluster);
    cluster.connection = async (nodeId, pool) => {
      const conn = await connection(nodeId, pool);
      if (pool !== 'coordinator' || (conn as { patched?: boolean }).patched) return conn;
      const send = conn.send.bind(conn);
      conn.send = (async (req: { name: string }, res: unknown, body: unknown, opts: unknown) => {
        const answer = await send(req as never, res as never, body as never, opts as never) as Record<string, any>;
        if (refused.has(req.name)) return answer;
        refused.add(req.name);
        if (req.name === 'OffsetFetch') return { ...answer, errorCode: 16, groups: answer.groups.map((g: object) => ({ ...g, errorCode: 16 })) };
        if (req.name === 'DescribeGroups') return { ...answer, groups: answer.groups.map((g: object) => ({ ...g, errorCode: 16 })) };
        if (req.name === 'DeleteGroups') return { ...answer, results: answer.results.map((g: object) => ({ ...g, errorCode: 16 })) };
        return answer;
      }) as typeof conn.send;
      (conn as { patched?: boolean }).patched = true;
      return conn;
    };
    assert.deepEqual((await moving.listGroupOffsets('adm-moved')).map((o) => [o.partition, o.offset]), [[1, 2]]);
    assert.ok(refused.has('OffsetFetch'));
    assert.equal((await moving.describeGroups(['adm-moved']))[0].state, 'Empty');
    assert.ok(refused.has('DescribeGroups'));
    assert.deepEqual(invalidated, ['adm-moved', 'adm-moved']);
    assert.ok(lookups.length >= 3, 'looked up again after each NOT_COORDINATOR');
  } finally {
    await moving.close();
  }
  await admin.deleteGroups(['adm-moved']);
});
