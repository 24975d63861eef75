/**
 * Admin: topics, configs, consumer groups, offsets and the cluster, over the Kafka protocol only (so it
 * works against Apache Kafka too). Topic changes go to the controller, group requests to the group's
 * coordinator, offset queries and record deletion to each partition's leader. Retriable failures are
 * retried with backoff after refreshing whatever they made stale (metadata, coordinator); per-item
 * failures that cannot be retried are gathered into one error naming every failed item.
 */
import { CreateTopicsRequest } from '../protocol/generated/create-topics-request.js';
import { CreateTopicsResponse } from '../protocol/generated/create-topics-response.js';
import { DeleteTopicsRequest } from '../protocol/generated/delete-topics-request.js';
import { DeleteTopicsResponse } from '../protocol/generated/delete-topics-response.js';
import { CreatePartitionsRequest } from '../protocol/generated/create-partitions-request.js';
import { CreatePartitionsResponse } from '../protocol/generated/create-partitions-response.js';
import { DescribeConfigsRequest } from '../protocol/generated/describe-configs-request.js';
import { DescribeConfigsResponse } from '../protocol/generated/describe-configs-response.js';
import { IncrementalAlterConfigsRequest } from '../protocol/generated/incremental-alter-configs-request.js';
import { IncrementalAlterConfigsResponse } from '../protocol/generated/incremental-alter-configs-response.js';
import { AlterConfigsRequest } from '../protocol/generated/alter-configs-request.js';
import { AlterConfigsResponse } from '../protocol/generated/alter-configs-response.js';
import { ListGroupsRequest } from '../protocol/generated/list-groups-request.js';
import { ListGroupsResponse } from '../protocol/generated/list-groups-response.js';
import { DescribeGroupsRequest } from '../protocol/generated/describe-groups-request.js';
import { DescribeGroupsResponse } from '../protocol/generated/describe-groups-response.js';
import { ConsumerGroupDescribeRequest } from '../protocol/generated/consumer-group-describe-request.js';
import { ConsumerGroupDescribeResponse } from '../protocol/generated/consumer-group-describe-response.js';
import { OffsetFetchRequest } from '../protocol/generated/offset-fetch-request.js';
import { OffsetFetchResponse } from '../protocol/generated/offset-fetch-response.js';
import { OffsetCommitRequest } from '../protocol/generated/offset-commit-request.js';
import { OffsetCommitResponse } from '../protocol/generated/offset-commit-response.js';
import { OffsetDeleteRequest } from '../protocol/generated/offset-delete-request.js';
import { OffsetDeleteResponse } from '../protocol/generated/offset-delete-response.js';
import { DeleteGroupsRequest } from '../protocol/generated/delete-groups-request.js';
import { DeleteGroupsResponse } from '../protocol/generated/delete-groups-response.js';
import { ListOffsetsRequest } from '../protocol/generated/list-offsets-request.js';
import { ListOffsetsResponse } from '../protocol/generated/list-offsets-response.js';
import { DescribeClusterRequest } from '../protocol/generated/describe-cluster-request.js';
import { DescribeClusterResponse } from '../protocol/generated/describe-cluster-response.js';
import { DescribeLogDirsRequest } from '../protocol/generated/describe-log-dirs-request.js';
import { DescribeLogDirsResponse } from '../protocol/generated/describe-log-dirs-response.js';
import { DeleteRecordsRequest } from '../protocol/generated/delete-records-request.js';
import { DeleteRecordsResponse } from '../protocol/generated/delete-records-response.js';
import { ElectLeadersRequest } from '../protocol/generated/elect-leaders-request.js';
import { ElectLeadersResponse } from '../protocol/generated/elect-leaders-response.js';
import { AlterPartitionReassignmentsRequest } from '../protocol/generated/alter-partition-reassignments-request.js';
import { AlterPartitionReassignmentsResponse } from '../protocol/generated/alter-partition-reassignments-response.js';
import { ListPartitionReassignmentsRequest } from '../protocol/generated/list-partition-reassignments-request.js';
import { ListPartitionReassignmentsResponse } from '../protocol/generated/list-partition-reassignments-response.js';
import { DescribeUserScramCredentialsRequest } from '../protocol/generated/describe-user-scram-credentials-request.js';
import { DescribeUserScramCredentialsResponse } from '../protocol/generated/describe-user-scram-credentials-response.js';
import { AlterUserScramCredentialsRequest } from '../protocol/generated/alter-user-scram-credentials-request.js';
import { AlterUserScramCredentialsResponse } from '../protocol/generated/alter-user-scram-credentials-response.js';
import { CreateAclsRequest } from '../protocol/generated/create-acls-request.js';
import { CreateAclsResponse } from '../protocol/generated/create-acls-response.js';
import { DescribeAclsRequest } from '../protocol/generated/describe-acls-request.js';
import { DescribeAclsResponse } from '../protocol/generated/describe-acls-response.js';
import { DeleteAclsRequest } from '../protocol/generated/delete-acls-request.js';
import { DeleteAclsResponse } from '../protocol/generated/delete-acls-response.js';
import { DescribeClientQuotasRequest } from '../protocol/generated/describe-client-quotas-request.js';
import { DescribeClientQuotasResponse } from '../protocol/generated/describe-client-quotas-response.js';
import { AlterClientQuotasRequest } from '../protocol/generated/alter-client-quotas-request.js';
import { AlterClientQuotasResponse } from '../protocol/generated/alter-client-quotas-response.js';
import { ErrorCode, errorCodeName } from '../protocol/generated/error-codes.js';
import {
  Operation as AclOp, PatternType as AclPattern, Permission as AclPermission, ResourceType as AclResource,
  operationName, parseOperation, parsePatternType, parsePermission, parseResourceType, patternTypeName, permissionName, resourceTypeName as aclResourceTypeName,
} from '../security/authorizer.js';
import { SCRAM_DEFAULT_ITERATIONS, mechanismByCode, mechanismCode, saltedPassword, type ScramMechanismName } from '../security/scram.js';
import { randomBytes } from 'node:crypto';
import { Cluster, CoordinatorType, isCoordinatorError, isMetadataError, withRetry, type ClientOptions } from './cluster.js';
import type { Connection } from './connection.js';
import { decodeAssignment } from './assignors/assignor.js';
import { ClientStateError, ConnectionError, ProtocolError, UnsupportedApiError, isRetriable } from './errors.js';

// Same shapes as consumer.ts's TopicPartition and producer.ts's OffsetToCommit (declared here so the
// admin does not depend on the consumer or producer; structurally they are one type).
interface TopicPartition {
  topic: string;
  partition: number;
}
interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
  leaderEpoch?: number;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

/** Kafka's ConfigEntry.ConfigSource names. */
export type ConfigSource =
  | 'UNKNOWN' | 'DYNAMIC_TOPIC_CONFIG' | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG' | 'STATIC_BROKER_CONFIG'
  | 'DEFAULT_CONFIG' | 'DYNAMIC_BROKER_LOGGER_CONFIG' | 'CLIENT_METRICS_CONFIG' | 'GROUP_CONFIG';

const CONFIG_SOURCES: readonly ConfigSource[] = [
  'UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'CLIENT_METRICS_CONFIG', 'GROUP_CONFIG',
];

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSource;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  /** Where the value could come from, highest precedence first; empty unless `includeSynonyms` was asked. */
  synonyms: ConfigSynonym[];
}

/**
 * 'broker' with name '<node id>' is that broker's config (per-broker dynamic values), with name '' the
 * cluster-wide dynamic default; 'broker-logger' ('<node id>') its log levels; 'group' (a group id) a consumer
 * group's own settings (KIP-848: consumer.session.timeout.ms, consumer.heartbeat.interval.ms).
 */
export type ConfigResourceType = 'topic' | 'broker' | 'broker-logger' | 'group';

/** One IncrementalAlterConfigs operation; APPEND/SUBTRACT apply to list-typed keys only. */
export interface AlterConfigOp {
  name: string;
  op: 'set' | 'delete' | 'append' | 'subtract';
  /** Required for set/append/subtract. */
  value?: string;
}

export interface ConfigResourceDescription {
  type: ConfigResourceType;
  name: string;
  configs: ConfigEntry[];
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** '' when the broker is too old to say (ListGroups < v4). */
  state: string;
  /** 'classic' | 'consumer'; '' when the broker is too old to say (ListGroups < v5). */
  type: string;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  host: string;
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  /** 'classic' (DescribeGroups) or 'consumer' (KIP-848, ConsumerGroupDescribe). */
  type: 'classic' | 'consumer';
  /** Kafka's state names: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead (classic); Empty, Assigning, Reconciling, Stable, Dead (consumer). */
  state: string;
  protocolType: string;
  /** The assignor: the classic group's chosen protocol, or the consumer group's server-side assignor. */
  assignor: string;
  /** The coordinator's node id. */
  coordinator: number;
  members: GroupMemberDescription[];
}

export interface GroupOffset extends TopicPartition {
  /** -1 when the group has no committed offset for a partition asked for explicitly. */
  offset: number;
  metadata: string | null;
  leaderEpoch: number;
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  /** Kafka's AclOperation names the caller may perform on the cluster; only with `includeAuthorizedOperations`. */
  authorizedOperations?: string[];
}

/** One partition's outcome of electLeaders / alterPartitionReassignments: error null on success. */
export interface PartitionResult extends TopicPartition {
  errorCode: number;
  /** The error's name (e.g. ELECTION_NOT_NEEDED) and the broker's message, or null. */
  error: string | null;
  message: string | null;
}

/** An ongoing reassignment (KIP-455): the replicas now (target followed by those being removed). */
export interface PartitionReassignment extends TopicPartition {
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

export interface LogDirDescription {
  broker: number;
  path: string;
  /** Kafka's error name for a failed directory (e.g. KAFKA_STORAGE_ERROR), else null. */
  error: string | null;
  partitions: Array<TopicPartition & { size: number; offsetLag: number }>;
}

const RESOURCE_TYPE: Record<ConfigResourceType, number> = { topic: 2, broker: 4, 'broker-logger': 8, group: 32 };
const resourceTypeName = (code: number): ConfigResourceType => (code === 4 ? 'broker' : code === 8 ? 'broker-logger' : code === 32 ? 'group' : 'topic');
const CONFIG_OP = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
/** Kafka's AclOperation names by code (bit n of an authorized-operations field). */
const ACL_OPERATIONS = ['UNKNOWN', 'ANY', 'ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'CREATE_TOKENS', 'DESCRIBE_TOKENS', 'TWO_PHASE_COMMIT'];

/** The operation names of an authorized-operations bit field (undefined for "not provided", -2^31). */
export function aclOperationNames(field: number): string[] | undefined {
  if (field === -2147483648) return undefined;
  return ACL_OPERATIONS.filter((_, code) => (field & (1 << code)) !== 0);
}
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Broker-side timeout for topic operations when the caller gives none (Kafka's default.api.timeout.ms is 60 s). */
const DEFAULT_TOPIC_OP_TIMEOUT_MS = 30_000;

interface ItemFailure {
  item: string;
  errorCode: number;
  message?: string | null;
}

/**
 * One error for the failed items of a batched call: the first failure's code (so `kafkaError` and
 * `retriable` describe it) and a message naming every item.
 */
function failuresError(op: string, failures: ItemFailure[]): ProtocolError {
  const first = failures[0];
  const err = new ProtocolError(first.errorCode, `${op} ${first.item}`, first.message);
  if (failures.length > 1) {
    const describe = (f: ItemFailure): string => {
      const name = errorCodeName(f.errorCode) ?? `UNKNOWN_ERROR_CODE_${f.errorCode}`;
      return `${f.item}: ${name}${f.message ? ` (${f.message})` : ''}`;
    };
    err.message = `${op} failed for ${failures.length} items: ${failures.map(describe).join('; ')}`;
  }
  return err;
}

const tpName = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`;

/** Groups items by topic, preserving order, for requests laid out topic → partitions. */
function byTopic<T extends TopicPartition>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    let list = out.get(it.topic);
    if (!list) out.set(it.topic, (list = []));
    list.push(it);
  }
  return out;
}

/** A classic consumer group member's assigned partitions (ConsumerProtocolAssignment, decoded as the assignors do). */
function decodeMemberAssignment(buf: Buffer): TopicPartition[] {
  if (buf.length === 0) return [];
  try {
    return decodeAssignment(buf).partitions;
  } catch {
    // A member whose embedded protocol is not the consumer's (e.g. Connect) has no decodable assignment.
    return [];
  }
}

/** One user's SCRAM credentials as DescribeUserScramCredentials reports them (never salts or keys). */
export interface UserScramCredentialsDescription {
  user: string;
  credentials: Array<{ mechanism: string; iterations: number }>;
}

/** An upsertion (password given) or a deletion of one user's credential for one mechanism. */
export type UserScramCredentialAlteration =
  | { user: string; mechanism: ScramMechanismName; password: string; iterations?: number; salt?: Buffer }
  | { user: string; mechanism: ScramMechanismName; delete: true };

/** A client quota entity: the types it names; null is that type's `<default>` entity. */
export interface ClientQuotaEntity {
  user?: string | null;
  'client-id'?: string | null;
  ip?: string | null;
}

/**
 * One component of a DescribeClientQuotas filter (Kafka's ClientQuotaFilterComponent): an exact name (`match`),
 * the default entity (`default: true`), or any named entity of the type (neither).
 */
export type ClientQuotaFilterComponent =
  | { entityType: 'user' | 'client-id' | 'ip'; match: string }
  | { entityType: 'user' | 'client-id' | 'ip'; default: true }
  | { entityType: 'user' | 'client-id' | 'ip' };

/** A quota alteration: `value: null` removes the key. */
export interface ClientQuotaAlteration {
  entity: ClientQuotaEntity;
  ops: Array<{ key: string; value: number | null }>;
}

const QUOTA_ENTITY_ORDER = ['user', 'client-id', 'ip'] as const;

function quotaEntityComponents(e: ClientQuotaEntity): Array<{ entityType: string; entityName: string | null }> {
  return QUOTA_ENTITY_ORDER.filter((t) => t in e && e[t] !== undefined).map((t) => ({ entityType: t, entityName: e[t] ?? null }));
}

function quotaEntityOf(components: ReadonlyArray<{ entityType: string; entityName: string | null }>): ClientQuotaEntity {
  const e: Record<string, string | null> = {};
  for (const c of components) e[c.entityType] = c.entityName;
  return e as ClientQuotaEntity;
}

export class Admin {
  private readonly cluster: Cluster;
  private connected = false;
  private closed = false;

  constructor(options: ClientOptions) {
    this.cluster = new Cluster({ clientId: 'tributary-admin', ...options });
  }

  async connect(): Promise<void> {
    if (this.closed) throw new ClientStateError('the admin client is closed: create a new Admin');
    await this.cluster.connect();
    this.connected = true;
  }

  async close(): Promise<void> {
    this.connected = false;
    this.closed = true;
    await this.cluster.close();
  }

  private async ready(): Promise<void> {
    if (!this.connected) await this.connect();
  }

  // ---------- topics ----------

  async createTopics(
    topics: Array<{ name: string; numPartitions?: number; replicationFactor?: number; configs?: Record<string, string> }>,
    options: { validateOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    if (topics.length === 0) return;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    // -1 (the broker's num.partitions / default.replication.factor) needs CreateTopics v4+.
    const needsDefaults = topics.some((t) => t.numPartitions === undefined || t.replicationFactor === undefined);
    await this.perItem('CreateTopics', topics, (t) => `topic '${t.name}'`, async (pending) => {
      const conn = await this.controllerConnection();
      const res = await conn.send(CreateTopicsRequest, CreateTopicsResponse, {
        topics: pending.map((t) => ({
          name: t.name,
          numPartitions: t.numPartitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      }, { minVersion: needsDefaults ? 4 : 0, timeoutMs: timeoutMs + this.requestTimeoutMs() });
      return res.topics.map((r) => ({ item: `topic '${r.name}'`, errorCode: r.errorCode, message: r.errorMessage }));
    });
  }

  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    await this.ready();
    const res = await this.withRetry(() => this.cluster.refreshMetadata(null));
    return res.topics
      .filter((t) => t.name !== null && t.errorCode === 0 && (options.includeInternal === true || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  /** Every topic (sorted by name) when `names` is omitted; else those topics, in order. */
  async describeTopics(names?: string[]): Promise<TopicDescription[]> {
    await this.ready();
    const res = await this.withRetry(async () => {
      const r = await this.cluster.refreshMetadata(names ?? null);
      // A topic whose partitions are still being created answers LEADER_NOT_AVAILABLE: worth waiting for.
      const pending = r.topics.find((t) => t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE);
      if (pending) throw new ProtocolError(pending.errorCode, `topic '${pending.name}'`);
      return r;
    });
    const failures: ItemFailure[] = [];
    const out: TopicDescription[] = [];
    const byName = new Map(res.topics.filter((t) => t.name !== null).map((t) => [t.name!, t]));
    for (const name of names ?? [...byName.keys()].sort()) {
      const t = byName.get(name);
      if (!t || t.errorCode !== 0) {
        failures.push({ item: `topic '${name}'`, errorCode: t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        continue;
      }
      out.push({
        name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => ({
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
        })),
      });
    }
    if (failures.length > 0) throw failuresError('DescribeTopics', failures);
    return out;
  }

  async deleteTopics(names: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    if (names.length === 0) return;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    await this.perItem('DeleteTopics', names, (n) => `topic '${n}'`, async (pending) => {
      const conn = await this.controllerConnection();
      const res = await conn.send(DeleteTopicsRequest, DeleteTopicsResponse, {
        topics: pending.map((name) => ({ name, topicId: ZERO_UUID })),
        topicNames: pending,
        timeoutMs,
      }, { timeoutMs: timeoutMs + this.requestTimeoutMs() });
      return res.responses.map((r) => ({ item: `topic '${r.name}'`, errorCode: r.errorCode, message: r.errorMessage }));
    }, { retryUnknownTopic: false });
    for (const n of names) this.cluster.invalidateMetadata(n);
  }

  /** Raises each topic's partition count to `count` (the new total, as kafka-topics --alter --partitions). */
  async createPartitions(changes: Array<{ topic: string; count: number }>, options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (changes.length === 0) return;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    await this.perItem('CreatePartitions', changes, (c) => `topic '${c.topic}'`, async (pending) => {
      const conn = await this.controllerConnection();
      const res = await conn.send(CreatePartitionsRequest, CreatePartitionsResponse, {
        topics: pending.map((c) => ({ name: c.topic, count: c.count, assignments: null })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      }, { timeoutMs: timeoutMs + this.requestTimeoutMs() });
      return res.results.map((r) => ({ item: `topic '${r.name}'`, errorCode: r.errorCode, message: r.errorMessage }));
    }, { retryUnknownTopic: false });
    for (const c of changes) this.cluster.invalidateMetadata(c.topic);
  }

  // ---------- configs ----------

  async describeConfigs(
    resources: Array<{ type: ConfigResourceType; name: string; keys?: string[] }>,
    options: { includeSynonyms?: boolean } = {},
  ): Promise<ConfigResourceDescription[]> {
    await this.ready();
    const results = await Promise.all(this.byConfigTarget(resources).map(async ([target, list]) => {
      const res = await this.withRetry(async () => {
        const conn = await this.configConnection(target);
        return conn.send(DescribeConfigsRequest, DescribeConfigsResponse, {
          resources: list.map((r) => ({ resourceType: RESOURCE_TYPE[r.type], resourceName: r.name, configurationKeys: r.keys ?? null })),
          includeSynonyms: options.includeSynonyms ?? false,
          includeDocumentation: false,
        });
      });
      return res;
    }));
    const failures: ItemFailure[] = [];
    const out = new Map<string, ConfigResourceDescription>();
    for (const res of results) {
      for (const r of res.results) {
        const type = resourceTypeName(r.resourceType);
        if (r.errorCode !== 0) {
          failures.push({ item: `${type} '${r.resourceName}'`, errorCode: r.errorCode, message: r.errorMessage });
          continue;
        }
        out.set(`${type}:${r.resourceName}`, {
          type,
          name: r.resourceName,
          configs: r.configs.map((c) => {
            // v0 has isDefault; v1+ has the source instead (DEFAULT_CONFIG = 5) and isDefault reads false.
            const source = c.configSource >= 0 ? CONFIG_SOURCES[c.configSource] ?? 'UNKNOWN' : (c.isDefault ? 'DEFAULT_CONFIG' : 'UNKNOWN');
            const synonyms = c.synonyms.map((s) => ({ name: s.name, value: s.value, source: CONFIG_SOURCES[s.source] ?? 'UNKNOWN' }));
            return { name: c.name, value: c.value, source, isDefault: c.isDefault || source === 'DEFAULT_CONFIG', readOnly: c.readOnly, sensitive: c.isSensitive, synonyms };
          }),
        });
      }
    }
    if (failures.length > 0) throw failuresError('DescribeConfigs', failures);
    return resources.map((r) => out.get(`${r.type}:${r.name}`) ?? { type: r.type, name: r.name, configs: [] });
  }

  /** IncrementalAlterConfigs: `set` keys get SET, `delete` keys DELETE (back to the default). */
  async alterConfigs(
    changes: Array<{ type: ConfigResourceType; name: string; set?: Record<string, string>; delete?: string[] }>,
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    await this.incrementalAlterConfigs(changes.map((c) => ({
      type: c.type,
      name: c.name,
      ops: [
        ...Object.entries(c.set ?? {}).map(([name, value]): AlterConfigOp => ({ name, op: 'set', value })),
        ...(c.delete ?? []).map((name): AlterConfigOp => ({ name, op: 'delete' })),
      ],
    })), options);
  }

  /** IncrementalAlterConfigs with every operation Kafka has (set, delete, append, subtract), per resource. */
  async incrementalAlterConfigs(
    changes: Array<{ type: ConfigResourceType; name: string; ops: AlterConfigOp[] }>,
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    await this.ready();
    const failures: ItemFailure[] = [];
    await Promise.all(this.byConfigTarget(changes).map(async ([target, list]) => {
      const res = await this.withRetry(async () => {
        const conn = await this.configConnection(target);
        return conn.send(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, {
          resources: list.map((c) => ({
            resourceType: RESOURCE_TYPE[c.type],
            resourceName: c.name,
            configs: c.ops.map((o) => ({ name: o.name, configOperation: CONFIG_OP[o.op], value: o.op === 'delete' ? null : (o.value ?? null) })),
          })),
          validateOnly: options.validateOnly ?? false,
        });
      });
      for (const r of res.responses) {
        if (r.errorCode !== 0) failures.push({ item: `${resourceTypeName(r.resourceType)} '${r.resourceName}'`, errorCode: r.errorCode, message: r.errorMessage });
      }
    }));
    if (failures.length > 0) throw failuresError('IncrementalAlterConfigs', failures);
  }

  /**
   * Legacy AlterConfigs (Kafka's deprecated Admin.alterConfigs): each resource's overrides — a topic's, or a
   * broker's dynamic configs — become exactly `configs`; keys not given go back to their defaults.
   */
  async replaceConfigs(
    resources: Array<{ type: ConfigResourceType; name: string; configs: Record<string, string> }>,
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    await this.ready();
    const failures: ItemFailure[] = [];
    await Promise.all(this.byConfigTarget(resources).map(async ([target, list]) => {
      const res = await this.withRetry(async () => {
        const conn = await this.configConnection(target);
        return conn.send(AlterConfigsRequest, AlterConfigsResponse, {
          resources: list.map((c) => ({
            resourceType: RESOURCE_TYPE[c.type],
            resourceName: c.name,
            configs: Object.entries(c.configs).map(([name, value]) => ({ name, value })),
          })),
          validateOnly: options.validateOnly ?? false,
        });
      });
      for (const r of res.responses) {
        if (r.errorCode !== 0) failures.push({ item: `${resourceTypeName(r.resourceType)} '${r.resourceName}'`, errorCode: r.errorCode, message: r.errorMessage });
      }
    }));
    if (failures.length > 0) throw failuresError('AlterConfigs', failures);
  }

  // ---------- groups ----------

  /** Every broker's groups (each coordinates some), filtered by state and type when given (case-insensitive). */
  async listGroups(options: { states?: string[]; types?: string[] } = {}): Promise<GroupListing[]> {
    await this.ready();
    const states = options.states ?? [];
    const types = (options.types ?? []).map((t) => t.toLowerCase());
    await this.withRetry(() => this.cluster.refreshMetadata([]));
    const perBroker = await Promise.all([...this.cluster.brokers.keys()].map((nodeId) => this.withRetry(async () => {
      const conn = await this.cluster.connection(nodeId);
      const version = conn.versionFor(ListGroupsRequest);
      if (states.length > 0 && version < 4) throw new UnsupportedApiError(`the broker at ${conn.address} cannot filter groups by state (ListGroups v${version} < v4)`);
      if (types.length > 0 && version < 5) throw new UnsupportedApiError(`the broker at ${conn.address} cannot filter groups by type (ListGroups v${version} < v5)`);
      const res = await conn.send(ListGroupsRequest, ListGroupsResponse, { statesFilter: states, typesFilter: types }, { version });
      if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, `ListGroups on broker ${nodeId}`);
      return res.groups.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        state: version >= 4 ? g.groupState : '',
        type: version >= 5 ? g.groupType.toLowerCase() : '',
      }));
    })));
    const seen = new Map<string, GroupListing>();
    for (const g of perBroker.flat()) if (!seen.has(g.groupId)) seen.set(g.groupId, g);
    return [...seen.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * Describes groups at their coordinators: ConsumerGroupDescribe first when the broker offers it (a
   * KIP-848 'consumer' group), DescribeGroups for the classic groups it does not know. An unknown group
   * is described with state 'Dead' and no members, as Kafka does.
   */
  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    await this.ready();
    const settled = await Promise.allSettled(groupIds.map((groupId) => this.withGroupRetry(groupId, async () => {
      const coordinator = await this.cluster.findCoordinator(groupId, CoordinatorType.GROUP);
      const conn = await this.cluster.connection(coordinator, 'coordinator');
      if (conn.supports(ConsumerGroupDescribeRequest)) {
        const res = await conn.send(ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, { groupIds: [groupId], includeAuthorizedOperations: false });
        const g = res.groups[0];
        if (!g) throw new ProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `group '${groupId}'`, 'ConsumerGroupDescribe returned no result');
        if (g.errorCode === 0) {
          return {
            groupId, type: 'consumer', state: g.groupState, protocolType: 'consumer', assignor: g.assignorName, coordinator,
            members: g.members.map((m) => ({
              memberId: m.memberId, groupInstanceId: m.instanceId, clientId: m.clientId, host: m.clientHost,
              assignment: m.assignment.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition }))),
            })),
          } satisfies GroupDescription;
        }
        // GROUP_ID_NOT_FOUND: unknown, or a classic group, which DescribeGroups describes.
        if (g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND && g.errorCode !== ErrorCode.UNSUPPORTED_VERSION) {
          throw new ProtocolError(g.errorCode, `group '${groupId}'`, g.errorMessage);
        }
      }
      const res = await conn.send(DescribeGroupsRequest, DescribeGroupsResponse, { groups: [groupId], includeAuthorizedOperations: false });
      const g = res.groups[0];
      if (!g) throw new ProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `group '${groupId}'`, 'DescribeGroups returned no result');
      if (g.errorCode !== 0 && g.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) throw new ProtocolError(g.errorCode, `group '${groupId}'`);
      const consumerProtocol = g.protocolType === 'consumer';
      return {
        groupId, type: 'classic', state: g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? 'Dead' : g.groupState, protocolType: g.protocolType,
        assignor: g.protocolData, coordinator,
        members: g.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, host: m.clientHost,
          assignment: consumerProtocol ? decodeMemberAssignment(m.memberAssignment) : [],
        })),
      } satisfies GroupDescription;
    })));
    return this.settle('DescribeGroups', settled, (i) => `group '${groupIds[i]}'`);
  }

  /**
   * The group's committed offsets: all of them, or those of `tps` (a partition without a commit then
   * reads offset -1). OffsetFetch v8+ batches groups; older brokers get the single-group layout.
   */
  async listGroupOffsets(groupId: string, tps?: TopicPartition[]): Promise<GroupOffset[]> {
    await this.ready();
    const topics = tps ? [...byTopic(tps)].map(([name, list]) => ({ name, partitionIndexes: list.map((tp) => tp.partition) })) : null;
    return this.withGroupRetry(groupId, async () => {
      const conn = await this.cluster.coordinatorConnection(groupId, CoordinatorType.GROUP);
      // A null topic list (all partitions) needs v2+.
      const version = conn.versionFor(OffsetFetchRequest, { minVersion: topics === null ? 2 : 1 });
      const res = await conn.send(OffsetFetchRequest, OffsetFetchResponse, {
        groupId,
        topics,
        groups: [{ groupId, memberId: null, memberEpoch: -1, topics }],
        requireStable: false,
      }, { version });
      let errorCode: number;
      let resTopics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; metadata: string | null; errorCode: number }> }>;
      if (version >= 8) {
        const g = res.groups.find((x) => x.groupId === groupId);
        errorCode = g ? g.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR;
        resTopics = g?.topics ?? [];
      } else {
        errorCode = res.errorCode;
        resTopics = res.topics;
      }
      if (errorCode !== 0) throw new ProtocolError(errorCode, `OffsetFetch for group '${groupId}'`);
      const out: GroupOffset[] = [];
      const failures: ItemFailure[] = [];
      for (const t of resTopics) {
        for (const p of t.partitions) {
          const tp = { topic: t.name, partition: p.partitionIndex };
          if (p.errorCode !== 0) failures.push({ item: tpName(tp), errorCode: p.errorCode });
          else out.push({ ...tp, offset: Number(p.committedOffset), metadata: p.metadata, leaderEpoch: p.committedLeaderEpoch });
        }
      }
      if (failures.length > 0) throw failuresError(`OffsetFetch for group '${groupId}'`, failures);
      return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    });
  }

  /** Commits offsets as a simple consumer (generation -1, no member id): Kafka accepts this only while the group has no members. */
  async alterGroupOffsets(groupId: string, offsets: OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.ready();
    const failures = await this.withGroupRetry(groupId, async () => {
      const conn = await this.cluster.coordinatorConnection(groupId, CoordinatorType.GROUP);
      const res = await conn.send(OffsetCommitRequest, OffsetCommitResponse, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [...byTopic(offsets)].map(([name, list]) => ({
          name,
          partitions: list.map((o) => ({
            partitionIndex: o.partition,
            committedOffset: BigInt(o.offset),
            committedLeaderEpoch: o.leaderEpoch ?? -1,
            commitTimestamp: -1n,
            committedMetadata: o.metadata ?? '',
          })),
        })),
      }, { minVersion: 1 });
      const failed: ItemFailure[] = [];
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === 0) continue;
          const f = { item: `${t.name}-${p.partitionIndex}`, errorCode: p.errorCode, message: this.commitAdvice(groupId, p.errorCode) };
          // Coordinator moves and loading apply to the whole request: retry it.
          if (p.errorCode === ErrorCode.NOT_COORDINATOR || p.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE || p.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
            throw new ProtocolError(p.errorCode, `OffsetCommit for group '${groupId}'`);
          }
          failed.push(f);
        }
      }
      return failed;
    });
    if (failures.length > 0) throw failuresError(`OffsetCommit for group '${groupId}'`, failures);
  }

  private commitAdvice(groupId: string, errorCode: number): string | null {
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID || errorCode === ErrorCode.ILLEGAL_GENERATION || errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
      return `group '${groupId}' has active members: stop its consumers first`;
    }
    return null;
  }

  /** OffsetDelete: removes the group's committed offsets for partitions no member is subscribed to. */
  async deleteGroupOffsets(groupId: string, tps: TopicPartition[]): Promise<void> {
    if (tps.length === 0) return;
    await this.ready();
    const failures = await this.withGroupRetry(groupId, async () => {
      const conn = await this.cluster.coordinatorConnection(groupId, CoordinatorType.GROUP);
      const res = await conn.send(OffsetDeleteRequest, OffsetDeleteResponse, {
        groupId,
        topics: [...byTopic(tps)].map(([name, list]) => ({ name, partitions: list.map((tp) => ({ partitionIndex: tp.partition })) })),
      });
      if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, `OffsetDelete for group '${groupId}'`);
      const failed: ItemFailure[] = [];
      for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0) failed.push({ item: `${t.name}-${p.partitionIndex}`, errorCode: p.errorCode });
      return failed;
    });
    if (failures.length > 0) throw failuresError(`OffsetDelete for group '${groupId}'`, failures);
  }

  /** Deletes empty groups and their offsets; a group with members fails with NON_EMPTY_GROUP. */
  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.ready();
    const settled = await Promise.allSettled(groupIds.map((groupId) => this.withGroupRetry(groupId, async () => {
      const conn = await this.cluster.coordinatorConnection(groupId, CoordinatorType.GROUP);
      const res = await conn.send(DeleteGroupsRequest, DeleteGroupsResponse, { groupsNames: [groupId] });
      const r = res.results.find((x) => x.groupId === groupId);
      throwIfGroupError(r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, groupId);
    })));
    this.settle('DeleteGroups', settled, (i) => `group '${groupIds[i]}'`);
  }

  // ---------- offsets and records ----------

  /** Offsets at each partition's leader: 'earliest' (-2), 'latest' (-1), or the first offset with a timestamp ≥ the given one (-1 when none). */
  async listOffsets(
    query: Array<TopicPartition & { timestamp: 'earliest' | 'latest' | number }>,
    options: { isolationLevel?: 'read_uncommitted' | 'read_committed' } = {},
  ): Promise<Array<TopicPartition & { offset: number; timestamp: number }>> {
    const isolationLevel = options.isolationLevel === 'read_committed' ? 1 : 0;
    // A request may name a partition once, so asking one partition several things takes several rounds.
    const rounds: Array<typeof query> = [];
    const seen = new Map<string, number>();
    for (const q of query) {
      const n = seen.get(tpName(q)) ?? 0;
      seen.set(tpName(q), n + 1);
      (rounds[n] ??= []).push(q);
    }
    const answers = new Map<(typeof query)[number], TopicPartition & { offset: number; timestamp: number }>();
    for (const round of rounds) {
      const got = await this.listOffsetsOnce(round, isolationLevel);
      for (const q of round) answers.set(q, got.get(tpName(q))!);
    }
    return query.map((q) => answers.get(q)!);
  }

  private listOffsetsOnce(
    query: Array<TopicPartition & { timestamp: 'earliest' | 'latest' | number }>,
    isolationLevel: number,
  ): Promise<Map<string, TopicPartition & { offset: number; timestamp: number }>> {
    const toWire = (t: 'earliest' | 'latest' | number): bigint => BigInt(t === 'earliest' ? -2 : t === 'latest' ? -1 : t);
    return this.perLeader('ListOffsets', query, async (conn, list) => {
      const res = await conn.send(ListOffsetsRequest, ListOffsetsResponse, {
        replicaId: -1,
        isolationLevel,
        topics: [...byTopic(list)].map(([name, ps]) => ({
          name,
          partitions: ps.map((q) => ({ partitionIndex: q.partition, currentLeaderEpoch: -1, timestamp: toWire(q.timestamp), maxNumOffsets: 1 })),
        })),
        timeoutMs: this.requestTimeoutMs(),
      }, { minVersion: isolationLevel === 1 ? 2 : 1 });
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode,
        value: { topic: t.name, partition: p.partitionIndex, offset: Number(p.offset), timestamp: Number(p.timestamp) },
      })));
    });
  }

  /** Deletes records before `offset` (-1: the high watermark) at each leader; returns the new low watermarks. */
  async deleteRecords(deletions: Array<TopicPartition & { offset: number }>, options: { timeoutMs?: number } = {}): Promise<Array<TopicPartition & { lowWatermark: number }>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    const results = await this.perLeader('DeleteRecords', deletions, async (conn, list) => {
      const res = await conn.send(DeleteRecordsRequest, DeleteRecordsResponse, {
        topics: [...byTopic(list)].map(([name, ps]) => ({ name, partitions: ps.map((d) => ({ partitionIndex: d.partition, offset: BigInt(d.offset) })) })),
        timeoutMs,
      }, { timeoutMs: timeoutMs + this.requestTimeoutMs() });
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode,
        value: { topic: t.name, partition: p.partitionIndex, lowWatermark: Number(p.lowWatermark) },
      })));
    });
    return deletions.map((d) => results.get(tpName(d))!);
  }

  // ---------- cluster ----------

  /** DescribeCluster where offered, else the same facts from Metadata. */
  async describeCluster(options: { includeAuthorizedOperations?: boolean } = {}): Promise<ClusterDescription> {
    await this.ready();
    return this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      if (conn.supports(DescribeClusterRequest)) {
        const includeClusterAuthorizedOperations = options.includeAuthorizedOperations ?? false;
        const res = await conn.send(DescribeClusterRequest, DescribeClusterResponse, { includeClusterAuthorizedOperations, endpointType: 1 });
        if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, 'DescribeCluster', res.errorMessage);
        return {
          clusterId: res.clusterId,
          controllerId: res.controllerId,
          brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
          ...(includeClusterAuthorizedOperations ? { authorizedOperations: aclOperationNames(res.clusterAuthorizedOperations) } : {}),
        };
      }
      const md = await this.cluster.refreshMetadata([]);
      return {
        clusterId: md.clusterId,
        controllerId: md.controllerId,
        brokers: md.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
      };
    });
  }

  // ---------- SCRAM credentials ----------

  /**
   * The SCRAM mechanisms and iteration counts of `users` (every user with a credential when omitted or empty).
   * A user that has none, or is named twice, fails the call with its ProtocolError (RESOURCE_NOT_FOUND,
   * DUPLICATE_RESOURCE), as the futures of Kafka's Admin do.
   */
  async describeUserScramCredentials(users?: string[]): Promise<UserScramCredentialsDescription[]> {
    await this.ready();
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.send(DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, {
        users: users && users.length > 0 ? users.map((name) => ({ name })) : null,
      });
      if (r.errorCode !== 0) throw new ProtocolError(r.errorCode, 'DescribeUserScramCredentials', r.errorMessage);
      return r;
    });
    const failed = res.results.find((r) => r.errorCode !== 0);
    if (failed) throw new ProtocolError(failed.errorCode, `DescribeUserScramCredentials for user '${failed.user}'`, failed.errorMessage);
    return res.results.map((r) => ({
      user: r.user,
      credentials: r.credentialInfos.map((c) => ({ mechanism: mechanismByCode(c.mechanism) ?? `UNKNOWN(${c.mechanism})`, iterations: c.iterations })),
    }));
  }

  /**
   * Creates, replaces and deletes SCRAM credentials. As Kafka's Admin does, the password is salted and hashed here
   * (a fresh random salt; iterations default 4096) and only the salted password is sent. Resolves to one result
   * per user (error null on success); throws only when the request itself fails.
   */
  async alterUserScramCredentials(alterations: UserScramCredentialAlteration[]): Promise<Array<{ user: string; error: ProtocolError | null }>> {
    await this.ready();
    const deletions: Array<{ name: string; mechanism: number }> = [];
    const upsertions: Array<{ name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }> = [];
    for (const a of alterations) {
      const mechanism = mechanismCode(a.mechanism);
      if (mechanism === undefined) throw new ClientStateError(`Unknown SCRAM mechanism '${String(a.mechanism)}' (SCRAM-SHA-256 or SCRAM-SHA-512)`);
      if ('password' in a) {
        const iterations = a.iterations ?? SCRAM_DEFAULT_ITERATIONS;
        const salt = a.salt ?? randomBytes(32);
        // Iterations the broker refuses are not hashed here (a huge count would stall the caller).
        const salted = iterations >= 1 && iterations <= 16384 ? saltedPassword(a.mechanism, a.password, salt, iterations) : Buffer.alloc(1);
        upsertions.push({ name: a.user, mechanism, iterations, salt, saltedPassword: salted });
      } else {
        deletions.push({ name: a.user, mechanism });
      }
    }
    const res = await this.withRetry(async () => {
      const conn = await this.controllerConnection();
      const r = await conn.send(AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, { deletions, upsertions });
      const notController = r.results.find((x) => x.errorCode === ErrorCode.NOT_CONTROLLER);
      if (notController) throw new ProtocolError(notController.errorCode, 'AlterUserScramCredentials', notController.errorMessage);
      return r;
    });
    return res.results.map((r) => ({
      user: r.user,
      error: r.errorCode === 0 ? null : new ProtocolError(r.errorCode, `AlterUserScramCredentials for user '${r.user}'`, r.errorMessage),
    }));
  }

  /**
   * Adds ACL bindings (Kafka's Admin.createAcls): one result per binding, error null on success. Enum fields are
   * Kafka's names (TOPIC, PREFIXED, READ, ALLOW…); patternType defaults to LITERAL and host to '*'.
   */
  async createAcls(bindings: AclBindingSpec[]): Promise<Array<{ binding: AclBindingSpec; error: ProtocolError | null }>> {
    await this.ready();
    const creations = bindings.map((b) => ({
      resourceType: aclCode(parseResourceType, b.resourceType, 'resource type'),
      resourceName: b.resourceName,
      resourcePatternType: aclCode(parsePatternType, b.patternType ?? 'LITERAL', 'pattern type'),
      principal: b.principal,
      host: b.host ?? '*',
      operation: aclCode(parseOperation, b.operation, 'operation'),
      permissionType: aclCode(parsePermission, b.permissionType, 'permission type'),
    }));
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.send(CreateAclsRequest, CreateAclsResponse, { creations });
    });
    return bindings.map((binding, i) => {
      const r = res.results[i];
      const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      return { binding, error: code === 0 ? null : new ProtocolError(code, 'CreateAcls', r?.errorMessage ?? null) };
    });
  }

  /** The ACL bindings matching a filter (Kafka's Admin.describeAcls): omitted fields match anything. */
  async describeAcls(filter: AclFilterSpec = {}): Promise<AclBindingSpec[]> {
    await this.ready();
    const f = aclFilter(filter);
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.send(DescribeAclsRequest, DescribeAclsResponse, {
        resourceTypeFilter: f.resourceType, resourceNameFilter: f.resourceName, patternTypeFilter: f.patternType,
        principalFilter: f.principal, hostFilter: f.host, operation: f.operation, permissionType: f.permissionType,
      });
      if (r.errorCode !== 0) throw new ProtocolError(r.errorCode, 'DescribeAcls', r.errorMessage);
      return r;
    });
    return res.resources.flatMap((r) => r.acls.map((a) => ({
      resourceType: aclResourceTypeName(r.resourceType), resourceName: r.resourceName, patternType: patternTypeName(r.patternType),
      principal: a.principal, host: a.host, operation: operationName(a.operation), permissionType: permissionName(a.permissionType),
    })));
  }

  /** Removes the bindings matching each filter (Kafka's Admin.deleteAcls): per filter, the removed bindings or the error. */
  async deleteAcls(filters: AclFilterSpec[]): Promise<Array<{ error: ProtocolError | null; deleted: AclBindingSpec[] }>> {
    await this.ready();
    const fs = filters.map(aclFilter);
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.send(DeleteAclsRequest, DeleteAclsResponse, {
        filters: fs.map((f) => ({
          resourceTypeFilter: f.resourceType, resourceNameFilter: f.resourceName, patternTypeFilter: f.patternType,
          principalFilter: f.principal, hostFilter: f.host, operation: f.operation, permissionType: f.permissionType,
        })),
      });
    });
    return filters.map((_, i) => {
      const r = res.filterResults[i];
      const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== 0) return { error: new ProtocolError(code, 'DeleteAcls', r?.errorMessage ?? null), deleted: [] };
      return {
        error: null,
        deleted: r!.matchingAcls.map((a) => ({
          resourceType: aclResourceTypeName(a.resourceType), resourceName: a.resourceName, patternType: patternTypeName(a.patternType),
          principal: a.principal, host: a.host, operation: operationName(a.operation), permissionType: permissionName(a.permissionType),
        })),
      };
    });
  }

  /**
   * The client quotas whose entity matches every component (with `strict`, entities naming no other type).
   * No components and not strict: every entry.
   */
  async describeClientQuotas(components: ClientQuotaFilterComponent[] = [], options: { strict?: boolean } = {}): Promise<Array<{ entity: ClientQuotaEntity; values: Record<string, number> }>> {
    await this.ready();
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.send(DescribeClientQuotasRequest, DescribeClientQuotasResponse, {
        components: components.map((c) => ('match' in c
          ? { entityType: c.entityType, matchType: 0, match: c.match }
          : { entityType: c.entityType, matchType: 'default' in c ? 1 : 2, match: null })),
        strict: options.strict ?? false,
      });
      if (r.errorCode !== 0) throw new ProtocolError(r.errorCode, 'DescribeClientQuotas', r.errorMessage);
      return r;
    });
    return (res.entries ?? []).map((e) => ({ entity: quotaEntityOf(e.entity), values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) }));
  }

  /** Sets and removes client quotas; one result per alteration (error null on success). */
  async alterClientQuotas(alterations: ClientQuotaAlteration[], options: { validateOnly?: boolean } = {}): Promise<Array<{ entity: ClientQuotaEntity; error: ProtocolError | null }>> {
    await this.ready();
    const res = await this.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.send(AlterClientQuotasRequest, AlterClientQuotasResponse, {
        entries: alterations.map((a) => ({
          entity: quotaEntityComponents(a.entity),
          ops: a.ops.map((o) => ({ key: o.key, value: o.value ?? 0, remove: o.value === null })),
        })),
        validateOnly: options.validateOnly ?? false,
      });
    });
    return res.entries.map((e) => ({
      entity: quotaEntityOf(e.entity),
      error: e.errorCode === 0 ? null : new ProtocolError(e.errorCode, 'AlterClientQuotas', e.errorMessage),
    }));
  }

  /** Each broker's log directories and the partitions in them (all brokers when `brokerIds` is omitted). */
  async describeLogDirs(brokerIds?: number[]): Promise<LogDirDescription[]> {
    await this.ready();
    await this.withRetry(() => this.cluster.refreshMetadata([]));
    const ids = brokerIds ?? [...this.cluster.brokers.keys()].sort((a, b) => a - b);
    const perBroker = await Promise.all(ids.map((broker) => this.withRetry(async () => {
      const conn = await this.cluster.connection(broker);
      const res = await conn.send(DescribeLogDirsRequest, DescribeLogDirsResponse, { topics: null });
      if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, `DescribeLogDirs on broker ${broker}`);
      return res.results.map((d) => ({
        broker,
        path: d.logDir,
        error: d.errorCode === 0 ? null : errorCodeName(d.errorCode) ?? `UNKNOWN_ERROR_CODE_${d.errorCode}`,
        partitions: d.topics.flatMap((t) => t.partitions.filter((p) => !p.isFutureKey).map((p) => ({
          topic: t.name, partition: p.partitionIndex, size: Number(p.partitionSize), offsetLag: Number(p.offsetLag),
        }))),
      }));
    })));
    return perBroker.flat();
  }

  // ---------- leadership and reassignments (sent to the controller) ----------

  /**
   * ElectLeaders (KIP-460): PREFERRED moves leadership to each partition's first replica, UNCLEAN elects a live
   * replica where no in-sync one is left. `partitions` null: every partition (then only the ones an election
   * was run for are listed). Per-partition outcomes, e.g. ELECTION_NOT_NEEDED, are results, not exceptions.
   */
  async electLeaders(type: 'PREFERRED' | 'UNCLEAN', partitions: TopicPartition[] | null, options: { timeoutMs?: number } = {}): Promise<PartitionResult[]> {
    await this.ready();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    let topicPartitions: Array<{ topic: string; partitions: number[] }> | null = null;
    if (partitions !== null) {
      const byTopic = new Map<string, number[]>();
      for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      topicPartitions = [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
    }
    return this.withRetry(async () => {
      const conn = await this.controllerConnection();
      const res = await conn.send(ElectLeadersRequest, ElectLeadersResponse, { electionType: type === 'UNCLEAN' ? 1 : 0, topicPartitions, timeoutMs }, {
        minVersion: type === 'UNCLEAN' ? 1 : 0,
        timeoutMs: timeoutMs + this.requestTimeoutMs(),
      });
      const results = res.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => partitionResult(t.topic, p.partitionId, p.errorCode, p.errorMessage)));
      // A non-controller answers NOT_CONTROLLER (top level from v1, per partition in v0): ask the new controller.
      if (res.errorCode === ErrorCode.NOT_CONTROLLER || (results.length > 0 && results.every((r) => r.errorCode === ErrorCode.NOT_CONTROLLER))) {
        throw new ProtocolError(ErrorCode.NOT_CONTROLLER, 'ElectLeaders');
      }
      if (res.errorCode !== ErrorCode.NONE) throw new ProtocolError(res.errorCode, 'ElectLeaders');
      return results;
    });
  }

  /**
   * AlterPartitionReassignments (KIP-455): `replicas` starts (or replaces) a reassignment to that replica list,
   * null cancels the ongoing one. Resolves once the controller accepted it; the data moves afterwards (see
   * listPartitionReassignments).
   */
  async alterPartitionReassignments(changes: Array<TopicPartition & { replicas: number[] | null }>, options: { timeoutMs?: number } = {}): Promise<PartitionResult[]> {
    await this.ready();
    if (changes.length === 0) return [];
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    const byTopic = new Map<string, Array<{ partitionIndex: number; replicas: number[] | null }>>();
    for (const c of changes) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), { partitionIndex: c.partition, replicas: c.replicas }]);
    return this.withRetry(async () => {
      const conn = await this.controllerConnection();
      const res = await conn.send(AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, {
        timeoutMs,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }, { timeoutMs: timeoutMs + this.requestTimeoutMs() });
      if (res.errorCode !== ErrorCode.NONE) throw new ProtocolError(res.errorCode, 'AlterPartitionReassignments', res.errorMessage);
      return res.responses.flatMap((t) => t.partitions.map((p) => partitionResult(t.name, p.partitionIndex, p.errorCode, p.errorMessage)));
    });
  }

  /** ListPartitionReassignments: the ongoing reassignments, of `partitions` or of every partition. */
  async listPartitionReassignments(partitions?: TopicPartition[], options: { timeoutMs?: number } = {}): Promise<PartitionReassignment[]> {
    await this.ready();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TOPIC_OP_TIMEOUT_MS;
    let topics: Array<{ name: string; partitionIndexes: number[] }> | null = null;
    if (partitions) {
      const byTopic = new Map<string, number[]>();
      for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    return this.withRetry(async () => {
      const conn = await this.controllerConnection();
      const res = await conn.send(ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, { timeoutMs, topics }, { timeoutMs: timeoutMs + this.requestTimeoutMs() });
      if (res.errorCode !== ErrorCode.NONE) throw new ProtocolError(res.errorCode, 'ListPartitionReassignments', res.errorMessage);
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name, partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas,
      })));
    });
  }

  // ---------- plumbing ----------

  private requestTimeoutMs(): number {
    return this.cluster.options.requestTimeoutMs ?? 30_000;
  }

  private withRetry<T>(fn: () => Promise<T>, onRetry?: (err: unknown) => void): Promise<T> {
    return withRetry(fn, this.cluster.retryOptions((err) => {
      if (isMetadataError(err) || (err instanceof ProtocolError && err.errorCode === ErrorCode.NOT_CONTROLLER)) this.cluster.invalidateMetadata();
      onRetry?.(err);
    }));
  }

  /** Retries a group request, looking the coordinator up again after NOT_COORDINATOR and friends. */
  private async withGroupRetry<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    await this.ready();
    return this.withRetry(fn, (err) => {
      if (isCoordinatorError(err) || err instanceof ConnectionError) this.cluster.invalidateCoordinator(groupId, CoordinatorType.GROUP);
    });
  }

  /** The controller (Metadata's controllerId), or any broker when it is unknown or unreachable (brokers forward). */
  private async controllerConnection(): Promise<Connection> {
    const md = await this.cluster.refreshMetadata([]);
    if (md.controllerId >= 0 && this.cluster.brokers.has(md.controllerId)) {
      try {
        return await this.cluster.connection(md.controllerId);
      } catch {
        // fall back to any broker below
      }
    }
    return this.cluster.anyConnection();
  }

  /** Broker resources go to that broker (they describe its own configs); topic resources to any broker. */
  private byConfigTarget<T extends { type: ConfigResourceType; name: string }>(resources: T[]): Array<[number, T[]]> {
    const out = new Map<number, T[]>();
    for (const r of resources) {
      const id = r.type !== 'topic' && /^\d+$/.test(r.name) ? Number(r.name) : -1;
      let list = out.get(id);
      if (!list) out.set(id, (list = []));
      list.push(r);
    }
    return [...out];
  }

  private configConnection(target: number): Promise<Connection> {
    return target >= 0 && this.cluster.brokers.has(target) ? this.cluster.connection(target) : this.cluster.anyConnection();
  }

  /**
   * A batched call answered per item: items that fail retriably are sent again (up to the retry budget),
   * the rest are gathered into one error. `send` throwing (connection lost, …) retries the pending items.
   */
  private async perItem<T>(
    op: string,
    items: T[],
    label: (item: T) => string,
    send: (pending: T[]) => Promise<ItemFailure[]>,
    options: { retryUnknownTopic?: boolean } = {},
  ): Promise<void> {
    await this.ready();
    const { retries, retryBackoffMs, retryBackoffMaxMs } = this.cluster.options;
    const retriable = (code: number): boolean =>
      code !== ErrorCode.NONE && isRetriable(new ProtocolError(code, '')) && (options.retryUnknownTopic !== false || code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    let pending = items;
    const failures: ItemFailure[] = [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      let results: ItemFailure[];
      try {
        results = await send(pending);
      } catch (err) {
        if (!isRetriable(err) || attempt >= retries) throw err;
        await backoff(attempt, retryBackoffMs, retryBackoffMaxMs);
        if (err instanceof ProtocolError && err.errorCode === ErrorCode.NOT_CONTROLLER) this.cluster.invalidateMetadata();
        continue;
      }
      const byItem = new Map(results.map((r) => [r.item, r]));
      const again: T[] = [];
      for (const it of pending) {
        const r = byItem.get(label(it));
        if (!r) {
          failures.push({ item: label(it), errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'no result in the response' });
        } else if (r.errorCode === 0) {
          continue;
        } else if (retriable(r.errorCode) && attempt < retries) {
          again.push(it);
        } else {
          failures.push(r);
        }
      }
      pending = again;
      if (pending.length > 0) {
        this.cluster.invalidateMetadata();
        await backoff(attempt, retryBackoffMs, retryBackoffMaxMs);
      }
    }
    if (failures.length > 0) throw failuresError(op, failures);
  }

  /**
   * Sends per-partition requests to each partition's leader, re-routing partitions whose leader moved
   * (NOT_LEADER_OR_FOLLOWER and friends) after a metadata refresh; results keyed by `topic-partition`.
   */
  private async perLeader<Q extends TopicPartition, R>(
    op: string,
    items: Q[],
    send: (conn: Connection, list: Q[]) => Promise<Array<{ topic: string; partition: number; errorCode: number; value: R }>>,
  ): Promise<Map<string, R>> {
    await this.ready();
    const { retries, retryBackoffMs, retryBackoffMaxMs } = this.cluster.options;
    const results = new Map<string, R>();
    const failures: ItemFailure[] = [];
    let pending = items;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const last = attempt >= retries;
      const again: Q[] = [];
      const retryOrFail = (q: Q, errorCode: number, message?: string): void => {
        if (!last && (isRetriable(new ProtocolError(errorCode, '')) || isMetadataError(new ProtocolError(errorCode, '')))) {
          this.cluster.invalidateMetadata(q.topic);
          again.push(q);
        } else {
          failures.push({ item: tpName(q), errorCode, message });
        }
      };
      const byLeader = new Map<number, Q[]>();
      for (const q of pending) {
        try {
          const leader = await this.cluster.leaderFor(q.topic, q.partition);
          let list = byLeader.get(leader);
          if (!list) byLeader.set(leader, (list = []));
          list.push(q);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          retryOrFail(q, err.errorCode);
        }
      }
      await Promise.all([...byLeader].map(async ([leader, list]) => {
        let answered;
        try {
          answered = await send(await this.cluster.connection(leader), list);
        } catch (err) {
          if (!isRetriable(err) || last) throw err;
          for (const q of list) {
            this.cluster.invalidateMetadata(q.topic);
            again.push(q);
          }
          return;
        }
        const byKey = new Map(answered.map((a) => [`${a.topic}-${a.partition}`, a]));
        for (const q of list) {
          const a = byKey.get(tpName(q));
          if (!a) failures.push({ item: tpName(q), errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'no result in the response' });
          else if (a.errorCode === 0) results.set(tpName(q), a.value);
          else retryOrFail(q, a.errorCode);
        }
      }));
      pending = again;
      if (pending.length > 0) await backoff(attempt, retryBackoffMs, retryBackoffMaxMs);
    }
    if (failures.length > 0) throw failuresError(op, failures);
    return results;
  }

  /** Results of per-item promises, or one error naming every failed item. */
  private settle<T>(op: string, settled: PromiseSettledResult<T>[], label: (i: number) => string): T[] {
    const failures: ItemFailure[] = [];
    const out: T[] = [];
    let other: unknown = null;
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') out.push(s.value);
      else if (s.reason instanceof ProtocolError) failures.push({ item: label(i), errorCode: s.reason.errorCode, message: messageOf(s.reason) });
      else other ??= s.reason;
    });
    if (other !== null) throw other;
    if (failures.length > 0) throw failuresError(op, failures);
    return out;
  }
}

function partitionResult(topic: string, partition: number, errorCode: number, message: string | null): PartitionResult {
  return { topic, partition, errorCode, error: errorCode === ErrorCode.NONE ? null : errorCodeName(errorCode) ?? `UNKNOWN_ERROR_CODE_${errorCode}`, message };
}

/** The broker's own message inside a ProtocolError's, if any ("ctx: NAME (message)"). */
function messageOf(err: ProtocolError): string | null {
  const m = /\((.*)\)$/.exec(err.message);
  return m ? m[1] : null;
}

function throwIfGroupError(errorCode: number, groupId: string): void {
  if (errorCode === 0) return;
  const advice = errorCode === ErrorCode.NON_EMPTY_GROUP
    ? `group '${groupId}' has active members: stop its consumers first`
    : errorCode === ErrorCode.GROUP_ID_NOT_FOUND ? `group '${groupId}' does not exist` : null;
  throw new ProtocolError(errorCode, `group '${groupId}'`, advice);
}

function backoff(attempt: number, base: number, max: number): Promise<void> {
  const ms = Math.min(base * 2 ** attempt, max) * (0.8 + Math.random() * 0.4);
  return new Promise((resolve) => setTimeout(resolve, ms));
}


/** An ACL binding with Kafka's enum names (TOPIC/GROUP/CLUSTER/TRANSACTIONAL_ID…, LITERAL/PREFIXED, READ…, ALLOW/DENY). */
export interface AclBindingSpec {
  resourceType: string;
  resourceName: string;
  /** Default LITERAL. */
  patternType?: string;
  /** User:alice, User:* … */
  principal: string;
  /** Default '*'. */
  host?: string;
  operation: string;
  permissionType: string;
}

/** An ACL filter: omitted fields match anything (patternType ANY/MATCH/LITERAL/PREFIXED, default ANY). */
export interface AclFilterSpec {
  resourceType?: string;
  resourceName?: string | null;
  patternType?: string;
  principal?: string | null;
  host?: string | null;
  operation?: string;
  permissionType?: string;
}

function aclCode(parse: (s: string) => number | undefined, name: string, what: string): number {
  const code = parse(name);
  if (code === undefined) throw new ClientStateError(`Unknown ACL ${what} '${name}'`);
  return code;
}

function aclFilter(f: AclFilterSpec) {
  return {
    resourceType: f.resourceType === undefined ? AclResource.ANY : aclCode(parseResourceType, f.resourceType, 'resource type'),
    resourceName: f.resourceName ?? null,
    patternType: f.patternType === undefined ? AclPattern.ANY : aclCode(parsePatternType, f.patternType, 'pattern type'),
    principal: f.principal ?? null,
    host: f.host ?? null,
    operation: f.operation === undefined ? AclOp.ANY : aclCode(parseOperation, f.operation, 'operation'),
    permissionType: f.permissionType === undefined ? AclPermission.ANY : aclCode(parsePermission, f.permissionType, 'permission type'),
  };
}
