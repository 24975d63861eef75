// The registry's state, kept in the compacted topic `_schemas` exactly as Confluent's Schema Registry keeps it:
// JSON keys {"keytype":"SCHEMA"|"CONFIG"|"MODE"|"DELETE_SUBJECT"|…} and JSON values, a null value deleting the key.
// Every instance reads the topic from the beginning (read_committed) into memory and keeps tailing it; every
// change is a write to the topic that the instance reads back before it answers, so all instances converge on
// the same subjects, versions and ids.
//
// Ids: the writes go through one transactional producer whose transactional.id is the same for every instance
// pointed at the topic (`schema-registry-<topic>` unless configured). Each instance's InitProducerId fences the
// one before it, and an instance allocates an id only after it has read the topic to its end *after* its own
// InitProducerId: if another instance wrote in between, that instance initialized later, so this instance's
// commit fails as fenced, and it re-initializes, re-reads and recomputes. An id is thus committed only by the
// instance that saw every earlier commit: two instances never hand out the same id. The cost: instances writing
// in turn fence each other (one InitProducerId per switch), fine at a registry's write rate. The limit: a
// registry that reads the topic read_uncommitted (Confluent's does) could see a losing instance's aborted record.
import { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Consumer } from '../client/consumer.js';
import type { ConsumerRecord } from '../client/consumer/types.js';
import { Producer } from '../client/producer.js';
import {
  RegistryError, incompatibleSchema, invalidCompatibilityLevel, invalidMode, operationNotPermitted, referenceExists,
  schemaNotFound, storeError, storeTimeout, subjectCompatibilityNotConfigured, subjectModeNotConfigured, subjectNotFound,
  subjectNotSoftDeleted, subjectSoftDeleted, versionNotFound, versionNotSoftDeleted, versionSoftDeleted,
} from './errors.js';
import {
  COMPATIBILITY_LEVELS, compatibilityErrors, parseSchema, type CompatibilityLevel, type ParsedSchema, type SchemaReference, type SchemaType,
} from './formats.js';

export const MODES = ['READWRITE', 'READONLY', 'IMPORT'] as const;
export type Mode = (typeof MODES)[number];

export interface StoredSchema {
  subject: string;
  version: number;
  id: number;
  schemaType: SchemaType;
  references: SchemaReference[];
  schema: string;
  deleted: boolean;
}

export interface SchemaStoreOptions {
  client: ClientOptions;
  /** Default `_schemas` (Confluent's kafkastore.topic). */
  topic?: string;
  /** Default `schema-registry-<topic>`: the same for every instance of one registry. */
  transactionalId?: string;
  /** Global compatibility when none is stored. Default BACKWARD. */
  defaultCompatibility?: CompatibilityLevel;
  /** How long a write waits for its read-back, and start-up for the topic's end. Default 30 s. */
  timeoutMs?: number;
}

interface Content { schemaType: SchemaType; schema: string; references: SchemaReference[] }
interface Waiter { offset: number; resolve: () => void }

type Key = { keytype: string; subject?: string | null; version?: number; magic?: number };
type Write = { key: Key; value: Record<string, unknown> | null };

const contentKey = (c: Content): string => `${c.schemaType}\u0000${c.schema}\u0000${JSON.stringify(c.references)}`;

export class SchemaStore {
  readonly topic: string;
  private readonly transactionalId: string;
  private readonly defaultCompatibility: CompatibilityLevel;
  private readonly timeoutMs: number;
  private readonly subjects = new Map<string, Map<number, StoredSchema>>();
  private readonly contents = new Map<number, Content>();
  private readonly idsByContent = new Map<string, number>();
  private readonly parsed = new Map<number, ParsedSchema>();
  private readonly configs = new Map<string, CompatibilityLevel>(); // '' = global
  private readonly modes = new Map<string, Mode>();
  private maxId = 0;
  private position = 0;
  private waiters: Waiter[] = [];
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private tailing: Promise<void> | undefined;
  private tailError: Error | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SchemaStoreOptions) {
    this.topic = options.topic ?? '_schemas';
    this.transactionalId = options.transactionalId ?? `schema-registry-${this.topic}`;
    this.defaultCompatibility = options.defaultCompatibility ?? 'BACKWARD';
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Creates the topic when missing (1 partition, compacted), then reads it to its end. */
  async start(): Promise<void> {
    const admin = new Admin({ ...this.options.client, clientId: 'schema-registry-admin' });
    this.admin = admin;
    await admin.connect();
    if (!(await admin.listTopics({ includeInternal: true })).includes(this.topic)) {
      try {
        await admin.createTopics([{ name: this.topic, numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
      } catch (err) {
        if (!/already exists/i.test((err as Error).message)) throw err;
      }
    }
    this.consumer = new Consumer({
      ...this.options.client, clientId: 'schema-registry-reader', isolationLevel: 'read_committed', autoOffsetReset: 'earliest',
      enableAutoCommit: false, fetchMaxWaitMs: 500,
    });
    await this.consumer.connect();
    this.consumer.assign([{ topic: this.topic, partition: 0 }]);
    this.tailing = this.tail();
    await this.catchUp();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    await this.tailing?.catch(() => {});
    await Promise.all([this.consumer?.close().catch(() => {}), this.producer?.close().catch(() => {}), this.admin?.close().catch(() => {})]);
  }

  private async tail(): Promise<void> {
    const consumer = this.consumer!;
    const tp = { topic: this.topic, partition: 0 };
    while (!this.closed) {
      let records: ConsumerRecord[];
      try {
        records = await consumer.poll(200);
      } catch (err) {
        if (this.closed) return;
        this.tailError = err as Error;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const r of records) this.apply(r);
      this.position = Math.max(this.position, consumer.position(tp) ?? 0, ...records.map((r) => r.offset + 1));
      if (this.waiters.length > 0) {
        const ready = this.waiters.filter((w) => w.offset <= this.position);
        this.waiters = this.waiters.filter((w) => w.offset > this.position);
        for (const w of ready) w.resolve();
      }
    }
  }

  private waitForPosition(offset: number): Promise<void> {
    if (this.position >= offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(storeTimeout(`reading ${this.topic} up to offset ${offset} (at ${this.position})${this.tailError ? `: ${this.tailError.message}` : ''}`));
      }, this.timeoutMs);
      const waiter: Waiter = { offset, resolve: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
  }

  /** Reads the topic up to its current end (the last stable offset). */
  private async catchUp(): Promise<void> {
    const [end] = await this.admin!.listOffsets([{ topic: this.topic, partition: 0, timestamp: 'latest' }], { isolationLevel: 'read_committed' });
    await this.waitForPosition(end!.offset);
  }

  // ------------------------------------------------------------------ replaying the topic

  private apply(r: ConsumerRecord): void {
    if (!r.key) return;
    let key: Key;
    let value: Record<string, any> | null;
    try {
      key = JSON.parse(r.key.toString('utf8')) as Key;
      value = r.value ? JSON.parse(r.value.toString('utf8')) as Record<string, any> : null;
    } catch {
      return; // not a registry record
    }
    const subject = key.subject ?? '';
    switch (key.keytype) {
      case 'SCHEMA': {
        const version = key.version ?? value?.version;
        if (typeof version !== 'number') return;
        const versions = this.subjects.get(subject) ?? new Map<number, StoredSchema>();
        this.subjects.set(subject, versions);
        const previous = versions.get(version);
        if (value === null) {
          versions.delete(version);
          if (versions.size === 0) this.subjects.delete(subject);
          if (previous) this.forgetIfUnused(previous.id);
          return;
        }
        const stored: StoredSchema = {
          subject, version, id: Number(value.id), schemaType: (value.schemaType ?? 'AVRO') as SchemaType,
          references: (value.references ?? []) as SchemaReference[], schema: String(value.schema), deleted: value.deleted === true,
        };
        versions.set(version, stored);
        const content: Content = { schemaType: stored.schemaType, schema: stored.schema, references: stored.references };
        if (!this.contents.has(stored.id)) this.contents.set(stored.id, content);
        const ck = contentKey(content);
        if (!this.idsByContent.has(ck)) this.idsByContent.set(ck, stored.id);
        this.maxId = Math.max(this.maxId, stored.id);
        if (previous && previous.id !== stored.id) this.forgetIfUnused(previous.id);
        return;
      }
      case 'CONFIG':
        if (value === null || typeof value.compatibilityLevel !== 'string') this.configs.delete(subject);
        else this.configs.set(subject, value.compatibilityLevel as CompatibilityLevel);
        return;
      case 'MODE':
        if (value === null || typeof value.mode !== 'string') this.modes.delete(subject);
        else this.modes.set(subject, value.mode as Mode);
        return;
      case 'DELETE_SUBJECT': {
        if (value === null) return;
        const upTo = Number(value.version);
        for (const s of this.subjects.get(subject)?.values() ?? []) if (s.version <= upTo) s.deleted = true;
        return;
      }
      default:
        return; // NOOP and keys of newer registries
    }
  }

  private forgetIfUnused(id: number): void {
    for (const versions of this.subjects.values()) for (const s of versions.values()) if (s.id === id) return;
    const content = this.contents.get(id);
    this.contents.delete(id);
    this.parsed.delete(id);
    if (content && this.idsByContent.get(contentKey(content)) === id) this.idsByContent.delete(contentKey(content));
  }

  // ------------------------------------------------------------------ writing

  /** Runs `fn` alone in this instance (writes are serialized), retried when another instance fenced this one. */
  private exclusive<T>(fn: (fresh: () => Promise<void>, write: (writes: Write[]) => Promise<void>) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw storeError('the registry is closing');
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn(() => this.freshWriter(), (writes) => this.write(writes));
        } catch (err) {
          if (err instanceof RegistryError) throw err;
          await this.producer?.close().catch(() => {});
          this.producer = undefined;
          if (attempt >= 8 || this.closed) throw storeError((err as Error).message);
          // Fenced by another instance (or a broker error): back off at random so that two instances writing at
          // once do not keep fencing each other.
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random())));
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Ensures this instance holds the writer (InitProducerId done), then reads the topic to its end. */
  private async freshWriter(): Promise<void> {
    if (!this.producer) {
      const producer = new Producer({ ...this.options.client, clientId: 'schema-registry-writer', transactionalId: this.transactionalId, lingerMs: 0 });
      try {
        await producer.connect();
      } catch (err) {
        await producer.close().catch(() => {});
        throw err;
      }
      this.producer = producer;
    }
    await this.catchUp();
  }

  private async write(writes: Write[]): Promise<void> {
    const producer = this.producer!;
    producer.beginTransaction();
    let last = -1;
    try {
      const acks = await producer.sendBatch(writes.map((w) => ({
        topic: this.topic, partition: 0, key: JSON.stringify(w.key), value: w.value === null ? null : JSON.stringify(w.value),
      })));
      last = Math.max(...acks.map((a) => a.offset));
      await producer.commitTransaction();
    } catch (err) {
      await producer.abortTransaction().catch(() => {});
      throw err;
    }
    await this.waitForPosition(last + 1);
  }

  // ------------------------------------------------------------------ reads

  private parsedById(id: number): ParsedSchema {
    let p = this.parsed.get(id);
    if (!p) {
      const c = this.contents.get(id)!;
      p = parseSchema(c.schemaType, c.schema, this.resolveReferences(c.references));
      this.parsed.set(id, p);
    }
    return p;
  }

  /**
   * Whether the schema stored under `id` is `parsed` (with these references): the same text, or the same canonical
   * form once parsed — records another registry wrote (Confluent's) keep the text as it was registered.
   */
  private holds(id: number, parsed: ParsedSchema, references: readonly SchemaReference[]): boolean {
    const c = this.contents.get(id);
    if (!c || c.schemaType !== parsed.schemaType || JSON.stringify(c.references) !== JSON.stringify(references)) return false;
    if (c.schema === parsed.canonical) return true;
    try {
      return this.parsedById(id).canonical === parsed.canonical;
    } catch {
      return false; // a stored schema this registry cannot parse is no match
    }
  }

  /** The id already given to this schema, in any subject. */
  private idOf(parsed: ParsedSchema, references: readonly SchemaReference[]): number | undefined {
    const exact = this.idsByContent.get(contentKey({ schemaType: parsed.schemaType, schema: parsed.canonical, references: [...references] }));
    if (exact !== undefined) return exact;
    for (const id of this.contents.keys()) if (this.holds(id, parsed, references)) return id;
    return undefined;
  }

  /** The referenced schemas' texts, dependencies first (names → text). */
  resolveReferences(references: readonly SchemaReference[], seen = new Set<string>()): Array<{ name: string; schema: string }> {
    const out: Array<{ name: string; schema: string }> = [];
    for (const ref of references) {
      const key = `${ref.subject}\u0000${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const target = ref.version === -1 ? this.latest(ref.subject, false) : this.subjects.get(ref.subject)?.get(ref.version);
      if (!target) throw new RegistryError(422, 42201, `Invalid schema: the reference ${ref.name} names subject '${ref.subject}' version ${ref.version}, which does not exist`);
      out.push(...this.resolveReferences(target.references, seen), { name: ref.name, schema: target.schema });
    }
    return out;
  }

  subjectNames(includeDeleted: boolean, prefix = ''): string[] {
    return [...this.subjects.entries()]
      .filter(([s, versions]) => s.startsWith(prefix) && [...versions.values()].some((v) => includeDeleted || !v.deleted))
      .map(([s]) => s).sort();
  }

  private liveVersions(subject: string, includeDeleted: boolean): StoredSchema[] {
    return [...(this.subjects.get(subject)?.values() ?? [])].filter((v) => includeDeleted || !v.deleted).sort((a, b) => a.version - b.version);
  }

  versions(subject: string, includeDeleted: boolean): number[] {
    const list = this.liveVersions(subject, includeDeleted);
    if (list.length === 0) throw subjectNotFound(subject);
    return list.map((v) => v.version);
  }

  private latest(subject: string, includeDeleted: boolean): StoredSchema | undefined {
    return this.liveVersions(subject, includeDeleted).at(-1);
  }

  /** A version by number or 'latest' (-1); soft-deleted ones only when asked. */
  version(subject: string, version: number | 'latest', includeDeleted: boolean): StoredSchema {
    if (this.liveVersions(subject, includeDeleted).length === 0) throw subjectNotFound(subject);
    const found = version === 'latest' || version === -1 ? this.latest(subject, includeDeleted) : this.subjects.get(subject)?.get(version);
    if (!found || (found.deleted && !includeDeleted)) throw versionNotFound(version);
    return found;
  }

  schemaById(id: number): Content & { id: number } {
    const c = this.contents.get(id);
    if (!c) throw schemaNotFound();
    return { id, ...c };
  }

  subjectVersionsOfId(id: number, includeDeleted: boolean): Array<{ subject: string; version: number }> {
    if (!this.contents.has(id)) throw schemaNotFound();
    const out: Array<{ subject: string; version: number }> = [];
    for (const [subject, versions] of this.subjects) {
      for (const v of versions.values()) if (v.id === id && (includeDeleted || !v.deleted)) out.push({ subject, version: v.version });
    }
    return out.sort((a, b) => a.subject.localeCompare(b.subject) || a.version - b.version);
  }

  referencedBy(subject: string, version: number): number[] {
    const ids = new Set<number>();
    for (const versions of this.subjects.values()) {
      for (const v of versions.values()) {
        if (!v.deleted && v.references.some((r) => r.subject === subject && r.version === version)) ids.add(v.id);
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** Parses a schema as registered under `subject`: throws 42201 when invalid. */
  parse(schemaType: string | undefined, schema: string, references: readonly SchemaReference[]): ParsedSchema {
    return parseSchema(schemaType, schema, this.resolveReferences(references));
  }

  /** The version of `subject` holding this schema, if any (POST /subjects/{subject}). */
  lookup(subject: string, parsed: ParsedSchema, references: readonly SchemaReference[], includeDeleted: boolean): StoredSchema {
    if (this.liveVersions(subject, includeDeleted).length === 0) throw subjectNotFound(subject);
    const found = this.liveVersions(subject, includeDeleted).reverse().find((v) => this.holds(v.id, parsed, references));
    if (!found) throw schemaNotFound();
    return found;
  }

  compatibility(subject: string | null, fallback: boolean): CompatibilityLevel {
    if (subject !== null) {
      const own = this.configs.get(subject);
      if (own) return own;
      if (!fallback) throw subjectCompatibilityNotConfigured(subject);
    }
    return this.configs.get('') ?? this.defaultCompatibility;
  }

  mode(subject: string | null, fallback: boolean): Mode {
    if (subject !== null) {
      const own = this.modes.get(subject);
      if (own) return own;
      if (!fallback) throw subjectModeNotConfigured(subject);
    }
    return this.modes.get('') ?? 'READWRITE';
  }

  private checkWritable(subject: string | null): void {
    const mode = this.mode(subject, true);
    if (mode === 'READONLY') throw operationNotPermitted(`Subject ${subject ?? ''} is in read-only mode`);
  }

  /** Confluent's compatibility check of a candidate against `subject`'s versions (all, or up to `version`). */
  testCompatibility(subject: string, parsed: ParsedSchema, version: number | 'latest' | 'all'): string[] {
    const level = this.compatibility(subject, true);
    const live = this.liveVersions(subject, false);
    if (version === 'all') return compatibilityErrors(level, parsed, live.map((v) => this.parsedById(v.id)));
    const target = this.version(subject, version, false);
    return compatibilityErrors(level.replace('_TRANSITIVE', '') as CompatibilityLevel, parsed, [this.parsedById(target.id)]);
  }

  // ------------------------------------------------------------------ changes

  /** POST /subjects/{subject}/versions: the schema's id, registering it as the next version if new. */
  register(subject: string, body: { schema: string; schemaType?: string; references?: SchemaReference[]; id?: number; version?: number }): Promise<{ id: number; version: number }> {
    const references = body.references ?? [];
    return this.exclusive(async (fresh, write) => {
      const parsed = this.parse(body.schemaType, body.schema, references);
      const mode = this.mode(subject, true);
      if (mode === 'READONLY') throw operationNotPermitted(`Subject ${subject} is in read-only mode`);
      const importing = mode === 'IMPORT';
      if (body.id !== undefined && !importing) throw operationNotPermitted(`Subject ${subject} is not in import mode: an id cannot be given`);
      const existing = (): StoredSchema | undefined => this.liveVersions(subject, false).find((v) => this.holds(v.id, parsed, references) && (body.id === undefined || v.id === body.id));
      const known = existing();
      if (known) return { id: known.id, version: known.version };
      await fresh();
      const again = existing();
      if (again) return { id: again.id, version: again.version };
      const all = [...(this.subjects.get(subject)?.values() ?? [])];
      const version = body.version ?? Math.max(0, ...all.map((v) => v.version)) + 1;
      let id: number;
      if (importing) {
        if (body.id === undefined) throw operationNotPermitted(`Subject ${subject} is in import mode: the schema's id must be given`);
        const other = this.contents.get(body.id);
        if (other && !this.holds(body.id, parsed, references)) throw operationNotPermitted(`Overwrite new schema with id ${body.id} is not permitted.`);
        id = body.id;
      } else {
        const errors = compatibilityErrors(this.compatibility(subject, true), parsed, this.liveVersions(subject, false).map((v) => this.parsedById(v.id)));
        if (errors.length > 0) {
          throw incompatibleSchema(`Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${errors.join(', ')}]`);
        }
        id = this.idOf(parsed, references) ?? this.maxId + 1;
      }
      await write([{
        key: { keytype: 'SCHEMA', subject, version, magic: 1 },
        value: {
          subject, version, id, ...(parsed.schemaType === 'AVRO' ? {} : { schemaType: parsed.schemaType }),
          ...(references.length > 0 ? { references } : {}), schema: parsed.canonical, deleted: false,
        },
      }]);
      this.parsed.set(id, parsed);
      return { id, version };
    });
  }

  /** DELETE /subjects/{subject}/versions/{version}: soft, or permanent after a soft delete. */
  deleteVersion(subject: string, version: number | 'latest', permanent: boolean): Promise<number> {
    return this.exclusive(async (fresh, write) => {
      this.checkWritable(subject);
      await fresh();
      const target = this.version(subject, version, permanent);
      if (!permanent && target.deleted) throw versionSoftDeleted(subject, target.version);
      if (permanent && !target.deleted) throw versionNotSoftDeleted(subject, target.version);
      const users = this.referencedBy(subject, target.version);
      if (users.length > 0) throw referenceExists(`One or more references exist to the schema {subject=${subject},version=${target.version}} (ids ${users.join(', ')})`);
      const key: Key = { keytype: 'SCHEMA', subject, version: target.version, magic: 1 };
      await write([{ key, value: permanent ? null : { ...this.recordValue(target), deleted: true } }]);
      return target.version;
    });
  }

  /** DELETE /subjects/{subject}: soft (every version marked deleted), or permanent after a soft delete. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.exclusive(async (fresh, write) => {
      this.checkWritable(subject);
      await fresh();
      const all = this.liveVersions(subject, true);
      if (all.length === 0) throw subjectNotFound(subject);
      const live = all.filter((v) => !v.deleted);
      if (!permanent && live.length === 0) throw subjectSoftDeleted(subject);
      if (permanent && live.length > 0) throw subjectNotSoftDeleted(subject);
      for (const v of live) {
        const users = this.referencedBy(subject, v.version);
        if (users.length > 0) throw referenceExists(`One or more references exist to the schema {subject=${subject},version=${v.version}} (ids ${users.join(', ')})`);
      }
      if (permanent) {
        const writes: Write[] = all.map((v) => ({ key: { keytype: 'SCHEMA', subject, version: v.version, magic: 1 }, value: null }));
        if (this.configs.has(subject)) writes.push({ key: { keytype: 'CONFIG', subject, magic: 0 }, value: null });
        if (this.modes.has(subject)) writes.push({ key: { keytype: 'MODE', subject, magic: 0 }, value: null });
        // The soft delete's marker goes too, so that compaction leaves nothing of the subject.
        writes.push({ key: { keytype: 'DELETE_SUBJECT', subject, magic: 0 }, value: null });
        await write(writes);
        return all.map((v) => v.version);
      }
      await write([
        ...live.map((v) => ({ key: { keytype: 'SCHEMA', subject, version: v.version, magic: 1 }, value: { ...this.recordValue(v), deleted: true } })),
        { key: { keytype: 'DELETE_SUBJECT', subject, magic: 0 }, value: { subject, version: live.at(-1)!.version } },
      ]);
      return live.map((v) => v.version);
    });
  }

  private recordValue(s: StoredSchema): Record<string, unknown> {
    return {
      subject: s.subject, version: s.version, id: s.id, ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }),
      ...(s.references.length > 0 ? { references: s.references } : {}), schema: s.schema, deleted: s.deleted,
    };
  }

  /** PUT /config[/subject]. */
  setCompatibility(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    const upper = typeof level === 'string' ? level.toUpperCase() : level;
    if (!(COMPATIBILITY_LEVELS as readonly unknown[]).includes(upper)) return Promise.reject(invalidCompatibilityLevel(level));
    return this.exclusive(async (fresh, write) => {
      this.checkWritable(subject);
      await fresh();
      await write([{ key: { keytype: 'CONFIG', subject, magic: 0 }, value: { compatibilityLevel: upper } }]);
      return upper as CompatibilityLevel;
    });
  }

  /** DELETE /config[/subject]: back to the global (or default) level; returns the level it had. */
  deleteCompatibility(subject: string | null): Promise<CompatibilityLevel> {
    return this.exclusive(async (fresh, write) => {
      this.checkWritable(subject);
      await fresh();
      const had = this.compatibility(subject, subject === null);
      await write([{ key: { keytype: 'CONFIG', subject, magic: 0 }, value: null }]);
      return had;
    });
  }

  /** PUT /mode[/subject]: IMPORT only on an empty registry (or subject) unless forced, as Confluent's. */
  setMode(subject: string | null, mode: unknown, force: boolean): Promise<Mode> {
    const upper = typeof mode === 'string' ? mode.toUpperCase() : mode;
    if (!(MODES as readonly unknown[]).includes(upper)) return Promise.reject(invalidMode(mode));
    return this.exclusive(async (fresh, write) => {
      await fresh();
      if (upper === 'IMPORT' && !force) {
        const nonEmpty = subject === null ? this.subjectNames(false).length > 0 : this.liveVersions(subject, false).length > 0;
        if (nonEmpty) throw operationNotPermitted('Cannot import since found existing subjects');
      }
      await write([{ key: { keytype: 'MODE', subject, magic: 0 }, value: { mode: upper } }]);
      return upper as Mode;
    });
  }

  /** DELETE /mode/{subject}. */
  deleteMode(subject: string): Promise<Mode> {
    return this.exclusive(async (fresh, write) => {
      await fresh();
      const had = this.mode(subject, false);
      await write([{ key: { keytype: 'MODE', subject, magic: 0 }, value: null }]);
      return had;
    });
  }
}
