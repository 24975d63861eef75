/**
 * Client-side partition assignment for classic consumer groups: the group leader runs one of
 * these over every member's subscription and sends each member its share in SyncGroup.
 *
 * The subscription and assignment travel as Kafka's "consumer" protocol: an int16 version, then a
 * ConsumerProtocolSubscription / ConsumerProtocolAssignment body at that version.
 */
import { ConsumerProtocolAssignment } from '../../protocol/generated/consumer-protocol-assignment.js';
import { ConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.js';
import { copyBytes } from '../../protocol/primitives/codec.js';
import { DecodeError, Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';

/** Same shape as the consumer's TopicPartition (consumer.ts re-exports this one). */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  /** What the member held when it joined (subscription v1+); empty for eager members. */
  ownedPartitions: TopicPartition[];
  /** The generation ownedPartitions belong to (subscription v2+); -1 when unknown. */
  generationId: number;
  rackId: string | null;
  userData: Buffer | null;
}

export type RebalanceProtocol = 'EAGER' | 'COOPERATIVE';

export interface PartitionAssignor {
  /** Kafka's protocol name, sent in JoinGroup: 'range' | 'roundrobin' | 'sticky' | 'cooperative-sticky'. */
  readonly name: string;
  readonly supportedProtocols: RebalanceProtocol[];
  /** memberId → partitions; every member appears, with [] when it gets nothing. */
  assign(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Map<string, TopicPartition[]>;
  /**
   * User data the member puts in its subscription, from its current assignment and generation
   * (Java's subscriptionUserData + onAssignment, without state in the assignor). Absent: none.
   */
  subscriptionUserData?(assignment: TopicPartition[], generationId: number): Buffer | null;
  /**
   * Optional, instead of assign(): each member's partitions with user data for its assignment (Java's
   * Assignment.userData; Kafka Streams sends standby tasks there), and free to await (e.g. end offsets).
   */
  assignWithUserData?(partitionsPerTopic: Map<string, number>, members: MemberSubscription[]): Promise<Map<string, MemberAssignment>>;
  /**
   * Java's onAssignment: called on every member with its assignment and the assignment's user data after
   * SyncGroup, before the revoke and assign callbacks of that rebalance.
   */
  onAssignment?(assignment: TopicPartition[], userData: Buffer | null, generationId: number): void;
}

/** One member's share from assignWithUserData. */
export interface MemberAssignment {
  partitions: TopicPartition[];
  userData: Buffer | null;
}

/** Highest ConsumerProtocolSubscription/Assignment version this client knows. */
export const CONSUMER_PROTOCOL_VERSION = 3;

export interface DecodedSubscription {
  /** The version in the bytes (may be above CONSUMER_PROTOCOL_VERSION: read as that one). */
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartition[];
  generationId: number;
  rackId: string | null;
}

export interface DecodedAssignment {
  version: number;
  partitions: TopicPartition[];
  userData: Buffer | null;
}

/** Groups partitions by topic for the wire, topics and partitions sorted (as the Java client sends them). */
function groupSorted(partitions: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = byTopic.get(tp.topic);
    if (!list) byTopic.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  return [...byTopic.keys()].sort(compareStrings).map((topic) => ({
    topic,
    partitions: byTopic.get(topic)!.sort((a, b) => a - b),
  }));
}

/** Groups partitions by topic in order of first appearance, keeping the caller's order within a topic. */
function groupInOrder(partitions: readonly TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = byTopic.get(tp.topic);
    if (!list) byTopic.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  return [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
}

function flatten(groups: ReadonlyArray<{ topic: string; partitions: number[] }>): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const g of groups) for (const partition of g.partitions) out.push({ topic: g.topic, partition });
  return out;
}

function checkEncodeVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > CONSUMER_PROTOCOL_VERSION) {
    throw new RangeError(`consumer protocol version ${version} is outside 0-${CONSUMER_PROTOCOL_VERSION}`);
  }
}

/** Reads the version header; a version newer than ours is read as ours (later versions only append fields). */
function readVersion(r: Reader, what: string): { version: number; readAs: number } {
  const version = r.readInt16();
  if (version < 0) throw new DecodeError(`unsupported ${what} version ${version}`, 0);
  return { version, readAs: Math.min(version, CONSUMER_PROTOCOL_VERSION) };
}

export function encodeSubscription(
  s: { topics: string[]; userData?: Buffer | null; ownedPartitions?: TopicPartition[]; generationId?: number; rackId?: string | null },
  version: number = CONSUMER_PROTOCOL_VERSION,
): Buffer {
  checkEncodeVersion(version);
  const w = new Writer(64);
  w.writeInt16(version);
  ConsumerProtocolSubscription.encode(w, version, {
    topics: [...new Set(s.topics)].sort(compareStrings),
    userData: s.userData ?? null,
    ownedPartitions: groupSorted(s.ownedPartitions ?? []),
    generationId: s.generationId ?? -1,
    rackId: s.rackId ?? null,
  });
  return w.toBuffer();
}

export function decodeSubscription(buf: Buffer): DecodedSubscription {
  const r = new Reader(buf);
  const { version, readAs } = readVersion(r, 'subscription');
  const d = ConsumerProtocolSubscription.decode(r, readAs);
  return {
    version,
    topics: d.topics,
    userData: copyBytes(d.userData),
    ownedPartitions: flatten(d.ownedPartitions),
    generationId: d.generationId,
    // The Java client treats an empty rack as none.
    rackId: d.rackId === null || d.rackId === '' ? null : d.rackId,
  };
}

export function encodeAssignment(partitions: TopicPartition[], userData: Buffer | null = null, version: number = CONSUMER_PROTOCOL_VERSION): Buffer {
  checkEncodeVersion(version);
  const w = new Writer(64);
  w.writeInt16(version);
  ConsumerProtocolAssignment.encode(w, version, { assignedPartitions: groupInOrder(partitions), userData });
  return w.toBuffer();
}

export function decodeAssignment(buf: Buffer): DecodedAssignment {
  const r = new Reader(buf);
  const { version, readAs } = readVersion(r, 'assignment');
  const d = ConsumerProtocolAssignment.decode(r, readAs);
  return { version, partitions: flatten(d.assignedPartitions), userData: copyBytes(d.userData) };
}

// ---- helpers shared by the assignors ----

/** Code-unit order, like Java's String.compareTo for the ASCII names Kafka allows. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Kafka's MemberInfo order: static members (groupInstanceId) first, by instance id, so a restarted
 * static member lands in the same place; then dynamic members by member id.
 */
export function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    return compareStrings(a.groupInstanceId, b.groupInstanceId) || compareStrings(a.memberId, b.memberId);
  }
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition;
}

/** Every member mapped to an empty list, in member order. */
export function emptyAssignment(members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>();
  for (const m of members) out.set(m.memberId, []);
  return out;
}
