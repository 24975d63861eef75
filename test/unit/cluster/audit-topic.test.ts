import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { RawClient } from '../../helpers/raw-client.js';
import { Consumer } from '../../../src/client/consumer.js';

const CREATE_TOPICS = 19;

describe('the audit topic in a three-broker cluster', () => {
  const cluster = new InProcessCluster('audit-topic', { 'audit.log.topic': 'audit-events' });
  before(async () => {
    await cluster.open([1, 2, 3]);
  });
  after(async () => {
    await cluster.close();
  });

  test('each broker appends its events to the one partition, locally where it leads, by Produce to the leader elsewhere', async () => {
    for (const id of [1, 2, 3]) {
      const c = await RawClient.connect(cluster.brokers.get(id)!.address);
      try {
        const res = await c.send(CREATE_TOPICS, 5, { topics: [{ name: `from-${id}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
        assert.equal(res.topics[0].errorCode, 0);
      } finally {
        c.close();
      }
    }
    const consumer = new Consumer({ bootstrapServers: cluster.bootstrap(), groupId: 'audit-reader', autoOffsetReset: 'earliest' });
    const seen: any[] = [];
    try {
      await consumer.subscribe(['audit-events']);
      for (let i = 0; i < 100 && seen.length < 3; i++) {
        for (const r of await consumer.poll(100)) seen.push(JSON.parse(r.value!.toString()));
      }
    } finally {
      await consumer.close();
    }
    const byNode = seen.filter((e) => e.operation === 'CreateTopics').map((e) => [e.nodeId, e.resource.name, e.result]).sort();
    assert.deepEqual(byNode, [[1, 'from-1', 'success'], [2, 'from-2', 'success'], [3, 'from-3', 'success']]);
  });
});
