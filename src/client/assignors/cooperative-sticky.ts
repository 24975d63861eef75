/**
 * Kafka's CooperativeStickyAssignor (KIP-429): the sticky assignment, minus every partition that
 * would move while another member still holds it. Under the cooperative protocol members keep
 * consuming their partitions through a rebalance, so a moving partition is first revoked by its
 * owner (it is missing from the owner's new assignment) and only handed out in the follow-up
 * rebalance the owner triggers after revoking; no partition is ever consumed by two members at once.
 */
import type { MemberSubscription, PartitionAssignor, RebalanceProtocol, TopicPartition } from './assignor.js';
import { stickyAssign, tpKey, type StickyMemberData } from './sticky.js';

export class CooperativeStickyAssignor implements PartitionAssignor {
  readonly name = 'cooperative-sticky';
  readonly supportedProtocols: RebalanceProtocol[] = ['EAGER', 'COOPERATIVE'];

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    const { assignment, conflicted } = stickyAssign(partitionsPerTopic, members, cooperativeMemberData);

    // Who says they hold each partition, as sent (whatever the generation: a stale claimant may still be fetching).
    const claimants = new Map<string, string[]>();
    for (const m of members) {
      for (const tp of m.ownedPartitions) {
        const key = tpKey(tp.topic, tp.partition);
        const list = claimants.get(key);
        if (!list) claimants.set(key, [m.memberId]);
        else if (!list.includes(m.memberId)) list.push(m.memberId);
      }
    }
    for (const [memberId, partitions] of assignment) {
      assignment.set(memberId, partitions.filter((tp) => {
        const key = tpKey(tp.topic, tp.partition);
        // Claimed by two members in one generation: both must revoke it first.
        if (conflicted.has(key)) return false;
        const holders = claimants.get(key);
        // Moving in from another member that has not revoked it yet.
        return holders === undefined || holders.includes(memberId);
      }));
    }
    return assignment;
  }

  /** Java's CooperativeStickyAssignor user data: the generation as an int32, for leaders that read subscriptions below v2. */
  subscriptionUserData(_assignment: TopicPartition[], generationId: number): Buffer | null {
    const b = Buffer.alloc(4);
    b.writeInt32BE(generationId);
    return b;
  }
}

/** The generation comes from the subscription (v2+), else from the 4-byte user data older clients send. */
function cooperativeMemberData(m: MemberSubscription): StickyMemberData {
  if (m.generationId >= 0) return { partitions: m.ownedPartitions, generation: m.generationId };
  if (m.userData !== null && m.userData.length >= 4) return { partitions: m.ownedPartitions, generation: m.userData.readInt32BE(0) };
  return { partitions: m.ownedPartitions, generation: -1 };
}
