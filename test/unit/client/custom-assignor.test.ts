// A PartitionAssignor object given in partitionAssignors is offered under its name and runs on the leader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Consumer } from '../../../src/client/consumer.js';
import type { MemberSubscription, PartitionAssignor, RebalanceProtocol, TopicPartition } from '../../../src/client/assignors/assignor.js';
import { withBroker } from './consumer-support.js';

/** Every partition to the member whose id sorts last. */
class LastTakesAll implements PartitionAssignor {
  readonly name = 'last-takes-all';
  readonly supportedProtocols: RebalanceProtocol[] = ['EAGER'];
  calls = 0;
  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    this.calls++;
    const ids = members.map((m) => m.memberId).sort();
    const all = [...partitionsPerTopic].flatMap(([topic, n]) => Array.from({ length: n }, (_, partition) => ({ topic, partition })));
    return new Map(ids.map((id, i) => [id, i === ids.length - 1 ? all : []]));
  }
}

test('a custom assignor object decides the assignment', async () => {
  await withBroker(async (address) => {
    const admin = new Admin({ bootstrapServers: address });
    await admin.connect();
    await admin.createTopics([{ name: 't', numPartitions: 3, replicationFactor: 1 }]);
    await admin.close();
    const assignors = [new LastTakesAll(), new LastTakesAll()];
    const consumers = assignors.map((a) => new Consumer({ bootstrapServers: address, groupId: 'g-custom', partitionAssignors: [a], heartbeatIntervalMs: 100, sessionTimeoutMs: 3000 }));
    try {
      for (const c of consumers) {
        await c.connect();
        await c.subscribe(['t']);
      }
      const deadline = Date.now() + 15_000;
      for (;;) {
        await Promise.all(consumers.map((c) => c.poll(100)));
        const sizes = consumers.map((c) => c.assignment().length).sort();
        if (sizes[0] === 0 && sizes[1] === 3) break;
        assert.ok(Date.now() < deadline, `assignment never settled: ${sizes.join(',')}`);
      }
      assert.ok(assignors[0].calls + assignors[1].calls > 0, 'the leader ran the given object');
      assert.throws(() => new Consumer({ bootstrapServers: address, groupId: 'g', partitionAssignors: ['no-such' as 'range'] }), /unknown partition assignor/);
    } finally {
      for (const c of consumers) await c.close();
    }
  });
});
