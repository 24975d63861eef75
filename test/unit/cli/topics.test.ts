import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { openBrokerWithAdmin, type TestBroker } from '../client/admin-fixtures.js';

let broker: TestBroker;
let admin: Admin;
let node: number;

before(async () => {
  ({ broker, admin, node } = await openBrokerWithAdmin());
});

after(async () => {
  await admin.close();
  await broker.close();
});

const topics = (...args: string[]) => runCli(['topics', ...args, '-b', broker.address], { timeoutMs: 20_000 });

test('every topics command has --help with examples (exit 0)', async () => {
  const helps = await Promise.all(['list', 'create', 'describe', 'alter', 'delete', 'add-partitions'].map((c) => runCli(['topics', c, '--help'], { timeoutMs: 20_000 })));
  for (const h of helps) {
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /Examples:\n {2}\$ tributary topics /);
    assert.match(h.stdout, /--bootstrap-server/);
  }
  const parent = await runCli(['topics', '--help']);
  assert.equal(parent.code, 0);
  for (const c of ['list', 'create', 'describe', 'alter', 'delete', 'add-partitions']) assert.match(parent.stdout, new RegExp(`\\n {2}${c} `));
});

test('create, list, describe (Kafka\'s layout), alter, add-partitions, delete', async () => {
  let r = await topics('create', '--topic', 'cli-orders', '--partitions', '2', '--config', 'retention.ms=86400000', '--config', 'cleanup.policy=compact');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Created topic cli-orders.\n');
  r = await topics('create', '--topic', 'cli-plain');
  assert.equal(r.code, 0, r.stderr);

  r = await topics('list');
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout.trimEnd().split('\n');
  assert.ok(names.includes('cli-orders') && names.includes('cli-plain'));
  assert.deepEqual(names, [...names].sort());

  const [described] = await admin.describeTopics(['cli-orders']);
  const id = Buffer.from(described.topicId.replace(/-/g, ''), 'hex').toString('base64url');
  r = await topics('describe', '--topic', 'cli-orders');
  assert.equal(r.code, 0, r.stderr);
  const configs = r.stdout.split('\n')[0].split('Configs: ')[1].split(',').sort().join(',');
  assert.equal(configs, 'cleanup.policy=compact,retention.ms=86400000');
  assert.equal(r.stdout.replace(/Configs: .*/, 'Configs: X'), [
    `Topic: cli-orders\tTopicId: ${id}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: X`,
    `\tTopic: cli-orders\tPartition: 0\tLeader: ${node}\tReplicas: ${node}\tIsr: ${node}`,
    `\tTopic: cli-orders\tPartition: 1\tLeader: ${node}\tReplicas: ${node}\tIsr: ${node}`,
    '',
  ].join('\n'));

  r = await topics('describe');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Topic: cli-plain\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: \n/m, 'defaults only: an empty Configs field, as Kafka prints it');

  r = await topics('alter', '--topic', 'cli-orders', '--config', 'retention.ms=1000', '--delete-config', 'cleanup.policy');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Completed updating config for topic cli-orders.\n');
  r = await topics('describe', '--topic', 'cli-orders');
  assert.match(r.stdout, /\tConfigs: retention\.ms=1000\n/);

  r = await topics('add-partitions', '--topic', 'cli-orders', '--partitions', '4');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await admin.describeTopics(['cli-orders']))[0].partitions.length, 4);
  r = await topics('add-partitions', '--topic', 'cli-orders', '--partitions', '3');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has 4 partitions; --partitions must be larger/);

  r = await topics('delete', '--topic', 'cli-orders');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(await admin.listTopics()).includes('cli-orders'));
});

test('existing and missing topics: errors say what to do; --if-not-exists / --if-exists succeed quietly', async () => {
  await admin.createTopics([{ name: 'cli-dup', numPartitions: 1 }]);
  let r = await topics('create', '--topic', 'cli-dup');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /topic 'cli-dup' already exists — .*--if-not-exists/);
  r = await topics('create', '--topic', 'cli-dup', '--if-not-exists');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');

  const missing = await Promise.all([
    topics('describe', '--topic', 'cli-missing'),
    topics('alter', '--topic', 'cli-missing', '--config', 'retention.ms=1'),
    topics('add-partitions', '--topic', 'cli-missing', '--partitions', '5'),
  ]);
  for (const m of missing) {
    assert.equal(m.code, 1);
    assert.equal(m.stderr, "error: topic 'cli-missing' does not exist — create it with `tributary topics create --topic cli-missing`\n");
  }
  r = await topics('delete', '--topic', 'cli-missing');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /topic 'cli-missing' does not exist/);
  r = await topics('delete', '--topic', 'cli-missing', '--if-exists');
  assert.equal(r.code, 0, r.stderr);

  r = await topics('create', '--topic', 'cli-badcfg', '--config', 'no.such.key=1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /INVALID_CONFIG/);
});

test('usage errors exit 1 pointing to --help, like Kafka\'s tools; an unreachable broker exits 1 with the advice', async () => {
  const usage = await Promise.all([
    runCli(['topics', 'create', '-b', broker.address]),
    runCli(['topics', 'create', '--topic', 'x', '--partitions', '0', '-b', broker.address]),
    runCli(['topics', 'alter', '--topic', 'x', '-b', broker.address]),
    runCli(['topics', 'list', '--bogus']),
    runCli(['topics']),
  ]);
  for (const u of usage) assert.equal(u.code, 1, `${u.stdout}${u.stderr}`);
  for (const u of usage.slice(0, 4)) assert.match(u.stderr, /\(run with --help for usage\)/);
  assert.match(usage[0].stderr, /required option '-t, --topic <topic>' not specified/);
  assert.match(usage[1].stderr, /--partitions must be a whole number ≥ 1/);
  assert.match(usage[2].stderr, /nothing to change/);

  const r = await runCli(['topics', 'list', '-b', '127.0.0.1:1', '-X', 'retries=0']);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /--help/, 'a failure is not a usage error');
  assert.match(r.stderr, /^error: cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\) — is `tributary start` running/);
});
