// The streams partition assignor (Kafka's StreamsPartitionAssignor, protocol name 'stream'): it assigns TASKS, not
// topic-partitions. A task is (sub-topology, partition) and holds partition p of every source topic of its
// sub-topology, so the co-partitioned inputs of a join always land on one member. Tasks are balanced by count
// (each member gets floor or ceil of tasks/members; the tasks of a sub-topology spread across members), sticky (a
// member keeps the tasks it owned, up to its share; ownership comes from the subscription's owned partitions) and
// cooperative (KIP-429): a task another member still owns is left out of this assignment; its owner, missing it
// in its new assignment, revokes it and rejoins, and the follow-up rebalance hands it to its new member.
import type { MemberSubscription, PartitionAssignor, RebalanceProtocol, TopicPartition } from '../client/assignors/assignor.js';
import { compareMembers } from '../client/assignors/assignor.js';

export interface StreamsTask {
  /** "<sub-topology>_<partition>", as TaskId prints it. */
  readonly id: string;
  readonly subtopology: number;
  readonly partition: number;
  readonly partitions: TopicPartition[];
}

/** The tasks of topic groups (sub-topology id → its source topics) over the topics' partition counts. */
export function tasksOf(topicGroups: ReadonlyMap<number, readonly string[]>, partitionsPerTopic: ReadonlyMap<string, number>): StreamsTask[] {
  const out: StreamsTask[] = [];
  for (const [subtopology, topics] of [...topicGroups].sort((a, b) => a[0] - b[0])) {
    const counts = topics.map((t) => partitionsPerTopic.get(t) ?? 0);
    const n = Math.max(0, ...counts);
    for (let p = 0; p < n; p++) {
      const partitions = topics.filter((_, i) => p < counts[i]).map((topic) => ({ topic, partition: p }));
      out.push({ id: `${subtopology}_${p}`, subtopology, partition: p, partitions });
    }
  }
  return out;
}

export class StreamsPartitionAssignor implements PartitionAssignor {
  readonly name = 'stream';
  readonly supportedProtocols: RebalanceProtocol[] = ['COOPERATIVE', 'EAGER'];

  /** topicGroups: each (non-global) sub-topology's id → its source topics, from the runtime's topology. */
  constructor(private readonly topicGroups: ReadonlyMap<number, readonly string[]>) {}

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    const sorted = [...members].sort(compareMembers);
    const out = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
    if (sorted.length === 0) return out;
    const tasks = tasksOf(this.topicGroups, partitionsPerTopic);
    const taskByTp = new Map<string, StreamsTask>();
    for (const t of tasks) for (const tp of t.partitions) taskByTp.set(`${tp.topic}\u0000${tp.partition}`, t);

    // Who owns each task now: the member of the highest generation claiming one of its partitions.
    const owner = new Map<StreamsTask, { member: string; generation: number }>();
    const claimants = new Map<StreamsTask, Set<string>>();
    for (const m of sorted) {
      for (const tp of m.ownedPartitions) {
        const t = taskByTp.get(`${tp.topic}\u0000${tp.partition}`);
        if (!t) continue;
        let c = claimants.get(t);
        if (!c) claimants.set(t, (c = new Set()));
        c.add(m.memberId);
        const o = owner.get(t);
        if (!o || m.generationId > o.generation) owner.set(t, { member: m.memberId, generation: m.generationId });
      }
    }

    const floor = Math.floor(tasks.length / sorted.length);
    let ceilSlots = tasks.length % sorted.length;
    const assigned = new Map<string, StreamsTask[]>(sorted.map((m) => [m.memberId, []]));
    const unassigned: StreamsTask[] = [];
    // Sticky: each member keeps what it owned, up to its share (floor, or ceil while ceil slots remain).
    const kept = new Set<StreamsTask>();
    for (const m of sorted) {
      const mine = tasks.filter((t) => owner.get(t)?.member === m.memberId);
      let cap = floor;
      if (mine.length > floor && ceilSlots > 0) {
        cap = floor + 1;
        ceilSlots--;
      }
      for (const t of mine.slice(0, cap)) {
        assigned.get(m.memberId)!.push(t);
        kept.add(t);
      }
    }
    for (const t of tasks) if (!kept.has(t)) unassigned.push(t);
    // The rest, in (sub-topology, partition) order, each to the member with the fewest tasks (then the fewest of
    // that sub-topology, then member order): whole counts stay within one of each other.
    for (const t of unassigned) {
      let best: string | null = null;
      let bestKey: [number, number] = [Infinity, Infinity];
      for (const m of sorted) {
        const list = assigned.get(m.memberId)!;
        const key: [number, number] = [list.length, list.filter((x) => x.subtopology === t.subtopology).length];
        if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
          best = m.memberId;
          bestKey = key;
        }
      }
      assigned.get(best!)!.push(t);
    }

    for (const [memberId, list] of assigned) {
      const tps: TopicPartition[] = [];
      for (const t of list) {
        // Cooperative: not while another member still holds one of its partitions (it revokes, then rejoins).
        const holders = claimants.get(t);
        if (holders && [...holders].some((h) => h !== memberId)) continue;
        tps.push(...t.partitions);
      }
      out.set(memberId, tps);
    }
    return out;
  }
}
