/**
 * Server-side partition assignors for KIP-848 consumer groups. An assignor is a pure function from the
 * group's members (their subscriptions and current target assignment) and the subscribed topics to a new
 * target assignment; the consumer-group state machine persists the result and reconciles members towards it.
 * Runs only when the group epoch moves, never per record.
 */

/** topic id → partition numbers, ascending. */
export type TopicPartitionMap = Map<string, number[]>;

export interface AssignorMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  /** Ids of subscribed topics that exist. */
  subscribedTopicIds: readonly string[];
  /** The member's target assignment before this run (stickiness input). */
  currentTarget: ReadonlyMap<string, readonly number[]>;
}

export interface AssignorTopic {
  topicId: string;
  numPartitions: number;
  /** The racks of a partition's replicas (empty or absent: unknown); on this single node, broker.rack. */
  partitionRacks?: (partition: number) => readonly string[];
}

export interface PartitionAssignor {
  /** The name clients send in ConsumerGroupHeartbeat.ServerAssignor (`uniform`, `range`). */
  readonly name: string;
  /** Returns a target for every member (an empty map when it gets nothing). Deterministic. */
  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, TopicPartitionMap>;
}

/**
 * Rack-aware assignment applies to a topic as in Kafka's assignors: some member has a rack, the partitions
 * have racks, and some member's rack lacks a replica of some partition (else every choice is as local).
 * Balance comes first: the racks only decide between members equally loaded.
 */
export function rackAware(members: readonly AssignorMember[], topic: AssignorTopic): boolean {
  const memberRacks = new Set(members.flatMap((m) => (m.rackId === null ? [] : [m.rackId])));
  if (memberRacks.size === 0 || !topic.partitionRacks) return false;
  for (let p = 0; p < topic.numPartitions; p++) {
    const racks = topic.partitionRacks(p);
    if (racks.length === 0) continue;
    for (const r of memberRacks) if (!racks.includes(r)) return true;
  }
  return false;
}

/** True when the member's rack holds a replica of the partition. */
export function sameRack(member: AssignorMember, topic: AssignorTopic, partition: number): boolean {
  return member.rackId !== null && (topic.partitionRacks?.(partition) ?? []).includes(member.rackId);
}

/** Members in a stable order so results never depend on map insertion order. */
export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

export function sortedTopicIds(topics: ReadonlyMap<string, AssignorTopic>): string[] {
  return [...topics.keys()].sort();
}
