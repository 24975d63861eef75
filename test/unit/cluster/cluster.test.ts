/**
 * Three in-process brokers on one real etcd: topics with replication factor 3, acks=all produce, reads up to the
 * high watermark, leadership moving on a controlled shutdown, a restarted broker catching up, and replicas
 * byte-identical afterwards. (Process kills, pauses and cuts are in test/compat/cluster-faults.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const PRODUCE = 0;

async function readAll(bootstrap: string, topic: string, partitions: number, expected: number): Promise<Map<number, string[]>> {
  const c = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' });
  const out = new Map<number, string[]>();
  try {
    await c.connect();
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    let n = 0;
    const deadline = Date.now() + 20_000;
    while (n < expected && Date.now() < deadline) {
      for (const r of await c.poll(500)) {
        const list = out.get(r.partition) ?? [];
        list.push(`${r.offset}:${r.value?.toString()}`);
        out.set(r.partition, list);
        n++;
      }
    }
  } finally {
    await c.close();
  }
  return out;
}

describe('a three-broker cluster on etcd', () => {
  const cluster = new InProcessCluster('cluster');
  const { brokers } = cluster;

  before(async () => cluster.open([1, 2, 3]));
  after(async () => cluster.close());

  test('one cluster id, three brokers, one controller', async () => {
    const ids = new Set([...brokers.values()].map((b) => b.clusterId));
    assert.equal(ids.size, 1);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await until('three brokers registered', async () => (await admin.describeCluster()).brokers.length === 3);
      const d = await admin.describeCluster();
      assert.deepEqual(d.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      assert.ok([1, 2, 3].includes(d.controllerId), `controller ${d.controllerId}`);
    } finally {
      await admin.close();
    }
  });

  test('replication factor 3: acks=all writes are on every replica, byte for byte, and read back in order', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await admin.createTopics([{ name: 'rf3', numPartitions: 3, replicationFactor: 3 }]);
      const [t] = await admin.describeTopics(['rf3']);
      for (const p of t!.partitions) {
        assert.equal(p.replicas.length, 3);
        assert.deepEqual([...p.isr].sort(), [1, 2, 3]);
      }
      // Leaders are spread: each broker leads one of the three partitions.
      assert.deepEqual(t!.partitions.map((p) => p.leader).sort(), [1, 2, 3]);
    } finally {
      await admin.close();
    }
    const producer = new Producer({ bootstrapServers: cluster.bootstrap(), acks: -1 });
    try {
      const acked = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic: 'rf3', partition: i % 3, value: `v${i}` })));
      assert.equal(acked.length, 300);
    } finally {
      await producer.close();
    }
    const read = await readAll(cluster.bootstrap(), 'rf3', 3, 300);
    assert.equal([...read.values()].reduce((n, l) => n + l.length, 0), 300);
    for (const [, list] of read) list.forEach((entry, i) => assert.ok(entry.startsWith(`${i}:`), `offsets in order: ${entry} at ${i}`));
    // Every replica holds the same bytes once the followers have caught up.
    await until('followers caught up', () => [0, 1, 2].every((p) => [...brokers.values()].every((b) => b.context.topics.tryLog('rf3', p)?.logEndOffset === 100)));
    for (let p = 0; p < 3; p++) {
      const copies = [...brokers.values()].map((b) => b.context.topics.log('rf3', p).read(0, 1 << 20, true));
      assert.ok(copies.every((c) => c.equals(copies[0]!)), `partition ${p} differs between replicas`);
    }
  });

  test('a controlled shutdown moves leadership; the broker rejoins the ISR after a restart', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let victim: number;
    try {
      const [t] = await admin.describeTopics(['rf3']);
      victim = t!.partitions[0]!.leader;
    } finally {
      await admin.close();
    }
    await cluster.stop(victim);
    const admin2 = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await until('new leader for rf3-0', async () => {
        const [t] = await admin2.describeTopics(['rf3']);
        return t!.partitions.every((p) => p.leader !== victim && p.leader >= 0) && t!.partitions.every((p) => !p.isr.includes(victim));
      });
      const producer = new Producer({ bootstrapServers: cluster.bootstrap(), acks: -1 });
      try {
        await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic: 'rf3', partition: i % 3, value: `after${i}` })));
      } finally {
        await producer.close();
      }
      await cluster.start(victim);
      await until('the restarted broker back in every ISR', async () => {
        const [t] = await admin2.describeTopics(['rf3']);
        return t!.partitions.every((p) => p.isr.length === 3);
      }, 20_000);
    } finally {
      await admin2.close();
    }
    const read = await readAll(cluster.bootstrap(), 'rf3', 3, 330);
    assert.equal([...read.values()].reduce((n, l) => n + l.length, 0), 330);
    await until('restarted replica caught up', () => [0, 1, 2].every((p) => brokers.get(victim)!.context.topics.tryLog('rf3', p)?.logEndOffset === 110));
    for (let p = 0; p < 3; p++) {
      const copies = [...brokers.values()].map((b) => b.context.topics.log('rf3', p).read(0, 1 << 20, true));
      assert.ok(copies.every((c) => c.equals(copies[0]!)), `partition ${p} differs between replicas after the restart`);
    }
  });

  test('a produce to a follower is NOT_LEADER_OR_FOLLOWER; min.insync.replicas refuses acks=all when the ISR is too small', async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    let leader: number;
    try {
      await admin.createTopics([{ name: 'minisr', numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '4' } }]);
      leader = (await admin.describeTopics(['minisr']))[0]!.partitions[0]!.leader;
    } finally {
      await admin.close();
    }
    const batch = buildRecordBatch([{ value: Buffer.from('x') }]);
    const body = (acks: number) => ({ acks, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'minisr', partitionData: [{ index: 0, records: Buffer.from(batch) }] }] });
    const follower = [...brokers.values()].find((b) => b.nodeId !== leader)!;
    const f = await RawClient.connect(follower.address);
    const l = await RawClient.connect(brokers.get(leader)!.address);
    try {
      const notLeader = await f.send(PRODUCE, 9, body(1));
      assert.equal(notLeader.responses[0].partitionResponses[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const tooFew = await l.send(PRODUCE, 9, body(-1));
      assert.equal(tooFew.responses[0].partitionResponses[0].errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
      // acks=1 does not need the ISR.
      const one = await l.send(PRODUCE, 9, body(1));
      assert.equal(one.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    } finally {
      f.close();
      l.close();
    }
  });
});
