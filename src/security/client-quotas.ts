/**
 * Client quota configs (KIP-13, KIP-124, KIP-599, KIP-612), as Kafka keeps them with the cluster's metadata: one
 * entry per quota entity — a user, a client id, a (user, client id) pair, or an IP address, each name possibly
 * `<default>` (null here) — holding numeric keys (producer_byte_rate, consumer_byte_rate, request_percentage,
 * controller_mutation_rate; connection_creation_rate for IPs). The store answers AlterClientQuotas and
 * DescribeClientQuotas with Kafka's checks and lets the broker resolve a connection's quota.
 *
 * Persistence mirrors the SCRAM credential store: every change is written through a ClientQuotaBackend before it
 * is applied — on one node `<data-dir>/__client_quotas.json` (FileClientQuotaBackend, replaced atomically), in a
 * cluster etcd (src/cluster/client-quotas-etcd.ts, watched). Alterations are serialised in arrival order.
 *
 * File format (version 1): {"version":1,"quotas":[{"entity":{"user":"alice","client-id":null},
 * "quotas":{"producer_byte_rate":1048576}}]} — an entity type present with null is its `<default>`.
 */
import { join } from 'node:path';
import { isIP } from 'node:net';
import { VersionedJsonFile } from './versioned-json-file.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';

export const CLIENT_QUOTAS_FILE = '__client_quotas.json';

export const QUOTA_ENTITY_TYPES = ['user', 'client-id', 'ip'] as const;
export type QuotaEntityType = (typeof QUOTA_ENTITY_TYPES)[number];

/** The entity types an entry names; null is that type's `<default>` entity. */
export type QuotaEntity = { readonly [T in QuotaEntityType]?: string | null };


/** Kafka's quota keys and their types (the LONG and INT ones must be whole numbers). */
export const CLIENT_QUOTA_KEYS: Readonly<Record<string, 'long' | 'double' | 'int'>> = {
  producer_byte_rate: 'long',
  consumer_byte_rate: 'long',
  request_percentage: 'double',
  controller_mutation_rate: 'double',
};
export const IP_QUOTA_KEYS: Readonly<Record<string, 'long' | 'double' | 'int'>> = {
  connection_creation_rate: 'int',
};

export interface ClientQuotaRecord {
  readonly entity: QuotaEntity;
  /** An empty object removes the entity. */
  readonly quotas: Readonly<Record<string, number>>;
}

/**
 * A shared backend refused a write because another broker changed one of its entities since this store last
 * loaded them; the store reloads and computes the change again.
 */
export class ConcurrentQuotaChangeError extends Error {}

/** Where quotas persist; `apply` writes all the records or none (or throws ConcurrentQuotaChangeError). */
export interface ClientQuotaBackend {
  load(): Promise<ClientQuotaRecord[]>;
  apply(changes: readonly ClientQuotaRecord[]): Promise<void>;
  /** A backend shared by several brokers reports the full set again whenever another writer changed it. */
  watch?(onChange: (all: ClientQuotaRecord[]) => void): () => void;
  close?(): Promise<void>;
}

/** A stable key for an entity (also the etcd key's tail): `user=alice/client-id=<default>`, names percent-encoded. */
export function entityKey(e: QuotaEntity): string {
  return QUOTA_ENTITY_TYPES.filter((t) => t in e)
    .map((t) => `${t}=${e[t] === null || e[t] === undefined ? '<default>' : encodeURIComponent(e[t])}`)
    .join('/');
}

export function recordToJson(r: ClientQuotaRecord): Record<string, unknown> {
  return { entity: { ...r.entity }, quotas: { ...r.quotas } };
}

/** Parses recordToJson's form; throws on anything else. */
export function recordFromJson(v: unknown): ClientQuotaRecord {
  const o = v as { entity?: unknown; quotas?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.entity !== 'object' || o.entity === null || typeof o.quotas !== 'object' || o.quotas === null) {
    throw new Error(`not a client quota entry: ${JSON.stringify(v)}`);
  }
  const entity: Record<string, string | null> = {};
  for (const [t, n] of Object.entries(o.entity as Record<string, unknown>)) {
    if (!(QUOTA_ENTITY_TYPES as readonly string[]).includes(t) || (n !== null && typeof n !== 'string')) throw new Error(`not a client quota entity: ${JSON.stringify(o.entity)}`);
    entity[t] = n;
  }
  const quotas: Record<string, number> = {};
  for (const [k, n] of Object.entries(o.quotas as Record<string, unknown>)) {
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`not a quota value: ${k}=${JSON.stringify(n)}`);
    quotas[k] = n;
  }
  return { entity, quotas };
}

/** The single node's backend: one JSON file in the data dir. */
export class FileClientQuotaBackend implements ClientQuotaBackend {
  private readonly store: VersionedJsonFile<ClientQuotaRecord>;
  readonly file: string;

  constructor(dataDir: string) {
    this.store = new VersionedJsonFile(join(dataDir, CLIENT_QUOTAS_FILE), {
      field: 'quotas', keyOf: (r) => entityKey(r.entity), toJson: recordToJson, fromJson: recordFromJson,
    });
    this.file = this.store.file;
  }

  load(): Promise<ClientQuotaRecord[]> {
    return this.store.load();
  }

  apply(changes: readonly ClientQuotaRecord[]): Promise<void> {
    return this.store.update((next) => {
      for (const c of changes) {
        if (Object.keys(c.quotas).length === 0) next.delete(entityKey(c.entity));
        else next.set(entityKey(c.entity), c);
      }
    });
  }
}

// ---- requests -------------------------------------------------------------------------------------------

export interface QuotaEntityComponent { entityType: string; entityName: string | null }
export interface QuotaOp { key: string; value: number; remove: boolean }
export interface AlterQuotaEntry { entity: readonly QuotaEntityComponent[]; ops: readonly QuotaOp[] }
export interface AlterQuotaResult { errorCode: number; errorMessage: string | null; entity: QuotaEntityComponent[] }
export interface DescribeQuotaComponent { entityType: string; matchType: number; match: string | null }
export interface DescribeQuotasResult {
  errorCode: number;
  errorMessage: string | null;
  entries: Array<{ entity: QuotaEntityComponent[]; values: Array<{ key: string; value: number }> }> | null;
}

export const MATCH_TYPE_EXACT = 0;
export const MATCH_TYPE_DEFAULT = 1;
export const MATCH_TYPE_SPECIFIED = 2;

class QuotaRequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** An entity from AlterClientQuotas' components, with Kafka's checks (INVALID_REQUEST otherwise). */
export function entityFromComponents(components: readonly QuotaEntityComponent[]): QuotaEntity {
  if (components.length === 0) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, 'Invalid empty client quota entity');
  const e: Record<string, string | null> = {};
  for (const c of components) {
    if (!(QUOTA_ENTITY_TYPES as readonly string[]).includes(c.entityType)) {
      throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Unhandled client quota entity type: ${c.entityType}`);
    }
    if (c.entityType in e) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Invalid quota entity: entity type ${c.entityType} appears more than once`);
    if (c.entityName === '') throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Invalid empty ${c.entityType} name (use null for the default entity)`);
    e[c.entityType] = c.entityName;
  }
  if ('ip' in e) {
    if ('user' in e || 'client-id' in e) {
      throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, 'Invalid quota entity combination, IP entity should not be combined with User or ClientId entities.');
    }
    if (e.ip !== null && isIP(e.ip!) === 0) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `${e.ip} is not a valid IP address.`);
  }
  return e;
}

function checkOp(entity: QuotaEntity, op: QuotaOp): void {
  const keys = 'ip' in entity ? IP_QUOTA_KEYS : CLIENT_QUOTA_KEYS;
  const type = keys[op.key];
  if (type === undefined) {
    const other = 'ip' in entity ? CLIENT_QUOTA_KEYS[op.key] : IP_QUOTA_KEYS[op.key];
    throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, other ? `Invalid configuration key ${op.key} for a ${'ip' in entity ? 'ip' : 'user/client-id'} entity` : `Invalid configuration key ${op.key}`);
  }
  if (op.remove) return;
  if (!Number.isFinite(op.value)) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Configuration ${op.key} must be a number`);
  if (type !== 'double' && Math.abs(Math.round(op.value) - op.value) > 1e-6) {
    throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Configuration ${op.key} must be a ${type === 'long' ? 'Long' : 'Integer'} value`);
  }
  if (op.value <= 0) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Configuration ${op.key} must be positive (got ${op.value})`);
}

export function entityComponents(e: QuotaEntity): QuotaEntityComponent[] {
  return QUOTA_ENTITY_TYPES.filter((t) => t in e).map((t) => ({ entityType: t, entityName: e[t] ?? null }));
}

export class ClientQuotaStore {
  private entries = new Map<string, ClientQuotaRecord>();
  private queue: Promise<unknown> = Promise.resolve();
  private unwatch: (() => void) | undefined;
  private readonly listeners: Array<() => void> = [];

  private constructor(private readonly backend: ClientQuotaBackend) {}

  static async open(backend: ClientQuotaBackend): Promise<ClientQuotaStore> {
    const store = new ClientQuotaStore(backend);
    store.replace(await backend.load());
    store.unwatch = backend.watch?.((all) => store.replace(all));
    return store;
  }

  /** Stops following the backend (whoever made the backend closes it). */
  close(): void {
    this.unwatch?.();
  }

  /** Called after every change (local or another broker's). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private replace(all: readonly ClientQuotaRecord[]): void {
    this.entries = new Map(all.filter((r) => Object.keys(r.quotas).length > 0).map((r) => [entityKey(r.entity), r]));
    this.changed();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** The quotas configured on exactly this entity. */
  get(entity: QuotaEntity): Readonly<Record<string, number>> | undefined {
    return this.entries.get(entityKey(entity))?.quotas;
  }

  /** True when no quota is set: the hot path skips all measurement. */
  isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** DescribeClientQuotas: the entries matching every component (and, when strict, naming no other type). */
  describe(components: readonly DescribeQuotaComponent[], strict: boolean): DescribeQuotasResult {
    const types = new Set<string>();
    for (const c of components) {
      if (!(QUOTA_ENTITY_TYPES as readonly string[]).includes(c.entityType)) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid entity type ${c.entityType} in the filter`, entries: null };
      }
      if (types.has(c.entityType)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Entity type ${c.entityType} cannot appear more than once in the filter.`, entries: null };
      types.add(c.entityType);
      if (c.matchType === MATCH_TYPE_EXACT && c.match === null) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Request specified MATCH_TYPE_EXACT, but set match string to null.', entries: null };
      }
      if ((c.matchType === MATCH_TYPE_DEFAULT || c.matchType === MATCH_TYPE_SPECIFIED) && c.match !== null) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Request specified MATCH_TYPE_${c.matchType === MATCH_TYPE_DEFAULT ? 'DEFAULT' : 'SPECIFIED'}, but also specified a match string.`, entries: null };
      }
      if (c.matchType < 0 || c.matchType > 2) return { errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: `Unknown match type ${c.matchType}`, entries: null };
    }
    if (types.has('ip') && (types.has('user') || types.has('client-id'))) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'IP filter component should not be used with user or clientId filter component.', entries: null };
    }
    const out: NonNullable<DescribeQuotasResult['entries']> = [];
    for (const r of [...this.entries.values()].sort((a, b) => entityKey(a.entity).localeCompare(entityKey(b.entity)))) {
      const e = r.entity;
      if (strict && QUOTA_ENTITY_TYPES.filter((t) => t in e).length !== types.size) continue;
      const ok = components.every((c) => {
        const t = c.entityType as QuotaEntityType;
        if (!(t in e)) return false;
        const name = e[t] ?? null;
        if (c.matchType === MATCH_TYPE_EXACT) return name === c.match;
        if (c.matchType === MATCH_TYPE_DEFAULT) return name === null;
        return name !== null;
      });
      if (!ok) continue;
      out.push({ entity: entityComponents(e), values: Object.entries(r.quotas).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => ({ key, value })) });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, entries: out };
  }

  /**
   * AlterClientQuotas: each entry checked and applied on its own (an entry with an invalid entity or op changes
   * nothing); the valid entries' changes are persisted together unless validateOnly. One result per entry.
   */
  alter(entries: readonly AlterQuotaEntry[], validateOnly: boolean): Promise<{ results: AlterQuotaResult[]; changes: ClientQuotaRecord[] }> {
    const run = this.queue.then(() => this.alterNow(entries, validateOnly));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async alterNow(entries: readonly AlterQuotaEntry[], validateOnly: boolean): Promise<{ results: AlterQuotaResult[]; changes: ClientQuotaRecord[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.alterOnce(entries, validateOnly);
      } catch (err) {
        // Another broker changed an entity we were changing: start again from the backend's current state.
        if (!(err instanceof ConcurrentQuotaChangeError) || attempt >= 5) throw err;
        this.replace(await this.backend.load());
      }
    }
  }

  private async alterOnce(entries: readonly AlterQuotaEntry[], validateOnly: boolean): Promise<{ results: AlterQuotaResult[]; changes: ClientQuotaRecord[] }> {
    const results: AlterQuotaResult[] = [];
    const next = new Map<string, ClientQuotaRecord>();
    for (const entry of entries) {
      const echo = entry.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName }));
      try {
        const entity = entityFromComponents(entry.entity);
        const seen = new Set<string>();
        for (const op of entry.ops) {
          checkOp(entity, op);
          if (seen.has(op.key)) throw new QuotaRequestError(ErrorCode.INVALID_REQUEST, `Duplicate quota key ${op.key} for one entity`);
          seen.add(op.key);
        }
        const key = entityKey(entity);
        const quotas: Record<string, number> = { ...(next.get(key) ?? this.entries.get(key))?.quotas };
        for (const op of entry.ops) {
          if (op.remove) delete quotas[op.key];
          else quotas[op.key] = op.value;
        }
        next.set(key, { entity, quotas });
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity: echo });
      } catch (err) {
        if (!(err instanceof QuotaRequestError)) throw err;
        results.push({ errorCode: err.code, errorMessage: err.message, entity: echo });
      }
    }
    const changes = [...next.values()];
    if (validateOnly || changes.length === 0) return { results, changes: validateOnly ? [] : changes };
    await this.backend.apply(changes);
    for (const [key, r] of next) {
      if (Object.keys(r.quotas).length === 0) this.entries.delete(key);
      else this.entries.set(key, r);
    }
    this.changed();
    return { results, changes };
  }
}
