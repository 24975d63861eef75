import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { clusterStatus, formatClusterStatus, type ClusterStatus } from '../../../src/cli/cluster.js';
import { openBrokerWithAdmin, type TestBroker } from '../client/admin-fixtures.js';

let broker: TestBroker;
let admin: Admin;
let node: number;

before(async () => {
  ({ broker, admin, node } = await openBrokerWithAdmin());
  await admin.createTopics([
    { name: 'status-plain', numPartitions: 2, replicationFactor: 1 },
    // One replica cannot satisfy min.insync.replicas=2: acks=all produces to it fail, and status says why.
    { name: 'status-strict', numPartitions: 1, replicationFactor: 1, configs: { 'min.insync.replicas': '2' } },
  ]);
});

after(async () => {
  await admin.close();
  await broker.close();
});

const cluster = (...args: string[]) => runCli(['cluster', ...args, '-b', broker.address], { timeoutMs: 20_000 });

test('cluster (status by default) against the single-node broker: itself as controller, nothing under-replicated', async () => {
  const [plain, json] = await Promise.all([cluster(), cluster('status', '--json')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as ClusterStatus;
  const described = await admin.describeCluster();
  const total = (await admin.describeTopics()).reduce((n, t) => n + t.partitions.length, 0);
  assert.equal(s.clusterId, described.clusterId);
  assert.equal(s.controllerId, node);
  assert.deepEqual(s.brokers, described.brokers);
  assert.equal(s.brokers.length, 1);
  assert.deepEqual(s.partitions, { total, underReplicated: 0, offline: 0, underMinIsr: 1 });
  assert.ok(total >= 3);
  assert.deepEqual(s.problems, [{ topic: 'status-strict', partition: 0, leader: node, replicas: [node], isr: [node], offlineReplicas: [], minIsr: 2, problems: ['under-min-isr'] }]);

  const [host, port] = broker.address.split(':');
  const lines = plain.stdout.split('\n');
  assert.equal(lines[0], `Cluster id: ${described.clusterId}`);
  assert.equal(lines[1], `Controller: ${node}`);
  assert.equal(lines[2], 'Brokers: 1');
  assert.match(lines[3]!, /^ {2}ID +HOST:PORT +RACK$/);
  assert.match(lines[4]!, new RegExp(`^  ${node} +${host}:${port} +-$`));
  assert.equal(lines[5], `Partitions: ${total} total, 0 under-replicated, 0 offline, 1 under min ISR`);
  assert.match(lines[6]!, /^ {2}TOPIC +PARTITION +LEADER +REPLICAS +ISR +MIN-ISR +PROBLEMS$/);
  assert.match(lines[7]!, new RegExp(`^  status-strict +0 +${node} +${node} +${node} +2 +under-min-isr$`));
});

test('clusterStatus: offline and under-replicated partitions (what a cluster reports when brokers die)', () => {
  const s = clusterStatus(
    { clusterId: 'c', controllerId: 2, brokers: [{ nodeId: 2, host: 'h', port: 1, rack: 'r1' }] },
    [{
      name: 't', topicId: '', isInternal: false, partitions: [
        { partition: 0, leader: 2, leaderEpoch: 1, replicas: [1, 2, 3], isr: [2, 3], offlineReplicas: [1] },
        { partition: 1, leader: -1, leaderEpoch: 4, replicas: [1, 3], isr: [1], offlineReplicas: [1, 3] },
        { partition: 2, leader: 3, leaderEpoch: 0, replicas: [3, 2], isr: [3, 2], offlineReplicas: [] },
      ],
    }],
    new Map([['t', 2]]),
  );
  assert.deepEqual(s.partitions, { total: 3, underReplicated: 2, offline: 1, underMinIsr: 1 });
  assert.deepEqual(s.problems.map((p) => [p.partition, p.problems]), [[0, ['under-replicated']], [1, ['offline', 'under-replicated', 'under-min-isr']]]);
  const text = formatClusterStatus(s);
  assert.match(text, /Controller: 2\n/);
  assert.match(text, /\n {2}2 +h:1 +r1\n/);
  assert.match(text, /\n {2}t +1 +none +1,3 +1 +2 +offline,under-replicated,under-min-isr\n/);
  // Without the topics' configs the under-min-ISR count is unknown, not 0.
  assert.match(formatClusterStatus(clusterStatus({ clusterId: null, controllerId: -1, brokers: [] }, [], null)), /Controller: none\n[^]*0 offline, unknown under min ISR/);
});

test('cluster --help has examples; an unreachable cluster exits 1 with one line', async () => {
  const help = await runCli(['cluster', 'status', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:\n {2}\$ tributary cluster/);
  const down = await runCli(['cluster', '-b', '127.0.0.1:1', '-X', 'retries=0', '-X', 'socket.connection.setup.timeout.ms=1000'], { timeoutMs: 20_000 });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^error: .*127\.0\.0\.1:1/);
  assert.equal(down.stderr.trim().split('\n').length, 1);
});
