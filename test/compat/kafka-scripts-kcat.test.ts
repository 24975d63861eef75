/**
 * The Kafka-script drop-ins cross-checked with kcat (librdkafka): a topic kafka-topics.sh creates is in
 * kcat's metadata; what kcat produces, kafka-console-consumer.sh prints; what kafka-console-producer.sh
 * sends, kcat reads back with its keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runKafkaScript } from '../helpers/cli.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { run } from './support/processes.js';

describe('Kafka scripts with kcat', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker?.close();
  });
  const script = (name: string, args: string[], input?: string) => runKafkaScript(`${name}.sh`, ['--bootstrap-server', broker.address, ...args], { input, timeoutMs: 30_000 });

  test('a topic created by kafka-topics.sh is in kcat -L with its partitions', async () => {
    const r = await script('kafka-topics', ['--create', '--topic', 'scripts-made', '--partitions', '5', '--replication-factor', '1']);
    assert.equal(r.code, 0, r.stderr);
    const { stdout } = await run('kcat', ['-b', broker.address, '-L', '-t', 'scripts-made', '-J'], { timeoutMs: 30_000 });
    const meta = JSON.parse(stdout) as { topics: Array<{ topic: string; partitions: unknown[] }> };
    assert.deepEqual(meta.topics.map((t) => [t.topic, t.partitions.length]), [['scripts-made', 5]]);
  });

  test('kafka-console-consumer.sh prints what kcat produced, keys and headers included', async () => {
    const input = 'k1:first\nk2:second\nk3:third\n';
    await run('kcat', ['-b', broker.address, '-P', '-t', 'from-kcat', '-p', '0', '-K', ':', '-H', 'origin=kcat'], { input, timeoutMs: 30_000 });
    const r = await script('kafka-console-consumer', [
      '--topic', 'from-kcat', '--partition', '0', '--offset', 'earliest', '--max-messages', '3',
      '--property', 'print.key=true', '--property', 'print.headers=true', '--property', 'key.separator=|',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'origin:kcat|k1|first\norigin:kcat|k2|second\norigin:kcat|k3|third\n');
    assert.equal(r.stderr, 'Processed a total of 3 messages\n');
  });

  test('kcat reads what kafka-console-producer.sh sent, with the keys it parsed', async () => {
    const r = await script('kafka-console-producer', ['--topic', 'from-script', '--property', 'parse.key=true', '--property', 'key.separator=='], 'a=1\nb=2\na=3\n');
    assert.equal(r.code, 0, r.stderr);
    const { stdout } = await run('kcat', ['-b', broker.address, '-C', '-t', 'from-script', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\n'], { timeoutMs: 30_000 });
    const got = stdout.split('\n').filter(Boolean);
    assert.deepEqual([...got].sort(), ['a=1', 'a=3', 'b=2']);
    // Same key, same partition: a=1 comes before a=3 wherever they went.
    assert.ok(got.indexOf('a=1') < got.indexOf('a=3'));
  });
});
