/**
 * KIP-848 group membership: the coordinator assigns (server-side assignor) and every member reconciles
 * toward its target assignment through ConsumerGroupHeartbeat: revoke what it no longer owns, take
 * what is new, and acknowledge by reporting its owned partitions in the next heartbeat.
 */
import { randomBytes } from 'node:crypto';
import { ConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat-request.js';
import { ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../../protocol/primitives/codec.js';
import { type Cluster, isCoordinatorError } from '../cluster.js';
import { ClientStateError, ProtocolError, UnsupportedApiError, isRetriable } from '../errors.js';
import { Signal } from './signal.js';
import { type GroupHost, type TopicPartition, tpKey } from './types.js';

export interface ConsumerGroupConfig {
  groupId: string;
  groupInstanceId: string | null;
  serverAssignor: string | null;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  retryBackoffMs: number;
}

const LEAVE_GROUP_MEMBER_EPOCH = -1;
const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

export function unsupportedConsumerProtocol(address: string): ClientStateError {
  return new ClientStateError(
    `the broker at ${address} does not offer ConsumerGroupHeartbeat (KIP-848 consumer groups): use groupProtocol 'classic'`,
  );
}

export class ConsumerGroup {
  /** KIP-1082: the client generates its member id and keeps it for the consumer's lifetime (rejoins included). */
  memberId = randomBytes(16).toString('base64url');
  memberEpoch = 0;
  private heartbeatIntervalMs: number;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly wakeup = new Signal();
  private immediate = false;
  /** Left the group because the application stopped polling; rejoins at its next poll(). */
  private leftForPollTimeout = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly host: GroupHost,
    private readonly config: ConsumerGroupConfig,
  ) {
    this.heartbeatIntervalMs = config.heartbeatIntervalMs;
  }

  get stable(): boolean {
    return this.memberEpoch > 0;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Subscription changed: tell the coordinator now. */
  requestRejoin(): void {
    this.immediate = true;
    this.wakeup.notify();
  }

  /** The application polls: rejoin (epoch 0) if the member left for not polling. */
  onPoll(): void {
    if (!this.leftForPollTimeout) return;
    this.leftForPollTimeout = false;
    this.memberEpoch = 0;
    this.wakeup.notify();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.notify();
    if (this.loop) await this.loop;
  }

  /** Leaves with epoch -1 (static members -2: they keep their assignment until the session ends). */
  async leave(): Promise<void> {
    if (this.memberEpoch <= 0) return;
    const epoch = this.config.groupInstanceId !== null ? LEAVE_GROUP_STATIC_MEMBER_EPOCH : LEAVE_GROUP_MEMBER_EPOCH;
    try {
      const conn = await this.cluster.coordinatorConnection(this.config.groupId);
      await conn.send(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
        groupId: this.config.groupId,
        memberId: this.memberId,
        memberEpoch: epoch,
        instanceId: this.config.groupInstanceId,
        rackId: null,
        rebalanceTimeoutMs: -1,
        subscribedTopicNames: null,
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: null,
      });
    } catch {
      // Best effort: the session timeout removes the member anyway.
    }
    this.memberEpoch = epoch;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.leftForPollTimeout) {
        await this.wakeup.wait(Infinity);
        continue;
      }
      if (this.memberEpoch > 0 && this.host.pollIdleMs() > this.config.rebalanceTimeoutMs) {
        // max.poll.interval.ms passed without a poll(): leave so the partitions go to a member that is not stuck.
        this.leftForPollTimeout = true;
        const owned = this.host.owned();
        this.host.removePartitions(owned);
        if (owned.length > 0) await this.host.lose(owned);
        await this.leave();
        continue;
      }
      try {
        await this.heartbeat();
      } catch (err) {
        if (this.stopped) break;
        if (isCoordinatorError(err)) this.cluster.invalidateCoordinator(this.config.groupId);
        if (err instanceof UnsupportedApiError || (err instanceof ProtocolError && err.errorCode === ErrorCode.UNSUPPORTED_VERSION)) {
          this.host.fail(unsupportedConsumerProtocol(this.cluster.options.bootstrapServers.toString()));
          break;
        }
        if (!isRetriable(err)) {
          this.host.fail(err as Error);
          break;
        }
        await this.wakeup.wait(this.config.retryBackoffMs);
        continue;
      }
      if (this.immediate) {
        this.immediate = false;
        continue;
      }
      await this.wakeup.wait(this.heartbeatIntervalMs);
    }
  }

  private async heartbeat(): Promise<void> {
    const conn = await this.cluster.coordinatorConnection(this.config.groupId);
    if (!conn.supports(ConsumerGroupHeartbeatRequest)) throw unsupportedConsumerProtocol(conn.address);
    const subscription = this.host.subscription();
    // Owned partitions by topic id; every heartbeat carries the full state (allowed, and it survives lost responses).
    const owned = this.host.owned();
    const byTopic = new Map<string, number[]>();
    for (const tp of owned) {
      const id = this.cluster.topics.get(tp.topic)?.topicId;
      if (id === undefined || id === ZERO_UUID) continue;
      let a = byTopic.get(id);
      if (!a) byTopic.set(id, (a = []));
      a.push(tp.partition);
    }
    const joining = this.memberEpoch === 0;
    const res = await conn.send(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
      groupId: this.config.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: this.config.groupInstanceId,
      rackId: null,
      rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
      subscribedTopicNames: subscription,
      // v1: "" when subscribing by names (no regex), as librdkafka sends it; v0 drops the field.
      subscribedTopicRegex: this.host.subscriptionRegex() ?? '',
      serverAssignor: this.config.serverAssignor,
      topicPartitions: joining ? [] : [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
    });
    if (this.stopped) return;
    switch (res.errorCode) {
      case 0:
        break;
      case ErrorCode.FENCED_MEMBER_EPOCH:
      case ErrorCode.UNKNOWN_MEMBER_ID: {
        // Fenced: the partitions may be someone else's already. Rejoin from epoch 0, with the same member id
        // when the coordinator still knows it (it then resets that member rather than adding another).
        const lost = this.host.owned();
        this.host.removePartitions(lost);
        if (lost.length > 0) await this.host.lose(lost);
        this.memberEpoch = 0;
        this.immediate = true;
        return;
      }
      default:
        throw new ProtocolError(res.errorCode, `ConsumerGroupHeartbeat for group '${this.config.groupId}'`, res.errorMessage);
    }
    if (res.memberId !== null) this.memberId = res.memberId;
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (res.assignment !== null) await this.reconcile(res.assignment.topicPartitions);
  }

  /** Moves to the target assignment: revoke first, then assign; the next heartbeat (sent at once) acknowledges. */
  private async reconcile(target: Array<{ topicId: string; partitions: number[] }>): Promise<void> {
    const names = await this.topicNames(target.map((t) => t.topicId));
    const assigned: TopicPartition[] = [];
    for (const t of target) {
      const topic = names.get(t.topicId);
      if (topic === undefined) continue; // not in metadata yet: taken on a later heartbeat
      for (const partition of t.partitions) assigned.push({ topic, partition });
    }
    const assignedKeys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    const current = this.host.owned();
    const currentKeys = new Set(current.map((tp) => tpKey(tp.topic, tp.partition)));
    const revoked = current.filter((tp) => !assignedKeys.has(tpKey(tp.topic, tp.partition)));
    const added = assigned.filter((tp) => !currentKeys.has(tpKey(tp.topic, tp.partition)));
    if (revoked.length > 0) {
      await this.host.revoke(revoked);
      this.host.removePartitions(revoked);
    }
    if (added.length > 0) {
      this.host.addPartitions(added);
      await this.host.assigned(added);
    }
    if (revoked.length > 0 || added.length > 0) this.immediate = true;
  }

  private async topicNames(ids: string[]): Promise<Map<string, string>> {
    const find = (): Map<string, string> => {
      const m = new Map<string, string>();
      for (const t of this.cluster.topics.values()) if (ids.includes(t.topicId)) m.set(t.topicId, t.name);
      return m;
    };
    let m = find();
    if (m.size < ids.length) {
      // A regex subscription's topics are the broker's to resolve: look them up among all topics.
      await this.cluster.refreshMetadata(this.host.subscriptionRegex() === null ? this.host.subscription() : null);
      m = find();
    }
    return m;
  }
}
