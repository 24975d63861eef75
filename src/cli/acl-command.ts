/**
 * What `tributary acls` and kafka-acls.sh share: the bindings a command line adds up to (principals × hosts ×
 * operations × resources, kafka-acls.sh's --producer/--consumer conveniences), the filters list/remove use, and
 * Kafka's AclCommand output ("Current ACLs for resource `ResourcePattern(…)`:" followed by one tab-indented
 * "(principal=…, host=…, operation=…, permissionType=…)" line per ACL).
 */
import type { Admin, AclBindingSpec, AclFilterSpec } from '../client/admin.js';
import { parseOperation, parsePatternType, unsupportedOperationError, ResourceType, CLUSTER_NAME } from '../security/authorizer.js';

export interface AclResourceArg {
  resourceType: 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID' | 'DELEGATION_TOKEN' | 'USER';
  name: string;
}

export interface AclCommandArgs {
  resources: AclResourceArg[];
  /** LITERAL/PREFIXED for add; also ANY/MATCH for list and remove. Default LITERAL. */
  patternType: string;
  allowPrincipals: string[];
  denyPrincipals: string[];
  allowHosts: string[];
  denyHosts: string[];
  operations: string[];
  producer?: boolean;
  consumer?: boolean;
  idempotent?: boolean;
}

/** A usage mistake in the ACL options. */
export class AclUsageError extends Error {}

export function resourcesOf(opts: { topic?: string[]; group?: string[]; cluster?: boolean; transactionalId?: string[]; delegationToken?: string[]; userPrincipal?: string[] }): AclResourceArg[] {
  return [
    ...(opts.topic ?? []).map((name) => ({ resourceType: 'TOPIC' as const, name })),
    ...(opts.group ?? []).map((name) => ({ resourceType: 'GROUP' as const, name })),
    ...(opts.cluster ? [{ resourceType: 'CLUSTER' as const, name: CLUSTER_NAME }] : []),
    ...(opts.transactionalId ?? []).map((name) => ({ resourceType: 'TRANSACTIONAL_ID' as const, name })),
    ...(opts.delegationToken ?? []).map((name) => ({ resourceType: 'DELEGATION_TOKEN' as const, name })),
    ...(opts.userPrincipal ?? []).map((name) => ({ resourceType: 'USER' as const, name })),
  ];
}

function checkPrincipal(p: string): string {
  if (!/^[^:]+:.+$/.test(p)) throw new AclUsageError(`Could not parse principal from \`${p}\` (no colon is found separating the principal type from the principal name): use e.g. User:alice`);
  return p;
}

/** Kafka's operation names as the CLI accepts them: READ, Read, read, ClusterAction, cluster-action… */
export function parseCliOperation(op: string): string {
  const compact = op.trim().toUpperCase().replace(/[-_]/g, '');
  const table: Record<string, string> = {
    ALL: 'ALL', READ: 'READ', WRITE: 'WRITE', CREATE: 'CREATE', DELETE: 'DELETE', ALTER: 'ALTER', DESCRIBE: 'DESCRIBE',
    CLUSTERACTION: 'CLUSTER_ACTION', DESCRIBECONFIGS: 'DESCRIBE_CONFIGS', ALTERCONFIGS: 'ALTER_CONFIGS', IDEMPOTENTWRITE: 'IDEMPOTENT_WRITE',
    CREATETOKENS: 'CREATE_TOKENS', DESCRIBETOKENS: 'DESCRIBE_TOKENS',
  };
  const name = table[compact];
  if (name === undefined) throw new AclUsageError(`Invalid operation '${op}': one of All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens`);
  return name;
}

export function parseCliPatternType(p: string, forAdd: boolean): string {
  const v = p.trim().toUpperCase();
  const code = parsePatternType(v);
  if (code === undefined || code === 0) throw new AclUsageError(`Invalid resource pattern type '${p}': one of LITERAL, PREFIXED${forAdd ? '' : ', ANY, MATCH'}`);
  if (forAdd && v !== 'LITERAL' && v !== 'PREFIXED') throw new AclUsageError(`A '--resource-pattern-type' value of '${v}' is not valid when adding acls.`);
  return v;
}

/** The bindings --add makes. */
export function bindingsToAdd(a: AclCommandArgs): AclBindingSpec[] {
  if (a.allowPrincipals.length === 0 && a.denyPrincipals.length === 0) throw new AclUsageError('You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.');
  const patternType = parseCliPatternType(a.patternType, true);
  const perResource: Array<{ resource: AclResourceArg; operations: string[] }> = [];
  if (a.producer || a.consumer) {
    const topics = a.resources.filter((r) => r.resourceType === 'TOPIC');
    if (topics.length === 0) throw new AclUsageError('With --producer or --consumer you must specify a --topic');
    for (const r of a.resources) {
      if (r.resourceType === 'TOPIC') perResource.push({ resource: r, operations: [...new Set([...(a.producer ? ['WRITE', 'DESCRIBE', 'CREATE'] : []), ...(a.consumer ? ['READ', 'DESCRIBE'] : [])])] });
      else if (r.resourceType === 'GROUP' && a.consumer) perResource.push({ resource: r, operations: ['READ'] });
      else if (r.resourceType === 'TRANSACTIONAL_ID' && a.producer) perResource.push({ resource: r, operations: ['WRITE', 'DESCRIBE'] });
    }
    if (a.consumer && !a.resources.some((r) => r.resourceType === 'GROUP')) throw new AclUsageError('With --consumer you must specify a --group');
    if (a.producer && a.idempotent) perResource.push({ resource: { resourceType: 'CLUSTER', name: CLUSTER_NAME }, operations: ['IDEMPOTENT_WRITE'] });
  } else {
    if (a.resources.length === 0) throw new AclUsageError('You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --transactional-id <id> or --delegation-token <token> or --user-principal <principal>');
    const operations = (a.operations.length > 0 ? a.operations : ['ALL']).map(parseCliOperation);
    for (const r of a.resources) {
      for (const op of operations) {
        const err = unsupportedOperationError(ResourceType[r.resourceType], parseOperation(op)!);
        if (err) throw new AclUsageError(err);
      }
      perResource.push({ resource: r, operations });
    }
  }
  const entries = (principals: string[], hosts: string[], permissionType: string) =>
    principals.map(checkPrincipal).flatMap((principal) => (hosts.length > 0 ? hosts : ['*']).map((host) => ({ principal, host, permissionType })));
  const aces = [...entries(a.allowPrincipals, a.allowHosts, 'ALLOW'), ...entries(a.denyPrincipals, a.denyHosts, 'DENY')];
  const out: AclBindingSpec[] = [];
  for (const { resource, operations } of perResource) {
    for (const ace of aces) for (const operation of operations) out.push({ resourceType: resource.resourceType, resourceName: resource.name, patternType, operation, ...ace });
  }
  return out;
}

/** The filters --remove uses: the exact entries when principals are given, else every ACL of each resource. */
export function filtersToRemove(a: AclCommandArgs): AclFilterSpec[] {
  if (a.resources.length === 0) throw new AclUsageError('You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --transactional-id <id>');
  const patternType = parseCliPatternType(a.patternType, false);
  if (a.allowPrincipals.length === 0 && a.denyPrincipals.length === 0) {
    return a.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.name, patternType }));
  }
  const operations = a.operations.length > 0 ? a.operations.map(parseCliOperation) : [undefined];
  const entries = (principals: string[], hosts: string[], permissionType: string) =>
    principals.map(checkPrincipal).flatMap((principal) => (hosts.length > 0 ? hosts : ['*']).map((host) => ({ principal, host, permissionType })));
  const aces = [...entries(a.allowPrincipals, a.allowHosts, 'ALLOW'), ...entries(a.denyPrincipals, a.denyHosts, 'DENY')];
  return a.resources.flatMap((r) => aces.flatMap((ace) => operations.map((operation) => ({
    resourceType: r.resourceType, resourceName: r.name, patternType, ...ace, ...(operation ? { operation } : {}),
  }))));
}

/** The filters --list uses: each resource (or everything), optionally one principal's. */
export function filtersToList(a: AclCommandArgs, principals: string[]): AclFilterSpec[] {
  const patternType = parseCliPatternType(a.patternType, false);
  const base: AclFilterSpec[] = a.resources.length === 0 ? [{}] : a.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.name, patternType }));
  if (principals.length === 0) return base;
  return base.flatMap((f) => principals.map(checkPrincipal).map((principal) => ({ ...f, principal })));
}

const patternText = (b: AclBindingSpec): string => `ResourcePattern(resourceType=${b.resourceType}, name=${b.resourceName}, patternType=${b.patternType ?? 'LITERAL'})`;
const entryText = (b: AclBindingSpec): string => `(principal=${b.principal}, host=${b.host ?? '*'}, operation=${b.operation}, permissionType=${b.permissionType})`;

/** Kafka's AclCommand block: a header per resource pattern and its entries. */
export function formatAcls(header: string, bindings: AclBindingSpec[]): string {
  const groups = new Map<string, AclBindingSpec[]>();
  for (const b of bindings) {
    const key = patternText(b);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(b);
  }
  let out = '';
  for (const [pattern, list] of groups) out += `${header} \`${pattern}\`: \n ${list.map((b) => `\t${entryText(b)}`).join('\n')} \n\n`;
  return out;
}

/** Adds, then prints what was added and the resources' ACLs now (as kafka-acls.sh --add). */
export async function runAdd(admin: Admin, a: AclCommandArgs, write: (s: string) => void): Promise<void> {
  const bindings = bindingsToAdd(a);
  write(formatAcls('Adding ACLs for resource', bindings));
  const results = await admin.createAcls(bindings);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) throw new Error(failed.map((r) => `${entryText(r.binding)} on ${patternText(r.binding)}: ${r.error!.message}`).join('\n'));
  const seen = new Set<string>();
  const now: AclBindingSpec[] = [];
  for (const b of bindings) {
    const key = patternText(b);
    if (seen.has(key)) continue;
    seen.add(key);
    now.push(...await admin.describeAcls({ resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType }));
  }
  write(formatAcls('Current ACLs for resource', now));
}

export async function runList(admin: Admin, a: AclCommandArgs, principals: string[], write: (s: string) => void): Promise<void> {
  const found: AclBindingSpec[] = [];
  for (const f of filtersToList(a, principals)) found.push(...await admin.describeAcls(f));
  write(formatAcls('Current ACLs for resource', found));
}

/** Removes (after `confirm` for each resource, unless forced) and prints what was removed. */
export async function runRemove(admin: Admin, a: AclCommandArgs, confirm: (question: string) => Promise<boolean>, write: (s: string) => void): Promise<void> {
  const filters = filtersToRemove(a);
  for (const r of a.resources) {
    const question = `Are you sure you want to remove ACLs: \n ${a.allowPrincipals.length + a.denyPrincipals.length > 0 ? 'matching the given principals' : 'all ACLs'} \n from resource filter \`ResourcePattern(resourceType=${r.resourceType}, name=${r.name}, patternType=${a.patternType.toUpperCase()})\`? (y/n)`;
    if (!await confirm(question)) return;
  }
  const results = await admin.deleteAcls(filters);
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) throw new Error(failed.map((r) => r.error!.message).join('\n'));
  write(formatAcls('Removed ACLs for resource', results.flatMap((r) => r.deleted)));
}
