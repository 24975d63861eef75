/**
 * Our Consumer reading what real clients wrote, and sharing a group with one: records produced by kcat
 * (librdkafka) and by kafka-python in every codec read back exactly; a group of one kafka-python
 * consumer and one of ours (range on both) splits the partitions; offsets our consumer commits are what
 * kafka-python's consumer resumes from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { run, runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { CODECS, makeRecords, type Placement, type TestRecord } from './support/records.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));

/** A kafka-python group member: polls until STOPFILE exists, then prints its assignments and records, and leaves. */
const PY_MEMBER = `
import json, os, sys, time
from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
bootstrap, topic, group, stopfile = sys.argv[1:5]
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id='kafka-python-member',
                  auto_offset_reset='earliest', enable_auto_commit=False, session_timeout_ms=6000,
                  heartbeat_interval_ms=200, partition_assignment_strategy=[RangePartitionAssignor])
assignments, records = [], []
deadline = time.monotonic() + 60
while not os.path.exists(stopfile) and time.monotonic() < deadline:
    for tp, msgs in c.poll(timeout_ms=100).items():
        records.extend(m.value.decode() for m in msgs)
    a = sorted(tp.partition for tp in c.assignment())
    if not assignments or assignments[-1] != a:
        assignments.append(a)
        print(json.dumps({'assignment': a}), file=sys.stderr, flush=True)
c.close()
json.dump({'assignments': assignments, 'records': records}, sys.stdout)
`;

/** kafka-python reads a group's committed offsets, then consumes as that group and reports each partition's first offset. */
const PY_RESUME = `
import json, sys, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, group, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False)
tps = [TopicPartition(topic, p) for p in range(partitions)]
committed = {str(tp.partition): c.committed(tp) for tp in tps}
c.assign(tps)
first = {}
deadline = time.monotonic() + 20
while len(first) < partitions and time.monotonic() < deadline:
    for tp, msgs in c.poll(timeout_ms=200).items():
        if msgs and str(tp.partition) not in first:
            first[str(tp.partition)] = msgs[0].offset
c.close()
json.dump({'committed': committed, 'first': first}, sys.stdout)
`;

async function readAll(address: string, topic: string, partitions: number, count: number): Promise<ConsumerRecord[]> {
  const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
  try {
    await c.connect();
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const out: ConsumerRecord[] = [];
    const deadline = Date.now() + 20_000;
    while (out.length < count) {
      assert.ok(Date.now() < deadline, `read ${out.length} of ${count} records from ${topic}`);
      out.push(...(await c.poll(500)));
    }
    assert.deepEqual(await c.poll(300), [], 'no more records than were written');
    return out;
  } finally {
    await c.close();
  }
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

describe('our Consumer with real clients', () => {
  let broker: TestBroker;
  let work: string;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '100', 'offsets.topic.num.partitions': '3' });
    work = await mkdtemp(join(tmpdir(), 'tributary-consumer-compat-'));
  });
  after(async () => {
    await broker?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('records written by kcat in every codec read back with keys and headers', async () => {
    for (const codec of CODECS) {
      const topic = `kcat-${codec}`;
      const records = makeRecords(`kcat-${codec}`, 30);
      const input = records.map((r) => `${r.key}:${r.value}`).join('\n') + '\n';
      await run('kcat', ['-P', '-b', broker.address, '-t', topic, '-K:', '-z', codec, '-H', `codec=${codec}`, '-X', 'linger.ms=20'], { input, timeoutMs: 30_000 });
      const got = await readAll(broker.address, topic, 3, records.length);
      const byValue = new Map(got.map((r) => [text(r.value), r]));
      for (const r of records) {
        const g = byValue.get(r.value);
        assert.ok(g, `${codec}: ${r.value} missing`);
        assert.equal(text(g.key), r.key);
        assert.deepEqual(g.headers.map((h) => [h.key, text(h.value)]), [['codec', codec]]);
      }
      // Per partition, offsets are consecutive from 0.
      for (let p = 0; p < 3; p++) {
        const offsets = got.filter((r) => r.partition === p).map((r) => r.offset);
        assert.deepEqual(offsets, offsets.map((_, i) => i), `${codec} partition ${p}`);
      }
    }
  });

  test('records written by kafka-python in every codec read back exactly where it was told they went', async () => {
    for (const codec of CODECS) {
      const topic = `kp-${codec}`;
      const records: TestRecord[] = makeRecords(`kp-${codec}`, 30).map((r, i) => ({ ...r, timestamp: 1_700_000_000_000 + i }));
      const placements = await runJson<Placement[]>(PYTHON, [`${SCRIPTS}kafka_python_produce.py`, broker.address, topic, codec], { input: JSON.stringify(records), timeoutMs: 60_000 });
      const got = await readAll(broker.address, topic, 3, records.length);
      const at = new Map(got.map((r) => [`${r.partition}/${r.offset}`, r]));
      records.forEach((r, i) => {
        const g = at.get(`${placements[i].partition}/${placements[i].offset}`);
        assert.ok(g, `${codec}: nothing at ${placements[i].partition}/${placements[i].offset}`);
        assert.equal(text(g.value), r.value);
        assert.equal(text(g.key), r.key);
        assert.equal(g.timestamp, r.timestamp);
        assert.deepEqual(g.headers.map((h) => [h.key, text(h.value)]), r.headers);
      });
    }
  });

  test('a group of one kafka-python consumer and one of ours (range) splits the partitions', async () => {
    const topic = 'mixed-group';
    const group = 'mixed';
    const stopfile = join(work, 'stop-mixed');
    await runJson(PYTHON, [`${SCRIPTS}kafka_python_admin.py`, broker.address, 'create', topic, '4'], { timeoutMs: 30_000 });
    const python = runJson<{ assignments: number[][]; records: string[] }>(PYTHON, ['-c', PY_MEMBER, broker.address, topic, group, stopfile], { timeoutMs: 90_000 });
    const ours = new Consumer({
      bootstrapServers: broker.address, groupId: group, partitionAssignors: ['range'], autoOffsetReset: 'earliest',
      sessionTimeoutMs: 6000, heartbeatIntervalMs: 200, enableAutoCommit: false,
    });
    const ourRecords: string[] = [];
    try {
      await ours.connect();
      // Let kafka-python form the group first (it then owns all four), then join.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await ours.subscribe([topic]);
      const deadline = Date.now() + 30_000;
      while (ours.assignment().length !== 2) {
        assert.ok(Date.now() < deadline, `our assignment: ${JSON.stringify(ours.assignment())}`);
        await ours.poll(100);
      }
      const placements = await runJson<Placement[]>(PYTHON, [`${SCRIPTS}kafka_python_produce.py`, broker.address, topic, 'none'], { input: JSON.stringify(makeRecords('mixed', 40)), timeoutMs: 60_000 });
      const mine = new Set(ours.assignment().map((tp) => tp.partition));
      const expectedMine = placements.filter((p) => mine.has(p.partition)).length;
      while (ourRecords.length < expectedMine) {
        assert.ok(Date.now() < deadline, `we read ${ourRecords.length} of ${expectedMine}`);
        for (const r of await ours.poll(100)) ourRecords.push(text(r.value)!);
      }
      // Give kafka-python time to read its share, then stop it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await writeFile(stopfile, '');
      const py = await python;
      const theirs = py.assignments[py.assignments.length - 1];
      assert.deepEqual([...theirs, ...mine].sort(), [0, 1, 2, 3]);
      assert.equal(theirs.length, 2);
      assert.equal(new Set([...py.records, ...ourRecords]).size, 40);
      assert.equal(py.records.length + ourRecords.length, 40);
    } finally {
      await writeFile(stopfile, '').catch(() => undefined);
      await python.catch(() => undefined);
      await ours.close();
    }
  });

  test("offsets our consumer commits are where kafka-python's consumer group resumes", async () => {
    const topic = 'commit-handoff';
    const group = 'handoff';
    await runJson(PYTHON, [`${SCRIPTS}kafka_python_admin.py`, broker.address, 'create', topic, '2'], { timeoutMs: 30_000 });
    await runJson<Placement[]>(PYTHON, [`${SCRIPTS}kafka_python_produce.py`, broker.address, topic, 'none', '0'], { input: JSON.stringify(makeRecords('h0', 10)), timeoutMs: 60_000 });
    await runJson<Placement[]>(PYTHON, [`${SCRIPTS}kafka_python_produce.py`, broker.address, topic, 'none', '1'], { input: JSON.stringify(makeRecords('h1', 10)), timeoutMs: 60_000 });
    const ours = new Consumer({ bootstrapServers: broker.address, groupId: group, autoOffsetReset: 'earliest', sessionTimeoutMs: 6000, heartbeatIntervalMs: 200, enableAutoCommit: false });
    try {
      await ours.connect();
      await ours.subscribe([topic]);
      const deadline = Date.now() + 20_000;
      while (ours.assignment().length < 2) {
        assert.ok(Date.now() < deadline);
        await ours.poll(100);
      }
      await ours.commit([{ topic, partition: 0, offset: 4 }, { topic, partition: 1, offset: 7 }]);
    } finally {
      await ours.close();
    }
    const out = await runJson<{ committed: Record<string, number>; first: Record<string, number> }>(PYTHON, ['-c', PY_RESUME, broker.address, topic, group, '2'], { timeoutMs: 60_000 });
    assert.deepEqual(out.committed, { 0: 4, 1: 7 });
    assert.deepEqual(out.first, { 0: 4, 1: 7 });
  });
});
