// The streams partition assignor (Kafka's StreamsPartitionAssignor, protocol name 'stream'): it assigns TASKS, not
// topic-partitions. A task is (sub-topology, partition) and holds partition p of every source topic of its
// sub-topology, so the co-partitioned inputs of a join always land on one member. Tasks are balanced by count
// (each member gets floor or ceil of tasks/members; the tasks of a sub-topology spread across members), sticky (a
// member keeps the tasks it owned, up to its share; ownership comes from the subscription's owned partitions) and
// cooperative (KIP-429): a task another member still owns is left out of this assignment; its owner, missing it
// in its new assignment, revokes it and rejoins, and the follow-up rebalance hands it to its new member.
//
// Standby replicas (num.standby.replicas, Kafka's HighAvailabilityTaskAssignor idea): every member's subscription
// user data says which tasks it holds state for and how far (task offset sums, below); the leader lists the
// changelogs' end offsets and turns them into lags. A stateful task (one with a changelog) whose owner is gone goes
// to a member whose state is within acceptable.recovery.lag of the end, when that member has room under the count
// balance; then each stateful task gets num.standby.replicas standbys on other members than its active one
// (preferring members that already hold its state, balanced by count), sent in the assignment's user data.
//
// Subscription user data, version 1 (big-endian):   int16 version = 1, int32 n, then n times
//     int32 sub-topology, int32 partition, int64 offset sum
//   offset sum: the sum over the task's changelog partitions of the next offset the member's stores would read
//   (last offset held + 1); -2 (Kafka's Task.LATEST_OFFSET) for a task the member runs active (caught up).
// Assignment user data, version 1:                   int16 version = 1, int32 n, then n times
//     int32 sub-topology, int32 partition            the member's standby tasks
// Version 2 (interactive queries across instances, Kafka's application.server) appends to version 1's layout:
//   subscription:  string application.server ("" when unset)
//   assignment:    partitionsByHost, then standbyPartitionsByHost (Kafka's AssignmentInfo), each
//                  int32 hosts, then per host: string host, int32 topics, then per topic: string topic, int32 n,
//                  n times int32 partition   — the active (standby) tasks' source partitions of every instance
//   string: int16 length + UTF-8 bytes.
// A later version only appends, so a decoder reads the prefix it knows of any version >= 1 (a member of a newer
// version is still understood); version < 1 and malformed bytes read as "no tasks" (the member still gets actives).
import type { MemberAssignment, MemberSubscription, PartitionAssignor, RebalanceProtocol, TopicPartition } from '../client/assignors/assignor.js';
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

/** Kafka's Task.LATEST_OFFSET: the offset sum of a running active task (caught up by definition). */
export const LATEST_OFFSET = -2;
const USER_DATA_VERSION = 2;

function parseTaskId(id: string): [number, number] {
  const i = id.indexOf('_');
  return [Number(id.slice(0, i)), Number(id.slice(i + 1))];
}

/** Host ("host:port") → topic-partitions: the cluster-wide map of Kafka's AssignmentInfo. */
export type PartitionsByHost = Map<string, TopicPartition[]>;

class Writer {
  private readonly parts: Buffer[] = [];
  int16(n: number): void {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
  }
  int32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
  }
  int64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    this.parts.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
  }
  hostMap(m: PartitionsByHost): void {
    this.int32(m.size);
    for (const [host, tps] of m) {
      this.string(host);
      const byTopic = new Map<string, number[]>();
      for (const tp of tps) {
        let l = byTopic.get(tp.topic);
        if (!l) byTopic.set(tp.topic, (l = []));
        l.push(tp.partition);
      }
      this.int32(byTopic.size);
      for (const [topic, ps] of byTopic) {
        this.string(topic);
        this.int32(ps.length);
        for (const p of ps) this.int32(p);
      }
    }
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads big-endian fields; any read past the end throws RangeError (the callers turn it into "nothing"). */
class Reader {
  o = 0;
  constructor(private readonly b: Buffer) {}
  int16(): number {
    const v = this.b.readInt16BE(this.o);
    this.o += 2;
    return v;
  }
  int32(): number {
    const v = this.b.readInt32BE(this.o);
    this.o += 4;
    return v;
  }
  int64(): number {
    const v = Number(this.b.readBigInt64BE(this.o));
    this.o += 8;
    return v;
  }
  count(size: number): number {
    const n = this.int32();
    if (n < 0 || this.o + n * size > this.b.length) throw new RangeError('bad count');
    return n;
  }
  string(): string {
    const n = this.int16();
    if (n < 0 || this.o + n > this.b.length) throw new RangeError('bad string');
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
  hostMap(): PartitionsByHost {
    const out: PartitionsByHost = new Map();
    for (let h = this.count(2); h > 0; h--) {
      const host = this.string();
      const tps: TopicPartition[] = [];
      for (let t = this.count(2); t > 0; t--) {
        const topic = this.string();
        for (let n = this.count(4); n > 0; n--) tps.push({ topic, partition: this.int32() });
      }
      out.set(host, tps);
    }
    return out;
  }
}

/** Subscription user data: task id → offset sum, and the member's application.server (see the header). */
export function encodeSubscriptionInfo(offsetSums: ReadonlyMap<string, number>, applicationServer = ''): Buffer {
  const w = new Writer();
  w.int16(USER_DATA_VERSION);
  w.int32(offsetSums.size);
  for (const [id, sum] of offsetSums) {
    const [s, p] = parseTaskId(id);
    w.int32(s);
    w.int32(p);
    w.int64(sum);
  }
  w.string(applicationServer);
  return w.done();
}

/** A subscription's user data in full: offset sums and (version 2 on) the member's application.server. */
export function decodeSubscriptionUserData(buf: Buffer | null): { offsetSums: Map<string, number>; applicationServer: string | null } {
  const offsetSums = new Map<string, number>();
  let applicationServer: string | null = null;
  if (buf === null || buf.length < 6) return { offsetSums, applicationServer };
  const version = buf.readInt16BE(0);
  if (version < 1) return { offsetSums, applicationServer };
  const r = new Reader(buf);
  r.o = 2;
  try {
    for (let i = 0, n = r.count(16); i < n; i++) offsetSums.set(`${r.int32()}_${r.int32()}`, r.int64());
  } catch {
    return { offsetSums: new Map(), applicationServer };
  }
  if (version >= 2) {
    try {
      applicationServer = r.string() || null;
    } catch {
      applicationServer = null;
    }
  }
  return { offsetSums, applicationServer };
}

export function decodeSubscriptionInfo(buf: Buffer | null): Map<string, number> {
  return decodeSubscriptionUserData(buf).offsetSums;
}

/** Assignment user data: the member's standby task ids and the cluster's active and standby partitions by host. */
export function encodeAssignmentInfo(standbyTasks: readonly string[], partitionsByHost: PartitionsByHost = new Map(), standbyPartitionsByHost: PartitionsByHost = new Map()): Buffer {
  const w = new Writer();
  w.int16(USER_DATA_VERSION);
  w.int32(standbyTasks.length);
  for (const id of standbyTasks) {
    const [s, p] = parseTaskId(id);
    w.int32(s);
    w.int32(p);
  }
  w.hostMap(partitionsByHost);
  w.hostMap(standbyPartitionsByHost);
  return w.done();
}

export interface AssignmentInfo {
  standbyTasks: string[];
  /** Null: the leader sent none (version 1, or unreadable). */
  partitionsByHost: PartitionsByHost | null;
  standbyPartitionsByHost: PartitionsByHost | null;
}

export function decodeAssignmentInfo(buf: Buffer | null): AssignmentInfo {
  const out: AssignmentInfo = { standbyTasks: [], partitionsByHost: null, standbyPartitionsByHost: null };
  if (buf === null || buf.length < 6 || buf.readInt16BE(0) < 1) return out;
  const version = buf.readInt16BE(0);
  const r = new Reader(buf);
  r.o = 2;
  try {
    for (let i = 0, n = r.count(8); i < n; i++) out.standbyTasks.push(`${r.int32()}_${r.int32()}`);
  } catch {
    out.standbyTasks = [];
    return out;
  }
  if (version >= 2) {
    try {
      const active = r.hostMap();
      const standby = r.hostMap();
      out.partitionsByHost = active;
      out.standbyPartitionsByHost = standby;
    } catch {
      // Unreadable host maps: no metadata from this assignment.
    }
  }
  return out;
}

export interface StreamsAssignorOptions {
  /** Kafka's num.standby.replicas (default 0). */
  numStandbyReplicas?: number;
  /** Kafka's acceptable.recovery.lag (default 10000): a member this close to a task's changelog ends is caught up. */
  acceptableRecoveryLag?: number;
  /** Each stateful sub-topology's changelog topics (the task of partition p reads partition p of each). */
  changelogs?: ReadonlyMap<number, readonly string[]>;
  /** This member's task offset sums, for its subscription. */
  taskOffsetSums?: () => ReadonlyMap<string, number>;
  /** On the leader: the end offsets of changelog partitions, keyed "<topic> <partition>". */
  endOffsets?: (tps: TopicPartition[]) => Promise<Map<string, number>>;
  /** This member's active and standby tasks, from each assignment (before the revoke and assign callbacks). */
  onTasks?: (active: string[], standby: string[], generationId: number) => void;
  /** This member's application.server ("host:port"), sent in its subscription. */
  applicationServer?: string;
  /** From each assignment of version 2: every instance's active and standby source partitions, by host. */
  onHostMetadata?: (partitionsByHost: PartitionsByHost, standbyPartitionsByHost: PartitionsByHost) => void;
}

/** What assignTasks decides: partitions per member (cooperative: withheld while another owns them) and standbys. */
export interface TaskAssignment {
  partitions: Map<string, TopicPartition[]>;
  /** Member → its standby task ids (sorted). */
  standbys: Map<string, string[]>;
  /** Member → the active task ids it was given (withheld ones included: it gets them in the follow-up rebalance). */
  actives: Map<string, string[]>;
}

/**
 * The assignment, pure: tasks, members (sorted by compareMembers), which tasks are stateful, each member's lag per
 * task (absent: no state), the standby count and the acceptable recovery lag.
 */
export function assignTasks(
  tasks: readonly StreamsTask[], members: readonly MemberSubscription[], stateful: ReadonlySet<string>,
  lags: ReadonlyMap<string, ReadonlyMap<string, number>>, numStandbys: number, acceptableRecoveryLag: number,
): TaskAssignment {
  const sorted = [...members].sort(compareMembers);
  const partitions = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
  const standbys = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
  const actives = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return { partitions, standbys, actives };
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
  const ceilSlots = tasks.length % sorted.length;
  let ceilUsed = 0;
  const assigned = new Map<string, StreamsTask[]>(sorted.map((m) => [m.memberId, []]));
  // Sticky: each member keeps what it owned, up to its share (floor, or ceil while ceil slots remain).
  const kept = new Set<StreamsTask>();
  for (const m of sorted) {
    const mine = tasks.filter((t) => owner.get(t)?.member === m.memberId);
    let cap = floor;
    if (mine.length > floor && ceilUsed < ceilSlots) {
      cap = floor + 1;
      ceilUsed++;
    }
    for (const t of mine.slice(0, cap)) {
      assigned.get(m.memberId)!.push(t);
      kept.add(t);
    }
  }
  const lagOf = (member: string, task: string): number => lags.get(member)?.get(task) ?? Infinity;
  // The rest, in (sub-topology, partition) order, each to a member with room under the balance (floor, or ceil
  // while ceil slots remain): a stateful task to the caught-up member with the least lag if there is one, else
  // (and a stateless task) to the member with the fewest tasks, then the fewest of its sub-topology, then member
  // order. Whole counts stay within one of each other.
  for (const t of tasks) {
    if (kept.has(t)) continue;
    let best: string | null = null;
    let bestKey: number[] = [];
    for (const m of sorted) {
      const list = assigned.get(m.memberId)!;
      const room = list.length < floor || (list.length === floor && ceilUsed < ceilSlots);
      if (!room) continue;
      const lag = stateful.has(t.id) ? lagOf(m.memberId, t.id) : Infinity;
      const key = [lag <= acceptableRecoveryLag ? lag : Infinity, list.length, list.filter((x) => x.subtopology === t.subtopology).length];
      if (best === null || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        best = m.memberId;
        bestKey = key;
      }
    }
    const list = assigned.get(best!)!;
    if (list.length === floor) ceilUsed++;
    list.push(t);
  }
  const activeOf = new Map<string, string>();
  for (const [memberId, list] of assigned) for (const t of list) activeOf.set(t.id, memberId);

  // Standbys: on other members than the active one, never two copies of a task on one member. First the members
  // already holding the task's state (least lag first) up to an even share each, then the least loaded.
  const n = Math.min(Math.max(0, numStandbys), sorted.length - 1);
  const standbySets = new Map<string, Set<string>>(sorted.map((m) => [m.memberId, new Set()]));
  const statefulTasks = tasks.filter((t) => stateful.has(t.id));
  if (n > 0) {
    const share = Math.ceil((statefulTasks.length * n) / sorted.length);
    const placed = new Map<string, number>(statefulTasks.map((t) => [t.id, 0]));
    for (const t of statefulTasks) {
      const holders = sorted.filter((m) => m.memberId !== activeOf.get(t.id) && lagOf(m.memberId, t.id) < Infinity)
        .sort((a, b) => lagOf(a.memberId, t.id) - lagOf(b.memberId, t.id));
      for (const m of holders) {
        if (placed.get(t.id)! >= n) break;
        const set = standbySets.get(m.memberId)!;
        if (set.size >= share) continue;
        set.add(t.id);
        placed.set(t.id, placed.get(t.id)! + 1);
      }
    }
    for (const t of statefulTasks) {
      while (placed.get(t.id)! < n) {
        let best: string | null = null;
        let bestKey: [number, number] = [Infinity, Infinity];
        for (const m of sorted) {
          const set = standbySets.get(m.memberId)!;
          if (m.memberId === activeOf.get(t.id) || set.has(t.id)) continue;
          const key: [number, number] = [set.size, assigned.get(m.memberId)!.length];
          if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
            best = m.memberId;
            bestKey = key;
          }
        }
        standbySets.get(best!)!.add(t.id);
        placed.set(t.id, placed.get(t.id)! + 1);
      }
    }
    // Stickiness and the active placement can leave the counts uneven (a member must not hold a standby of its own
    // active task): move standbys from the fullest member to one holding two or more fewer, where allowed,
    // preferring a task whose state the receiver already holds. Bounded; stops when nothing can move.
    for (let guard = statefulTasks.length * n * sorted.length; guard > 0; guard--) {
      const bySize = [...sorted].sort((a, b) => standbySets.get(b.memberId)!.size - standbySets.get(a.memberId)!.size);
      const from = standbySets.get(bySize[0].memberId)!;
      let move: { task: string; to: string; lag: number } | null = null;
      for (const m of [...bySize].reverse()) {
        const to = standbySets.get(m.memberId)!;
        if (to.size + 2 > from.size) break;
        for (const task of from) {
          if (activeOf.get(task) === m.memberId || to.has(task)) continue;
          const lag = lagOf(m.memberId, task);
          if (move === null || lag < move.lag) move = { task, to: m.memberId, lag };
        }
        if (move !== null) break;
      }
      if (move === null) break;
      from.delete(move.task);
      standbySets.get(move.to)!.add(move.task);
    }
  }

  for (const [memberId, list] of assigned) {
    const tps: TopicPartition[] = [];
    for (const t of list) {
      actives.get(memberId)!.push(t.id);
      // Cooperative: not while another member still holds one of its partitions (it revokes, then rejoins).
      const holders = claimants.get(t);
      if (holders && [...holders].some((h) => h !== memberId)) {
        // Meanwhile the new owner keeps (or starts warming) the task's state as a standby, so the hand-over in the
        // follow-up rebalance restores only the tail.
        if (n > 0 && stateful.has(t.id)) standbySets.get(memberId)!.add(t.id);
        continue;
      }
      tps.push(...t.partitions);
    }
    partitions.set(memberId, tps);
  }
  const byTaskOrder = (a: string, b: string): number => {
    const [sa, pa] = parseTaskId(a);
    const [sb, pb] = parseTaskId(b);
    return sa - sb || pa - pb;
  };
  for (const [memberId, set] of standbySets) standbys.set(memberId, [...set].sort(byTaskOrder));
  return { partitions, standbys, actives };
}

export class StreamsPartitionAssignor implements PartitionAssignor {
  readonly name = 'stream';
  readonly supportedProtocols: RebalanceProtocol[] = ['COOPERATIVE', 'EAGER'];
  private readonly numStandbys: number;
  private readonly acceptableRecoveryLag: number;

  /** topicGroups: each (non-global) sub-topology's id → its source topics, from the runtime's topology. */
  constructor(private readonly topicGroups: ReadonlyMap<number, readonly string[]>, private readonly options: StreamsAssignorOptions = {}) {
    this.numStandbys = options.numStandbyReplicas ?? 0;
    this.acceptableRecoveryLag = options.acceptableRecoveryLag ?? 10_000;
  }

  private statefulTasks(tasks: readonly StreamsTask[]): Set<string> {
    const changelogs = this.options.changelogs;
    return new Set(tasks.filter((t) => (changelogs?.get(t.subtopology)?.length ?? 0) > 0).map((t) => t.id));
  }

  /** Each member's lag per task it reported: end offset sums when known, else relative to the best report. */
  private lags(members: readonly MemberSubscription[], stateful: ReadonlySet<string>, endSums: ReadonlyMap<string, number> | null): Map<string, Map<string, number>> {
    const sums = new Map(members.map((m) => [m.memberId, decodeSubscriptionInfo(m.userData)]));
    const best = new Map<string, number>();
    for (const s of sums.values()) for (const [id, sum] of s) if (sum >= 0 && sum > (best.get(id) ?? -1)) best.set(id, sum);
    const out = new Map<string, Map<string, number>>();
    for (const [member, s] of sums) {
      const lags = new Map<string, number>();
      for (const [id, sum] of s) {
        if (!stateful.has(id)) continue;
        if (sum === LATEST_OFFSET) lags.set(id, 0);
        else if (sum >= 0) lags.set(id, Math.max(0, (endSums?.get(id) ?? best.get(id) ?? sum) - sum));
      }
      out.set(member, lags);
    }
    return out;
  }

  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]> {
    const tasks = tasksOf(this.topicGroups, partitionsPerTopic);
    const stateful = this.statefulTasks(tasks);
    return assignTasks(tasks, members, stateful, this.lags(members, stateful, null), this.numStandbys, this.acceptableRecoveryLag).partitions;
  }

  /** The leader's assignment with lags from the changelogs' end offsets, and each member's standby tasks. */
  async assignWithUserData(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Promise<Map<string, MemberAssignment>> {
    const tasks = tasksOf(this.topicGroups, partitionsPerTopic);
    const stateful = this.statefulTasks(tasks);
    let endSums: Map<string, number> | null = null;
    const changelogs = this.options.changelogs;
    if (this.options.endOffsets && changelogs && stateful.size > 0 && members.some((m) => decodeSubscriptionInfo(m.userData).size > 0)) {
      const byTask = new Map<string, TopicPartition[]>();
      for (const t of tasks) if (stateful.has(t.id)) byTask.set(t.id, changelogs.get(t.subtopology)!.map((topic) => ({ topic, partition: t.partition })));
      try {
        const ends = await this.options.endOffsets([...byTask.values()].flat());
        endSums = new Map();
        for (const [id, tps] of byTask) endSums.set(id, tps.reduce((n, tp) => n + (ends.get(`${tp.topic} ${tp.partition}`) ?? 0), 0));
      } catch {
        endSums = null; // lags relative to the best member's state instead
      }
    }
    const result = assignTasks(tasks, members, stateful, this.lags(members, stateful, endSums), this.numStandbys, this.acceptableRecoveryLag);
    const { active, standby } = hostMaps(tasks, members, result);
    const out = new Map<string, MemberAssignment>();
    for (const [memberId, tps] of result.partitions) out.set(memberId, { partitions: tps, userData: encodeAssignmentInfo(result.standbys.get(memberId) ?? [], active, standby) });
    return out;
  }

  subscriptionUserData(): Buffer | null {
    const sums = this.options.taskOffsetSums?.();
    const server = this.options.applicationServer ?? '';
    return sums === undefined && server === '' ? null : encodeSubscriptionInfo(sums ?? new Map(), server);
  }

  onAssignment(assignment: TopicPartition[], userData: Buffer | null, generationId: number): void {
    const active = new Set<string>();
    for (const tp of assignment) {
      for (const [subtopology, topics] of this.topicGroups) if (topics.includes(tp.topic)) active.add(`${subtopology}_${tp.partition}`);
    }
    const info = decodeAssignmentInfo(userData);
    this.options.onTasks?.([...active], info.standbyTasks, generationId);
    if (info.partitionsByHost && info.standbyPartitionsByHost) this.options.onHostMetadata?.(info.partitionsByHost, info.standbyPartitionsByHost);
  }
}

/**
 * Kafka's partitionsByHost / standbyPartitionByHost: each member with an application.server → the source
 * partitions of the active tasks it was given (the target assignment, cooperative hand-overs included: the
 * follow-up rebalance makes it true) and of its standby tasks. Members of one host are merged; members without an
 * application.server are left out.
 */
export function hostMaps(tasks: readonly StreamsTask[], members: readonly MemberSubscription[], result: TaskAssignment): { active: PartitionsByHost; standby: PartitionsByHost } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const active: PartitionsByHost = new Map();
  const standby: PartitionsByHost = new Map();
  const add = (m: PartitionsByHost, host: string, ids: readonly string[]): void => {
    let l = m.get(host);
    if (!l) m.set(host, (l = []));
    for (const id of ids) l.push(...(byId.get(id)?.partitions ?? []));
  };
  for (const m of [...members].sort(compareMembers)) {
    const host = decodeSubscriptionUserData(m.userData).applicationServer;
    if (host === null) continue;
    add(active, host, result.actives.get(m.memberId) ?? []);
    add(standby, host, result.standbys.get(m.memberId) ?? []);
  }
  return { active, standby };
}
