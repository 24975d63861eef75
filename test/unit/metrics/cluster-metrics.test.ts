import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { scrape, sum, find } from '../../helpers/prometheus-text.js';

describe('metrics in a cluster: each broker its own endpoint', () => {
  const cluster = new InProcessCluster('metrics', { 'metrics.port': '0' });
  before(async () => {
    await cluster.open([1, 2]);
  });
  after(async () => {
    await cluster.close();
  });

  test('a produce counts on the leader only (follower appends are replication, not messages in)', async () => {
    const [b1, b2] = [cluster.brokers.get(1)!, cluster.brokers.get(2)!];
    assert.notEqual(b1.metricsUrl, undefined);
    assert.notEqual(b1.metricsUrl, b2.metricsUrl);
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    const producer = new Producer({ bootstrapServers: cluster.bootstrap(), acks: 'all' });
    try {
      await admin.connect();
      await admin.createTopics([{ name: 'cm', numPartitions: 1, replicationFactor: 2 }]);
      await producer.connect();
      const N = 120;
      await Promise.all(Array.from({ length: N }, (_, i) => producer.send({ topic: 'cm', partition: 0, value: `v${i}` })));
      const leader = (await admin.describeTopics(['cm']))[0]!.partitions[0]!.leader;
      const [l, f] = leader === 1 ? [b1, b2] : [b2, b1];
      const onLeader = await scrape(l.metricsUrl!);
      const onFollower = await scrape(f.metricsUrl!);
      assert.equal(find(onLeader, 'tributary_build_info')[0]!.labels.node_id, String(l.nodeId));
      assert.equal(find(onFollower, 'tributary_build_info')[0]!.labels.node_id, String(f.nodeId));
      assert.equal(sum(onLeader, 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'cm' }), N);
      assert.equal(sum(onFollower, 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'cm' }), 0);
      // The follower's fetches are requests on the leader, but their bytes are not bytes out to consumers.
      assert.ok(sum(onLeader, 'kafka_server_brokertopicmetrics_totalfetchrequests_total', { topic: 'cm' }) > 0);
      assert.equal(sum(onLeader, 'kafka_server_brokertopicmetrics_bytesout_total', { topic: 'cm' }), 0);
    } finally {
      await producer.close();
      await admin.close();
    }
  });
});
