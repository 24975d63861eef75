/**
 * The Kafka-script drop-ins (kafka/bin/kafka-*.sh) run as shell scripts against an in-process broker:
 * Kafka's flags in, Kafka's output and exit codes out. Also the exact command lines librdkafka's test
 * suite builds (test.c's test_kafka_topics) through /bin/sh with KAFKA_PATH.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KAFKA_PATH, runCommand, runKafkaScript } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { openBrokerWithAdmin, produce, type TestBroker } from '../client/admin-fixtures.js';
import { parseArgs, KafkaUsageError } from '../../../src/cli/kafka/options.js';
import { parseConfigList } from '../../../src/cli/kafka/configs.js';
import { parseLine } from '../../../src/cli/kafka/console-producer.js';
import { formatterSettings, kafkaFormatter } from '../../../src/cli/kafka/console-consumer.js';
import { topicMatcher } from '../../../src/cli/kafka/topics.js';

describe('Kafka command-line parsing', () => {
  test('--name value, --name=value, unique prefixes, repeats, optional and multi-word values', () => {
    const args = parseArgs(
      ['--bootstrap', 'b:1', '--config=a=1', '--config', 'b=2', '--state', '--list', '--producer-props', 'x=1', 'y=2', '--throughput', '-1'],
      {
        'bootstrap-server': { arg: 'required', help: '' },
        config: { arg: 'required', help: '' },
        state: { arg: 'optional', help: '' },
        list: { arg: 'none', help: '' },
        'producer-props': { arg: 'multi', help: '' },
        throughput: { arg: 'required', help: '' },
      },
    );
    assert.equal(args.value('bootstrap-server'), 'b:1');
    assert.deepEqual(args.values('config'), ['a=1', 'b=2']);
    assert.equal(args.has('state'), true);
    assert.equal(args.value('state'), undefined);
    assert.deepEqual(args.values('producer-props'), ['x=1', 'y=2']);
    assert.equal(args.int('throughput'), -1);
  });

  test('unknown, ambiguous and argument-less options are usage errors', () => {
    const specs = { describe: { arg: 'none' as const, help: '' }, delete: { arg: 'none' as const, help: '' }, topic: { arg: 'required' as const, help: '' } };
    assert.throws(() => parseArgs(['--nope'], specs), (e: Error) => e instanceof KafkaUsageError && e.message === 'nope is not a recognized option');
    assert.throws(() => parseArgs(['--de'], specs), /ambiguous/);
    assert.throws(() => parseArgs(['--topic'], specs), /requires an argument/);
    assert.throws(() => parseArgs(['stray'], specs), /non-option argument/);
  });

  test('--add-config lists keep bracketed commas; --topic patterns match whole names', () => {
    assert.deepEqual(parseConfigList('retention.ms=1000,cleanup.policy=[compact,delete],x=y'), { 'retention.ms': '1000', 'cleanup.policy': 'compact,delete', x: 'y' });
    assert.throws(() => parseConfigList('novalue'), /Invalid config/);
    const m = topicMatcher('rdk.*');
    assert.ok(m('rdkafkatest_1') && !m('x-rdkafka'));
    assert.ok(topicMatcher('a[')('a['), 'an invalid pattern matches itself');
  });

  test('the console producer splits lines as Kafka\'s line reader does', () => {
    const s = { parseKey: true, keySeparator: ':', parseHeaders: true, headersDelimiter: '\t', headersSeparator: ',', headersKeySeparator: '=', nullMarker: 'NULL', ignoreError: false };
    assert.deepEqual(parseLine('h1=v1,h2=NULL\tk:v:w', 1, s), { key: 'k', value: 'v:w', headers: [{ key: 'h1', value: 'v1' }, { key: 'h2', value: null }] });
    assert.deepEqual(parseLine('\tNULL:NULL', 2, s), { key: null, value: null, headers: [] });
    assert.throws(() => parseLine('\tnokey', 3, s), /No key separator found on line number 3: '\tnokey'/);
    assert.deepEqual(parseLine('\tnokey', 3, { ...s, ignoreError: true }), { key: null, value: 'nokey', headers: [] });
  });

  test('the console consumer prints as Kafka\'s DefaultMessageFormatter', () => {
    const record = { topic: 't', partition: 2, offset: 7, timestamp: 1000, timestampType: 'CreateTime' as const, key: null, value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'n', value: null }], leaderEpoch: 0 };
    const all = formatterSettings({ 'print.timestamp': 'true', 'print.partition': 'true', 'print.offset': 'true', 'print.headers': 'true', 'print.key': 'true' }, 'string', 'string');
    assert.equal(kafkaFormatter(all)(record).toString(), 'CreateTime:1000\tPartition:2\tOffset:7\th:x,n:null\tnull\tv\n');
    const keyOnly = formatterSettings({ 'print.key': 'true', 'print.value': 'false', 'key.separator': '|', 'null.literal': '<none>' }, 'string', 'string');
    assert.equal(kafkaFormatter(keyOnly)(record).toString(), '<none>\n');
    assert.equal(kafkaFormatter(formatterSettings({ 'print.headers': 'true' }, 'string', 'string'))({ ...record, headers: [] }).toString(), 'NO_HEADERS\tv\n');
  });
});

describe('kafka/bin scripts against a broker', () => {
  let broker: TestBroker;
  let admin: Admin;
  let node: number;
  before(async () => {
    ({ broker, admin, node } = await openBrokerWithAdmin());
  });
  after(async () => {
    await admin?.close();
    await broker?.close();
  });
  const script = (name: string, args: string[], input?: string) => runKafkaScript(`${name}.sh`, args, { input, timeoutMs: 20_000 });

  test('kafka-topics.sh: create, list, describe, alter, delete with Kafka\'s output and exit codes', async () => {
    const b = ['--bootstrap-server', broker.address];
    let r = await script('kafka-topics', [...b, '--create', '--topic', 'orders', '--partitions', '2', '--replication-factor', '1', '--config', 'retention.ms=86400000']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'Created topic orders.\n', '']);
    r = await script('kafka-topics', [...b, '--create', '--topic', 'orders']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', "Error while executing topic command : Topic 'orders' already exists.\n"]);
    r = await script('kafka-topics', [...b, '--create', '--topic', 'orders', '--if-not-exists']);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    r = await script('kafka-topics', [...b, '--create', '--topic', 'with_underscore']);
    assert.match(r.stdout, /^WARNING: Due to limitations in metric names, topics with a period \('\.'\) or underscore \('_'\) could collide\..*\nCreated topic with_underscore\.\n$/);

    r = await script('kafka-topics', [...b, '--list']);
    assert.deepEqual([r.code, r.stdout], [0, 'orders\nwith_underscore\n']);

    const [d] = await admin.describeTopics(['orders']);
    const id = Buffer.from(d.topicId.replace(/-/g, ''), 'hex').toString('base64url');
    r = await script('kafka-topics', [...b, '--describe', '--topic', 'ord.*']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      `Topic: orders\tTopicId: ${id}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=86400000`,
      `\tTopic: orders\tPartition: 0\tLeader: ${node}\tReplicas: ${node}\tIsr: ${node}`,
      `\tTopic: orders\tPartition: 1\tLeader: ${node}\tReplicas: ${node}\tIsr: ${node}`,
      '',
    ].join('\n'));

    r = await script('kafka-topics', [...b, '--alter', '--topic', 'orders', '--partitions', '4']);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.equal((await admin.describeTopics(['orders']))[0].partitions.length, 4);

    r = await script('kafka-topics', [...b, '--delete', '--topic', 'with_underscore']);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    r = await script('kafka-topics', [...b, '--delete', '--topic', 'with_underscore']);
    assert.deepEqual([r.code, r.stderr], [1, "Error while executing topic command : Topic 'with_underscore' does not exist as expected\n"]);
    r = await script('kafka-topics', [...b, '--delete', '--topic', 'with_underscore', '--if-exists']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('kafka-topics.sh usage errors exit 1 with the option list; --zookeeper is refused clearly', async () => {
    let r = await script('kafka-topics', ['--bootstrap-server', broker.address, '--topic', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Command must include exactly one action: --list, --describe, --create, --alter or --delete\n.*\nOption +Description\n/);
    r = await script('kafka-topics', ['--bootstrap-server', broker.address, '--list', '--no-such-flag']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^no-such-flag is not a recognized option\n/);
    r = await script('kafka-topics', ['--zookeeper', '127.0.0.1:2181', '--list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^--zookeeper is not supported: Tributary has no ZooKeeper/);
    r = await script('kafka-topics', []);
    assert.equal(r.code, 1);
    r = await script('kafka-topics', ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--bootstrap-server <String: server to connect to>/);
  });

  test('librdkafka\'s test suite invocations through /bin/sh with KAFKA_PATH (test_kafka_topics)', async () => {
    const env = { KAFKA_PATH, BROKERS: broker.address, TRIBUTARY_NODE: process.execPath };
    let r = await runCommand('/bin/sh', ['-c', '$KAFKA_PATH/bin/kafka-topics.sh --bootstrap-server $BROKERS --create --topic "rdkafkatest_rnd1_0028" --replication-factor 1 --partitions 4'], { env, timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await admin.describeTopics(['rdkafkatest_rnd1_0028']))[0].partitions.length, 4);
    r = await runCommand('/bin/sh', ['-c', '$KAFKA_PATH/bin/kafka-topics.sh --bootstrap-server $BROKERS --delete --topic "rdkafkatest_rnd1_0028" '], { env, timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await admin.listTopics()).includes('rdkafkatest_rnd1_0028'));
  });

  test('kafka-configs.sh: alter and describe topic configs; brokers; unsupported entity types', async () => {
    const b = ['--bootstrap-server', broker.address];
    await admin.createTopics([{ name: 'cfg', numPartitions: 1 }]);
    let r = await script('kafka-configs', [...b, '--entity-type', 'topics', '--entity-name', 'cfg', '--alter', '--add-config', 'retention.ms=1000,cleanup.policy=[compact,delete]']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating config for topic cfg.\n']);
    r = await script('kafka-configs', [...b, '--entity-type', 'topics', '--entity-name', 'cfg', '--describe']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'Dynamic configs for topic cfg are:',
      '  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete}',
      '  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}',
      '',
    ].join('\n'));
    r = await script('kafka-configs', [...b, '--topic', 'cfg', '--alter', '--delete-config', 'retention.ms']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating config for topic cfg.\n']);
    const [after] = await admin.describeConfigs([{ type: 'topic', name: 'cfg' }]);
    assert.equal(after.configs.find((c) => c.name === 'retention.ms')?.source, 'DEFAULT_CONFIG');
    r = await script('kafka-configs', [...b, '--topic', 'cfg', '--alter', '--delete-config', 'no.such.key']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error while executing config command with args '.*--delete-config no\.such\.key'\nInvalid config\(s\): no\.such\.key\n$/);
    r = await script('kafka-configs', [...b, '--entity-type', 'brokers', '--entity-name', String(node), '--describe', '--all']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^All configs for broker ${node} are:\n( {2}\\S+=.* sensitive=(true|false) synonyms=\\{[A-Z_]+:.*\\}\n)+$`));
    // The cluster-wide broker default (dynamic broker configs) and a group's KIP-848 settings.
    r = await script('kafka-configs', [...b, '--entity-type', 'brokers', '--entity-default', '--alter', '--add-config', 'log.retention.ms=7200000']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating default config for brokers in the cluster.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--entity-type', 'brokers', '--entity-default', '--describe']);
    assert.deepEqual([r.code, r.stdout], [0, 'Default configs for brokers in the cluster are:\n  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000}\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--entity-type', 'groups', '--entity-name', 'g1', '--alter', '--add-config', 'consumer.session.timeout.ms=50000']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating config for group g1.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--group', 'g1', '--describe']);
    assert.deepEqual([r.code, r.stdout], [0, 'Dynamic configs for group g1 are:\n  consumer.session.timeout.ms=50000 sensitive=false synonyms={GROUP_CONFIG:consumer.session.timeout.ms=50000}\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--group', 'g1', '--alter', '--add-config', 'consumer.session.timeout.ms=1']);
    assert.equal(r.code, 1);
    // Client quotas: users, clients and their defaults, printed as Kafka prints them.
    r = await script('kafka-configs', [...b, '--entity-type', 'users', '--entity-name', 'alice', '--alter', '--add-config', 'producer_byte_rate=1048576,consumer_byte_rate=2097152']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating config for user alice.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--user', 'alice', '--client', 'app', '--alter', '--add-config', 'request_percentage=12.5']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating config for user alice.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--entity-type', 'clients', '--entity-default', '--alter', '--add-config', 'producer_byte_rate=1024']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating default config for clients in the cluster.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--entity-type', 'users', '--entity-name', 'alice', '--describe']);
    assert.deepEqual([r.code, r.stdout], [0, "Quota configs for user-principal 'alice' are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0\n"], r.stderr);
    r = await script('kafka-configs', [...b, '--user', 'alice', '--client', 'app', '--describe']);
    assert.deepEqual([r.code, r.stdout], [0, "Quota configs for user-principal 'alice', client-id 'app' are request_percentage=12.5\n"], r.stderr);
    r = await script('kafka-configs', [...b, '--client-defaults', '--describe']);
    assert.deepEqual([r.code, r.stdout], [0, 'Quota configs for the default client-id are producer_byte_rate=1024.0\n'], r.stderr);
    // (Every client falls under the default client-id quota: lift it for the tests that follow.)
    r = await script('kafka-configs', [...b, '--entity-type', 'clients', '--entity-default', '--alter', '--delete-config', 'producer_byte_rate']);
    assert.deepEqual([r.code, r.stdout], [0, 'Completed updating default config for clients in the cluster.\n'], r.stderr);
    r = await script('kafka-configs', [...b, '--entity-type', 'users', '--entity-name', 'alice', '--alter', '--delete-config', 'consumer_byte_rate']);
    assert.equal(r.code, 0, r.stderr);
    r = await script('kafka-configs', [...b, '--user', 'alice', '--describe']);
    assert.equal(r.stdout, "Quota configs for user-principal 'alice' are producer_byte_rate=1048576.0\n");
    r = await script('kafka-configs', [...b, '--user', 'alice', '--alter', '--add-config', 'no_such_quota=1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_REQUEST \(Invalid configuration key no_such_quota\)/);
    r = await script('kafka-configs', [...b, '--entity-type', 'broker-loggers', '--entity-name', '1', '--describe']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--entity-type broker-loggers is not supported/);
  });

  test('console producer → console consumer: keys, Kafka\'s print properties, group commits, exit codes', async () => {
    const b = ['--bootstrap-server', broker.address];
    await admin.createTopics([{ name: 'lines', numPartitions: 1 }]);
    let r = await script('kafka-console-producer', [...b, '--topic', 'lines', '--property', 'parse.key=true', '--property', 'key.separator=:', '--property', 'null.marker=NULL'], 'k1:one\nk2:two\nNULL:three\n');
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    r = await script('kafka-console-producer', ['--broker-list', broker.address, '--topic', 'lines', '--compression-codec', 'lz4'], 'plain\n\n');
    assert.equal(r.code, 0, r.stderr);
    r = await script('kafka-console-producer', [...b, '--topic', 'lines', '--property', 'parse.key=true'], 'no separator\n');
    assert.deepEqual([r.code, r.stderr], [1, "ERROR No key separator found on line number 1: 'no separator'\n"]);

    r = await script('kafka-console-consumer', [...b, '--topic', 'lines', '--from-beginning', '--max-messages', '5', '--property', 'print.key=true', '--property', 'print.offset=true']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Offset:0\tk1\tone\nOffset:1\tk2\ttwo\nOffset:2\tnull\tthree\nOffset:3\tnull\tplain\nOffset:4\tnull\t\n');
    assert.equal(r.stderr, 'Processed a total of 5 messages\n');

    r = await script('kafka-console-consumer', [...b, '--topic', 'lines', '--partition', '0', '--offset', '3', '--timeout-ms', '500']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'plain\n\n', 'Processed a total of 2 messages\n']);

    r = await script('kafka-console-consumer', [...b, '--topic', 'lines', '--group', 'readers', '--from-beginning', '--max-messages', '2']);
    assert.deepEqual([r.code, r.stdout], [0, 'one\ntwo\n']);
    assert.deepEqual((await admin.listGroupOffsets('readers')).map((o) => o.offset), [2]);

    r = await script('kafka-console-consumer', [...b, '--topic', 'lines', '--offset', '3']);
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [1, 'The partition is required when offset is specified.']);
  });

  test('kafka-consumer-groups.sh: list, describe views, reset offsets, delete offsets, delete', async () => {
    const b = ['--bootstrap-server', broker.address];
    await admin.createTopics([{ name: 'work', numPartitions: 2 }]);
    await produce(broker.address, 'work', 0, ['a', 'b', 'c']);
    await produce(broker.address, 'work', 1, ['d']);
    await admin.alterGroupOffsets('billing', [{ topic: 'work', partition: 0, offset: 1 }, { topic: 'work', partition: 1, offset: 1 }]);

    let r = await script('kafka-consumer-groups', [...b, '--list']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes('billing'));
    r = await script('kafka-consumer-groups', [...b, '--list', '--state', 'Empty']);
    assert.match(r.stdout, /^GROUP {20}\s+STATE {15}\n(.*\n)*billing {18}\s+Empty {15}\n/);

    r = await script('kafka-consumer-groups', [...b, '--describe', '--group', 'billing']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      '',
      'GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID',
      'billing         work            0          1               3               2               -               -               -',
      'billing         work            1          1               1               0               -               -               -',
      '',
    ].join('\n'));
    assert.equal(r.stderr, "\nConsumer group 'billing' has no active members.\n");

    r = await script('kafka-consumer-groups', [...b, '--describe', '--group', 'billing', '--state']);
    assert.match(r.stdout, /^\nGROUP {11}COORDINATOR \(ID\) {10}ASSIGNMENT-STRATEGY {2}STATE {16}#MEMBERS\nbilling {9}127\.0\.0\.1:\d+ {2}\(\d+\)\s+- {20}Empty {16}0\n$/);

    r = await script('kafka-consumer-groups', [...b, '--describe', '--group', 'ghost']);
    assert.deepEqual([r.code, r.stderr], [1, "\nError: Consumer group 'ghost' does not exist.\n"]);

    r = await script('kafka-consumer-groups', [...b, '--reset-offsets', '--group', 'billing', '--topic', 'work:0', '--to-earliest', '--dry-run']);
    assert.deepEqual([r.code, r.stdout], [0, '\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nbilling         work            0          0\n']);
    assert.equal((await admin.listGroupOffsets('billing')).find((o) => o.partition === 0)?.offset, 1, 'a dry run commits nothing');
    r = await script('kafka-consumer-groups', [...b, '--reset-offsets', '--group', 'billing', '--all-topics', '--to-latest', '--execute']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await admin.listGroupOffsets('billing')).map((o) => o.offset).sort(), [1, 3]);

    r = await script('kafka-consumer-groups', [...b, '--delete-offsets', '--group', 'billing', '--topic', 'work:1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Request succeeded for deleting offsets from group billing.\n\nTOPIC           PARTITION  STATUS         \nwork            1          Successful     \n');

    r = await script('kafka-consumer-groups', [...b, '--delete', '--group', 'billing']);
    assert.deepEqual([r.code, r.stdout], [0, "Deletion of requested consumer groups ('billing') was successful.\n"]);
    r = await script('kafka-consumer-groups', [...b, '--describe']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Option \[describe\] takes one of these options: \[all-groups\], \[group\]\n/);
  });

  test('kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh print Kafka\'s summary lines', async () => {
    let r = await script('kafka-producer-perf-test', ['--topic', 'perf', '--num-records', '300', '--record-size', '50', '--throughput', '-1', '--producer-props', `bootstrap.servers=${broker.address}`, 'acks=1', 'linger.ms=1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^300 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.\n$/);
    r = await script('kafka-consumer-perf-test', ['--bootstrap-server', broker.address, '--topic', 'perf', '--messages', '300', '--timeout', '5000']);
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.trimEnd().split('\n');
    assert.equal(header, 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec');
    assert.equal(row.split(', ')[4], '300');
    assert.equal(row.split(', ')[2], (300 * 50 / 1048576).toFixed(4));
    r = await script('kafka-producer-perf-test', ['--topic', 'perf', '--num-records', '1', '--record-size', '1', '--producer-props', `bootstrap.servers=${broker.address}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^argument --throughput is required\n/);
  });
});
