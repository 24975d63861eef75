/**
 * kcat 1.7.1 (librdkafka 2.0.2) against Tributary.
 * kcat cannot create or delete topics: topics here are auto-created by the first produce
 * (num.partitions=3), and deleted through @platformatic/kafka's Admin; kcat then checks the result.
 * kcat cannot set a record's timestamp either, so the timestamp test produces two batches on
 * either side of a clock tick and starts consuming at the tick.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { clockPast, run } from './support/processes.js';
import { assertExactlyOnce, CODECS, makeRecords, type ConsumedRecord, type TestRecord } from './support/records.js';

const KCAT = 'kcat';

interface KcatMetadata {
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
}

interface KcatMessage {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

describe('kcat against Tributary', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker();
  });
  after(async () => {
    await broker?.close();
  });

  const kcat = (args: readonly string[], input?: string) =>
    run(KCAT, ['-b', broker.address, '-m', '10', ...args], { input, timeoutMs: 60_000 });
  // All topics: a metadata request naming a topic could auto-create it.
  const metadata = async (): Promise<KcatMetadata> => JSON.parse((await kcat(['-L', '-J'])).stdout) as KcatMetadata;

  test('-L lists the one broker', async () => {
    const md = await metadata();
    assert.deepEqual(md.brokers.map((b) => b.name), [broker.address]);
  });

  const topic = 'kcat-all-codecs';
  const produced: TestRecord[] = [];

  for (const codec of CODECS) {
    test(`-P produces keyed records (-K) with compression.codec=${codec}`, async () => {
      const records = makeRecords(`kcat-${codec}`, 40).map((r) => ({ ...r, headers: [['codec', codec]] as [string, string][] }));
      const input = records.map((r) => `${r.key}\t${r.value}`).join('\n') + '\n';
      await kcat(['-P', '-t', topic, '-K', '\\t', '-H', `codec=${codec}`, '-X', `compression.codec=${codec}`, '-X', 'linger.ms=20'], input);
      produced.push(...records);
    });
  }

  test('the first produce auto-created the topic with num.partitions partitions', async () => {
    const md = await metadata();
    const entry = md.topics.find((t) => t.topic === topic);
    assert.ok(entry, `${topic} is not in the metadata`);
    assert.deepEqual(entry.partitions.map((p) => p.partition).sort(), [0, 1, 2]);
  });

  test('-C -o beginning -e -J consumes every record exactly once', async () => {
    assert.equal(produced.length, 40 * CODECS.length, 'the produce tests ran first');
    const { stdout } = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
    const consumed: ConsumedRecord[] = stdout.split('\n').filter(Boolean).map((line) => {
      const m = JSON.parse(line) as KcatMessage;
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < (m.headers ?? []).length; i += 2) headers.push([m.headers![i], m.headers![i + 1]]);
      return { partition: m.partition, offset: m.offset, key: m.key, value: m.payload, headers, timestamp: m.ts };
    });
    const keyPartitions = assertExactlyOnce(produced, consumed, { headers: true });
    assert.ok(new Set(keyPartitions.values()).size > 1, 'all keys landed in one partition');
  });

  test('-C -o s@<timestamp> starts at the first record at or after it; -Q finds the same offset', async () => {
    const timed = 'kcat-timestamps';
    const earlier = makeRecords('kcat-before', 5);
    const later = makeRecords('kcat-after', 5);
    await kcat(['-P', '-t', timed, '-p', '0', '-k', 'fixed-key'], earlier.map((r) => r.value).join('\n') + '\n');
    // Every record of the first batch has a timestamp <= tick; every record of the second one > tick.
    const tick = Date.now();
    await clockPast(tick);
    await kcat(['-P', '-t', timed, '-p', '0', '-k', 'fixed-key'], later.map((r) => r.value).join('\n') + '\n');

    const { stdout } = await kcat(['-C', '-t', timed, '-p', '0', '-o', `s@${tick + 1}`, '-e', '-q', '-f', '%o|%T|%k|%s\\n']);
    const lines = stdout.split('\n').filter(Boolean).map((line) => {
      const [offset, ts, key, value] = line.split('|');
      return { offset: Number(offset), ts: Number(ts), key, value };
    });
    assert.deepEqual(lines.map((l) => l.value), later.map((r) => r.value));
    assert.equal(lines[0].offset, earlier.length);
    assert.equal(lines[0].key, 'fixed-key');
    assert.ok(lines[0].ts > tick, `timestamp ${lines[0].ts} is not after ${tick}`);

    const query = await kcat(['-Q', '-t', `${timed}:0:${tick + 1}`]);
    const match = /\[0\]\s+offset\s+(-?\d+)/.exec(query.stdout);
    assert.ok(match, `unexpected -Q output: ${query.stdout}`);
    assert.equal(Number(match[1]), earlier.length);
  });

  test('after deleting the topics (via @platformatic/kafka Admin) -L no longer lists them', async () => {
    const admin = new Admin({ clientId: 'tributary-compat', bootstrapBrokers: [broker.address] });
    try {
      await admin.deleteTopics({ topics: [topic, 'kcat-timestamps'] });
    } finally {
      await admin.close();
    }
    const md = await metadata();
    assert.deepEqual(md.topics.filter((t) => t.topic.startsWith('kcat-')).map((t) => t.topic), []);
  });
});
