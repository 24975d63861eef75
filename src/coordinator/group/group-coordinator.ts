/**
 * The classic group coordinator as a pure state machine (no I/O; time and timers come from Timers).
 * Every public operation returns `{ response, records, effects }` for the CoordinatorRuntime, which persists
 * the records to `__consumer_offsets` before answering. Kafka's rules (GroupCoordinator / GroupMetadata):
 * member ids `<clientId>-<uuid>` (`<group.instance.id>-<uuid>` for static members), MEMBER_ID_REQUIRED for
 * JoinGroup v4+ without an id, the leader is the first member to join, the protocol is the one most members
 * prefer among those all support, a delayed initial rebalance for empty groups, the rebalance timeout bounds
 * a join phase, the session timeout expires silent members, and static members are replaced in place.
 * JoinGroup and SyncGroup responses may wait: their response is a promise completed by a later operation.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { GroupMetadataValue } from '../../protocol/generated/internal/group-metadata-value.js';
import type { CoordinatorResult, StateMachine, Timers } from '../runtime.js';
import { ClassicGroup, Member, offsetKey, type CommittedOffset, type GroupState, type JoinResult, type Protocol, type SyncResult } from './classic-group.js';
import type { GroupRecord, OffsetAndMetadata } from './group-records.js';

export interface GroupCoordinatorConfig {
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.max.size */
  maxGroupSize: number;
  /** offsets.retention.minutes, in ms */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes: number;
}

/** What the classic coordinator needs to know from outside its own state. */
export interface GroupCoordinatorHooks {
  /** The `__consumer_offsets` partition of a group: a replayed marker completes the groups of its partition. */
  partitionOf(groupId: string): number;
  /**
   * For a KIP-848 consumer group (whose offsets this coordinator keeps in an empty holder group): the topics
   * its members subscribe to; undefined for any other group.
   */
  consumerGroupTopics(groupId: string): ReadonlySet<string> | undefined;
  /**
   * Every offset of a KIP-848 consumer group expired (none pending in a transaction) and its holder was
   * deleted: the consumer group goes too if it has no members (Kafka deletes empty groups left without offsets).
   */
  consumerGroupOffsetsExpired(groupId: string): void;
}

export const DEFAULT_GROUP_CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1800000,
  maxGroupSize: 2147483647,
  offsetsRetentionMs: 10080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetMetadataMaxBytes: 4096,
};

export interface JoinGroupInput {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
  /** v9+: a static leader rejoining a stable group keeps its assignment (skipAssignment) instead of a rebalance. */
  supportsSkipAssignment: boolean;
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface MemberRef {
  memberId: string;
  groupInstanceId: string | null;
}

export interface OffsetCommitInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4 retention_time_ms; -1 = the broker's offsets.retention.minutes. */
  retentionTimeMs: number;
  topics: Array<{ name: string; partitions: Array<{ partition: number; offset: number; leaderEpoch: number; metadata: string | null }> }>;
}

export interface PartitionError {
  topic: string;
  partition: number;
  errorCode: number;
}

export interface FetchedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  /** OffsetFetch requireStable: a transaction holds an offset for this partition that awaits its marker. */
  unstable?: boolean;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  protocolType: string;
  protocol: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }>;
}

type Result<R> = CoordinatorResult<R, GroupRecord>;
/** A transactional offset awaiting its marker; superseded once a plain commit of the partition follows it. */
interface PendingOffset {
  committed: CommittedOffset;
  superseded: boolean;
}
const EMPTY = Buffer.alloc(0);
const RETENTION_TIMER = 'offsets-retention';
/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: how long a new member may wait in a join phase. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60_000;

export class GroupCoordinator implements StateMachine<GroupRecord> {
  private readonly groups = new Map<string, ClassicGroup>();
  // The records and effects of the operation in progress (operations are synchronous and never nest).
  private records: GroupRecord[] = [];
  private effects: Array<() => void> = [];
  /** TxnOffsetCommit offsets awaiting their transaction's marker: producer id → group → partition. */
  private readonly pendingTxnOffsets = new Map<bigint, Map<string, Map<string, PendingOffset>>>();
  /** Rebalances completed here (a generation bump), since start; read by the metrics at scrape time. */
  rebalances = 0;

  constructor(
    private readonly timers: Timers<GroupRecord>,
    private readonly config: GroupCoordinatorConfig = DEFAULT_GROUP_CONFIG,
    private readonly hooks: Partial<GroupCoordinatorHooks> = {},
  ) {}

  private now(): number {
    return this.timers.now();
  }

  private op<R>(fn: () => R | Promise<R>): Result<R> {
    this.records = [];
    this.effects = [];
    const response = fn();
    const out = { response, records: this.records, effects: this.effects };
    this.records = [];
    this.effects = [];
    return out;
  }

  /** Every group held here (the metrics read them at scrape time; do not keep across event-loop turns). */
  allGroups(): IterableIterator<Readonly<ClassicGroup>> {
    return this.groups.values();
  }

  group(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }

  // ---- JoinGroup ----

  joinGroup(input: JoinGroupInput): Result<JoinResult> {
    return this.op(() => this.doJoin(input));
  }

  private joinError(memberId: string, errorCode: number): JoinResult {
    return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false };
  }

  private doJoin(input: JoinGroupInput): JoinResult | Promise<JoinResult> {
    const { groupId, memberId } = input;
    if (groupId === '') return this.joinError(memberId, ErrorCode.INVALID_GROUP_ID);
    if (input.sessionTimeoutMs < this.config.minSessionTimeoutMs || input.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return this.joinError(memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(groupId);
    if (!group) {
      if (memberId !== '') return this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      group = new ClassicGroup(groupId, this.now());
      this.groups.set(groupId, group);
    }
    if (group.is('Dead')) return this.joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!group.supportsProtocols(input.protocolType, input.protocols)) return this.joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    return memberId === '' ? this.joinUnknownMember(group, input) : this.joinKnownMember(group, input);
  }

  private joinUnknownMember(group: ClassicGroup, input: JoinGroupInput): JoinResult | Promise<JoinResult> {
    const newId = `${input.groupInstanceId ?? input.clientId}-${randomUUID()}`;
    if (input.groupInstanceId !== null) {
      const oldId = group.staticMembers.get(input.groupInstanceId);
      if (oldId !== undefined) return this.replaceStaticMember(group, oldId, newId, input);
    } else if (input.requireKnownMemberId) {
      if (group.members.size + group.pendingMembers.size >= this.config.maxGroupSize) return this.joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
      group.pendingMembers.add(newId);
      // A pending member that never comes back must not hold up the next rebalance for ever.
      this.timers.schedule(this.pendingKey(group, newId), input.sessionTimeoutMs, () => this.op(() => {
        if (group.pendingMembers.delete(newId) && group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
      }));
      return this.joinError(newId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    if (group.members.size >= this.config.maxGroupSize) return this.joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED);
    return this.addMemberAndRebalance(group, newId, input);
  }

  private joinKnownMember(group: ClassicGroup, input: JoinGroupInput): JoinResult | Promise<JoinResult> {
    const { memberId } = input;
    if (group.pendingMembers.has(memberId)) {
      group.pendingMembers.delete(memberId);
      this.timers.cancel(this.pendingKey(group, memberId));
      return this.addMemberAndRebalance(group, memberId, input);
    }
    if (group.isStaticMemberFenced(memberId, input.groupInstanceId)) return this.joinError(memberId, ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(memberId);
    if (!member) return this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, input);
      case 'CompletingRebalance':
        if (member.matches(input.protocols)) {
          // The member missed our answer: send the current generation again.
          this.scheduleHeartbeat(group, member);
          return this.currentGeneration(group, member, group.leaderId === memberId);
        }
        return this.updateMemberAndRebalance(group, member, input);
      case 'Stable':
        if (group.leaderId === memberId || !member.matches(input.protocols)) return this.updateMemberAndRebalance(group, member, input);
        this.scheduleHeartbeat(group, member);
        return this.currentGeneration(group, member, false);
      default:
        return this.joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private currentGeneration(group: ClassicGroup, member: Member, withMembers: boolean, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: withMembers ? this.memberList(group) : [],
      skipAssignment,
    };
  }

  private memberList(group: ClassicGroup): JoinResult['members'] {
    return [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(group.protocolName!) }));
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, input: JoinGroupInput): Promise<JoinResult> {
    const member = new Member(memberId, input.groupInstanceId, input.clientId, input.clientHost,
      input.rebalanceTimeoutMs, input.sessionTimeoutMs, input.protocolType, input.protocols);
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.addMember(member);
    const joined = new Promise<JoinResult>((resolve) => (member.awaitingJoin = resolve));
    // New members are dropped if they wait too long, so a client that gave up does not linger.
    this.scheduleHeartbeat(group, member);
    this.maybePrepareRebalance(group);
    return joined;
  }

  private updateMemberAndRebalance(group: ClassicGroup, member: Member, input: JoinGroupInput): Promise<JoinResult> {
    member.protocols = input.protocols;
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    // A second JoinGroup from the same member replaces the first one's wait.
    member.awaitingJoin?.(this.joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    const joined = new Promise<JoinResult>((resolve) => (member.awaitingJoin = resolve));
    this.scheduleHeartbeat(group, member);
    this.maybePrepareRebalance(group);
    return joined;
  }

  private replaceStaticMember(group: ClassicGroup, oldId: string, newId: string, input: JoinGroupInput): JoinResult | Promise<JoinResult> {
    const old = group.members.get(oldId)!;
    old.awaitingJoin?.(this.joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    old.awaitingSync?.({ errorCode: ErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    old.awaitingJoin = null;
    old.awaitingSync = null;
    this.timers.cancel(this.heartbeatKey(group, oldId));
    const wasLeader = group.leaderId === oldId;
    const previousProtocols = old.protocols;
    group.members.delete(oldId);
    group.synced.delete(oldId);
    old.memberId = newId;
    old.clientId = input.clientId;
    old.clientHost = input.clientHost;
    old.sessionTimeoutMs = input.sessionTimeoutMs;
    old.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    group.members.set(newId, old);
    group.staticMembers.set(input.groupInstanceId!, newId);
    if (wasLeader) group.leaderId = newId;

    if (group.is('Stable')) {
      // As Kafka: the member's protocols are updated; if the group would still select the same protocol, the
      // restarted member keeps its assignment without a rebalance, leader or not. A leader that can skip the
      // assignment (v9+) is told it leads, with the members; an older one is answered as a follower, with the
      // leader id it replaced, and simply syncs to get its assignment. The new member id is persisted.
      old.protocols = input.protocols;
      if (group.selectProtocol() === group.protocolName) {
        this.scheduleHeartbeat(group, old);
        this.records.push(this.groupRecord(group));
        const leads = wasLeader && input.supportsSkipAssignment;
        const answer = this.currentGeneration(group, old, leads, leads);
        return wasLeader && !leads ? { ...answer, leader: oldId } : answer;
      }
      old.protocols = previousProtocols;
    }
    return this.updateMemberAndRebalance(group, old, input);
  }

  private maybePrepareRebalance(group: ClassicGroup): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group);
    else if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
  }

  private prepareRebalance(group: ClassicGroup): void {
    if (group.is('CompletingRebalance')) this.resetAssignments(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.timers.cancel(this.syncKey(group));
    const wasEmpty = group.is('Empty');
    group.transition('PreparingRebalance', this.now());
    const joinKey = this.joinKey(group);
    if (wasEmpty) {
      // Delayed initial rebalance: wait for more members before the first generation.
      const delay = this.config.initialRebalanceDelayMs;
      group.initialDelayActive = true;
      group.newMemberAdded = false;
      group.initialDelayRemainingMs = Math.max(group.maxRebalanceTimeoutMs() - delay, 0);
      this.timers.schedule(joinKey, delay, () => this.op(() => this.initialDelayExpired(group)));
    } else {
      group.initialDelayActive = false;
      this.timers.schedule(joinKey, group.maxRebalanceTimeoutMs(), () => this.op(() => this.completeJoin(group)));
      this.maybeCompleteJoin(group);
    }
  }

  private initialDelayExpired(group: ClassicGroup): void {
    if (group.newMemberAdded && group.initialDelayRemainingMs > 0) {
      const delay = Math.min(this.config.initialRebalanceDelayMs, group.initialDelayRemainingMs);
      group.initialDelayRemainingMs -= delay;
      group.newMemberAdded = false;
      this.timers.schedule(this.joinKey(group), delay, () => this.op(() => this.initialDelayExpired(group)));
      return;
    }
    this.completeJoin(group);
  }

  private maybeCompleteJoin(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && !group.initialDelayActive && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance')) return;
    this.timers.cancel(this.joinKey(group));
    group.initialDelayActive = false;
    for (const m of [...group.members.values()]) if (!m.awaitingJoin) this.removeMember(group, m);
    group.generationId++;
    this.rebalances++;
    const now = this.now();
    if (group.members.size === 0) {
      group.protocolName = null;
      group.transition('Empty', now);
      this.records.push(this.groupRecord(group));
      return;
    }
    group.protocolName = group.selectProtocol();
    group.synced.clear();
    group.transition('CompletingRebalance', now);
    for (const m of group.members.values()) {
      const reply = m.awaitingJoin!;
      m.awaitingJoin = null;
      m.isNew = false;
      reply(this.currentGeneration(group, m, m.memberId === group.leaderId));
      this.scheduleHeartbeat(group, m);
    }
    // Members that never send SyncGroup (the leader above all) must not stall the group for ever.
    const generation = group.generationId;
    this.timers.schedule(this.syncKey(group), group.maxRebalanceTimeoutMs(), () => this.op(() => {
      if (!group.is('CompletingRebalance') || group.generationId !== generation) return;
      for (const m of [...group.members.values()]) if (!group.synced.has(m.memberId)) this.removeMember(group, m);
      this.prepareRebalance(group);
    }));
  }

  private resetAssignments(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      m.assignment = EMPTY;
      const reply = m.awaitingSync;
      m.awaitingSync = null;
      reply?.({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    }
  }

  private removeMember(group: ClassicGroup, m: Member): void {
    this.timers.cancel(this.heartbeatKey(group, m.memberId));
    group.removeMember(m.memberId);
    const join = m.awaitingJoin;
    const sync = m.awaitingSync;
    m.awaitingJoin = null;
    m.awaitingSync = null;
    join?.(this.joinError(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    sync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY });
  }

  // ---- session timeouts ----

  private scheduleHeartbeat(group: ClassicGroup, m: Member): void {
    const memberId = m.memberId;
    // A new member waiting for its first generation gets Kafka's new-member join timeout, not its session.
    const delay = m.isNew && m.awaitingJoin ? NEW_MEMBER_JOIN_TIMEOUT_MS : m.sessionTimeoutMs;
    this.timers.schedule(this.heartbeatKey(group, memberId), delay, () => this.op(() => {
      const member = group.members.get(memberId);
      if (!member) return;
      // A member waiting in a join phase is bounded by the rebalance timeout instead, unless it is new.
      if ((member.awaitingJoin && !member.isNew) || member.awaitingSync) {
        this.scheduleHeartbeat(group, member);
        return;
      }
      this.removeMemberAndRebalance(group, member);
    }));
  }

  private removeMemberAndRebalance(group: ClassicGroup, m: Member): void {
    this.removeMember(group, m);
    if (group.is('Stable') || group.is('CompletingRebalance')) this.prepareRebalance(group);
    else if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
  }

  // ---- SyncGroup ----

  syncGroup(input: SyncGroupInput): Result<SyncResult> {
    return this.op(() => this.doSync(input));
  }

  private doSync(input: SyncGroupInput): SyncResult | Promise<SyncResult> {
    const err = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    const group = this.groups.get(input.groupId);
    if (!group) return err(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is('Dead')) return err(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (group.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return err(ErrorCode.FENCED_INSTANCE_ID);
    const member = group.members.get(input.memberId);
    if (!member) return err(ErrorCode.UNKNOWN_MEMBER_ID);
    if (input.generationId !== group.generationId) return err(ErrorCode.ILLEGAL_GENERATION);
    if ((input.protocolType !== null && input.protocolType !== group.protocolType)
      || (input.protocolName !== null && input.protocolName !== group.protocolName)) {
      return err(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return err(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'CompletingRebalance': {
        group.synced.add(member.memberId);
        this.scheduleHeartbeat(group, member);
        const synced = new Promise<SyncResult>((resolve) => (member.awaitingSync = resolve));
        if (member.memberId === group.leaderId) {
          const given = new Map(input.assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of group.members.values()) m.assignment = given.has(m.memberId) ? Buffer.from(given.get(m.memberId)!) : EMPTY;
          this.timers.cancel(this.syncKey(group));
          group.transition('Stable', this.now());
          this.records.push(this.groupRecord(group));
          // Members hear their assignment once it is durable.
          this.effects.push(() => {
            for (const m of group.members.values()) {
              const reply = m.awaitingSync;
              m.awaitingSync = null;
              reply?.({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
            }
          });
        }
        return synced;
      }
      case 'Stable':
        this.scheduleHeartbeat(group, member);
        return { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
      default:
        return err(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  // ---- Heartbeat ----

  heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): Result<number> {
    return this.op(() => {
      const group = this.groups.get(groupId);
      if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (group.isStaticMemberFenced(memberId, groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
      const member = group.members.get(memberId);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      this.scheduleHeartbeat(group, member);
      return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
    });
  }

  // ---- LeaveGroup ----

  /** Per-member error codes; a missing group answers UNKNOWN_MEMBER_ID for each. */
  leaveGroup(groupId: string, leaving: MemberRef[]): Result<Array<MemberRef & { errorCode: number }>> {
    return this.op(() => {
      const group = this.groups.get(groupId);
      const out = leaving.map((l) => ({ ...l, errorCode: ErrorCode.NONE as number }));
      if (!group || group.is('Dead')) {
        for (const o of out) o.errorCode = group ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.UNKNOWN_MEMBER_ID;
        return out;
      }
      let removed = false;
      for (const o of out) {
        let id = o.memberId;
        if (o.groupInstanceId !== null) {
          const current = group.staticMembers.get(o.groupInstanceId);
          if (current === undefined) {
            o.errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
            continue;
          }
          if (id !== '' && id !== current) {
            o.errorCode = ErrorCode.FENCED_INSTANCE_ID;
            continue;
          }
          id = current;
        }
        const member = group.members.get(id);
        if (!member) {
          // A pending member (told MEMBER_ID_REQUIRED) may leave before joining.
          if (group.pendingMembers.delete(id)) {
            this.timers.cancel(this.pendingKey(group, id));
            removed = true;
          } else o.errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
          continue;
        }
        this.removeMember(group, member);
        removed = true;
      }
      if (removed) {
        if (group.is('Stable') || group.is('CompletingRebalance')) this.prepareRebalance(group);
        else if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
      }
      return out;
    });
  }

  // ---- offsets ----

  /**
   * Kafka's ClassicGroup.validateOffsetCommit, in its order: a dead group is not available; generation < 0
   * on an empty group is a simple commit; otherwise the member (static: its instance id, then its member
   * id) and then the generation are checked, and only a current member of the current generation is told
   * REBALANCE_IN_PROGRESS, while the group completes a rebalance. A commit during PreparingRebalance by a
   * current member is accepted (its partitions are still its own until it rejoins).
   */
  private validateOffsetCommit(group: ClassicGroup, input: OffsetCommitInput): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (input.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (input.generationId >= 0 || input.memberId !== '' || input.groupInstanceId !== null) {
      if (input.groupInstanceId !== null) {
        const owner = group.staticMembers.get(input.groupInstanceId);
        if (owner === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        if (owner !== input.memberId) return ErrorCode.FENCED_INSTANCE_ID;
      }
      const member = group.members.get(input.memberId);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
      this.scheduleHeartbeat(group, member);
      return ErrorCode.NONE;
    }
    // No generation, member or instance id (OffsetCommit v0, or a simple consumer): only while empty.
    return ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Per-partition error codes. Generation -1 with an empty member id is a simple consumer (no membership). */
  commitOffsets(input: OffsetCommitInput): Result<PartitionError[]> {
    return this.op(() => {
      const all = (errorCode: number): PartitionError[] =>
        input.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, errorCode })));
      if (input.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
      let group = this.groups.get(input.groupId);
      if (!group) {
        if (input.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
        group = new ClassicGroup(input.groupId, this.now());
        this.groups.set(input.groupId, group);
      }
      const error = this.validateOffsetCommit(group, input);
      if (error !== ErrorCode.NONE) return all(error);
      const now = this.now();
      const expire = input.retentionTimeMs >= 0 ? now + input.retentionTimeMs : -1;
      const out: PartitionError[] = [];
      for (const t of input.topics) {
        for (const p of t.partitions) {
          const metadata = p.metadata ?? '';
          if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
            out.push({ topic: t.name, partition: p.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE });
            continue;
          }
          const value: OffsetAndMetadata = { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp: expire };
          group.offsets.set(offsetKey(t.name, p.partition), { topic: t.name, partition: p.partition, value });
          this.supersedePending(group.groupId, offsetKey(t.name, p.partition));
          this.records.push({ type: 'offset', group: group.groupId, topic: t.name, partition: p.partition, value });
          out.push({ topic: t.name, partition: p.partition, errorCode: ErrorCode.NONE });
        }
      }
      return out;
    });
  }

  /**
   * Committed offsets: of the listed partitions (-1 where none), or every one the group has (topics null).
   * With requireStable, partitions a transaction holds an offset for are marked unstable, and a null topic
   * list also reports the partitions that only have such a pending offset.
   */
  fetchOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }> | null, requireStable = false): FetchedOffset[] {
    const group = this.groups.get(groupId);
    const found = (topic: string, partition: number): FetchedOffset => {
      const c = group?.offsets.get(offsetKey(topic, partition));
      const out: FetchedOffset = c
        ? { topic, partition, offset: c.value.offset, leaderEpoch: c.value.leaderEpoch, metadata: c.value.metadata }
        : { topic, partition, offset: -1, leaderEpoch: -1, metadata: '' };
      if (requireStable && this.hasPendingTxnOffset(groupId, topic, partition)) out.unstable = true;
      return out;
    };
    if (topics !== null) return topics.flatMap((t) => t.partitions.map((p) => found(t.name, p)));
    const out = group ? [...group.offsets.values()].map((c) => found(c.topic, c.partition)) : [];
    if (requireStable) {
      const seen = new Set(group?.offsets.keys());
      for (const byGroup of this.pendingTxnOffsets.values()) {
        for (const [key, p] of byGroup.get(groupId) ?? []) {
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(found(p.committed.topic, p.committed.partition));
        }
      }
    }
    return out;
  }

  // ---- transactional offsets (TxnOffsetCommit) ----
  // As Kafka does: TxnOffsetCommit appends its OffsetCommit records to the group's __consumer_offsets
  // partition as a transactional batch of the producer (the result's `producer`), and keeps them pending per
  // producer id. The COMMIT/ABORT marker the transaction coordinator writes to that partition makes them
  // committed offsets or drops them; it is the only record of the outcome, so completing writes nothing.
  // Replay follows the log: records of transactional batches are pending, markers complete them. A pending
  // offset followed by a plain commit of the same partition loses to it (Kafka compares log offsets).

  /** TxnOffsetCommit: per-partition errors. Generation -1 with an empty member id skips membership checks. */
  commitTxnOffsets(input: OffsetCommitInput & { producerId: bigint; producerEpoch: number }): Result<PartitionError[]> {
    const result = this.op(() => {
      const all = (errorCode: number): PartitionError[] =>
        input.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, errorCode })));
      if (input.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
      const group = this.groups.get(input.groupId);
      if (group?.is('Dead')) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (group?.isStaticMemberFenced(input.memberId, input.groupInstanceId)) return all(ErrorCode.FENCED_INSTANCE_ID);
      if (input.generationId >= 0 || input.memberId !== '') {
        if (!group) return all(ErrorCode.ILLEGAL_GENERATION);
        if (!group.members.has(input.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID);
        if (input.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION);
      }
      const now = this.now();
      const out: PartitionError[] = [];
      for (const t of input.topics) {
        for (const p of t.partitions) {
          const metadata = p.metadata ?? '';
          if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
            out.push({ topic: t.name, partition: p.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE });
            continue;
          }
          const value: OffsetAndMetadata = { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata, commitTimestamp: now, expireTimestamp: -1 };
          this.addPending(input.producerId, input.groupId, { topic: t.name, partition: p.partition, value });
          this.records.push({ type: 'offset', group: input.groupId, topic: t.name, partition: p.partition, value });
          out.push({ topic: t.name, partition: p.partition, errorCode: ErrorCode.NONE });
        }
      }
      return out;
    });
    return { ...result, producer: { producerId: input.producerId, producerEpoch: input.producerEpoch } };
  }

  /**
   * A transaction marker of `producerId` landed on a __consumer_offsets partition: completes the pending
   * offsets of the groups `owns` accepts (those on that partition). Returns how many offsets it committed.
   * Writes nothing: the marker in the log is the record of the outcome.
   */
  completeTxnOffsets(producerId: bigint, commit: boolean, owns: (groupId: string) => boolean): Result<number> {
    return this.op(() => this.applyTxnMarker(producerId, commit, owns));
  }

  /** Replay of a marker on internal-topic `partition` (StateMachine.replayTxnMarker). */
  replayTxnMarker(partition: number, producerId: bigint, commit: boolean): void {
    const partitionOf = this.hooks.partitionOf;
    this.applyTxnMarker(producerId, commit, partitionOf ? (g) => partitionOf(g) === partition : () => true);
  }

  private applyTxnMarker(producerId: bigint, commit: boolean, owns: (groupId: string) => boolean): number {
    const byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) return 0;
    let committed = 0;
    for (const [groupId, pending] of byGroup) {
      if (!owns(groupId)) continue;
      byGroup.delete(groupId);
      if (!commit) continue;
      let group = this.groups.get(groupId);
      if (!group) this.groups.set(groupId, (group = new ClassicGroup(groupId, this.now())));
      for (const [key, p] of pending) {
        if (p.superseded) continue;
        group.offsets.set(key, p.committed);
        committed++;
      }
    }
    if (byGroup.size === 0) this.pendingTxnOffsets.delete(producerId);
    return committed;
  }

  private addPending(producerId: bigint, groupId: string, c: CommittedOffset): void {
    let byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) this.pendingTxnOffsets.set(producerId, (byGroup = new Map()));
    let pending = byGroup.get(groupId);
    if (!pending) byGroup.set(groupId, (pending = new Map()));
    pending.set(offsetKey(c.topic, c.partition), { committed: c, superseded: false });
  }

  /** A plain commit of the partition: any transactional offset pending for it was written before, so loses. */
  private supersedePending(groupId: string, key: string): void {
    if (this.pendingTxnOffsets.size === 0) return;
    for (const byGroup of this.pendingTxnOffsets.values()) {
      const p = byGroup.get(groupId)?.get(key);
      if (p) p.superseded = true;
    }
  }

  /** The partitions (topic, partition) for which a transaction holds an uncommitted offset of the group. */
  private pendingTxnPartitions(groupId: string): Map<string, { topic: string; partition: number }> {
    const out = new Map<string, { topic: string; partition: number }>();
    for (const byGroup of this.pendingTxnOffsets.values()) {
      for (const [key, p] of byGroup.get(groupId) ?? []) if (!p.superseded) out.set(key, { topic: p.committed.topic, partition: p.committed.partition });
    }
    return out;
  }

  /** True while a transaction of the group is open (some offset of it still pending). */
  private hasOpenTransactions(groupId: string): boolean {
    return this.pendingTxnPartitions(groupId).size > 0;
  }

  /**
   * Tombstones every offset of the group, the committed ones and those only pending in a transaction (Kafka's
   * deleteAllOffsets: a later COMMIT marker must not bring them back), and drops the pending ones.
   */
  private deleteAllOffsets(groupId: string): void {
    const g = this.groups.get(groupId);
    const keys = new Map<string, { topic: string; partition: number }>(this.pendingTxnPartitions(groupId));
    for (const [key, c] of g?.offsets ?? []) keys.set(key, { topic: c.topic, partition: c.partition });
    for (const [key, tp] of keys) {
      this.records.push({ type: 'offset', group: groupId, topic: tp.topic, partition: tp.partition, value: null });
      this.dropPending(groupId, key);
    }
    g?.offsets.clear();
  }

  /** DeleteGroups for a consumer group's offsets (kept here): committed and pending ones, and their holder. */
  deleteConsumerGroupOffsets(groupId: string): Result<void> {
    return this.op(() => {
      const g = this.groups.get(groupId);
      if (g && g.is('Empty')) this.deleteGroup(g);
      else this.deleteAllOffsets(groupId);
    });
  }

  /** A tombstone of the partition: the transactional offsets pending for it are dropped (Kafka's replay does so). */
  private dropPending(groupId: string, key: string): void {
    if (this.pendingTxnOffsets.size === 0) return;
    for (const byGroup of this.pendingTxnOffsets.values()) {
      const pending = byGroup.get(groupId);
      if (pending?.delete(key) && pending.size === 0) byGroup.delete(groupId);
    }
  }

  /** True while a transaction holds an uncommitted offset for the partition (OffsetFetch requireStable). */
  hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    if (this.pendingTxnOffsets.size === 0) return false;
    const key = offsetKey(topic, partition);
    for (const byGroup of this.pendingTxnOffsets.values()) if (byGroup.get(groupId)?.has(key)) return true;
    return false;
  }

  /** OffsetDelete: a top-level error, or per-partition errors (GROUP_SUBSCRIBED_TO_TOPIC where a member consumes it). */
  deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Result<{ errorCode: number; partitions: PartitionError[] }> {
    return this.op(() => {
      const group = this.groups.get(groupId);
      if (!group || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
      let subscribed: Set<string> | null = new Set();
      if (!group.is('Empty')) {
        if (group.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
        subscribed = group.subscribedTopics();
      }
      const partitions: PartitionError[] = [];
      for (const t of topics) {
        for (const p of t.partitions) {
          if (subscribed === null || subscribed.has(t.name)) {
            partitions.push({ topic: t.name, partition: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
            continue;
          }
          // Kafka deletes a partition's pending transactional offset too (the tombstone supersedes it).
          const key = offsetKey(t.name, p);
          const pending = this.hasPendingTxnOffset(groupId, t.name, p);
          if (group.offsets.delete(key) || pending) this.records.push({ type: 'offset', group: groupId, topic: t.name, partition: p, value: null });
          if (pending) this.dropPending(groupId, key);
          partitions.push({ topic: t.name, partition: p, errorCode: ErrorCode.NONE });
        }
      }
      return { errorCode: ErrorCode.NONE, partitions };
    });
  }

  // ---- admin ----

  listGroups(statesFilter: readonly string[] = []): GroupListing[] {
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const out: GroupListing[] = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      if (wanted.size > 0 && !wanted.has(g.state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return out;
  }

  describeGroup(groupId: string): GroupDescription {
    const g = this.groups.get(groupId);
    if (!g) return { groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
    const stable = g.is('Stable');
    return {
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocol: stable ? g.protocolName ?? '' : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(g.protocolName!) : EMPTY, assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  /** DeleteGroups: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or NONE (the group and its offsets are tombstoned). */
  deleteGroups(groupIds: readonly string[]): Result<Array<{ groupId: string; errorCode: number }>> {
    return this.op(() => groupIds.map((groupId) => {
      const g = this.groups.get(groupId);
      if (!g || g.is('Dead')) return { groupId, errorCode: groupId === '' ? ErrorCode.INVALID_GROUP_ID : ErrorCode.GROUP_ID_NOT_FOUND };
      if (!g.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      this.deleteGroup(g);
      return { groupId, errorCode: ErrorCode.NONE };
    }));
  }

  private deleteGroup(g: ClassicGroup): void {
    this.deleteAllOffsets(g.groupId);
    for (const id of g.pendingMembers) this.timers.cancel(this.pendingKey(g, id));
    g.transition('Dead', this.now());
    this.records.push({ type: 'group', group: g.groupId, value: null });
    this.groups.delete(g.groupId);
  }

  // ---- offsets retention ----

  /**
   * Expires offsets as Kafka does: an offset with its own expire timestamp at that time; otherwise, in an
   * Empty group, offsets.retention after the group became empty; in a consumer group with members, offsets
   * of topics no member subscribes to, that long after their commit. Empty groups left without offsets go.
   * A KIP-848 consumer group (hooks.consumerGroupTopics) keeps the offsets of every topic a member subscribes
   * to; the others expire retention after their commit; its holder group stays (the group is not ours).
   */
  expireOffsets(): Result<number> {
    return this.op(() => {
      const now = this.now();
      const retention = this.config.offsetsRetentionMs;
      let expired = 0;
      for (const g of [...this.groups.values()]) {
        const consumerGroupTopics = this.hooks.consumerGroupTopics?.(g.groupId);
        const subscribed = consumerGroupTopics ?? (g.is('Empty') ? null : g.subscribedTopics());
        for (const [key, c] of g.offsets) {
          let due: boolean;
          if (c.value.expireTimestamp >= 0) due = now >= c.value.expireTimestamp;
          else if (g.is('Empty') && consumerGroupTopics === undefined) due = now - Math.max(g.currentStateTimestamp, c.value.commitTimestamp) >= retention;
          else if (subscribed !== null && !subscribed.has(c.topic)) due = now - c.value.commitTimestamp >= retention;
          else due = false;
          // An offset with a transactional offset pending for it stays until that transaction ends (Kafka).
          if (!due || this.hasPendingTxnOffset(g.groupId, c.topic, c.partition)) continue;
          g.offsets.delete(key);
          this.records.push({ type: 'offset', group: g.groupId, topic: c.topic, partition: c.partition, value: null });
          expired++;
        }
        if (g.offsets.size > 0 || this.hasOpenTransactions(g.groupId)) continue;
        if (consumerGroupTopics === undefined && g.is('Empty') && g.pendingMembers.size === 0) this.deleteGroup(g);
        // An empty KIP-848 consumer group whose offsets all expired goes too, as a classic one does.
        else if (consumerGroupTopics !== undefined && g.is('Empty')) {
          this.deleteGroup(g);
          this.hooks.consumerGroupOffsetsExpired?.(g.groupId);
        }
      }
      return expired;
    });
  }

  private scheduleRetention(): void {
    this.timers.schedule(RETENTION_TIMER, this.config.offsetsRetentionCheckIntervalMs, () => {
      const result = this.expireOffsets();
      this.scheduleRetention();
      return result;
    });
  }

  // ---- persistence ----

  private groupRecord(g: ClassicGroup): GroupRecord {
    const value: GroupMetadataValue = {
      protocolType: g.protocolType ?? '',
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.leaderId,
      currentStateTimestamp: BigInt(g.currentStateTimestamp),
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs, sessionTimeout: m.sessionTimeoutMs,
        subscription: g.protocolName === null ? EMPTY : m.metadataFor(g.protocolName), assignment: m.assignment,
      })),
    };
    return { type: 'group', group: g.groupId, value };
  }

  /** `producerId`: the record is from a transactional batch (TxnOffsetCommit) and waits for the marker. */
  replay(rec: GroupRecord, producerId?: bigint): void {
    let g = this.groups.get(rec.group);
    if (rec.type === 'offset') {
      if (producerId !== undefined) {
        if (rec.value !== null) this.addPending(producerId, rec.group, { topic: rec.topic, partition: rec.partition, value: rec.value });
        return;
      }
      if (rec.value === null) {
        // As in Kafka, a tombstone also drops the transactional offsets pending for the partition.
        g?.offsets.delete(offsetKey(rec.topic, rec.partition));
        this.dropPending(rec.group, offsetKey(rec.topic, rec.partition));
        return;
      }
      if (!g) this.groups.set(rec.group, (g = new ClassicGroup(rec.group, rec.value.commitTimestamp)));
      g.offsets.set(offsetKey(rec.topic, rec.partition), { topic: rec.topic, partition: rec.partition, value: rec.value });
      this.supersedePending(rec.group, offsetKey(rec.topic, rec.partition));
      return;
    }
    if (rec.value === null) {
      if (g && g.offsets.size === 0) this.groups.delete(rec.group);
      else if (g) this.groups.set(rec.group, this.withOffsetsOf(g, new ClassicGroup(rec.group, this.now())));
      return;
    }
    const v = rec.value;
    const fresh = this.withOffsetsOf(g, new ClassicGroup(rec.group, v.currentStateTimestamp >= 0n ? Number(v.currentStateTimestamp) : this.now()));
    fresh.protocolType = v.protocolType === '' && v.members.length === 0 ? null : v.protocolType;
    fresh.generationId = v.generation;
    fresh.protocolName = v.protocol;
    for (const m of v.members) {
      const member = new Member(m.memberId, m.groupInstanceId, m.clientId, m.clientHost,
        m.rebalanceTimeout < 0 ? m.sessionTimeout : m.rebalanceTimeout, m.sessionTimeout, v.protocolType,
        [{ name: v.protocol ?? '', metadata: Buffer.from(m.subscription) }]);
      member.assignment = Buffer.from(m.assignment);
      fresh.addMember(member);
    }
    fresh.leaderId = v.leader;
    fresh.state = v.members.length > 0 ? 'Stable' : 'Empty';
    this.groups.set(rec.group, fresh);
  }

  private withOffsetsOf(old: ClassicGroup | undefined, fresh: ClassicGroup): ClassicGroup {
    if (old) for (const [k, c] of old.offsets) fresh.offsets.set(k, c);
    return fresh;
  }

  /** Forgets every group and pending offset (the runtime reloads from the log); waiting members are told NOT_COORDINATOR. */
  reset(): void {
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        m.awaitingJoin?.(this.joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        m.awaitingSync?.({ errorCode: ErrorCode.NOT_COORDINATOR, protocolType: null, protocolName: null, assignment: EMPTY });
        m.awaitingJoin = null;
        m.awaitingSync = null;
      }
    }
    this.groups.clear();
    this.pendingTxnOffsets.clear();
  }

  /** After `__consumer_offsets` partition `partition` (all of them if absent) was replayed. */
  onLoaded(partition?: number): void {
    // Loaded members get a full session from now to heartbeat, as after a coordinator failover in Kafka.
    for (const g of this.groups.values()) {
      if (partition !== undefined && !this.inPartition(g.groupId, partition)) continue;
      for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
    }
    this.scheduleRetention();
  }

  /**
   * This broker no longer coordinates `__consumer_offsets` partition `partition` (Kafka's onResignation): its
   * groups and their pending transactional offsets go, their timers are cancelled, and members waiting in
   * JoinGroup or SyncGroup are told NOT_COORDINATOR (they find the new coordinator and rejoin).
   */
  unload(partition: number): void {
    for (const g of [...this.groups.values()]) {
      if (!this.inPartition(g.groupId, partition)) continue;
      this.timers.cancel(this.joinKey(g));
      this.timers.cancel(this.syncKey(g));
      for (const id of g.pendingMembers) this.timers.cancel(this.pendingKey(g, id));
      for (const m of g.members.values()) {
        this.timers.cancel(this.heartbeatKey(g, m.memberId));
        const join = m.awaitingJoin;
        const sync = m.awaitingSync;
        m.awaitingJoin = null;
        m.awaitingSync = null;
        join?.(this.joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        sync?.({ errorCode: ErrorCode.NOT_COORDINATOR, protocolType: null, protocolName: null, assignment: EMPTY });
      }
      this.groups.delete(g.groupId);
    }
    for (const [producerId, byGroup] of this.pendingTxnOffsets) {
      for (const groupId of [...byGroup.keys()]) if (this.inPartition(groupId, partition)) byGroup.delete(groupId);
      if (byGroup.size === 0) this.pendingTxnOffsets.delete(producerId);
    }
  }

  private inPartition(groupId: string, partition: number): boolean {
    const partitionOf = this.hooks.partitionOf;
    return partitionOf === undefined || partitionOf(groupId) === partition;
  }

  private joinKey = (g: ClassicGroup): string => `join:${g.groupId}`;
  private syncKey = (g: ClassicGroup): string => `sync:${g.groupId}`;
  private heartbeatKey = (g: ClassicGroup, memberId: string): string => `heartbeat:${g.groupId}:${memberId}`;
  private pendingKey = (g: ClassicGroup, memberId: string): string => `pending:${g.groupId}:${memberId}`;
}
