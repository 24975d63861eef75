/**
 * Kafka's standard authorizer (StandardAuthorizer / AclAuthorizer) as pure logic: ACL bindings, the filters
 * CreateAcls/DescribeAcls/DeleteAcls use, and the decision for one (principal, host, operation, resource).
 *
 * The decision, in Kafka's order:
 * 1. a principal listed in `super.users` is allowed everything;
 * 2. the ACLs that apply to the resource are its LITERAL bindings with the same name, the LITERAL bindings
 *    named `*` (wildcard) and the PREFIXED bindings whose name starts the resource's name;
 * 3. of those, the ones whose principal is the caller or `User:*` and whose host is the caller's or `*`:
 *    a DENY for the operation (or ALL) denies — deny wins —, else an ALLOW for the operation (or ALL, or one
 *    that implies it: READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
 * 4. a resource with no ACL at all is allowed only with `allow.everyone.if.no.acl.found=true`.
 * No code here touches the network or the disk: the store (acl-store.ts) and the broker wiring
 * (server/authorization.ts) build on it.
 */

/** Kafka's ResourceType codes. */
export const ResourceType = {
  UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7,
} as const;
/** Kafka's PatternType codes (ANY and MATCH only in filters). */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
/** Kafka's AclOperation codes (ANY only in filters). */
export const Operation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
/** Kafka's AclPermissionType codes (ANY only in filters). */
export const Permission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
export const CLUSTER_NAME = 'kafka-cluster';

const nameOf = (table: Readonly<Record<string, number>>, code: number): string =>
  Object.keys(table).find((k) => table[k] === code) ?? 'UNKNOWN';
export const resourceTypeName = (code: number): string => nameOf(ResourceType, code);
export const patternTypeName = (code: number): string => nameOf(PatternType, code);
export const operationName = (code: number): string => nameOf(Operation, code);
export const permissionName = (code: number): string => nameOf(Permission, code);

/** Parses a name as Kafka's enums do (case-insensitive, '-' or '_'); undefined when it is none. */
function codeOf(table: Readonly<Record<string, number>>, name: string): number | undefined {
  const key = name.trim().toUpperCase().replace(/-/g, '_');
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
export const parseResourceType = (s: string): number | undefined => codeOf(ResourceType, s);
export const parsePatternType = (s: string): number | undefined => codeOf(PatternType, s);
export const parseOperation = (s: string): number | undefined => codeOf(Operation, s);
export const parsePermission = (s: string): number | undefined => codeOf(Permission, s);

/** One ACL: (resource pattern, access control entry). */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** A filter over bindings (DescribeAcls, DeleteAcls): null fields and the ANY codes match everything. */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

export const MATCH_ALL_FILTER: AclBindingFilter = {
  resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY,
  principal: null, host: null, operation: Operation.ANY, permissionType: Permission.ANY,
};

/** The operations each resource type supports (Kafka's AclEntry.supportedOperations), ALL excepted. */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [Operation.READ, Operation.WRITE, Operation.CREATE, Operation.DESCRIBE, Operation.DELETE, Operation.ALTER, Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS],
  [ResourceType.GROUP]: [Operation.READ, Operation.DESCRIBE, Operation.DELETE, Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [Operation.CREATE, Operation.CLUSTER_ACTION, Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS, Operation.IDEMPOTENT_WRITE, Operation.ALTER, Operation.DESCRIBE],
  [ResourceType.TRANSACTIONAL_ID]: [Operation.DESCRIBE, Operation.WRITE],
  [ResourceType.DELEGATION_TOKEN]: [Operation.DESCRIBE],
  [ResourceType.USER]: [Operation.CREATE_TOKENS, Operation.DESCRIBE_TOKENS],
};

/**
 * Why a binding cannot be stored (CreateAcls answers INVALID_REQUEST with this message), or null.
 * Kafka refuses the ANY/MATCH/UNKNOWN codes, an empty name, a CLUSTER name other than kafka-cluster and a
 * principal without a type.
 */
export function bindingError(b: AclBinding): string | null {
  if (!Object.hasOwn(SUPPORTED_OPERATIONS, b.resourceType)) return `Invalid resource type ${resourceTypeName(b.resourceType)} (${b.resourceType})`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid pattern type ${patternTypeName(b.patternType)} (${b.patternType})`;
  if (b.operation < Operation.ALL || b.operation > Operation.DESCRIBE_TOKENS) return `Invalid operation ${operationName(b.operation)} (${b.operation})`;
  if (b.permissionType !== Permission.ALLOW && b.permissionType !== Permission.DENY) return `Invalid permission type ${permissionName(b.permissionType)} (${b.permissionType})`;
  if (b.resourceName === '') return 'Resource name must not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  if (b.patternType === PatternType.PREFIXED && b.resourceName === WILDCARD) return 'A PREFIXED pattern cannot be the wildcard *';
  if (!/^[^:]+:.*$/.test(b.principal)) return `Could not parse principal from \`${b.principal}\` (no colon is found separating the principal type from the principal name)`;
  if (b.host === '') return 'Host must not be empty (use * for every host)';
  return null;
}

/** The CLI's stricter check (kafka-acls.sh refuses an operation the resource type does not support), or null. */
export function unsupportedOperationError(resourceType: number, operation: number): string | null {
  if (operation === Operation.ALL || (SUPPORTED_OPERATIONS[resourceType] ?? []).includes(operation)) return null;
  const valid = ['ALL', ...(SUPPORTED_OPERATIONS[resourceType] ?? []).map(operationName)].join(', ');
  return `ResourceType ${resourceTypeName(resourceType)} only supports operations ${valid}`;
}

/** Why a filter is not valid for DescribeAcls/DeleteAcls (INVALID_REQUEST), or null. */
export function filterError(f: AclBindingFilter): string | null {
  if (f.resourceType === ResourceType.UNKNOWN || f.resourceType > ResourceType.USER || f.resourceType < 0) return 'The resource type is unknown';
  if (f.patternType === PatternType.UNKNOWN || f.patternType > PatternType.PREFIXED || f.patternType < 0) return 'The pattern type is unknown';
  if (f.operation === Operation.UNKNOWN || f.operation > Operation.DESCRIBE_TOKENS || f.operation < 0) return 'The operation is unknown';
  if (f.permissionType === Permission.UNKNOWN || f.permissionType > Permission.ALLOW || f.permissionType < 0) return 'The permission type is unknown';
  return null;
}

/** Whether a filter's resource part matches a binding's pattern (Kafka's ResourcePatternFilter.matches). */
function patternMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType === PatternType.MATCH) {
    // MATCH: every pattern that would apply to a resource named resourceName (literal, wildcard, prefixes).
    if (f.resourceName === null) return true;
    if (b.patternType === PatternType.LITERAL) return b.resourceName === f.resourceName || b.resourceName === WILDCARD;
    if (b.patternType === PatternType.PREFIXED) return f.resourceName.startsWith(b.resourceName);
    return false;
  }
  if (f.patternType !== PatternType.ANY && f.patternType !== b.patternType) return false;
  return f.resourceName === null || f.resourceName === b.resourceName;
}

/** Whether a filter matches a binding (Kafka's AclBindingFilter.matches). */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  return patternMatches(f, b)
    && (f.principal === null || f.principal === b.principal)
    && (f.host === null || f.host === b.host)
    && (f.operation === Operation.ANY || f.operation === b.operation)
    && (f.permissionType === Permission.ANY || f.permissionType === b.permissionType);
}

/** A binding's identity (two equal bindings are one ACL). */
export const bindingKey = (b: AclBinding): string =>
  [b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permissionType].join('\u0000');

/** The operations an ALLOW binding for `op` grants: itself and those it implies. */
function allowGrants(aclOp: number, op: number): boolean {
  if (aclOp === Operation.ALL || aclOp === op) return true;
  if (op === Operation.DESCRIBE) return aclOp === Operation.READ || aclOp === Operation.WRITE || aclOp === Operation.DELETE || aclOp === Operation.ALTER;
  if (op === Operation.DESCRIBE_CONFIGS) return aclOp === Operation.ALTER_CONFIGS;
  return false;
}

/** Who asks: the principal (`User:alice`) and the client's address. */
export interface Requestor {
  readonly principal: string;
  readonly host: string;
}

export interface AuthorizerOptions {
  /** `super.users`: principals allowed everything. */
  readonly superUsers?: readonly string[];
  /** `allow.everyone.if.no.acl.found` (default false). */
  readonly allowEveryoneIfNoAclFound?: boolean;
}

/** `super.users`' value: principals separated by ';' (blanks ignored). */
export function parseSuperUsers(value: string | null | undefined): string[] {
  return (value ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
}

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address, as Java's InetAddress gives it. */
export function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/** The decision engine over an in-memory set of bindings, indexed by resource type. */
export class AclAuthorizer {
  private readonly superUsers: Set<string>;
  private readonly allowEveryone: boolean;
  private byType = new Map<number, AclBinding[]>();
  private all: AclBinding[] = [];

  constructor(opts: AuthorizerOptions = {}) {
    this.superUsers = new Set(opts.superUsers ?? []);
    this.allowEveryone = opts.allowEveryoneIfNoAclFound ?? false;
  }

  /** Replaces the whole set (the store calls this on load and on every change). */
  setAcls(bindings: readonly AclBinding[]): void {
    const byType = new Map<number, AclBinding[]>();
    const seen = new Set<string>();
    const all: AclBinding[] = [];
    for (const b of bindings) {
      const k = bindingKey(b);
      if (seen.has(k)) continue;
      seen.add(k);
      all.push(b);
      let list = byType.get(b.resourceType);
      if (!list) byType.set(b.resourceType, (list = []));
      list.push(b);
    }
    this.byType = byType;
    this.all = all;
  }

  acls(): readonly AclBinding[] {
    return this.all;
  }

  /** The bindings whose pattern applies to the resource (literal, wildcard, prefixed). */
  private applicable(resourceType: number, name: string): AclBinding[] {
    const list = this.byType.get(resourceType);
    if (!list) return [];
    return list.filter((b) => b.patternType === PatternType.LITERAL
      ? b.resourceName === name || b.resourceName === WILDCARD
      : b.patternType === PatternType.PREFIXED && name.startsWith(b.resourceName));
  }

  authorize(who: Requestor, operation: number, resourceType: number, name: string): boolean {
    if (this.superUsers.has(who.principal)) return true;
    const acls = this.applicable(resourceType, name);
    if (acls.length === 0) return this.allowEveryone;
    const host = normalizeHost(who.host);
    let allowed = false;
    for (const b of acls) {
      if (b.principal !== who.principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.host !== WILDCARD && b.host !== host) continue;
      if (b.permissionType === Permission.DENY) {
        if (b.operation === Operation.ALL || b.operation === operation) return false;
      } else if (allowGrants(b.operation, operation)) {
        allowed = true;
      }
    }
    return allowed;
  }

  /**
   * Whether the requestor may do `operation` on at least one resource of the type (Kafka's
   * authorizeByResourceType, used for idempotent producers without IDEMPOTENT_WRITE): some ALLOW pattern
   * for it that no DENY pattern covers (a wildcard DENY covers everything).
   */
  authorizeAny(who: Requestor, operation: number, resourceType: number): boolean {
    if (this.superUsers.has(who.principal)) return true;
    const list = this.byType.get(resourceType) ?? [];
    if (list.length === 0) return this.allowEveryone;
    const host = normalizeHost(who.host);
    const mine = list.filter((b) => (b.principal === who.principal || b.principal === WILDCARD_PRINCIPAL) && (b.host === WILDCARD || b.host === host));
    const denies = mine.filter((b) => b.permissionType === Permission.DENY && (b.operation === Operation.ALL || b.operation === operation));
    if (denies.some((d) => d.patternType === PatternType.LITERAL && d.resourceName === WILDCARD)) return false;
    const coveredBy = (a: AclBinding, d: AclBinding): boolean => d.patternType === PatternType.LITERAL
      ? a.patternType === PatternType.LITERAL && a.resourceName === d.resourceName
      : a.resourceName.startsWith(d.resourceName);
    return mine.some((a) => a.permissionType === Permission.ALLOW && allowGrants(a.operation, operation)
      && !denies.some((d) => coveredBy(a, d)));
  }

  /** The operations allowed on a resource, as the include_*_authorized_operations bit field (bit n = code n). */
  authorizedOperations(who: Requestor, resourceType: number, name: string): number {
    let bits = 0;
    for (const op of SUPPORTED_OPERATIONS[resourceType] ?? []) if (this.authorize(who, op, resourceType, name)) bits |= 1 << op;
    return bits;
  }

  /** Bindings matching a filter (DescribeAcls). */
  matching(filter: AclBindingFilter): AclBinding[] {
    return this.all.filter((b) => filterMatches(filter, b));
  }
}
