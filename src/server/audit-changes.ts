/**
 * Change events for the audit trail: each admin handler that changes the cluster is wrapped once
 * (`export default auditChanges(createTopicsChanges, defineHandler({…}))`), and after it answers, its request and
 * response become one event per resource — who (auditSubject), what (resource + the changed keys/values or
 * counts), result (success, or failure with Kafka's error name). Secrets never reach an event: sensitive config
 * values are masked, SCRAM salts and salted passwords are not read. Validate-only requests are recorded too,
 * marked `validateOnly: true` in their details (nothing changed).
 */
import { errorCodeName } from '../protocol/generated/error-codes.js';
import { auditSubject, NO_AUDIT, type AuditEvent, type AuditResource } from '../security/audit.js';
import type { Handler, RequestContext } from './handler.js';
import type { CreateTopicsRequest } from '../protocol/generated/create-topics-request.js';
import type { CreateTopicsResponseInit } from '../protocol/generated/create-topics-response.js';
import type { DeleteTopicsResponseInit } from '../protocol/generated/delete-topics-response.js';
import type { CreatePartitionsRequest } from '../protocol/generated/create-partitions-request.js';
import type { CreatePartitionsResponseInit } from '../protocol/generated/create-partitions-response.js';
import type { DeleteRecordsRequest } from '../protocol/generated/delete-records-request.js';
import type { DeleteRecordsResponseInit } from '../protocol/generated/delete-records-response.js';
import type { AlterConfigsRequest } from '../protocol/generated/alter-configs-request.js';
import type { AlterConfigsResponseInit } from '../protocol/generated/alter-configs-response.js';
import type { IncrementalAlterConfigsRequest } from '../protocol/generated/incremental-alter-configs-request.js';
import type { IncrementalAlterConfigsResponseInit } from '../protocol/generated/incremental-alter-configs-response.js';
import type { AlterUserScramCredentialsRequest } from '../protocol/generated/alter-user-scram-credentials-request.js';
import type { AlterUserScramCredentialsResponseInit } from '../protocol/generated/alter-user-scram-credentials-response.js';
import type { DeleteGroupsResponseInit } from '../protocol/generated/delete-groups-response.js';
import type { OffsetDeleteRequest } from '../protocol/generated/offset-delete-request.js';
import type { OffsetDeleteResponseInit } from '../protocol/generated/offset-delete-response.js';
import type { AlterPartitionReassignmentsRequest } from '../protocol/generated/alter-partition-reassignments-request.js';
import type { AlterPartitionReassignmentsResponseInit } from '../protocol/generated/alter-partition-reassignments-response.js';
import type { ElectLeadersRequest } from '../protocol/generated/elect-leaders-request.js';
import type { ElectLeadersResponseInit } from '../protocol/generated/elect-leaders-response.js';

/** What one resource's change was and how it ended; auditChanges adds who and the operation. */
export interface Change {
  readonly resource: AuditResource;
  /** Kafka error code (0: success). */
  readonly errorCode: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

type ToChanges<Req, Res> = (req: Req, res: Res, ctx: RequestContext) => Change[];

/** The handler, recording one audit event per changed resource after it answers. */
export function auditChanges<Req, Res>(toChanges: ToChanges<Req, Res>, handler: Handler<Req, Res>): Handler<Req, Res> {
  return {
    ...handler,
    async handle(req, ctx) {
      const res = await handler.handle(req, ctx);
      const audit = ctx.broker.audit;
      if (res !== null && audit !== NO_AUDIT) {
        try {
          const who = auditSubject(ctx);
          for (const c of toChanges(req, res, ctx)) audit.record(changeEvent(who, handler.name, c));
        } catch (err) {
          ctx.logger.warn({ api: handler.name, err: (err as Error).message }, 'audit: cannot describe the change');
        }
      }
      return res;
    },
  };
}

function changeEvent(who: ReturnType<typeof auditSubject>, operation: string, c: Change): AuditEvent {
  const failed = c.errorCode !== 0;
  return {
    type: 'change',
    ...who,
    operation,
    resource: c.resource,
    result: failed ? 'failure' : 'success',
    ...(failed ? { error: errorCodeName(c.errorCode) ?? `ERROR_${c.errorCode}` } : {}),
    ...(c.details ? { details: c.details } : {}),
  };
}

// ---- secrets -------------------------------------------------------------------------------------------

/** Config keys whose values are secrets (Kafka's PASSWORD-typed keys and JAAS configs, any listener prefix). */
export function isSensitiveConfig(name: string): boolean {
  const n = name.toLowerCase();
  return n.endsWith('password') || n.endsWith('jaas.config') || n.endsWith('ssl.keystore.key') || n.includes('secret') || n.endsWith('.credentials');
}

export const MASKED = '[hidden]';

function maskValue(name: string, value: string | null): string | null {
  return value !== null && isSensitiveConfig(name) ? MASKED : value;
}

// ---- per API -------------------------------------------------------------------------------------------

/** Config resource types (DescribeConfigs / AlterConfigs). */
const CONFIG_RESOURCE_TYPES: Readonly<Record<number, string>> = { 2: 'TOPIC', 4: 'BROKER', 8: 'BROKER_LOGGER', 16: 'CLIENT_METRICS', 32: 'GROUP' };
const CONFIG_OPS = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];
const SCRAM_MECHANISMS: Readonly<Record<number, string>> = { 1: 'SCRAM-SHA-256', 2: 'SCRAM-SHA-512' };
const topic = (name: string | null | undefined): AuditResource => ({ type: 'TOPIC', name: name ?? '' });
/** A response list (optional in the *Init types handlers build). */
const all = <T>(xs: readonly T[] | null | undefined): readonly T[] => xs ?? [];
const validateOnly = (v: boolean): Record<string, unknown> => (v ? { validateOnly: true } : {});
const firstError = (codes: readonly number[]): number => codes.find((c) => c !== 0) ?? 0;

export const createTopicsChanges: ToChanges<CreateTopicsRequest, CreateTopicsResponseInit> = (req, res) =>
  all(res.topics).map((r) => {
    const t = req.topics.find((x) => x.name === r.name);
    const configs = Object.fromEntries((t?.configs ?? []).map((c) => [c.name, maskValue(c.name, c.value)]));
    return {
      resource: topic(r.name),
      errorCode: r.errorCode ?? 0,
      details: {
        numPartitions: r.numPartitions ?? t?.numPartitions,
        replicationFactor: r.replicationFactor ?? t?.replicationFactor,
        ...(t && t.assignments.length > 0 ? { assignments: t.assignments.map((a) => a.brokerIds) } : {}),
        configs,
        ...validateOnly(req.validateOnly),
      },
    };
  });

export const deleteTopicsChanges: ToChanges<unknown, DeleteTopicsResponseInit> = (_req, res) =>
  all(res.responses).map((r) => ({ resource: topic(r.name ?? r.topicId ?? ''), errorCode: r.errorCode ?? 0, details: r.topicId ? { topicId: r.topicId } : undefined }));

export const createPartitionsChanges: ToChanges<CreatePartitionsRequest, CreatePartitionsResponseInit> = (req, res) =>
  all(res.results).map((r) => {
    const t = req.topics.find((x) => x.name === r.name);
    return {
      resource: topic(r.name),
      errorCode: r.errorCode ?? 0,
      details: { count: t?.count, ...(t?.assignments ? { assignments: t.assignments.map((a) => a.brokerIds) } : {}), ...validateOnly(req.validateOnly) },
    };
  });

export const deleteRecordsChanges: ToChanges<DeleteRecordsRequest, DeleteRecordsResponseInit> = (req, res) =>
  all(res.topics).map((r) => {
    const wanted = req.topics.find((x) => x.name === r.name);
    const partitions = all(r.partitions).map((p) => ({
      partition: p.partitionIndex,
      offset: wanted?.partitions.find((w) => w.partitionIndex === p.partitionIndex)?.offset,
      lowWatermark: p.lowWatermark,
      ...(p.errorCode ? { error: errorCodeName(p.errorCode) } : {}),
    }));
    return { resource: topic(r.name), errorCode: firstError(all(r.partitions).map((p) => p.errorCode ?? 0)), details: { partitions } };
  });

export const alterConfigsChanges: ToChanges<AlterConfigsRequest, AlterConfigsResponseInit> = (req, res) =>
  all(res.responses).map((r) => {
    const wanted = req.resources.find((x) => x.resourceType === r.resourceType && x.resourceName === r.resourceName);
    return {
      resource: { type: CONFIG_RESOURCE_TYPES[r.resourceType ?? -1] ?? String(r.resourceType), name: r.resourceName ?? '' },
      errorCode: r.errorCode ?? 0,
      // AlterConfigs replaces the whole set: these are the resource's overrides from now on.
      details: { configs: Object.fromEntries((wanted?.configs ?? []).map((c) => [c.name, maskValue(c.name, c.value)])), ...validateOnly(req.validateOnly) },
    };
  });

export const incrementalAlterConfigsChanges: ToChanges<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponseInit> = (req, res) =>
  all(res.responses).map((r) => {
    const wanted = req.resources.find((x) => x.resourceType === r.resourceType && x.resourceName === r.resourceName);
    const configs = (wanted?.configs ?? []).map((c) => ({ name: c.name, op: CONFIG_OPS[c.configOperation] ?? String(c.configOperation), value: maskValue(c.name, c.value) }));
    return {
      resource: { type: CONFIG_RESOURCE_TYPES[r.resourceType ?? -1] ?? String(r.resourceType), name: r.resourceName ?? '' },
      errorCode: r.errorCode ?? 0,
      details: { configs, ...validateOnly(req.validateOnly) },
    };
  });

/** User and mechanism (and iterations) only: the salt and salted password never leave the request. */
export const alterUserScramCredentialsChanges: ToChanges<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponseInit> = (req, res) =>
  all(res.results).map((r) => {
    const mechanism = (m: number): string => SCRAM_MECHANISMS[m] ?? `UNKNOWN(${m})`;
    const upserted = req.upsertions.filter((u) => u.name === r.user).map((u) => ({ mechanism: mechanism(u.mechanism), iterations: u.iterations }));
    const deleted = req.deletions.filter((d) => d.name === r.user).map((d) => mechanism(d.mechanism));
    return {
      resource: { type: 'USER', name: r.user ?? '' },
      errorCode: r.errorCode ?? 0,
      details: { ...(upserted.length > 0 ? { upserted } : {}), ...(deleted.length > 0 ? { deleted } : {}) },
    };
  });

export const deleteGroupsChanges: ToChanges<unknown, DeleteGroupsResponseInit> = (_req, res) =>
  all(res.results).map((r) => ({ resource: { type: 'GROUP', name: r.groupId ?? '' }, errorCode: r.errorCode ?? 0 }));

export const offsetDeleteChanges: ToChanges<OffsetDeleteRequest, OffsetDeleteResponseInit> = (req, res) => {
  const results = res.topics ?? [];
  const partitions = results.flatMap((t) => all(t.partitions).map((p) => ({ topic: t.name, partition: p.partitionIndex, ...(p.errorCode ? { error: errorCodeName(p.errorCode) } : {}) })));
  const requested = req.topics.reduce((n, t) => n + t.partitions.length, 0);
  return [{
    resource: { type: 'GROUP', name: req.groupId },
    errorCode: res.errorCode || firstError(results.flatMap((t) => all(t.partitions).map((p) => p.errorCode ?? 0))),
    details: { partitions: partitions.length > 0 ? partitions : req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex }))), requested },
  }];
};

export const alterPartitionReassignmentsChanges: ToChanges<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponseInit> = (req, res) =>
  req.topics.map((t) => {
    const result = all(res.responses).find((r) => r.name === t.name);
    const partitions = t.partitions.map((p) => {
      const code = all(result?.partitions).find((x) => x.partitionIndex === p.partitionIndex)?.errorCode ?? res.errorCode ?? 0;
      return { partition: p.partitionIndex, replicas: p.replicas, ...(code ? { error: errorCodeName(code) } : {}) };
    });
    return {
      resource: topic(t.name),
      errorCode: res.errorCode || firstError(result ? all(result.partitions).map((p) => p.errorCode ?? 0) : []),
      details: { partitions },
    };
  });

export const electLeadersChanges: ToChanges<ElectLeadersRequest, ElectLeadersResponseInit> = (req, res, ctx) => {
  const electionType = (ctx.apiVersion >= 1 ? req.electionType : 0) === 1 ? 'UNCLEAN' : 'PREFERRED';
  const results = res.replicaElectionResults ?? [];
  if (results.length === 0) {
    // All partitions (topicPartitions null) with nothing to elect, or a request-level error.
    return [{ resource: { type: 'CLUSTER', name: 'kafka-cluster' }, errorCode: res.errorCode ?? 0, details: { electionType, partitions: req.topicPartitions === null ? 'all' : 0 } }];
  }
  return results.map((t) => ({
    resource: topic(t.topic),
    // ELECTION_NOT_NEEDED is not a failure: the preferred leader already leads.
    errorCode: res.errorCode || firstError(all(t.partitionResult).map((p) => (p.errorCode === 84 ? 0 : p.errorCode ?? 0))),
    details: {
      electionType,
      partitions: all(t.partitionResult).map((p) => ({ partition: p.partitionId, ...(p.errorCode ? { error: errorCodeName(p.errorCode) } : {}) })),
    },
  }));
};
