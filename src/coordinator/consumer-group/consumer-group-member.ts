/**
 * A KIP-848 consumer-group member and its reconciliation: how the member moves from its current assignment
 * towards its target, one heartbeat at a time. The rule that keeps two members from consuming the same
 * partition: a member first gives up (revokes) what is no longer in its target while keeping its epoch,
 * and only then moves to the target epoch and gets new partitions — and only those no other member still
 * owns (the rest stay "unreleased" until their owner revokes them).
 */
import type { TopicPartitionMap } from '../assignors/partition-assignor.js';
import { intersects, type ReadonlyTopicPartitionMap } from '../assignors/topic-partitions.js';

/** Kafka's MemberState byte values (ConsumerGroupCurrentMemberAssignmentValue.State). */
export const MemberState = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
} as const;

/** ConsumerGroupHeartbeat member epochs with a meaning of their own. */
export const JOIN_GROUP_MEMBER_EPOCH = 0;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

export interface ConsumerGroupMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Sorted, without duplicates. */
  readonly subscribedTopicNames: readonly string[];
  /** SubscribedTopicRegex (v1); null when the member subscribes by names only. */
  readonly subscribedTopicRegex: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: number;
  /** What the member may consume now. */
  readonly assignedPartitions: ReadonlyTopicPartitionMap;
  /** What the member still owns but must give up before it moves on. */
  readonly partitionsPendingRevocation: ReadonlyTopicPartitionMap;
}

export function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId, instanceId: null, rackId: null, clientId: '', clientHost: '', subscribedTopicNames: [], subscribedTopicRegex: null,
    rebalanceTimeoutMs: -1, serverAssignor: null, memberEpoch: 0, previousMemberEpoch: -1,
    state: MemberState.STABLE, assignedPartitions: new Map(), partitionsPendingRevocation: new Map(),
  };
}

/** True when another member still owns the partition (so it cannot be handed out yet). */
export type OwnedElsewhere = (topicId: string, partition: number) => boolean;

/**
 * The member's next state given its target. `owned` is what the member reported owning in this heartbeat
 * (null when it did not say: then a member that must revoke cannot progress).
 */
export function reconcile(
  member: ConsumerGroupMember,
  target: ReadonlyTopicPartitionMap,
  targetEpoch: number,
  owned: ReadonlyTopicPartitionMap | null,
  ownedElsewhere: OwnedElsewhere,
): ConsumerGroupMember {
  switch (member.state) {
    case MemberState.UNREVOKED_PARTITIONS:
      if (owned === null || intersects(owned, member.partitionsPendingRevocation)) return member;
      return nextAssignment(member, target, targetEpoch, ownedElsewhere);
    case MemberState.UNRELEASED_PARTITIONS:
      return nextAssignment(member, target, targetEpoch, ownedElsewhere);
    default:
      return member.memberEpoch === targetEpoch ? member : nextAssignment(member, target, targetEpoch, ownedElsewhere);
  }
}

function nextAssignment(
  member: ConsumerGroupMember,
  target: ReadonlyTopicPartitionMap,
  targetEpoch: number,
  ownedElsewhere: OwnedElsewhere,
): ConsumerGroupMember {
  const kept: TopicPartitionMap = new Map();
  const revoking: TopicPartitionMap = new Map();
  const adding: TopicPartitionMap = new Map();
  let unreleased = false;
  const topics = new Set([...member.assignedPartitions.keys(), ...target.keys()]);
  for (const t of topics) {
    const current = member.assignedPartitions.get(t) ?? [];
    const wanted = target.get(t) ?? [];
    const k = current.filter((p) => wanted.includes(p));
    const r = current.filter((p) => !wanted.includes(p));
    const a: number[] = [];
    for (const p of wanted) {
      if (k.includes(p)) continue;
      if (ownedElsewhere(t, p)) unreleased = true;
      else a.push(p);
    }
    if (k.length) kept.set(t, k);
    if (r.length) revoking.set(t, r);
    if (a.length) adding.set(t, a);
  }
  if (revoking.size > 0) {
    // Revoke first: same epoch, nothing new until the member confirms.
    return { ...member, state: MemberState.UNREVOKED_PARTITIONS, assignedPartitions: kept, partitionsPendingRevocation: revoking };
  }
  for (const [t, a] of adding) kept.set(t, [...(kept.get(t) ?? []), ...a].sort((x, y) => x - y));
  return {
    ...member,
    state: unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
    previousMemberEpoch: member.memberEpoch === targetEpoch ? member.previousMemberEpoch : member.memberEpoch,
    memberEpoch: targetEpoch,
    assignedPartitions: kept,
    partitionsPendingRevocation: new Map(),
  };
}
