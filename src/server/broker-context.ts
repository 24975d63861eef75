/** The services a handler may use. Built once by broker.ts; handlers receive it on every request. */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { BrokerConfig } from './config.js';
import type { TopicManager } from './topic-manager.js';
import type { FetchSessionCache } from './fetch-session.js';
import type { ProducerIdManager } from '../coordinator/producer-id-manager.js';
import type { GroupCoordinatorService } from '../coordinator/group/group-coordinator-service.js';
import type { TransactionCoordinatorService } from '../coordinator/transaction/transaction-coordinator-service.js';
import type { DynamicBrokerConfig } from './dynamic-configs.js';
import type { GroupConfigManager } from './group-configs.js';
import type { Replication } from './replication.js';
import type { AuditSink } from '../security/audit.js';
import type { BrokerAuthorizer } from './authorization.js';
import type { ClientQuotaManager } from './client-quota-manager.js';
import type { BrokerMetricsHooks } from './metrics-hooks.js';

/** An API's supported version range, as ApiVersions lists it (every Handler is one). */
export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface BrokerContext {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly advertisedHost: string;
  /** Set once the listener is bound (port 0 → the real port). */
  advertisedPort: number;
  readonly config: BrokerConfig;
  readonly explicitConfigKeys: ReadonlySet<string>;
  /** Dynamic broker configs (AlterConfigs on the BROKER resource), applied in place to `config`. */
  readonly dynamicConfigs: DynamicBrokerConfig;
  readonly topics: TopicManager;
  readonly fetchSessions: FetchSessionCache;
  /** The registry's handlers by API key, seen as their version ranges (handlers receive this context). */
  readonly handlers: ReadonlyMap<number, ApiVersionRange>;
  readonly dataDir: string;
  /** Producer ids for InitProducerId (persisted, never reused). */
  readonly producerIds: ProducerIdManager;
  /** Classic consumer groups and committed offsets (state in __consumer_offsets). */
  readonly groups: GroupCoordinatorService;
  /** Per-group configs (the GROUP config resource), persisted in group-configs.json. */
  readonly groupConfigs: GroupConfigManager;
  /** Transactions (state in __transaction_state); also completes transactional offsets of `groups`. */
  readonly transactions: TransactionCoordinatorService;
  /** Leadership, leader epochs, acks=all commitment and the cluster's brokers (LocalReplication on a single node). */
  readonly replication: Replication;
  /** The audit trail (security/audit.ts): authentications, authorization decisions, changes. */
  readonly audit: AuditSink;
  /** ACL checks (server/authorization.ts); allows everything without authorizer.class.name. */
  readonly authorizer: BrokerAuthorizer;
  /** Client quotas (AlterClientQuotas / DescribeClientQuotas) and their enforcement. */
  readonly quotas: ClientQuotaManager;
  /** Where the request path reports to the Prometheus metrics (metrics-hooks.ts); absent while metrics are off. */
  readonly metrics?: BrokerMetricsHooks;
  now(): number;
}

/** Single-node broker: every partition's leader epoch is 0 and this broker leads every partition. */
export const LEADER_EPOCH = 0;

/**
 * The error for a request that names the leader epoch it believes current (Fetch, ListOffsets,
 * OffsetForLeaderEpoch): none when it gives none (-1) or ours; newer than ours is unknown, older is fenced.
 */
export function leaderEpochError(currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === LEADER_EPOCH) return ErrorCode.NONE;
  return currentLeaderEpoch > LEADER_EPOCH ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}
