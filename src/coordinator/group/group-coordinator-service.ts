/**
 * Wires the group coordinators for a broker over one `__consumer_offsets` runtime: the classic
 * GroupCoordinator (JoinGroup & co., and every committed offset) and the KIP-848 ConsumerGroupCoordinator
 * (ConsumerGroupHeartbeat, ConsumerGroupDescribe), with the broker config keys (Kafka's names and defaults)
 * that shape both.
 *
 * One group id belongs to one protocol, as in Kafka 4.0 without online migration: ConsumerGroupHeartbeat on
 * a classic group with members is GROUP_ID_NOT_FOUND, JoinGroup on a consumer group with members is
 * INCONSISTENT_GROUP_PROTOCOL; an empty group of the other type is replaced (its offsets stay). A consumer
 * group's offsets are kept by the classic coordinator (in an empty classic group it holds for them); the
 * methods below apply the consumer group's rules (member epochs, subscriptions) before delegating, and
 * admin views show the consumer group rather than that holder. The classic coordinator asks back, through
 * its hooks, which topics a consumer group subscribes to (offsets retention) and where a group lives
 * (transaction markers met on replay).
 */
import { KafkaError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat-request.js';
import type { ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { PartitionAssignor } from '../assignors/partition-assignor.js';
import { RangeAssignor } from '../assignors/range-assignor.js';
import { UniformAssignor } from '../assignors/uniform-assignor.js';
import type { CoordinatorPartitions } from '../coordinator-partitions.js';
import { ConsumerGroupCoordinator, type ConsumerGroupConfig } from '../consumer-group/consumer-group-coordinator.js';
import { consumerGroupRecordSerde, type ConsumerGroupRecord } from '../consumer-group/consumer-group-records.js';
import { CoordinatorRuntime, type CoordinatorResult, type RecordSerde } from '../runtime.js';
import type { Scheduler } from '../scheduler.js';
import { TopicCoordinatorLog } from '../topic-log.js';
import type { JoinResult } from './classic-group.js';
import {
  GroupCoordinator, type FetchedOffset, type GroupCoordinatorConfig, type GroupDescription, type JoinGroupInput, type OffsetCommitInput, type PartitionError,
} from './group-coordinator.js';
import { groupRecordSerde, type GroupRecord } from './group-records.js';

export const GROUP_METADATA_TOPIC = '__consumer_offsets';

export function groupCoordinatorConfig(config: ReadonlyMap<string, string>): GroupCoordinatorConfig {
  const num = (key: string): number => Number(config.get(key));
  return {
    initialRebalanceDelayMs: num('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: num('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: num('group.max.session.timeout.ms'),
    maxGroupSize: num('group.max.size'),
    offsetsRetentionMs: num('offsets.retention.minutes') * 60_000,
    offsetsRetentionCheckIntervalMs: num('offsets.retention.check.interval.ms'),
    offsetMetadataMaxBytes: num('offset.metadata.max.bytes'),
  };
}

/** Every record in `__consumer_offsets`: classic groups and offsets, and KIP-848 consumer groups. */
export type OffsetsTopicRecord = GroupRecord | ConsumerGroupRecord;

function isConsumerGroupRecord(rec: OffsetsTopicRecord): rec is ConsumerGroupRecord {
  return rec.type !== 'offset' && rec.type !== 'group';
}

/** Key versions 0-2 are the classic coordinator's, 3-8 the consumer groups'; others (share groups) are skipped. */
export const offsetsTopicRecordSerde: RecordSerde<OffsetsTopicRecord> = {
  partitionKey: (rec) => rec.group,
  encode: (rec) => (isConsumerGroupRecord(rec) ? consumerGroupRecordSerde.encode(rec) : groupRecordSerde.encode(rec)),
  decode: (raw) => groupRecordSerde.decode(raw) ?? consumerGroupRecordSerde.decode(raw),
};

const ASSIGNORS: Record<string, () => PartitionAssignor> = { uniform: () => new UniformAssignor(), range: () => new RangeAssignor() };

export function consumerGroupConfig(config: ReadonlyMap<string, string>): ConsumerGroupConfig {
  const names = (config.get('group.consumer.assignors') ?? 'uniform,range').split(',').map((n) => n.trim()).filter((n) => n !== '');
  return {
    sessionTimeoutMs: Number(config.get('group.consumer.session.timeout.ms')),
    heartbeatIntervalMs: Number(config.get('group.consumer.heartbeat.interval.ms')),
    maxSize: Number(config.get('group.consumer.max.size')),
    assignors: names.map((n) => {
      const make = ASSIGNORS[n];
      if (!make) throw new Error(`group.consumer.assignors: unknown assignor ${n}`);
      return make();
    }),
  };
}

type Result<R> = CoordinatorResult<R, OffsetsTopicRecord>;

export class GroupCoordinatorService {
  readonly runtime: CoordinatorRuntime<OffsetsTopicRecord>;
  readonly coordinator: GroupCoordinator;
  readonly consumerGroups: ConsumerGroupCoordinator;

  /** `groupConfigs`: per-group overrides (the GROUP config resource), read on every consumer-group heartbeat. */
  constructor(
    partitions: CoordinatorPartitions, config: ReadonlyMap<string, string>, private readonly scheduler: Scheduler, logger?: Logger,
    groupConfigs?: { overrides(groupId: string): { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } },
  ) {
    const log = new TopicCoordinatorLog(partitions, GROUP_METADATA_TOPIC, Number(config.get('offsets.topic.num.partitions')), {
      'cleanup.policy': 'compact',
      'segment.bytes': config.get('offsets.topic.segment.bytes') ?? '104857600',
    }, scheduler.now);
    this.runtime = new CoordinatorRuntime(log, offsetsTopicRecordSerde, scheduler, logger);
    this.coordinator = new GroupCoordinator(this.runtime.timers, groupCoordinatorConfig(config), {
      partitionOf: (groupId) => this.runtime.partitionOf(groupId),
      consumerGroupTopics: (groupId) => this.consumerGroupTopics(groupId),
      // Its own operation, so that the consumer group's tombstones are persisted like any other records.
      consumerGroupOffsetsExpired: (groupId) => this.runtime.timers.schedule(`consumer-group-expired:${groupId}`, 0, () => {
        const cg = this.consumerGroups.group(groupId);
        if (!cg || cg.members.size > 0 || this.coordinator.group(groupId)) return { response: undefined, records: [] };
        return this.consumerGroups.deleteGroup(groupId);
      }),
    });
    // The metadata image: topics as the broker knows them now.
    const image = (name: string): { topicId: string; numPartitions: number } | undefined => {
      const t = partitions.topic(name);
      return t && { topicId: t.topicId, numPartitions: t.partitions };
    };
    this.consumerGroups = new ConsumerGroupCoordinator(this.runtime.timers, image, {
      ...consumerGroupConfig(config),
      topicNames: { version: () => partitions.topicNamesVersion(), names: () => partitions.topicNames() },
      groupConfig: (groupId) => groupConfigs?.overrides(groupId) ?? {},
      brokerRack: config.get('broker.rack') || null,
    });
    this.runtime.bind({
      replay: (rec, producerId) => (isConsumerGroupRecord(rec) ? this.consumerGroups.replay(rec) : this.coordinator.replay(rec, producerId)),
      replayTxnMarker: (partition, producerId, commit) => this.coordinator.replayTxnMarker(partition, producerId, commit),
      onLoaded: (partition) => {
        this.coordinator.onLoaded(partition);
        this.consumerGroups.onLoaded(partition === undefined ? undefined : (groupId) => this.runtime.partitionOf(groupId) === partition);
      },
      reset: () => {
        this.coordinator.reset();
        this.consumerGroups.reset();
      },
      unload: (partition) => {
        this.coordinator.unload(partition);
        this.consumerGroups.unload((groupId) => this.runtime.partitionOf(groupId) === partition);
      },
    });
  }

  /**
   * This broker now leads `__consumer_offsets` partition `partition` at leader epoch `epoch`: its groups load
   * (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and are served here. Kafka's GroupCoordinator.onElection.
   */
  onElection(partition: number, epoch: number): Promise<void> {
    return this.runtime.onElection(partition, epoch);
  }

  /**
   * This broker no longer leads `__consumer_offsets` partition `partition`: its groups are unloaded and answer
   * NOT_COORDINATOR. A resignation at an epoch not newer than the one elected is stale and ignored.
   */
  onResignation(partition: number, epoch?: number): void {
    this.runtime.onResignation(partition, epoch);
  }

  /** The topics a consumer group's members subscribe to (names and regex matches); undefined if not a consumer group. */
  private consumerGroupTopics(groupId: string): ReadonlySet<string> | undefined {
    return this.consumerGroups.subscribedTopics(groupId);
  }

  /** A classic group that has members (an empty one only holds offsets or waits to be replaced). */
  private classicGroupInUse(groupId: string): boolean {
    const g = this.coordinator.group(groupId);
    return g !== undefined && (g.members.size > 0 || !g.is('Empty'));
  }

  /** ConsumerGroupHeartbeat, refused for a classic group in use. */
  consumerGroupHeartbeat(
    req: ConsumerGroupHeartbeatRequest, client: { clientId: string; clientHost: string }, apiVersion: number,
  ): Result<ConsumerGroupHeartbeatResponse> {
    if (this.classicGroupInUse(req.groupId)) throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${req.groupId} is not a consumer group.`);
    return this.consumerGroups.heartbeat(req, client, apiVersion);
  }

  /** JoinGroup, refused for a consumer group with members; an empty consumer group is deleted first. */
  joinGroup(input: JoinGroupInput): Result<JoinResult> {
    const cg = this.consumerGroups.group(input.groupId);
    if (!cg) return this.coordinator.joinGroup(input);
    if (cg.members.size > 0) throw new KafkaError('INCONSISTENT_GROUP_PROTOCOL', `Group ${input.groupId} is a consumer group.`);
    const deleted = this.consumerGroups.deleteGroup(input.groupId).records;
    const joined = this.coordinator.joinGroup(input);
    return { ...joined, records: [...deleted, ...joined.records] };
  }

  /**
   * OffsetCommit. For a consumer group (Kafka's ConsumerGroup.validateOffsetCommit): a commit without a
   * member (epoch < 0) only while the group is empty; otherwise the member must exist (UNKNOWN_MEMBER_ID),
   * use OffsetCommit v9+ (UNSUPPORTED_VERSION) and send its current epoch (STALE_MEMBER_EPOCH).
   */
  commitOffsets(input: OffsetCommitInput, apiVersion: number): Result<PartitionError[]> {
    const cg = this.consumerGroups.group(input.groupId);
    if (!cg) {
      // As Kafka: v9+ says a group that does not exist is not found; older versions get ILLEGAL_GENERATION.
      if (apiVersion >= 9 && input.generationId >= 0 && input.groupId !== '' && !this.coordinator.group(input.groupId)) {
        throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${input.groupId} not found.`);
      }
      return this.coordinator.commitOffsets(input);
    }
    if (!(input.generationId < 0 && cg.members.size === 0)) {
      const member = cg.members.get(input.memberId);
      if (!member) throw new KafkaError('UNKNOWN_MEMBER_ID', `Member ${input.memberId} is not in group ${input.groupId}.`);
      if (apiVersion < 9) throw new KafkaError('UNSUPPORTED_VERSION', 'OffsetCommit version 9 or above must be used by members of a consumer group.');
      if (input.generationId !== member.memberEpoch) {
        throw new KafkaError('STALE_MEMBER_EPOCH', `The received member epoch ${input.generationId} does not match the expected member epoch ${member.memberEpoch}.`);
      }
    }
    // Validated: the classic coordinator stores them as a commit without membership.
    return this.coordinator.commitOffsets({ ...input, generationId: -1, memberId: '', groupInstanceId: null });
  }

  /**
   * TxnOffsetCommit. For a consumer group (KIP-848), as Kafka's ConsumerGroup.validateOffsetCommit with
   * isTransactional: no member id, epoch or instance id skips membership (the fields are optional), as does
   * epoch < 0 while the group is empty; otherwise the member must exist (UNKNOWN_MEMBER_ID) and send its current
   * member epoch as the generation (else ILLEGAL_GENERATION, the error TxnOffsetCommit clients act on).
   * A classic group is checked by the classic coordinator.
   */
  commitTxnOffsets(input: OffsetCommitInput & { producerId: bigint; producerEpoch: number }): Result<PartitionError[]> {
    const cg = this.consumerGroups.group(input.groupId);
    if (!cg) return this.coordinator.commitTxnOffsets(input);
    const noMembership = input.generationId < 0 && input.memberId === '' && input.groupInstanceId === null;
    if (!noMembership && !(input.generationId < 0 && cg.members.size === 0)) {
      const member = cg.members.get(input.memberId);
      if (!member) throw new KafkaError('UNKNOWN_MEMBER_ID', `Member ${input.memberId} is not in group ${input.groupId}.`);
      if (input.generationId !== member.memberEpoch) {
        throw new KafkaError('ILLEGAL_GENERATION', `The received member epoch ${input.generationId} does not match the expected member epoch ${member.memberEpoch}.`);
      }
    }
    return this.coordinator.commitTxnOffsets({ ...input, generationId: -1, memberId: '', groupInstanceId: null });
  }

  /**
   * OffsetFetch. For a consumer group, a request naming a member (v9+) must name a current one with its
   * epoch (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH); no member id and epoch -1 is an admin fetch.
   * requireStable: see GroupCoordinator.fetchOffsets.
   */
  fetchOffsets(
    groupId: string, topics: Array<{ name: string; partitions: number[] }> | null, memberId: string | null = null, memberEpoch = -1, requireStable = false,
  ): FetchedOffset[] {
    const cg = this.consumerGroups.group(groupId);
    if (cg && !(memberId === null && memberEpoch < 0)) {
      const member = memberId === null ? undefined : cg.members.get(memberId);
      if (!member) throw new KafkaError('UNKNOWN_MEMBER_ID', `Member ${memberId} is not in group ${groupId}.`);
      if (memberEpoch !== member.memberEpoch) {
        throw new KafkaError('STALE_MEMBER_EPOCH', `The received member epoch ${memberEpoch} does not match the expected member epoch ${member.memberEpoch}.`);
      }
    }
    return this.coordinator.fetchOffsets(groupId, topics, requireStable);
  }

  /** ListGroups over both kinds; `types` lowercased, empty = all. A consumer group hides its offsets holder. */
  listGroups(states: readonly string[], types: readonly string[]): Array<{ groupId: string; protocolType: string; state: string; type: string }> {
    const out: Array<{ groupId: string; protocolType: string; state: string; type: string }> = [];
    const wanted = (type: string): boolean => types.length === 0 || types.includes(type);
    if (wanted('classic')) {
      for (const g of this.coordinator.listGroups(states)) {
        if (!this.consumerGroups.group(g.groupId)) out.push({ ...g, type: 'classic' });
      }
    }
    if (wanted('consumer')) {
      const wantedStates = new Set(states.map((s) => s.toLowerCase()));
      for (const groupId of this.consumerGroups.groupIds()) {
        const state = this.consumerGroups.groupState(groupId)!;
        if (wantedStates.size > 0 && !wantedStates.has(state.toLowerCase())) continue;
        out.push({ groupId, protocolType: 'consumer', state, type: 'consumer' });
      }
    }
    return out;
  }

  /**
   * DescribeGroups (the classic API). A group that is not a classic group in use — unknown, or a KIP-848
   * consumer group (ConsumerGroupDescribe describes it) — throws GROUP_ID_NOT_FOUND with Kafka's message;
   * the handler answers that from v6 and a Dead group before (KIP-1043).
   */
  describeGroup(groupId: string): GroupDescription {
    if (this.consumerGroups.group(groupId)) throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${groupId} is not a classic group.`);
    const d = this.coordinator.describeGroup(groupId);
    if (d.state === 'Dead') throw new KafkaError('GROUP_ID_NOT_FOUND', `Group ${groupId} not found.`);
    return d;
  }

  /** DeleteGroups over both kinds: a consumer group must be empty; its offsets go with it. */
  deleteGroups(groupIds: readonly string[]): Result<Array<{ groupId: string; errorCode: number }>> {
    const records: OffsetsTopicRecord[] = [];
    const results: Array<{ groupId: string; errorCode: number }> = [];
    const classic = (groupId: string): number => {
      const r = this.coordinator.deleteGroups([groupId]);
      records.push(...r.records);
      return (r.response as Array<{ errorCode: number }>)[0]!.errorCode;
    };
    for (const groupId of groupIds) {
      const notHere = this.runtime.ownershipError(groupId);
      if (notHere !== ErrorCode.NONE) {
        results.push({ groupId, errorCode: notHere });
        continue;
      }
      if (!this.consumerGroups.group(groupId)) {
        results.push({ groupId, errorCode: classic(groupId) });
        continue;
      }
      if (this.consumerGroups.group(groupId)!.members.size > 0) {
        results.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
        continue;
      }
      records.push(...this.consumerGroups.deleteGroup(groupId).records);
      // Its offsets, committed and pending in a transaction, and their holder group.
      records.push(...this.coordinator.deleteConsumerGroupOffsets(groupId).records);
      results.push({ groupId, errorCode: ErrorCode.NONE });
    }
    return { response: results, records };
  }

  /** OffsetDelete: for a consumer group, offsets of topics a member subscribes to stay (GROUP_SUBSCRIBED_TO_TOPIC). */
  deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Result<{ errorCode: number; partitions: PartitionError[] }> {
    const subscribed = this.consumerGroupTopics(groupId);
    if (!subscribed) return this.coordinator.deleteOffsets(groupId, topics);
    const refused: PartitionError[] = [];
    const rest: Array<{ name: string; partitions: number[] }> = [];
    for (const t of topics) {
      if (subscribed.has(t.name)) refused.push(...t.partitions.map((partition) => ({ topic: t.name, partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC })));
      else rest.push(t);
    }
    const none = rest.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition, errorCode: ErrorCode.NONE })));
    if (!this.coordinator.group(groupId)) return { response: { errorCode: ErrorCode.NONE, partitions: [...refused, ...none] }, records: [] };
    const r = this.coordinator.deleteOffsets(groupId, rest);
    const deleted = r.response as { errorCode: number; partitions: PartitionError[] };
    return { response: { errorCode: deleted.errorCode, partitions: [...refused, ...deleted.partitions] }, records: r.records };
  }

  /** Stops every coordinator timer (broker shutdown). */
  close(): void {
    this.scheduler.cancelAll();
  }
}
