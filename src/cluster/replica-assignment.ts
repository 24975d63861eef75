/**
 * Replica placement for new topics and partitions, and validation of manual assignments.
 *
 * Placement follows Kafka's classic algorithm (AdminUtils.assignReplicasToBrokers):
 * - rack-unaware: partition p's first replica is broker (start + p) mod n of the id-sorted list; its followers
 *   follow it at a shift that grows by one every n partitions, so leaders spread evenly and the followers of one
 *   broker's partitions land on different brokers;
 * - rack-aware (every broker has a rack): the same walk over a list that alternates racks (r1b1, r2b1, r3b1,
 *   r1b2, …), skipping a broker whose rack already holds a replica while some rack holds none (and a broker
 *   already chosen while some broker is not), so a partition spans min(rf, racks) racks.
 * Mixed racks (some brokers with a rack, some without): Kafka's KRaft placer (StripedReplicaPlacer) treats the
 * rack-less brokers as one more rack instead of refusing (the ZooKeeper-era tooling refused without
 * --disable-rack-aware); Tributary does the same: rack-less brokers form the rack `null`.
 */
import { KafkaError } from '../errors.js';
import { NO_LEADER, type PartitionState } from './metadata.js';

export interface PlacementBroker {
  readonly nodeId: number;
  readonly rack: string | null;
}

export interface AssignReplicasOptions {
  /** The first new partition's id (CreatePartitions: the current partition count). Default: existing.length or 0. */
  readonly startPartitionId?: number;
  /** Source of the random start index and follower shift; default Math.random. */
  readonly random?: () => number;
  /**
   * The topic's current assignment (CreatePartitions): new partitions continue its walk from partition 0's first
   * replica, as Kafka's addPartitions does, instead of a random start.
   */
  readonly existing?: readonly (readonly number[])[];
}

/** Kafka's checks on a requested partition count / replication factor, with its messages. */
export function validatePlacementRequest(numBrokers: number, numPartitions: number, replicationFactor: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
    throw new KafkaError('INVALID_PARTITIONS', 'Number of partitions was set to an invalid non-positive value.');
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor <= 0) {
    throw new KafkaError('INVALID_REPLICATION_FACTOR', 'Replication factor was set to an invalid non-positive value.');
  }
  if (replicationFactor > numBrokers) {
    throw new KafkaError(
      'INVALID_REPLICATION_FACTOR',
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${numBrokers} broker(s) are registered.`,
    );
  }
}

/**
 * Replicas for `numPartitions` new partitions (index i is partition startPartitionId + i), preferred leader first.
 * Throws KafkaError INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR as Kafka does.
 */
export function assignReplicas(
  brokers: readonly PlacementBroker[],
  numPartitions: number,
  replicationFactor: number,
  opts: AssignReplicasOptions = {},
): number[][] {
  const unique = new Map<number, PlacementBroker>();
  for (const b of brokers) unique.set(b.nodeId, b);
  const sorted = [...unique.values()].sort((a, b) => a.nodeId - b.nodeId);
  validatePlacementRequest(sorted.length, numPartitions, replicationFactor);
  const random = opts.random ?? Math.random;
  const existing = opts.existing;
  const startPartitionId = Math.max(0, opts.startPartitionId ?? existing?.length ?? 0);
  const racks = new Set(sorted.map((b) => b.rack));
  const rackAware = racks.size > 1;
  const list = rackAware ? rackAlternatedList(sorted) : sorted.map((b) => b.nodeId);
  const n = list.length;
  let startIndex: number;
  let shift: number;
  const first = existing?.[0]?.[0];
  if (first !== undefined) {
    // Kafka: the position of partition 0's first replica (or the next id up if it left), for start and shift alike.
    const at = list.indexOf(first);
    startIndex = at >= 0 ? at : Math.max(0, sorted.findIndex((b) => b.nodeId >= first));
    shift = startIndex;
  } else {
    startIndex = Math.floor(random() * n) % n;
    shift = Math.floor(random() * n) % n;
  }
  const rackOf = new Map(sorted.map((b) => [b.nodeId, b.rack]));
  const out: number[][] = [];
  for (let p = startPartitionId; p < startPartitionId + numPartitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const firstIndex = (p + startIndex) % n;
    const leader = list[firstIndex]!;
    const replicas = [leader];
    if (!rackAware) {
      for (let j = 0; j < replicationFactor - 1; j++) replicas.push(list[followerIndex(firstIndex, shift, j, n)]!);
    } else {
      const racksUsed = new Set([rackOf.get(leader)]);
      const brokersUsed = new Set([leader]);
      let k = 0;
      while (replicas.length < replicationFactor) {
        const broker = list[followerIndex(firstIndex, shift * racks.size, k++, n)]!;
        const rack = rackOf.get(broker);
        const rackOk = !racksUsed.has(rack) || racksUsed.size === racks.size;
        const brokerOk = !brokersUsed.has(broker) || brokersUsed.size === n;
        if (rackOk && brokerOk) {
          replicas.push(broker);
          racksUsed.add(rack);
          brokersUsed.add(broker);
        }
      }
    }
    out.push(replicas);
  }
  return out;
}

/** Index of the j-th follower: never the first replica itself (shift in 1..n-1). */
function followerIndex(firstIndex: number, shift: number, j: number, n: number): number {
  if (n === 1) return firstIndex;
  return (firstIndex + 1 + ((shift + j) % (n - 1))) % n;
}

/** Brokers sorted by rack, then one from each rack in turn (each rack's brokers by id). */
function rackAlternatedList(sorted: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string | null, number[]>();
  for (const b of sorted) {
    const list = byRack.get(b.rack) ?? [];
    list.push(b.nodeId);
    byRack.set(b.rack, list);
  }
  // The null rack (rack-less brokers) sorts first, as Optional.empty() before any name.
  const racks = [...byRack.keys()].sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));
  const out: number[] = [];
  for (let i = 0; out.length < sorted.length; i++) {
    for (const rack of racks) {
      const id = byRack.get(rack)![i];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}

/**
 * Checks one manual assignment (CreateTopics `assignments`, CreatePartitions `assignments`,
 * AlterPartitionReassignments `replicas`) with Kafka's messages: non-empty, every broker registered, no broker
 * twice, and the same replica count as `replicationFactor` when given. Throws KafkaError INVALID_REPLICA_ASSIGNMENT.
 */
export function validateManualReplicas(replicas: readonly number[], registered: ReadonlySet<number> | ReadonlyMap<number, unknown>, replicationFactor?: number): void {
  if (replicas.length === 0) throw invalidAssignment('The manual partition assignment includes an empty replica list.');
  const sorted = [...replicas].sort((a, b) => a - b);
  let prev: number | undefined;
  for (const id of sorted) {
    if (!registered.has(id)) throw invalidAssignment(`The manual partition assignment includes broker ${id}, but no such broker is registered.`);
    if (id === prev) throw invalidAssignment(`The manual partition assignment includes the broker ${id} more than once.`);
    prev = id;
  }
  if (replicationFactor !== undefined && replicas.length !== replicationFactor) {
    throw invalidAssignment(
      `The manual partition assignment includes a partition with ${replicas.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
}

/**
 * A CreateTopics manual assignment: partition ids consecutive from 0, each listed once, one replication factor,
 * at least one live (not shutting down) replica per partition. Returns replicas indexed by partition.
 */
export function validateCreateTopicAssignments(
  assignments: ReadonlyArray<{ readonly partitionIndex: number; readonly brokerIds: readonly number[] }>,
  registered: ReadonlySet<number> | ReadonlyMap<number, unknown>,
  live: ReadonlySet<number>,
): number[][] {
  const byPartition = new Map<number, number[]>();
  let rf: number | undefined;
  for (const a of assignments) {
    if (byPartition.has(a.partitionIndex)) throw invalidAssignment(`Found multiple manual partition assignments for partition ${a.partitionIndex}`);
    validateManualReplicas(a.brokerIds, registered, rf);
    rf = a.brokerIds.length;
    if (!a.brokerIds.some((id) => live.has(id))) throw allFenced(a.partitionIndex);
    byPartition.set(a.partitionIndex, [...a.brokerIds]);
  }
  const out: number[][] = [];
  for (let i = 0; i < byPartition.size; i++) {
    const replicas = byPartition.get(i);
    if (replicas === undefined) throw invalidAssignment('partitions should be a consecutive 0-based integer sequence');
    out.push(replicas);
  }
  return out;
}

/**
 * A CreatePartitions manual assignment for `additional` new partitions of a topic with `replicationFactor`
 * replicas, the first new one being `startPartitionId`.
 */
export function validateCreatePartitionsAssignments(
  assignments: ReadonlyArray<readonly number[]>,
  additional: number,
  startPartitionId: number,
  replicationFactor: number,
  registered: ReadonlySet<number> | ReadonlyMap<number, unknown>,
  live: ReadonlySet<number>,
): number[][] {
  if (assignments.length !== additional) {
    throw invalidAssignment(`Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`);
  }
  return assignments.map((replicas, i) => {
    validateManualReplicas(replicas, registered, replicationFactor);
    if (!replicas.some((id) => live.has(id))) throw allFenced(startPartitionId + i);
    return [...replicas];
  });
}

function invalidAssignment(message: string): KafkaError {
  return new KafkaError('INVALID_REPLICA_ASSIGNMENT', message);
}

function allFenced(partition: number): KafkaError {
  return invalidAssignment(`All brokers specified in the manual partition assignment for partition ${partition} are fenced or in controlled shutdown.`);
}

/** A new partition's state: leader the first live replica, ISR every live replica, epochs 0. */
export function initialPartitionState(replicas: readonly number[], live: ReadonlySet<number>): PartitionState {
  const isr = replicas.filter((id) => live.has(id));
  return {
    replicas: [...replicas],
    // Without a live replica (callers refuse that case) the ISR keeps the preferred replica and the partition is offline.
    isr: isr.length > 0 ? isr : replicas.slice(0, 1),
    leader: isr[0] ?? NO_LEADER,
    leaderEpoch: 0,
    partitionEpoch: 0,
    addingReplicas: [],
    removingReplicas: [],
  };
}
