/**
 * Classic group membership (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) with client-side assignment:
 * the leader computes the assignment with the assignor the coordinator picked. EAGER rebalancing revokes
 * everything before rejoining; when every offered assignor supports COOPERATIVE, the KIP-429
 * incremental protocol keeps owned partitions, revokes only what moved and then rejoins.
 */
import { JoinGroupRequest } from '../../protocol/generated/join-group-request.js';
import { JoinGroupResponse } from '../../protocol/generated/join-group-response.js';
import { SyncGroupRequest } from '../../protocol/generated/sync-group-request.js';
import { SyncGroupResponse } from '../../protocol/generated/sync-group-response.js';
import { HeartbeatRequest } from '../../protocol/generated/heartbeat-request.js';
import { HeartbeatResponse } from '../../protocol/generated/heartbeat-response.js';
import { LeaveGroupRequest } from '../../protocol/generated/leave-group-request.js';
import { LeaveGroupResponse } from '../../protocol/generated/leave-group-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { type Cluster, CoordinatorType, isCoordinatorError } from '../cluster.js';
import { ProtocolError, isRetriable } from '../errors.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type MemberSubscription, type PartitionAssignor, type RebalanceProtocol } from '../assignors/assignor.js';
import { Signal } from './signal.js';
import { type GroupHost, tpKey } from './types.js';

export interface ClassicGroupConfig {
  groupId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  retryBackoffMs: number;
}

/** Thrown inside the loop to start the join again at once (no backoff). */
class Rejoin extends Error {}

const FATAL_ON_JOIN = new Set<number>([
  ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.INVALID_SESSION_TIMEOUT,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_GROUP_ID,
  ErrorCode.UNSUPPORTED_VERSION,
]);

export class ClassicGroup {
  generationId = -1;
  memberId = '';
  protocolName: string | null = null;
  /** Whether the member holds a generation and its assignment (false while (re)joining). */
  stable = false;
  readonly protocol: RebalanceProtocol;
  private rejoinNeeded = true;
  /** Left the group because the application stopped polling; rejoins at its next poll(). */
  private leftForPollTimeout = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly wakeup = new Signal();

  constructor(
    private readonly cluster: Cluster,
    private readonly host: GroupHost,
    private readonly assignors: PartitionAssignor[],
    private readonly config: ClassicGroupConfig,
  ) {
    // The common protocol of all offered assignors: COOPERATIVE only when every one supports it.
    this.protocol = assignors.every((a) => a.supportedProtocols.includes('COOPERATIVE')) ? 'COOPERATIVE' : 'EAGER';
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Ask for a rebalance (subscription changed). */
  requestRejoin(): void {
    this.rejoinNeeded = true;
    this.wakeup.notify();
  }

  /** The application polls: rejoin if the member left for not polling. */
  onPoll(): void {
    if (!this.leftForPollTimeout) return;
    this.leftForPollTimeout = false;
    this.rejoinNeeded = true;
    this.wakeup.notify();
  }

  /** Stops heartbeating; the caller commits and revokes, then calls leave(). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.notify();
    // A JoinGroup can be held for the whole rebalance timeout: do not wait for it. The LeaveGroup that
    // follows (on another connection) releases it, and the loop ignores whatever it returns.
    if (this.loop) await Promise.race([this.loop, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  /** LeaveGroup, so the group rebalances now rather than after the session timeout. Static members do not leave (as Kafka). */
  async leave(): Promise<void> {
    if (this.memberId === '' || this.config.groupInstanceId !== null) return;
    try {
      // Not on the 'coordinator' pool: a JoinGroup held there would block it.
      const conn = await this.cluster.coordinatorConnection(this.config.groupId, CoordinatorType.GROUP, 'default');
      const version = conn.versionFor(LeaveGroupRequest);
      await conn.send(LeaveGroupRequest, LeaveGroupResponse, {
        groupId: this.config.groupId,
        memberId: this.memberId,
        members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'the consumer is closing' }],
      }, { version });
    } catch {
      // Best effort: the session timeout removes the member anyway.
    }
    this.memberId = '';
    this.generationId = -1;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.leftForPollTimeout) {
          await this.wakeup.wait(Infinity);
          continue;
        }
        if (this.rejoinNeeded) {
          await this.joinAndSync();
          continue;
        }
        await this.wakeup.wait(this.config.heartbeatIntervalMs);
        if (this.stopped || this.rejoinNeeded) continue;
        if (this.host.pollIdleMs() > this.config.rebalanceTimeoutMs) {
          await this.leaveForPollTimeout();
          continue;
        }
        await this.heartbeat();
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Rejoin) continue;
        if (isCoordinatorError(err)) this.cluster.invalidateCoordinator(this.config.groupId);
        // Group-level refusals and client errors (unsupported API) end membership; anything else is retried.
        const fatal = err instanceof ProtocolError ? FATAL_ON_JOIN.has(err.errorCode) : !isRetriable(err);
        if (fatal) {
          this.host.fail(err as Error);
          break;
        }
        await this.wakeup.wait(this.config.retryBackoffMs);
      }
    }
  }

  /**
   * max.poll.interval.ms passed without a poll(): the application is stuck, so give the partitions to
   * someone who is not (as the Java client does). Nothing is committed: the records may be in progress.
   */
  private async leaveForPollTimeout(): Promise<void> {
    this.stable = false;
    this.leftForPollTimeout = true;
    const owned = this.host.owned();
    this.host.removePartitions(owned);
    if (owned.length > 0) await this.host.lose(owned);
    await this.leave();
  }

  private async joinAndSync(): Promise<void> {
    this.stable = false;
    if (this.protocol === 'EAGER') {
      // EAGER: give up everything before joining, so no partition has two owners.
      const owned = this.host.owned();
      if (owned.length > 0) {
        await this.host.revoke(owned);
        this.host.removePartitions(owned);
      }
    }
    const conn = await this.cluster.coordinatorConnection(this.config.groupId);
    const topics = this.host.subscription();
    const owned = this.protocol === 'COOPERATIVE' ? this.host.owned() : [];
    const join = await conn.send(JoinGroupRequest, JoinGroupResponse, {
      groupId: this.config.groupId,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: this.config.groupInstanceId,
      protocolType: 'consumer',
      protocols: this.assignors.map((a) => ({
        name: a.name,
        metadata: encodeSubscription({ topics, ownedPartitions: owned, generationId: this.generationId, rackId: null, userData: a.subscriptionUserData?.(owned, this.generationId) ?? null }),
      })),
      reason: null,
    }, { timeoutMs: this.config.rebalanceTimeoutMs + 5000 });
    if (this.stopped) return;
    if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      // KIP-394: the broker hands out the member id and wants to see it in a second JoinGroup.
      this.memberId = join.memberId;
      throw new Rejoin();
    }
    this.checkRoundError(join.errorCode, 'JoinGroup');
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.protocolName = join.protocolName;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === join.memberId && !join.skipAssignment) assignments = await this.assign(join.protocolName, join.members);
    const sync = await conn.send(SyncGroupRequest, SyncGroupResponse, {
      groupId: this.config.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.config.groupInstanceId,
      protocolType: 'consumer',
      protocolName: this.protocolName,
      assignments,
    }, { timeoutMs: this.config.rebalanceTimeoutMs + 5000 });
    if (this.stopped) return;
    this.checkRoundError(sync.errorCode, 'SyncGroup');
    const subscribed = new Set(topics);
    const decoded = sync.assignment.length === 0 ? null : decodeAssignment(sync.assignment);
    const assigned = decoded === null ? [] : decoded.partitions.filter((tp) => subscribed.has(tp.topic));
    this.assignors.find((a) => a.name === this.protocolName)?.onAssignment?.(assigned, decoded?.userData ?? null, this.generationId);
    const assignedKeys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    const current = this.host.owned();
    const currentKeys = new Set(current.map((tp) => tpKey(tp.topic, tp.partition)));
    const revoked = current.filter((tp) => !assignedKeys.has(tpKey(tp.topic, tp.partition)));
    const added = assigned.filter((tp) => !currentKeys.has(tpKey(tp.topic, tp.partition)));
    this.rejoinNeeded = false;
    if (revoked.length > 0) {
      await this.host.revoke(revoked);
      this.host.removePartitions(revoked);
      // KIP-429: the revoked partitions go to their new owner in the next rebalance.
      if (this.protocol === 'COOPERATIVE') this.rejoinNeeded = true;
    }
    this.host.addPartitions(added);
    this.stable = true;
    await this.host.assigned(added);
  }

  /** The leader's job: decode every member's subscription and run the chosen assignor. */
  /** The errors JoinGroup and SyncGroup share: those that mean "join again" (after forgetting what is stale), else fatal. */
  private checkRoundError(errorCode: number, api: 'JoinGroup' | 'SyncGroup'): void {
    switch (errorCode) {
      case 0:
        return;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = '';
        this.generationId = -1;
        throw new Rejoin();
      case ErrorCode.ILLEGAL_GENERATION:
        this.generationId = -1;
        throw new Rejoin();
      case ErrorCode.REBALANCE_IN_PROGRESS:
        throw new Rejoin();
      default:
        throw new ProtocolError(errorCode, `${api} for group '${this.config.groupId}'`);
    }
  }

  private async assign(protocolName: string | null, members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const assignor = this.assignors.find((a) => a.name === protocolName);
    if (!assignor) throw new ProtocolError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `group '${this.config.groupId}'`, `the coordinator chose assignor '${protocolName}', which this consumer did not offer`);
    const subs: MemberSubscription[] = members.map((m) => {
      const s = decodeSubscription(m.metadata);
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: s.topics, ownedPartitions: s.ownedPartitions, generationId: s.generationId, rackId: s.rackId, userData: s.userData };
    });
    const allTopics = [...new Set(subs.flatMap((s) => s.topics))];
    const partitionsPerTopic = new Map<string, number>();
    if (allTopics.length > 0) {
      const md = await this.cluster.refreshMetadata(allTopics);
      for (const t of md.topics) if (t.name !== null && t.errorCode === 0) partitionsPerTopic.set(t.name, t.partitions.length);
    }
    if (assignor.assignWithUserData) {
      const withData = await assignor.assignWithUserData(partitionsPerTopic, subs);
      return subs.map((s) => {
        const a = withData.get(s.memberId);
        return { memberId: s.memberId, assignment: encodeAssignment(a?.partitions ?? [], a?.userData ?? null) };
      });
    }
    const result = assignor.assign(partitionsPerTopic, subs);
    return subs.map((s) => ({ memberId: s.memberId, assignment: encodeAssignment(result.get(s.memberId) ?? []) }));
  }

  private async heartbeat(): Promise<void> {
    const conn = await this.cluster.coordinatorConnection(this.config.groupId);
    const res = await conn.send(HeartbeatRequest, HeartbeatResponse, {
      groupId: this.config.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.config.groupInstanceId,
    });
    if (this.stopped) return;
    switch (res.errorCode) {
      case 0:
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        this.rejoinNeeded = true;
        return;
      case ErrorCode.ILLEGAL_GENERATION:
      case ErrorCode.UNKNOWN_MEMBER_ID: {
        // The coordinator moved on without us: the partitions may already be someone else's.
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        this.generationId = -1;
        this.stable = false;
        const owned = this.host.owned();
        this.host.removePartitions(owned);
        if (owned.length > 0) await this.host.lose(owned);
        this.rejoinNeeded = true;
        return;
      }
      default:
        throw new ProtocolError(res.errorCode, `Heartbeat for group '${this.config.groupId}'`);
    }
  }
}
