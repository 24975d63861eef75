/**
 * The broker's authorizer as handlers use it: `ctx.broker.authorizer.authorize(ctx, op, resourceType, name)`
 * near the top of a handler, `filter(...)` where Kafka hides what may not be described (Metadata, ListGroups…),
 * `operations(...)` for include_*_authorized_operations.
 *
 * Enabled by `authorizer.class.name` (Kafka's org.apache.kafka.metadata.authorizer.StandardAuthorizer or
 * kafka.security.authorizer.AclAuthorizer; both mean Kafka's standard ACL semantics, security/authorizer.ts),
 * with `super.users` and `allow.everyone.if.no.acl.found`. Without it every request is allowed (as before) and
 * the ACL APIs answer SECURITY_DISABLED, as Kafka does. The principal is the connection's
 * (ConnectionSession.principal: User:ANONYMOUS, the TLS certificate's, the SASL user's); in-process requests
 * without a session are User:ANONYMOUS. Brokers' own requests (replica fetches, WriteTxnMarkers) carry the
 * brokers' principal, which belongs in `super.users` (as in Kafka).
 *
 * Denials are recorded in the audit trail (not the silent filtering of Metadata/ListGroups, as Kafka logs them),
 * and so are allowed admin operations (CREATE, DELETE, ALTER, ALTER_CONFIGS).
 */
import { ConfigError, type BrokerConfig } from './config.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { auditSubject, type AuditSink } from '../security/audit.js';
import { AclStore, FileAclBackend, type AclBackend } from '../security/acl-store.js';
import {
  AclAuthorizer,
  CLUSTER_NAME,
  Operation,
  ResourceType,
  SUPPORTED_OPERATIONS,
  operationName,
  parseSuperUsers,
  resourceTypeName,
  type Requestor,
} from '../security/authorizer.js';

/** The class names Kafka's standard authorizer goes by (any of them enables Tributary's). */
export const STANDARD_AUTHORIZER_CLASSES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
  'kafka.security.auth.SimpleAclAuthorizer',
];

/** What a handler's context gives the authorizer (a RequestContext is one). */
export interface AuthzSubject {
  readonly clientHost: string;
  readonly clientId: string | null;
  readonly apiKey?: number;
  readonly session?: { readonly listenerName: string; readonly principal: string };
}

const ADMIN_OPERATIONS: ReadonlySet<number> = new Set([Operation.CREATE, Operation.DELETE, Operation.ALTER, Operation.ALTER_CONFIGS]);

/** The error Kafka answers when the operation on that resource type is denied. */
export function authorizationError(resourceType: number): string {
  switch (resourceType) {
    case ResourceType.TOPIC: return 'TOPIC_AUTHORIZATION_FAILED';
    case ResourceType.GROUP: return 'GROUP_AUTHORIZATION_FAILED';
    case ResourceType.TRANSACTIONAL_ID: return 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
    case ResourceType.DELEGATION_TOKEN: return 'DELEGATION_TOKEN_AUTHORIZATION_FAILED';
    default: return 'CLUSTER_AUTHORIZATION_FAILED';
  }
}

const requestor = (s: AuthzSubject): Requestor => ({ principal: s.session?.principal ?? 'User:ANONYMOUS', host: s.clientHost });

export class BrokerAuthorizer {
  constructor(readonly store: AclStore | null, private readonly audit: () => AuditSink) {}

  /** True when authorizer.class.name is set. */
  get enabled(): boolean {
    return this.store !== null;
  }

  /** Whether the caller may do `op` on the resource; a denial (and an allowed admin operation) is audited. */
  authorize(s: AuthzSubject, op: number, resourceType: number, name: string = CLUSTER_NAME): boolean {
    if (!this.store) return true;
    const allowed = this.store.authorizer.authorize(requestor(s), op, resourceType, name);
    if (!allowed || ADMIN_OPERATIONS.has(op)) {
      this.audit().record({
        type: 'authorization',
        ...auditSubject(s),
        operation: operationName(op),
        resource: { type: resourceTypeName(resourceType), name },
        result: allowed ? 'allowed' : 'denied',
        ...(allowed ? {} : { error: authorizationError(resourceType) }),
      });
    }
    return allowed;
  }

  /** authorize() as an error code: NONE when allowed, else the resource type's *_AUTHORIZATION_FAILED. */
  check(s: AuthzSubject, op: number, resourceType: number, name: string = CLUSTER_NAME): number {
    return this.authorize(s, op, resourceType, name) ? ErrorCode.NONE : (ErrorCode as Record<string, number>)[authorizationError(resourceType)]!;
  }

  /**
   * DESCRIBE_CONFIGS / ALTER_CONFIGS on a config resource (DescribeConfigs, AlterConfigs,
   * IncrementalAlterConfigs), as an error code: a topic on the TOPIC, a group on the GROUP, a broker, broker
   * logger or client-metrics resource on the CLUSTER; an unknown type is left to the handler (NONE).
   */
  checkConfigResource(s: AuthzSubject, op: number, configResourceType: number, name: string): number {
    switch (configResourceType) {
      case 2: return this.check(s, op, ResourceType.TOPIC, name);
      case 32: return this.check(s, op, ResourceType.GROUP, name);
      case 4: case 8: case 16: return this.check(s, op, ResourceType.CLUSTER, CLUSTER_NAME);
      default: return ErrorCode.NONE;
    }
  }

  /** CLUSTER `op` (the cluster resource is named kafka-cluster). */
  authorizeCluster(s: AuthzSubject, op: number): boolean {
    return this.authorize(s, op, ResourceType.CLUSTER, CLUSTER_NAME);
  }

  /** The same decision without an audit record: for filtering (Metadata, ListGroups) and probing. */
  allows(s: AuthzSubject, op: number, resourceType: number, name: string = CLUSTER_NAME): boolean {
    return !this.store || this.store.authorizer.authorize(requestor(s), op, resourceType, name);
  }

  /** The names the caller may `op` (unaudited, as Kafka's filtering is). */
  filter<T extends string>(s: AuthzSubject, op: number, resourceType: number, names: Iterable<T>): Set<T> {
    const out = new Set<T>();
    for (const n of names) if (this.allows(s, op, resourceType, n)) out.add(n);
    return out;
  }

  /** Kafka's authorizeByResourceType: `op` on at least one resource of the type (idempotent producers). */
  authorizeAny(s: AuthzSubject, op: number, resourceType: number): boolean {
    return !this.store || this.store.authorizer.authorizeAny(requestor(s), op, resourceType);
  }

  /** include_*_authorized_operations: the bit field of the allowed operations (every supported one when disabled). */
  operations(s: AuthzSubject, resourceType: number, name: string = CLUSTER_NAME): number {
    if (!this.store) return (SUPPORTED_OPERATIONS[resourceType] ?? []).reduce((bits, op) => bits | (1 << op), 0);
    return this.store.authorizer.authorizedOperations(requestor(s), resourceType, name);
  }

  /** The cluster's operations as Metadata / DescribeCluster answer them: only for a caller with DESCRIBE on it (else 0). */
  clusterOperations(s: AuthzSubject): number {
    return this.allows(s, Operation.DESCRIBE, ResourceType.CLUSTER) ? this.operations(s, ResourceType.CLUSTER) : 0;
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

/**
 * The broker's authorizer from its config: disabled without authorizer.class.name; else the ACLs opened from
 * the cluster's backend (etcd) or the data dir.
 */
export async function openAuthorizer(config: BrokerConfig, backend: () => AclBackend, audit: () => AuditSink): Promise<BrokerAuthorizer> {
  const className = (config.get('authorizer.class.name') ?? '').trim();
  if (className === '') return new BrokerAuthorizer(null, audit);
  if (!STANDARD_AUTHORIZER_CLASSES.includes(className)) {
    throw new ConfigError(`Invalid value ${className} for configuration authorizer.class.name: Tributary implements Kafka's standard authorizer (${STANDARD_AUTHORIZER_CLASSES.slice(0, 2).join(' or ')})`);
  }
  const authorizer = new AclAuthorizer({
    superUsers: parseSuperUsers(config.get('super.users')),
    allowEveryoneIfNoAclFound: config.get('allow.everyone.if.no.acl.found') === 'true',
  });
  return new BrokerAuthorizer(await AclStore.open(backend(), authorizer), audit);
}

/** The single node's backend. */
export const fileAclBackend = (dataDir: string): AclBackend => new FileAclBackend(dataDir);
