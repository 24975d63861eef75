/**
 * The `uniform` server assignor (KIP-848's default): spreads partitions so member loads differ by at most
 * one where subscriptions allow it, and is sticky: a member keeps the partitions of its previous target
 * unless balance requires moving them. Works for identical and for differing subscriptions.
 *
 * Algorithm (deterministic: members by id, topics by id, partitions ascending):
 *  1. keep every still-valid partition of each member's current target (subscribed topic, partition exists);
 *  2. give each unowned partition to the least-loaded subscribed member — among equally loaded ones, one in
 *     a rack holding a replica of the partition when the topic is rack-aware (rackAware());
 *  3. while some member owns a partition that a subscribed member with at least two fewer partitions could
 *     take, move it there (the most loaded member gives first). Each move lowers the sum of squared loads,
 *     so this ends; with identical subscriptions it ends with loads within one of each other.
 */
import {
  rackAware, sameRack, sortedMembers, sortedTopicIds, type AssignorMember, type AssignorTopic, type PartitionAssignor, type TopicPartitionMap,
} from './partition-assignor.js';

export class UniformAssignor implements PartitionAssignor {
  readonly name = 'uniform';

  assign(input: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, TopicPartitionMap> {
    const members = sortedMembers(input);
    const topicIds = sortedTopicIds(topics);
    const counts = new Int32Array(members.length);
    // owner[t][p] = member index or -1; eligible[t] = indexes of members subscribed to topic t.
    const owner: Int32Array[] = [];
    const eligible: number[][] = [];
    const topicIndex = new Map<string, number>();
    topicIds.forEach((id, t) => {
      topicIndex.set(id, t);
      owner.push(new Int32Array(topics.get(id)!.numPartitions).fill(-1));
      eligible.push([]);
    });
    members.forEach((m, i) => {
      for (const id of new Set(m.subscribedTopicIds)) {
        const t = topicIndex.get(id);
        if (t !== undefined) eligible[t]!.push(i);
      }
    });
    const subscribed = (i: number, t: number): boolean => eligible[t]!.includes(i);

    // 1. Stickiness.
    members.forEach((m, i) => {
      for (const [id, ps] of m.currentTarget) {
        const t = topicIndex.get(id);
        if (t === undefined || !subscribed(i, t)) continue;
        const own = owner[t]!;
        for (const p of ps) {
          if (p < own.length && own[p] === -1) {
            own[p] = i;
            counts[i]!++;
          }
        }
      }
    });

    const aware = topicIds.map((id, t) => rackAware(eligible[t]!.map((i) => members[i]!), topics.get(id)!));
    const local = (i: number, t: number, p: number): boolean => aware[t]! && sameRack(members[i]!, topics.get(topicIds[t]!)!, p);
    /** The least-loaded subscriber of topic t; with a partition given, ties go to a member of its rack. */
    const leastLoaded = (t: number, p = -1): number => {
      let best = -1;
      for (const i of eligible[t]!) {
        if (best < 0 || counts[i]! < counts[best]!) best = i;
        else if (p >= 0 && counts[i] === counts[best] && !local(best, t, p) && local(i, t, p)) best = i;
      }
      return best;
    };

    // 2. Unowned partitions.
    for (let t = 0; t < owner.length; t++) {
      const own = owner[t]!;
      for (let p = 0; p < own.length; p++) {
        if (own[p] !== -1) continue;
        const i = leastLoaded(t, p);
        if (i < 0) break; // nobody subscribes
        own[p] = i;
        counts[i]!++;
      }
    }

    // 3. Balance.
    const byLoad = members.map((_, i) => i);
    for (;;) {
      byLoad.sort((a, b) => counts[b]! - counts[a]! || a - b);
      let moved = false;
      for (const from of byLoad) {
        for (let t = 0; t < owner.length && !moved; t++) {
          const own = owner[t]!;
          // Give away the highest partitions first so low partition numbers stay put.
          for (let p = own.length - 1; p >= 0; p--) {
            if (own[p] !== from) continue;
            const to = leastLoaded(t);
            if (counts[to]! > counts[from]! - 2) break; // nobody on this topic is light enough
            own[p] = to;
            counts[from]!--;
            counts[to]!++;
            moved = true;
            break;
          }
        }
        if (moved) break;
      }
      if (!moved) break;
    }

    const result = new Map<string, TopicPartitionMap>();
    for (const m of members) result.set(m.memberId, new Map());
    for (let t = 0; t < owner.length; t++) {
      const own = owner[t]!;
      for (let p = 0; p < own.length; p++) {
        const i = own[p]!;
        if (i < 0) continue;
        const target = result.get(members[i]!.memberId)!;
        const list = target.get(topicIds[t]!);
        if (list) list.push(p);
        else target.set(topicIds[t]!, [p]);
      }
    }
    return result;
  }
}
