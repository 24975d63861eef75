/**
 * Kafka's RoundRobinAssignor: every partition of every subscribed topic, sorted by topic then
 * partition, dealt in turn to the members (in MemberInfo order), skipping a member that does not
 * subscribe to the partition's topic. Balanced when all subscriptions are the same.
 */
import {
  compareMembers, compareStrings, emptyAssignment,
  type MemberSubscription, type PartitionAssignor, type RebalanceProtocol, type TopicPartition,
} from './assignor.js';

export class RoundRobinAssignor implements PartitionAssignor {
  readonly name = 'roundrobin';
  readonly supportedProtocols: RebalanceProtocol[] = ['EAGER'];

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    const assignment = emptyAssignment(members);
    const ring = [...members].sort(compareMembers);
    const subscribed = ring.map((m) => new Set(m.topics));
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort(compareStrings);
    let next = 0;
    for (const topic of topics) {
      const numPartitions = partitionsPerTopic.get(topic) ?? 0;
      for (let partition = 0; partition < numPartitions; partition++) {
        // Some member subscribes to this topic, so this finds one within one turn of the ring.
        while (!subscribed[next].has(topic)) next = (next + 1) % ring.length;
        assignment.get(ring[next].memberId)!.push({ topic, partition });
        next = (next + 1) % ring.length;
      }
    }
    return assignment;
  }
}
