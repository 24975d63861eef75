/**
 * One broker per data directory, across processes: a second `tributary start` on a directory a running broker
 * uses is refused before it reads or writes anything (it used to "recover" the live segments and write its
 * clean-shutdown marker under the live broker, losing acknowledged records), and the lock left by a broker
 * killed with SIGKILL does not block its restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { CLI_PATH, spawnBroker, type BrokerProcess } from '../../compat/support/broker-process.js';
import { readTopic } from '../../compat/support/platformatic-read.js';

const dirs: string[] = [];
const brokers: BrokerProcess[] = [];
after(async () => {
  await Promise.all(brokers.map((b) => b.kill()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function start(dataDir: string): Promise<BrokerProcess> {
  const broker = await spawnBroker(dataDir);
  brokers.push(broker);
  return broker;
}

async function produce(address: string, topic: string, values: string[], create = false): Promise<void> {
  const kafka = new Kafka({ clientId: 'lock-test', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  if (create) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < values.length; i += 50) {
      await producer.send({ topic, acks: -1, messages: values.slice(i, i + 50).map((value, j) => ({ value, partition: j % 2 })) });
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

async function readValues(address: string, topic: string): Promise<string[]> {
  return (await readTopic(address, topic)).map((r) => r.value ?? '').sort();
}

test('a second `tributary start` on a live data directory exits 1 naming it, and the first broker keeps every record', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-lock-'));
  dirs.push(dataDir);
  const first = await start(dataDir);
  const before = [...Array(200).keys()].map((i) => `before-${i}`);
  await produce(first.address, 'held', before, true);

  const second = spawnSync(process.execPath, [CLI_PATH, 'start', '--port', '0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(second.status, 1, second.stderr);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.ok(lines[0]!.includes(dataDir), lines[0]);
  assert.match(lines[0]!, new RegExp(`in use by another broker \\(pid=${first.pid} .*lock on file \\.lock`));
  assert.equal(second.stdout, '', 'the refused broker logged nothing (it never opened the logs)');
  assert.equal(existsSync(join(dataDir, '.kafka_cleanshutdown')), false, 'no clean-shutdown marker under the live broker');
  assert.match(await readFile(join(dataDir, '.lock'), 'utf8'), new RegExp(`^pid=${first.pid} `));

  // Both "took writes and restarted" used to lose records: now only the first takes writes, and a restart keeps all.
  const afterRefusal = [...Array(200).keys()].map((i) => `after-${i}`);
  await produce(first.address, 'held', afterRefusal);
  assert.equal(await first.stop(), 0);
  const restarted = await start(dataDir);
  assert.deepEqual(await readValues(restarted.address, 'held'), [...before, ...afterRefusal].sort());
  assert.equal(await restarted.stop(), 0);
});

test('the lock of a broker killed with SIGKILL does not block a restart on its directory', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-lock-'));
  dirs.push(dataDir);
  const first = await start(dataDir);
  const values = [...Array(100).keys()].map((i) => `v-${i}`);
  await produce(first.address, 'crashed', values, true);
  await first.kill();
  // The file is still there, naming a dead process; the OS lock on it went with the process.
  assert.match(await readFile(join(dataDir, '.lock'), 'utf8'), new RegExp(`^pid=${first.pid} `));

  const restarted = await start(dataDir);
  assert.deepEqual(await readValues(restarted.address, 'crashed'), [...values].sort());
  assert.match(await readFile(join(dataDir, '.lock'), 'utf8'), new RegExp(`^pid=${restarted.pid} `));
  assert.equal(await restarted.stop(), 0);
});
