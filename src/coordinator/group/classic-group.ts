/**
 * A classic consumer group's state, as Kafka's GroupMetadata keeps it: the members (with the protocols
 * each supports and the assignment the leader gave it), the generation, the selected protocol, the leader,
 * static members by group.instance.id, members told MEMBER_ID_REQUIRED that have not rejoined yet, and
 * the committed offsets. Pure data plus queries; the transitions live in group-coordinator.ts.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { ConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.js';
import type { OffsetAndMetadata } from './group-records.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
  skipAssignment: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export class Member {
  assignment: Buffer = Buffer.alloc(0);
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** Joined during the current rebalance (a new member that must not expire before it is told the result). */
  isNew = false;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    public protocolType: string,
    public protocols: Protocol[],
  ) {}

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0);
  }

  /** Same protocols with the same metadata, in the same order. */
  matches(protocols: readonly Protocol[]): boolean {
    return protocols.length === this.protocols.length
      && protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }
}

export const offsetKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export interface CommittedOffset {
  topic: string;
  partition: number;
  value: OffsetAndMetadata;
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  readonly staticMembers = new Map<string, string>();
  readonly pendingMembers = new Set<string>();
  /** Members that sent SyncGroup in the current CompletingRebalance. */
  readonly synced = new Set<string>();
  readonly offsets = new Map<string, CommittedOffset>();
  currentStateTimestamp: number;
  /** Delayed initial rebalance: a member joined since the delay was last extended; time left to extend by. */
  newMemberAdded = false;
  initialDelayRemainingMs = 0;
  initialDelayActive = false;

  constructor(readonly groupId: string, now: number) {
    this.currentStateTimestamp = now;
  }

  transition(state: GroupState, now: number): void {
    this.state = state;
    this.currentStateTimestamp = now;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  /** The static member registered under instanceId is another member id. */
  isStaticMemberFenced(memberId: string, instanceId: string | null): boolean {
    if (instanceId === null) return false;
    const current = this.staticMembers.get(instanceId);
    return current !== undefined && current !== memberId;
  }

  addMember(m: Member): void {
    if (this.members.size === 0 && this.protocolType === null) this.protocolType = m.protocolType;
    this.members.set(m.memberId, m);
    if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    this.leaderId ??= m.memberId;
  }

  removeMember(memberId: string): Member | undefined {
    const m = this.members.get(memberId);
    if (!m) return undefined;
    this.members.delete(memberId);
    this.synced.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) this.staticMembers.delete(m.groupInstanceId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return m;
  }

  /** Protocols every member supports, in the order of votes: each member votes for its first such choice. */
  selectProtocol(): string {
    const all = [...this.members.values()];
    const candidates = all[0]!.protocols.map((p) => p.name).filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const m of all) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  /** A joining member's protocols fit the group: same type and at least one protocol every member supports. */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => [...this.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  hasAllMembersJoined(): boolean {
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return this.pendingMembers.size === 0;
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /**
   * The topics the members subscribe to, when the group uses the consumer protocol and every subscription
   * decodes; null when unknown (then nothing may be deleted or expired on the grounds of subscriptions).
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const m of this.members.values()) {
        const r = new Reader(m.metadataFor(this.protocolName));
        const sub = ConsumerProtocolSubscription.decode(r, Math.min(r.readInt16(), ConsumerProtocolSubscription.maxVersion));
        for (const t of sub.topics) topics.add(t);
      }
    } catch {
      return null;
    }
    return topics;
  }
}
