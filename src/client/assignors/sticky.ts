/**
 * Kafka's sticky assignment (StickyAssignor 'sticky', and the core that CooperativeStickyAssignor
 * shares): a balanced assignment that keeps as many previously owned partitions as possible.
 *
 * Previous ownership comes from each member's claims with their generation; when two members claim
 * one partition the higher generation wins, and a tie at the same generation leaves it unowned
 * (marked conflicted, so the cooperative variant can hold it back until both have revoked it).
 *
 * Two builders, as in the Java client:
 * - every member subscribes to the same topics: quotas are known up front (each member gets
 *   floor(P/N) or ceil(P/N)), so owned partitions are kept up to the quota and the rest are dealt
 *   round-robin to the members still under it; O(P + N);
 * - otherwise: owned partitions are kept, the rest go to the least loaded eligible member, then
 *   partitions move one at a time from a member to an eligible member holding at least two fewer,
 *   until no such move exists. Members with the same subscriptions then differ by at most one.
 */
import {
  compareStrings, emptyAssignment,
  type MemberSubscription, type PartitionAssignor, type RebalanceProtocol, type TopicPartition,
} from './assignor.js';

/** A member's previous assignment as the sticky assignors read it; generation -1 when unknown. */
export interface StickyMemberData {
  partitions: TopicPartition[];
  generation: number;
}

export interface StickyResult {
  assignment: Map<string, TopicPartition[]>;
  /** Partitions ("topic:partition") claimed by several members in the same generation. */
  conflicted: Set<string>;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Partitions are numbered 0..P-1: topics in name order, then partition order. */
interface PartitionSpace {
  topics: string[];
  /** First id of each topic; offsets[topics.length] = P. */
  offsets: number[];
  topicIndex: Map<string, number>;
  /** Topic index of each id. */
  topicOf: Int32Array;
}

function partitionSpace(partitionsPerTopic: Map<string, number>, subscribed: Set<string>): PartitionSpace {
  const topics = [...subscribed].filter((t) => (partitionsPerTopic.get(t) ?? 0) > 0).sort(compareStrings);
  const offsets = [0];
  const topicIndex = new Map<string, number>();
  topics.forEach((t, i) => {
    topicIndex.set(t, i);
    offsets.push(offsets[i] + partitionsPerTopic.get(t)!);
  });
  const topicOf = new Int32Array(offsets[topics.length]);
  for (let t = 0; t < topics.length; t++) topicOf.fill(t, offsets[t], offsets[t + 1]);
  return { topics, offsets, topicIndex, topicOf };
}

export function stickyAssign(
  partitionsPerTopic: Map<string, number>,
  members: readonly MemberSubscription[],
  memberData: (m: MemberSubscription) => StickyMemberData,
): StickyResult {
  const result = emptyAssignment(members);
  const conflicted = new Set<string>();
  if (members.length === 0) return { assignment: result, conflicted };

  // Member id order, so the result does not depend on the order members are listed in.
  const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  const space = partitionSpace(partitionsPerTopic, new Set(sorted.flatMap((m) => m.topics)));
  const P = space.offsets[space.topics.length];
  const N = sorted.length;

  // Each member's subscribed topics that exist, as sorted topic indices.
  const subs: number[][] = sorted.map((m) => {
    const idx = new Set<number>();
    for (const t of m.topics) {
      const i = space.topicIndex.get(t);
      if (i !== undefined) idx.add(i);
    }
    return [...idx].sort((a, b) => a - b);
  });
  const subSets = subs.map((s) => new Set(s));

  // Previous owner of each partition (-1 none): highest generation wins, a same-generation tie voids it.
  const owner = new Int32Array(P).fill(-1);
  const ownerGen = new Int32Array(P).fill(-2);
  const conflict = new Uint8Array(P);
  for (let i = 0; i < N; i++) {
    const data = memberData(sorted[i]);
    const gen = data.generation;
    for (const tp of data.partitions) {
      const t = space.topicIndex.get(tp.topic);
      if (t === undefined || !subSets[i].has(t)) continue; // gone, or no longer wanted
      if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= space.offsets[t + 1] - space.offsets[t]) continue;
      const id = space.offsets[t] + tp.partition;
      if (owner[id] === i) continue;
      if (gen > ownerGen[id]) {
        owner[id] = i;
        ownerGen[id] = gen;
        conflict[id] = 0;
      } else if (gen === ownerGen[id]) {
        owner[id] = -1;
        conflict[id] = 1;
      }
    }
  }
  for (let id = 0; id < P; id++) {
    if (conflict[id]) conflicted.add(tpKey(space.topics[space.topicOf[id]], id - space.offsets[space.topicOf[id]]));
  }

  const first = subs[0].join(',');
  const identical = subs.every((s) => s.join(',') === first);
  const assigned = identical ? buildConstrained(P, N, owner, space) : buildGeneral(P, N, owner, subs, space);

  const lists: number[][] = sorted.map(() => []);
  for (let id = 0; id < P; id++) if (assigned[id] >= 0) lists[assigned[id]].push(id);
  for (let i = 0; i < N; i++) {
    const out = result.get(sorted[i].memberId)!;
    for (const id of lists[i]) {
      const t = space.topicOf[id];
      out.push({ topic: space.topics[t], partition: id - space.offsets[t] });
    }
  }
  return { assignment: result, conflicted };
}

/** Every member subscribes to every topic in the space. Returns the member index of each partition. */
function buildConstrained(P: number, N: number, owner: Int32Array, space: PartitionSpace): Int32Array {
  const assigned = new Int32Array(P).fill(-1);
  const count = new Int32Array(N);
  const minQuota = Math.floor(P / N);
  const maxQuota = Math.ceil(P / N);
  const expectedOver = P % N; // members that end with maxQuota
  let over = 0;

  const owned: number[][] = Array.from({ length: N }, () => []);
  for (let id = 0; id < P; id++) if (owner[id] >= 0) owned[owner[id]].push(id);
  // When a member must give some up, it keeps its lowest partition numbers across topics.
  const partitionOf = (id: number): number => id - space.offsets[space.topicOf[id]];
  for (const list of owned) if (list.length > 1) list.sort((a, b) => partitionOf(a) - partitionOf(b) || a - b);

  const keep = (i: number, n: number): void => {
    for (let k = 0; k < n; k++) assigned[owned[i][k]] = i;
    count[i] = n;
  };
  // Members owning enough for the larger quota get it first, so the fewest owned partitions move.
  const gotMax = new Uint8Array(N);
  for (let i = 0; i < N && over < expectedOver; i++) {
    if (owned[i].length >= maxQuota) {
      keep(i, maxQuota);
      gotMax[i] = 1;
      over++;
    }
  }
  const under: number[] = [];
  const atMin: number[] = [];
  for (let i = 0; i < N; i++) {
    if (gotMax[i]) continue;
    keep(i, Math.min(owned[i].length, minQuota));
    if (count[i] < minQuota) under.push(i);
    else atMin.push(i);
  }

  // Deal the rest round-robin to members under minQuota, then one extra each while members may
  // still go over it. The counts add up exactly: N*minQuota + expectedOver = P.
  let next = 0;
  let nextExtra = 0;
  for (let id = 0; id < P; id++) {
    if (assigned[id] >= 0) continue;
    let i: number;
    if (under.length > 0) {
      if (next >= under.length) next = 0;
      i = under[next];
      if (count[i] + 1 === minQuota) {
        under.splice(next, 1);
        atMin.push(i);
      } else {
        next++;
      }
    } else {
      if (over >= expectedOver || nextExtra >= atMin.length) throw new Error('sticky assignor: no member left under quota');
      i = atMin[nextExtra++];
      over++;
    }
    assigned[id] = i;
    count[i]++;
  }
  return assigned;
}

/** Members subscribe to different topics. Returns the member index of each partition. */
function buildGeneral(P: number, N: number, owner: Int32Array, subs: number[][], space: PartitionSpace): Int32Array {
  const assigned = new Int32Array(P).fill(-1);
  const count = new Int32Array(N);
  const T = space.topics.length;
  const consumersOf: number[][] = Array.from({ length: T }, () => []);
  for (let i = 0; i < N; i++) for (const t of subs[i]) consumersOf[t].push(i);

  for (let id = 0; id < P; id++) {
    if (owner[id] >= 0) {
      assigned[id] = owner[id];
      count[owner[id]]++;
    }
  }

  // New partitions: the most constrained topics first, each partition to the least loaded eligible member.
  const topicOrder = [...Array(T).keys()].sort((a, b) => consumersOf[a].length - consumersOf[b].length || a - b);
  for (const t of topicOrder) {
    for (let id = space.offsets[t]; id < space.offsets[t + 1]; id++) {
      if (assigned[id] >= 0) continue;
      let best = -1;
      for (const i of consumersOf[t]) if (best < 0 || count[i] < count[best]) best = i;
      if (best < 0) continue; // nobody subscribes (cannot happen: the space holds subscribed topics only)
      assigned[id] = best;
      count[best]++;
    }
  }

  // Balance: give a member a partition from an eligible holder that has at least two more. Each move
  // lowers the sum of squared counts by at least 2, so this ends. Among candidates, take from the
  // most loaded holder, preferring a partition the holder did not own before (keeps stickiness),
  // then one the receiver owned before.
  for (;;) {
    let moved = false;
    const order = [...Array(N).keys()].sort((a, b) => count[a] - count[b] || a - b);
    for (const c of order) {
      for (;;) {
        let best = -1;
        let bestRank = -1;
        for (const t of subs[c]) {
          for (let id = space.offsets[t]; id < space.offsets[t + 1]; id++) {
            const h = assigned[id];
            if (h === c || count[h] < count[c] + 2) continue;
            const rank = count[h] * 4 + (owner[id] !== h ? 2 : 0) + (owner[id] === c ? 1 : 0);
            if (rank > bestRank) {
              bestRank = rank;
              best = id;
            }
          }
        }
        if (best < 0) break;
        count[assigned[best]]--;
        assigned[best] = c;
        count[c]++;
        moved = true;
      }
    }
    if (!moved) return assigned;
  }
}

// ---- StickyAssignor ('sticky', eager) ----

/**
 * The eager sticky assignor's user data (Java StickyAssignor V1): the member's previous assignment
 * as [topic, [partition]] and its generation. Eager members revoke everything before joining, so
 * their ownedPartitions are empty and this is where the previous assignment travels.
 */
export function encodeStickyUserData(partitions: readonly TopicPartition[], generation: number): Buffer {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = byTopic.get(tp.topic);
    if (!list) byTopic.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeInt32BE(byTopic.size);
  parts.push(n);
  for (const [topic, ps] of byTopic) {
    const name = Buffer.from(topic, 'utf8');
    const head = Buffer.alloc(2 + name.length + 4);
    head.writeInt16BE(name.length, 0);
    name.copy(head, 2);
    head.writeInt32BE(ps.length, 2 + name.length);
    parts.push(head);
    const body = Buffer.alloc(4 * ps.length);
    ps.forEach((p, k) => body.writeInt32BE(p, 4 * k));
    parts.push(body);
  }
  const g = Buffer.alloc(4);
  g.writeInt32BE(generation);
  parts.push(g);
  return Buffer.concat(parts);
}

/** Reads V1 (with generation) or V0 (without); unreadable data counts as no previous assignment, as in Java. */
export function decodeStickyUserData(buf: Buffer): StickyMemberData {
  try {
    let o = 0;
    const need = (k: number): void => {
      if (o + k > buf.length) throw new RangeError('short sticky user data');
    };
    need(4);
    const n = buf.readInt32BE(o);
    o += 4;
    if (n < 0) throw new RangeError('negative array length');
    const partitions: TopicPartition[] = [];
    for (let i = 0; i < n; i++) {
      need(2);
      const len = buf.readInt16BE(o);
      o += 2;
      if (len < 0) throw new RangeError('null topic');
      need(len);
      const topic = buf.toString('utf8', o, o + len);
      o += len;
      need(4);
      const m = buf.readInt32BE(o);
      o += 4;
      if (m < 0) throw new RangeError('negative array length');
      need(4 * m);
      for (let k = 0; k < m; k++, o += 4) partitions.push({ topic, partition: buf.readInt32BE(o) });
    }
    const generation = o + 4 <= buf.length ? buf.readInt32BE(o) : -1;
    return { partitions, generation };
  } catch {
    return { partitions: [], generation: -1 };
  }
}

export class StickyAssignor implements PartitionAssignor {
  readonly name = 'sticky';
  readonly supportedProtocols: RebalanceProtocol[] = ['EAGER'];

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    return stickyAssign(partitionsPerTopic, members, stickyMemberData).assignment;
  }

  subscriptionUserData(assignment: TopicPartition[], generationId: number): Buffer | null {
    return encodeStickyUserData(assignment, generationId);
  }
}

/** Previous assignment from the sticky user data; a member without it falls back to its subscription fields. */
function stickyMemberData(m: MemberSubscription): StickyMemberData {
  if (m.userData !== null && m.userData.length > 0) return decodeStickyUserData(m.userData);
  return { partitions: m.ownedPartitions, generation: m.generationId };
}
