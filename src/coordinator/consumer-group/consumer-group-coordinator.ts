/**
 * KIP-848 consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe) as a pure state machine.
 *
 * Interfaces for the runtime (src/coordinator/runtime.ts) and the handlers:
 *   - `heartbeat(request, client)` and the timer ops return `{ response, records }`; records are
 *     ConsumerGroupRecord (consumer-group-records.ts, serde `consumerGroupRecordSerde`). Every operation
 *     has already applied its records to this state when it returns (the runtime only persists them);
 *     `replay(record)` rebuilds the same state from the log on load (tombstones delete), then `onLoaded()`
 *     starts the members' session timers.
 *   - Failures throw KafkaError (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID,
 *     UNRELEASED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR, GROUP_MAX_SIZE_REACHED, INVALID_REQUEST,
 *     GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP) before changing any state; the handler turns them into codes.
 *   - Time and timers come from `ConsumerGroupTimers` (the runtime's Timers fits it): session and
 *     rebalance timeouts are scheduled ops whose records the runtime persists.
 *   - Topic metadata comes from a `TopicMetadataImage` function, so this stays free of I/O.
 *   - Checking that a group id is not already a classic group is the caller's job.
 * SubscribedTopicRegex (v1) is resolved here against the topic-name image with RE2/J syntax (topic-regex.ts);
 * a member's topics are its names plus its regex's matches, so a topic created or deleted changes the
 * subscription metadata at the next heartbeat and moves the group epoch. In v1 (KIP-1082) the client
 * chooses its member id; v0 joiners get one generated here.
 * Session timeout and heartbeat interval can be overridden per group (`groupConfig`, the GROUP config
 * resource's consumer.session.timeout.ms / consumer.heartbeat.interval.ms).
 *
 * Per heartbeat: validate; create/update the member (a MemberMetadata record when its subscription
 * changed); recompute the subscribed topics' metadata (a PartitionMetadata record when it changed); bump
 * the group epoch when a member joined, changed its subscription or the metadata changed; if the group
 * epoch is ahead of the assignment epoch, run the assignor and write the changed member targets and the
 * new assignment epoch; then reconcile the member (consumer-group-member.ts) and write its current
 * assignment when it changed. The response carries the member's assignment when it joined, when it
 * reported its owned partitions, or when the assignment changed.
 */
import { randomBytes } from 'node:crypto';
import { KafkaError } from '../../errors.js';
import type { ConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat-request.js';
import type { ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat-response.js';
import type { DescribedGroup } from '../../protocol/generated/consumer-group-describe-response.js';
import type { AssignorMember, AssignorTopic, PartitionAssignor, TopicPartitionMap } from '../assignors/partition-assignor.js';
import { equalAssignments, EMPTY_ASSIGNMENT, fromEntries, toEntries, type ReadonlyTopicPartitionMap } from '../assignors/topic-partitions.js';
import { UniformAssignor } from '../assignors/uniform-assignor.js';
import { RangeAssignor } from '../assignors/range-assignor.js';
import type { ConsumerGroupRecord } from './consumer-group-records.js';
import { compileTopicRegex, TopicRegexResolver, type TopicNamesImage } from './topic-regex.js';
import {
  LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH, MemberState, newMember, reconcile, type ConsumerGroupMember,
} from './consumer-group-member.js';

export interface ConsumerGroupResult<R> {
  response: R;
  records: ConsumerGroupRecord[];
}

/** Structurally the runtime's Timers<T>. */
export interface ConsumerGroupTimers {
  now(): number;
  schedule(key: string, delayMs: number, op: () => ConsumerGroupResult<unknown>): void;
  cancel(key: string): void;
}

/** topic name → its id and partition count, or undefined when the topic does not exist. */
export type TopicMetadataImage = (topicName: string) => { topicId: string; numPartitions: number } | undefined;

export interface ConsumerGroupConfig {
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs?: number;
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs?: number;
  /** group.consumer.max.size */
  maxSize?: number;
  /** group.consumer.assignors; the first is the default. */
  assignors?: PartitionAssignor[];
  /** Member ids for v0 joining members (Kafka: a random UUID in base64url). */
  generateMemberId?: () => string;
  /** Every topic name, for SubscribedTopicRegex; without it a regex matches nothing. */
  topicNames?: TopicNamesImage;
  /** Per-group overrides (the GROUP config resource); undefined fields fall back to the broker's. */
  groupConfig?: (groupId: string) => { sessionTimeoutMs?: number; heartbeatIntervalMs?: number };
  /** broker.rack: the rack of every partition's replica on this single-node broker (rack-aware assignment). */
  brokerRack?: string | null;
}

export interface SubscribedTopic {
  topicId: string;
  numPartitions: number;
}

export interface ConsumerGroupState {
  readonly groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  readonly members: Map<string, ConsumerGroupMember>;
  /** instance id → member id of static members. */
  readonly staticMembers: Map<string, string>;
  readonly targetAssignment: Map<string, ReadonlyTopicPartitionMap>;
  /** Subscribed topic name → metadata, as of the last PartitionMetadata record. */
  subscriptionMetadata: Map<string, SubscribedTopic>;
  /** topic id → partition → owning member id (assigned or pending revocation). */
  readonly owners: Map<string, Map<number, string>>;
}

export type ConsumerGroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

function invalid(message: string): KafkaError {
  return new KafkaError('INVALID_REQUEST', message);
}

function sortedUnique(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

export class ConsumerGroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroupState>();
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxSize: number;
  private readonly assignors: PartitionAssignor[];
  private readonly generateMemberId: () => string;
  private readonly regexResolver: TopicRegexResolver;
  private readonly groupConfig: NonNullable<ConsumerGroupConfig['groupConfig']>;
  private readonly brokerRack: string | null;
  /** Group epoch bumps made here (a KIP-848 rebalance), since start; read by the metrics at scrape time. */
  rebalances = 0;

  constructor(
    private readonly timers: ConsumerGroupTimers,
    private readonly metadata: TopicMetadataImage,
    config: ConsumerGroupConfig = {},
  ) {
    this.sessionTimeoutMs = config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.heartbeatIntervalMs = config.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.maxSize = config.maxSize ?? Number.MAX_SAFE_INTEGER;
    this.assignors = config.assignors ?? [new UniformAssignor(), new RangeAssignor()];
    if (this.assignors.length === 0) throw new Error('ConsumerGroupCoordinator: no assignors');
    this.generateMemberId = config.generateMemberId ?? (() => randomBytes(16).toString('base64url'));
    this.regexResolver = new TopicRegexResolver(config.topicNames ?? { version: () => 0, names: () => [] });
    this.groupConfig = config.groupConfig ?? (() => ({}));
    this.brokerRack = config.brokerRack ?? null;
  }

  /** The session timeout of a group: its consumer.session.timeout.ms, else the broker's. */
  sessionTimeoutOf(groupId: string): number {
    return this.groupConfig(groupId).sessionTimeoutMs ?? this.sessionTimeoutMs;
  }

  /** The heartbeat interval of a group: its consumer.heartbeat.interval.ms, else the broker's. */
  heartbeatIntervalOf(groupId: string): number {
    return this.groupConfig(groupId).heartbeatIntervalMs ?? this.heartbeatIntervalMs;
  }

  /** The topics a member consumes from: its names plus its regex's current matches, sorted. */
  memberTopics(m: Pick<ConsumerGroupMember, 'subscribedTopicNames' | 'subscribedTopicRegex'>): readonly string[] {
    if (m.subscribedTopicRegex === null) return m.subscribedTopicNames;
    return sortedUnique([...m.subscribedTopicNames, ...this.regexResolver.resolve(m.subscribedTopicRegex)]);
  }

  /** Every topic a group's members subscribe to (names and regex matches); undefined for an unknown group. */
  subscribedTopics(groupId: string): ReadonlySet<string> | undefined {
    const g = this.groups.get(groupId);
    if (!g) return undefined;
    const topics = new Set<string>();
    for (const m of g.members.values()) for (const n of this.memberTopics(m)) topics.add(n);
    return topics;
  }

  // ---------------------------------------------------------------- reads

  group(groupId: string): Readonly<ConsumerGroupState> | undefined {
    return this.groups.get(groupId);
  }

  /** Every group held here (the metrics read them at scrape time; do not keep across event-loop turns). */
  allGroups(): IterableIterator<Readonly<ConsumerGroupState>> {
    return this.groups.values();
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  groupState(groupId: string): ConsumerGroupStateName | undefined {
    const g = this.groups.get(groupId);
    return g && stateOf(g);
  }

  /** One ConsumerGroupDescribe entry; throws GROUP_ID_NOT_FOUND for an unknown group. */
  describe(groupId: string): DescribedGroup {
    const g = this.groups.get(groupId);
    if (!g) throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${groupId} not found.`);
    const names = new Map<string, string>();
    for (const [name, t] of g.subscriptionMetadata) names.set(t.topicId, name);
    const assignment = (m: ReadonlyTopicPartitionMap): DescribedGroup['members'][number]['assignment'] => ({
      topicPartitions: toEntries(m).map((e) => ({ topicId: e.topicId, topicName: names.get(e.topicId) ?? '', partitions: e.partitions })),
    });
    return {
      errorCode: 0,
      errorMessage: null,
      groupId,
      groupState: stateOf(g),
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: this.preferredAssignor(g.members.values()).name,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: assignment(m.assignedPartitions),
        targetAssignment: assignment(g.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT),
        memberType: 1, // KIP-1099: every member of a KIP-848 group here speaks the consumer protocol
      })),
      authorizedOperations: -2147483648,
    };
  }

  // ---------------------------------------------------------------- operations

  /** `apiVersion`: the request's version (v1+: the client must send its own member id). */
  heartbeat(
    req: ConsumerGroupHeartbeatRequest, client: { clientId: string; clientHost: string }, apiVersion: number,
  ): ConsumerGroupResult<ConsumerGroupHeartbeatResponse> {
    this.validate(req, apiVersion);
    const existing = this.groups.get(req.groupId);
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return this.leave(existing, req);
    }
    if (!existing && req.memberEpoch !== 0) throw new KafkaError('UNKNOWN_MEMBER_ID', `Consumer group ${req.groupId} not found.`);
    const g = existing ?? emptyGroup(req.groupId);

    let old: ConsumerGroupMember | undefined;
    let replaced: ConsumerGroupMember | undefined; // a static member's previous incarnation
    let memberId: string;
    if (req.memberEpoch === 0) {
      memberId = req.memberId !== '' ? req.memberId : this.generateMemberId();
      old = g.members.get(memberId);
      if (req.instanceId !== null) {
        const prevId = g.staticMembers.get(req.instanceId);
        const prev = prevId === undefined ? undefined : g.members.get(prevId);
        if (prev && prev.memberId !== memberId) {
          if (prev.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
            throw new KafkaError('UNRELEASED_INSTANCE_ID', `Static member ${prev.memberId} with instance id ${req.instanceId} is still active.`);
          }
          replaced = prev;
        }
      }
      if (!old && !replaced && g.members.size >= this.maxSize) {
        throw new KafkaError('GROUP_MAX_SIZE_REACHED', `Consumer group ${req.groupId} has reached its maximum size of ${this.maxSize}.`);
      }
    } else {
      memberId = req.memberId;
      old = g.members.get(memberId);
      if (!old) throw new KafkaError('UNKNOWN_MEMBER_ID', `Member ${memberId} is not a member of group ${req.groupId}.`);
      if (req.instanceId !== null && old.instanceId !== req.instanceId) {
        throw new KafkaError('FENCED_INSTANCE_ID', `Member ${memberId} does not hold instance id ${req.instanceId}.`);
      }
      this.checkEpoch(old, req);
    }

    // The member as it was before this heartbeat (a static replacement inherits its predecessor's state).
    let base: ConsumerGroupMember;
    if (old) base = old.memberEpoch < 0 ? { ...old, memberEpoch: old.previousMemberEpoch } : old;
    else if (replaced) base = { ...replaced, memberId, memberEpoch: replaced.previousMemberEpoch };
    else base = newMember(memberId);
    const updated: ConsumerGroupMember = {
      ...base,
      instanceId: req.instanceId ?? base.instanceId,
      rackId: req.rackId ?? base.rackId,
      clientId: client.clientId,
      clientHost: client.clientHost,
      subscribedTopicNames: req.subscribedTopicNames === null ? base.subscribedTopicNames : sortedUnique(req.subscribedTopicNames),
      // "" clears the regex (librdkafka sends it with a subscription by names).
      subscribedTopicRegex: req.subscribedTopicRegex === null ? base.subscribedTopicRegex : req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs !== -1 ? req.rebalanceTimeoutMs : base.rebalanceTimeoutMs,
      serverAssignor: req.serverAssignor ?? base.serverAssignor,
    };

    const records: ConsumerGroupRecord[] = [];
    const groupId = g.groupId;
    if (replaced) records.push(...memberTombstones(groupId, replaced.memberId));
    if (!old || !sameMetadata(old, updated)) records.push(memberMetadataRecord(groupId, updated));

    const members = new Map(g.members);
    if (replaced) members.delete(replaced.memberId);
    members.set(memberId, updated);
    let bump = (!old && !replaced) || !sameNames(base.subscribedTopicNames, updated.subscribedTopicNames)
      || base.subscribedTopicRegex !== updated.subscribedTopicRegex;
    // As Kafka 4.0, a regex no member of the group had yet is resolved after the heartbeat that brings it: this
    // heartbeat's assignment covers the member's topic names only, and the next heartbeat (the regex then known,
    // the subscription changed) bumps the group epoch and hands out the matches. Only the computation sees it so;
    // the member's record keeps its regex.
    const newRegex = updated.subscribedTopicRegex !== null && updated.subscribedTopicRegex !== base.subscribedTopicRegex
      && ![...g.members.values()].some((m) => m.memberId !== memberId && m.subscribedTopicRegex === updated.subscribedTopicRegex);
    const assigning = newRegex ? new Map(members).set(memberId, { ...updated, subscribedTopicRegex: null }) : members;
    const subscription = this.subscriptionMetadataOf(assigning.values());
    if (!sameSubscriptionMetadata(subscription, g.subscriptionMetadata)) {
      records.push(partitionMetadataRecord(groupId, subscription));
      bump = true;
    }
    let groupEpoch = g.groupEpoch;
    if (bump) {
      groupEpoch++;
      this.rebalances++;
      records.push({ type: 'ConsumerGroupMetadata', group: groupId, value: { epoch: groupEpoch } });
    }

    let targets = new Map(g.targetAssignment);
    if (replaced) {
      const inherited = targets.get(replaced.memberId) ?? EMPTY_ASSIGNMENT;
      targets.delete(replaced.memberId);
      targets.set(memberId, inherited);
      records.push(targetRecord(groupId, memberId, inherited));
    }
    let assignmentEpoch = g.assignmentEpoch;
    if (groupEpoch > assignmentEpoch) {
      const next = this.computeTargets(assigning, targets, subscription);
      for (const id of [...members.keys()].sort()) {
        const t = next.get(id)!;
        const prev = targets.get(id);
        if (!prev || !equalAssignments(prev, t)) records.push(targetRecord(groupId, id, t));
      }
      records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', group: groupId, value: { assignmentEpoch: groupEpoch } });
      assignmentEpoch = groupEpoch;
      targets = next;
    }

    const owned = req.topicPartitions === null ? null : fromEntries(req.topicPartitions);
    const reconciled = reconcile(updated, targets.get(memberId) ?? EMPTY_ASSIGNMENT, assignmentEpoch, owned, (t, p) => {
      const owner = g.owners.get(t)?.get(p);
      return owner !== undefined && owner !== memberId && owner !== replaced?.memberId;
    });
    if (!old || replaced || !sameAssignment(old, reconciled)) records.push(currentAssignmentRecord(groupId, reconciled));

    for (const r of records) this.replay(r);

    if (replaced) this.cancelTimers(groupId, replaced.memberId);
    this.scheduleSession(groupId, memberId);
    if (reconciled.state === MemberState.UNREVOKED_PARTITIONS) {
      if (!old || old.state !== MemberState.UNREVOKED_PARTITIONS || old.memberEpoch !== reconciled.memberEpoch) {
        this.scheduleRebalance(groupId, reconciled);
      }
    } else {
      this.timers.cancel(rebalanceKey(groupId, memberId));
    }

    const sendAssignment = req.memberEpoch === 0 || owned !== null || !equalAssignments(base.assignedPartitions, reconciled.assignedPartitions);
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        memberId,
        memberEpoch: reconciled.memberEpoch,
        heartbeatIntervalMs: this.heartbeatIntervalOf(groupId),
        assignment: sendAssignment ? { topicPartitions: toEntries(reconciled.assignedPartitions) } : null,
      },
      records,
    };
  }

  /** DeleteGroups for a consumer group: only when it has no members. Offsets are the caller's. */
  deleteGroup(groupId: string): ConsumerGroupResult<void> {
    const g = this.groups.get(groupId);
    if (!g) throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${groupId} not found.`);
    if (g.members.size > 0) throw new KafkaError('NON_EMPTY_GROUP', `Group ${groupId} is not empty.`);
    const records: ConsumerGroupRecord[] = [
      { type: 'ConsumerGroupTargetAssignmentMetadata', group: groupId, value: null },
      { type: 'ConsumerGroupPartitionMetadata', group: groupId, value: null },
      { type: 'ConsumerGroupMetadata', group: groupId, value: null },
    ];
    for (const r of records) this.replay(r);
    return { response: undefined, records };
  }

  // ---------------------------------------------------------------- replay

  replay(rec: ConsumerGroupRecord): void {
    if (rec.type === 'ConsumerGroupMetadata' && rec.value === null) {
      this.groups.delete(rec.group);
      return;
    }
    let g = this.groups.get(rec.group);
    if (!g) this.groups.set(rec.group, (g = emptyGroup(rec.group)));
    switch (rec.type) {
      case 'ConsumerGroupMetadata':
        g.groupEpoch = rec.value!.epoch;
        break;
      case 'ConsumerGroupPartitionMetadata':
        g.subscriptionMetadata = new Map((rec.value?.topics ?? []).map((t) => [t.topicName, { topicId: t.topicId, numPartitions: t.numPartitions }]));
        break;
      case 'ConsumerGroupTargetAssignmentMetadata':
        g.assignmentEpoch = rec.value?.assignmentEpoch ?? 0;
        break;
      case 'ConsumerGroupTargetAssignmentMember':
        if (rec.value === null) g.targetAssignment.delete(rec.memberId);
        else g.targetAssignment.set(rec.memberId, fromEntries(rec.value.topicPartitions));
        break;
      case 'ConsumerGroupMemberMetadata': {
        const prev = g.members.get(rec.memberId);
        if (rec.value === null) {
          if (prev) this.setOwnership(g, prev, undefined);
          g.members.delete(rec.memberId);
          if (prev?.instanceId != null && g.staticMembers.get(prev.instanceId) === rec.memberId) g.staticMembers.delete(prev.instanceId);
          break;
        }
        const v = rec.value;
        if (prev?.instanceId != null && prev.instanceId !== v.instanceId && g.staticMembers.get(prev.instanceId) === rec.memberId) {
          g.staticMembers.delete(prev.instanceId);
        }
        g.members.set(rec.memberId, {
          ...(prev ?? newMember(rec.memberId)),
          instanceId: v.instanceId, rackId: v.rackId, clientId: v.clientId, clientHost: v.clientHost,
          subscribedTopicNames: sortedUnique(v.subscribedTopicNames),
          subscribedTopicRegex: v.subscribedTopicRegex === null || v.subscribedTopicRegex === '' ? null : v.subscribedTopicRegex,
          rebalanceTimeoutMs: v.rebalanceTimeoutMs,
          serverAssignor: v.serverAssignor,
        });
        if (v.instanceId !== null) g.staticMembers.set(v.instanceId, rec.memberId);
        break;
      }
      case 'ConsumerGroupCurrentMemberAssignment': {
        const prev = g.members.get(rec.memberId);
        if (!prev && rec.value === null) break;
        const base = prev ?? newMember(rec.memberId);
        const v = rec.value;
        const next: ConsumerGroupMember = v === null
          ? { ...base, memberEpoch: 0, previousMemberEpoch: -1, state: MemberState.STABLE, assignedPartitions: new Map(), partitionsPendingRevocation: new Map() }
          : {
              ...base, memberEpoch: v.memberEpoch, previousMemberEpoch: v.previousMemberEpoch, state: v.state,
              assignedPartitions: fromEntries(v.assignedPartitions), partitionsPendingRevocation: fromEntries(v.partitionsPendingRevocation),
            };
        this.setOwnership(g, prev, next);
        g.members.set(rec.memberId, next);
        break;
      }
    }
  }

  /** Forgets every group (the runtime reloads from the log after a failed append). */
  reset(): void {
    this.groups.clear();
  }

  /**
   * This broker no longer coordinates the groups `owned` selects (their `__consumer_offsets` partition was
   * resigned): they go, with their members' session and rebalance timers. Heartbeats never wait here, so no
   * request is left to answer; the next one is told NOT_COORDINATOR by the runtime.
   */
  unload(owned: (groupId: string) => boolean): void {
    for (const g of [...this.groups.values()]) {
      if (!owned(g.groupId)) continue;
      for (const memberId of g.members.keys()) {
        this.timers.cancel(sessionKey(g.groupId, memberId));
        this.timers.cancel(rebalanceKey(g.groupId, memberId));
      }
      this.groups.delete(g.groupId);
    }
  }

  /**
   * After replay: every loaded member (of the groups `loaded` selects, all if absent) gets a fresh session,
   * and members revoking get their rebalance timeout.
   */
  onLoaded(loaded?: (groupId: string) => boolean): void {
    for (const g of this.groups.values()) {
      if (loaded && !loaded(g.groupId)) continue;
      for (const m of g.members.values()) {
        this.scheduleSession(g.groupId, m.memberId);
        if (m.state === MemberState.UNREVOKED_PARTITIONS) this.scheduleRebalance(g.groupId, m);
      }
    }
  }

  // ---------------------------------------------------------------- internals

  /**
   * Kafka's request checks. KIP-1082: from v1 the member id is the client's and never empty (v0 joiners and
   * static leavers may send none). Joining with an empty name list or an empty regex is accepted: the
   * member is in the group without topics.
   */
  private validate(req: ConsumerGroupHeartbeatRequest, apiVersion: number): void {
    if ((apiVersion >= 1 || req.memberEpoch > 0 || req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) && req.memberId === '') {
      throw invalid("MemberId can't be empty.");
    }
    if (req.groupId === '') throw invalid("GroupId can't be empty.");
    if (req.instanceId === '') throw invalid("InstanceId can't be empty.");
    if (req.rackId === '') throw invalid("RackId can't be empty.");
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided in first request.');
      if (req.topicPartitions === null || req.topicPartitions.length > 0) throw invalid('TopicPartitions must be empty when (re-)joining.');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
        throw invalid('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.');
      }
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.instanceId === null) throw invalid("InstanceId can't be null.");
    } else if (req.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      throw invalid('MemberEpoch is invalid.');
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '') compileTopicRegex(req.subscribedTopicRegex);
    if (req.serverAssignor !== null && !this.assignors.some((a) => a.name === req.serverAssignor)) {
      throw new KafkaError('UNSUPPORTED_ASSIGNOR', `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${this.assignors.map((a) => a.name).join(', ')}.`);
    }
  }

  /**
   * A member may be one epoch behind only when the response that moved it was lost: then it reports its
   * previous epoch and owns no more than it is assigned now.
   */
  private checkEpoch(member: ConsumerGroupMember, req: ConsumerGroupHeartbeatRequest): void {
    if (req.memberEpoch === member.memberEpoch) return;
    if (req.memberEpoch < member.memberEpoch && req.memberEpoch === member.previousMemberEpoch && req.topicPartitions !== null) {
      const owned = fromEntries(req.topicPartitions);
      let subset = true;
      for (const [t, ps] of owned) {
        const a = member.assignedPartitions.get(t) ?? [];
        if (!ps.every((p) => a.includes(p))) subset = false;
      }
      if (subset) return;
    }
    throw new KafkaError('FENCED_MEMBER_EPOCH', `The consumer group member has a smaller or larger member epoch (${req.memberEpoch}) than the one known by the group coordinator (${member.memberEpoch}).`);
  }

  private leave(g: ConsumerGroupState | undefined, req: ConsumerGroupHeartbeatRequest): ConsumerGroupResult<ConsumerGroupHeartbeatResponse> {
    let member = g?.members.get(req.memberId);
    if (!member && g && req.instanceId !== null) {
      const id = g.staticMembers.get(req.instanceId);
      member = id === undefined ? undefined : g.members.get(id);
    }
    if (!g || !member) throw new KafkaError('UNKNOWN_MEMBER_ID', `Member ${req.memberId} is not a member of group ${req.groupId}.`);
    if (req.instanceId !== null && member.instanceId !== req.instanceId) {
      throw new KafkaError('FENCED_INSTANCE_ID', `Member ${member.memberId} does not hold instance id ${req.instanceId}.`);
    }
    let records: ConsumerGroupRecord[];
    if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // The static member will come back: it keeps its partitions (nobody else gets them) until its session expires.
      const leaving: ConsumerGroupMember = {
        ...member,
        memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
        previousMemberEpoch: member.memberEpoch < 0 ? member.previousMemberEpoch : member.memberEpoch,
        state: MemberState.STABLE,
        partitionsPendingRevocation: new Map(),
      };
      records = [currentAssignmentRecord(g.groupId, leaving)];
      for (const r of records) this.replay(r);
      this.timers.cancel(rebalanceKey(g.groupId, member.memberId));
    } else {
      records = this.removeMember(g, member.memberId);
    }
    return {
      response: {
        throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: member.memberId,
        memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null,
      },
      records,
    };
  }

  /** Removes (fences) a member: its records go, the group epoch moves so the others are reassigned. */
  private removeMember(g: ConsumerGroupState, memberId: string): ConsumerGroupRecord[] {
    const records = memberTombstones(g.groupId, memberId);
    const members = new Map(g.members);
    members.delete(memberId);
    const subscription = this.subscriptionMetadataOf(members.values());
    if (!sameSubscriptionMetadata(subscription, g.subscriptionMetadata)) records.push(partitionMetadataRecord(g.groupId, subscription));
    records.push({ type: 'ConsumerGroupMetadata', group: g.groupId, value: { epoch: g.groupEpoch + 1 } });
    this.rebalances++;
    for (const r of records) this.replay(r);
    this.cancelTimers(g.groupId, memberId);
    return records;
  }

  private expireSession(groupId: string, memberId: string): ConsumerGroupResult<void> {
    const g = this.groups.get(groupId);
    if (!g?.members.has(memberId)) return { response: undefined, records: [] };
    return { response: undefined, records: this.removeMember(g, memberId) };
  }

  private expireRebalance(groupId: string, memberId: string, memberEpoch: number): ConsumerGroupResult<void> {
    const g = this.groups.get(groupId);
    const m = g?.members.get(memberId);
    if (!g || !m || m.state !== MemberState.UNREVOKED_PARTITIONS || m.memberEpoch !== memberEpoch) {
      return { response: undefined, records: [] };
    }
    return { response: undefined, records: this.removeMember(g, memberId) };
  }

  private scheduleSession(groupId: string, memberId: string): void {
    this.timers.schedule(sessionKey(groupId, memberId), this.sessionTimeoutOf(groupId), () => this.expireSession(groupId, memberId));
  }

  private scheduleRebalance(groupId: string, m: ConsumerGroupMember): void {
    const epoch = m.memberEpoch;
    const memberId = m.memberId;
    this.timers.schedule(rebalanceKey(groupId, memberId), Math.max(0, m.rebalanceTimeoutMs), () => this.expireRebalance(groupId, memberId, epoch));
  }

  private cancelTimers(groupId: string, memberId: string): void {
    this.timers.cancel(sessionKey(groupId, memberId));
    this.timers.cancel(rebalanceKey(groupId, memberId));
  }

  private subscriptionMetadataOf(members: Iterable<ConsumerGroupMember>): Map<string, SubscribedTopic> {
    const names = new Set<string>();
    for (const m of members) for (const n of this.memberTopics(m)) names.add(n);
    const out = new Map<string, SubscribedTopic>();
    for (const name of [...names].sort()) {
      const t = this.metadata(name);
      if (t && t.numPartitions > 0) out.set(name, { topicId: t.topicId, numPartitions: t.numPartitions });
    }
    return out;
  }

  /** The assignor most members asked for (ties: configuration order), else the default (first). */
  private preferredAssignor(members: Iterable<ConsumerGroupMember>): PartitionAssignor {
    const votes = new Map<string, number>();
    for (const m of members) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best = this.assignors[0]!;
    let bestVotes = 0;
    for (const a of this.assignors) {
      const v = votes.get(a.name) ?? 0;
      if (v > bestVotes) {
        best = a;
        bestVotes = v;
      }
    }
    return best;
  }

  private computeTargets(
    members: ReadonlyMap<string, ConsumerGroupMember>,
    current: ReadonlyMap<string, ReadonlyTopicPartitionMap>,
    subscription: ReadonlyMap<string, SubscribedTopic>,
  ): Map<string, TopicPartitionMap> {
    const topics = new Map<string, AssignorTopic>();
    // Every replica is on this broker, so every partition's rack is broker.rack.
    const racks: readonly string[] = this.brokerRack === null ? [] : [this.brokerRack];
    for (const t of subscription.values()) topics.set(t.topicId, { topicId: t.topicId, numPartitions: t.numPartitions, partitionRacks: () => racks });
    const input: AssignorMember[] = [...members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      subscribedTopicIds: this.memberTopics(m).flatMap((n) => {
        const t = subscription.get(n);
        return t ? [t.topicId] : [];
      }),
      currentTarget: current.get(m.memberId) ?? EMPTY_ASSIGNMENT,
    }));
    const out = this.preferredAssignor(members.values()).assign(input, topics);
    for (const id of members.keys()) if (!out.has(id)) out.set(id, new Map());
    return out;
  }

  /** Keeps the topic → partition → owner index in step with a member's assigned and revoking partitions. */
  private setOwnership(g: ConsumerGroupState, prev: ConsumerGroupMember | undefined, next: ConsumerGroupMember | undefined): void {
    if (prev) {
      for (const m of [prev.assignedPartitions, prev.partitionsPendingRevocation]) {
        for (const [t, ps] of m) {
          const owners = g.owners.get(t);
          if (!owners) continue;
          for (const p of ps) if (owners.get(p) === prev.memberId) owners.delete(p);
          if (owners.size === 0) g.owners.delete(t);
        }
      }
    }
    if (next) {
      for (const m of [next.assignedPartitions, next.partitionsPendingRevocation]) {
        for (const [t, ps] of m) {
          let owners = g.owners.get(t);
          if (!owners) g.owners.set(t, (owners = new Map()));
          for (const p of ps) owners.set(p, next.memberId);
        }
      }
    }
  }
}

function emptyGroup(groupId: string): ConsumerGroupState {
  return {
    groupId, groupEpoch: 0, assignmentEpoch: 0, members: new Map(), staticMembers: new Map(),
    targetAssignment: new Map(), subscriptionMetadata: new Map(), owners: new Map(),
  };
}

export function stateOf(g: Readonly<ConsumerGroupState>): ConsumerGroupStateName {
  if (g.members.size === 0) return 'Empty';
  if (g.groupEpoch > g.assignmentEpoch) return 'Assigning';
  for (const m of g.members.values()) {
    if (m.memberEpoch >= 0 && (m.memberEpoch !== g.assignmentEpoch || m.state !== MemberState.STABLE)) return 'Reconciling';
  }
  return 'Stable';
}

function sessionKey(groupId: string, memberId: string): string {
  return `consumer-group-session:${groupId}:${memberId}`;
}

function rebalanceKey(groupId: string, memberId: string): string {
  return `consumer-group-rebalance:${groupId}:${memberId}`;
}

function sameMetadata(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return a.instanceId === b.instanceId && a.rackId === b.rackId && a.clientId === b.clientId && a.clientHost === b.clientHost
    && sameNames(a.subscribedTopicNames, b.subscribedTopicNames) && a.subscribedTopicRegex === b.subscribedTopicRegex
    && a.rebalanceTimeoutMs === b.rebalanceTimeoutMs
    && a.serverAssignor === b.serverAssignor;
}

function sameAssignment(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return a.memberEpoch === b.memberEpoch && a.previousMemberEpoch === b.previousMemberEpoch && a.state === b.state
    && equalAssignments(a.assignedPartitions, b.assignedPartitions)
    && equalAssignments(a.partitionsPendingRevocation, b.partitionsPendingRevocation);
}

function sameSubscriptionMetadata(a: ReadonlyMap<string, SubscribedTopic>, b: ReadonlyMap<string, SubscribedTopic>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const u = b.get(name);
    if (!u || u.topicId !== t.topicId || u.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

function memberTombstones(group: string, memberId: string): ConsumerGroupRecord[] {
  return [
    { type: 'ConsumerGroupCurrentMemberAssignment', group, memberId, value: null },
    { type: 'ConsumerGroupTargetAssignmentMember', group, memberId, value: null },
    { type: 'ConsumerGroupMemberMetadata', group, memberId, value: null },
  ];
}

function memberMetadataRecord(group: string, m: ConsumerGroupMember): ConsumerGroupRecord {
  return {
    type: 'ConsumerGroupMemberMetadata', group, memberId: m.memberId,
    value: {
      instanceId: m.instanceId, rackId: m.rackId, clientId: m.clientId, clientHost: m.clientHost,
      subscribedTopicNames: [...m.subscribedTopicNames], subscribedTopicRegex: m.subscribedTopicRegex,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs, serverAssignor: m.serverAssignor, classicMemberMetadata: null,
    },
  };
}

function partitionMetadataRecord(group: string, subscription: ReadonlyMap<string, SubscribedTopic>): ConsumerGroupRecord {
  return {
    type: 'ConsumerGroupPartitionMetadata', group,
    value: {
      topics: [...subscription].map(([topicName, t]) => ({ topicId: t.topicId, topicName, numPartitions: t.numPartitions, partitionMetadata: [] })),
    },
  };
}

function targetRecord(group: string, memberId: string, target: ReadonlyTopicPartitionMap): ConsumerGroupRecord {
  return { type: 'ConsumerGroupTargetAssignmentMember', group, memberId, value: { topicPartitions: toEntries(target) } };
}

function currentAssignmentRecord(group: string, m: ConsumerGroupMember): ConsumerGroupRecord {
  return {
    type: 'ConsumerGroupCurrentMemberAssignment', group, memberId: m.memberId,
    value: {
      memberEpoch: m.memberEpoch, previousMemberEpoch: m.previousMemberEpoch, state: m.state,
      assignedPartitions: toEntries(m.assignedPartitions), partitionsPendingRevocation: toEntries(m.partitionsPendingRevocation),
    },
  };
}
