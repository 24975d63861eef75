/**
 * Kafka's RangeAssignor: topic by topic, the members subscribed to the topic (in MemberInfo order)
 * each take a contiguous range of its partitions; the first (partitions % members) take one extra.
 * Co-partitioned topics therefore line up: partition i of every topic goes to the same member.
 */
import {
  compareMembers, compareStrings, emptyAssignment,
  type MemberSubscription, type PartitionAssignor, type RebalanceProtocol, type TopicPartition,
} from './assignor.js';

export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range';
  readonly supportedProtocols: RebalanceProtocol[] = ['EAGER'];

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    const assignment = emptyAssignment(members);
    const membersPerTopic = new Map<string, MemberSubscription[]>();
    for (const m of members) {
      for (const topic of new Set(m.topics)) {
        let list = membersPerTopic.get(topic);
        if (!list) membersPerTopic.set(topic, (list = []));
        list.push(m);
      }
    }
    for (const topic of [...membersPerTopic.keys()].sort(compareStrings)) {
      const numPartitions = partitionsPerTopic.get(topic) ?? 0;
      if (numPartitions <= 0) continue; // not in metadata (yet)
      const consumers = membersPerTopic.get(topic)!.sort(compareMembers);
      const perMember = Math.floor(numPartitions / consumers.length);
      const withExtra = numPartitions % consumers.length;
      for (let i = 0; i < consumers.length; i++) {
        const start = perMember * i + Math.min(i, withExtra);
        const length = perMember + (i < withExtra ? 1 : 0);
        const list = assignment.get(consumers[i].memberId)!;
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p });
      }
    }
    return assignment;
  }
}
