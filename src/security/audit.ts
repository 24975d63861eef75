/**
 * The audit trail's shape: who did what, from where, and how it ended. Handlers and the security layers
 * (SASL, the authorizer, quotas) record events through `BrokerContext.audit`; the sink decides where they go
 * (JSON lines in a rotated file, optionally a topic). The default sink drops them.
 */
export type AuditEventType = 'authentication' | 'authorization' | 'change';
export type AuditResult = 'success' | 'failure' | 'allowed' | 'denied';

export interface AuditResource {
  /** Kafka's resource type name: TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, USER, CLIENT_QUOTA, BROKER, ACL, … */
  readonly type: string;
  readonly name: string;
  /** For ACL bindings: LITERAL / PREFIXED. */
  readonly patternType?: string;
}

export interface AuditEvent {
  readonly type: AuditEventType;
  /** User:alice, User:ANONYMOUS, … */
  readonly principal: string;
  /** The client's address. */
  readonly clientHost: string;
  readonly listener?: string;
  readonly clientId?: string | null;
  /** The API (CreateTopics, SaslAuthenticate, …) or the authorizer's operation (READ, WRITE, …). */
  readonly operation: string;
  readonly resource?: AuditResource;
  readonly result: AuditResult;
  /** Kafka's error name when the result is a failure or a denial (TOPIC_AUTHORIZATION_FAILED, …). */
  readonly error?: string;
  /** What changed, or the SASL mechanism, …: small and JSON-serialisable, never a secret. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditSink {
  record(event: AuditEvent): void;
  close?(): Promise<void>;
}

export const NO_AUDIT: AuditSink = { record() {} };

/** The who/where part of an event, from a request's context. */
export function auditSubject(ctx: {
  readonly clientHost: string;
  readonly clientId: string | null;
  readonly session?: { readonly listenerName: string; readonly principal: string };
}): Pick<AuditEvent, 'principal' | 'clientHost' | 'listener' | 'clientId'> {
  return {
    principal: ctx.session?.principal ?? 'User:ANONYMOUS',
    clientHost: ctx.clientHost,
    listener: ctx.session?.listenerName,
    clientId: ctx.clientId,
  };
}
