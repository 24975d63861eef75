/**
 * The `range` server assignor: per topic, the subscribed members (ordered by instance id when static,
 * else member id, so a restarted static member gets its range back) each get one contiguous range; the
 * first `partitions % members` get one extra. Topics with the same partition count and subscribers are
 * co-partitioned (partition n of each goes to the same member), which is what range promises. It is not
 * sticky beyond that: the ranges depend only on the member order. Rack-aware (rackAware()): the extra
 * partitions go first to subscribers in a rack holding the topic's replicas; the ranges stay contiguous.
 */
import {
  rackAware, sameRack, sortedTopicIds, type AssignorMember, type AssignorTopic, type PartitionAssignor, type TopicPartitionMap,
} from './partition-assignor.js';

function orderKey(m: AssignorMember): string {
  return m.instanceId ?? m.memberId;
}

export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range';

  assign(input: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, TopicPartitionMap> {
    const members = [...input].sort((a, b) => {
      const ka = orderKey(a);
      const kb = orderKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
    });
    const result = new Map<string, TopicPartitionMap>();
    for (const m of members) result.set(m.memberId, new Map());
    for (const topicId of sortedTopicIds(topics)) {
      const subscribers = members.filter((m) => m.subscribedTopicIds.includes(topicId));
      if (subscribers.length === 0) continue;
      const topic = topics.get(topicId)!;
      const n = topic.numPartitions;
      const base = Math.floor(n / subscribers.length);
      const extra = n % subscribers.length;
      // Who gets one more: the first `extra` subscribers, or with racks the local ones first (still in order).
      let extraOrder = subscribers.map((_, j) => j);
      if (extra > 0 && rackAware(subscribers, topic)) {
        const isLocal = (m: AssignorMember): boolean => [...Array(n).keys()].some((p) => sameRack(m, topic, p));
        extraOrder = [...extraOrder.filter((j) => isLocal(subscribers[j]!)), ...extraOrder.filter((j) => !isLocal(subscribers[j]!))];
      }
      const getsExtra = new Set(extraOrder.slice(0, extra));
      let start = 0;
      subscribers.forEach((m, j) => {
        const size = base + (getsExtra.has(j) ? 1 : 0);
        if (size === 0) return;
        const ps: number[] = [];
        for (let p = start; p < start + size; p++) ps.push(p);
        result.get(m.memberId)!.set(topicId, ps);
        start += size;
      });
    }
    return result;
  }
}
