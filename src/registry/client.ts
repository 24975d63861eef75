// A client of the Confluent Schema Registry REST API (Tributary's registry or Confluent's): register, look up,
// fetch by id or version, compatibility, with the caches Confluent's client keeps (a schema's id per subject, a
// schema per id: both never change once assigned).

export interface RegistrySchema {
  schema: string;
  schemaType?: 'AVRO' | 'JSON' | 'PROTOBUF';
  references?: Array<{ name: string; subject: string; version: number }>;
}

export interface RegisteredSchema extends Required<Omit<RegistrySchema, 'references'>> {
  subject: string;
  id: number;
  version: number;
  references: Array<{ name: string; subject: string; version: number }>;
}

export class SchemaRegistryError extends Error {
  constructor(readonly status: number, readonly errorCode: number, message: string) {
    super(message);
    this.name = 'SchemaRegistryError';
  }
}

export interface SchemaRegistryClientOptions {
  url: string;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  /** Extra headers (e.g. Authorization). */
  headers?: Record<string, string>;
}

const normalize = (s: RegistrySchema | string): RegistrySchema => typeof s === 'string' ? { schema: s } : s;
const cacheKey = (s: RegistrySchema): string => `${s.schemaType ?? 'AVRO'}\u0000${s.schema}\u0000${JSON.stringify(s.references ?? [])}`;

export class SchemaRegistryClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly ids = new Map<string, Promise<number>>();
  private readonly byId = new Map<number, Promise<RegistrySchema>>();

  constructor(options: SchemaRegistryClientOptions | string) {
    const o = typeof options === 'string' ? { url: options } : options;
    this.url = o.url.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.headers = o.headers ?? {};
  }

  /** One REST call; a registry error answer becomes a SchemaRegistryError with its error_code. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json', ...(body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' }), ...this.headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) throw new SchemaRegistryError(res.status, Number(json?.error_code ?? res.status), String(json?.message ?? (text || res.statusText)));
    return json as T;
  }

  /** Registers the schema under `subject` (or finds it there): its id. Cached per subject and schema. */
  register(subject: string, schema: RegistrySchema | string): Promise<number> {
    const s = normalize(schema);
    const key = `${subject}\u0000${cacheKey(s)}`;
    let id = this.ids.get(key);
    if (!id) {
      id = this.request<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, s).then((r) => r.id);
      id.catch(() => this.ids.delete(key));
      this.ids.set(key, id);
    }
    return id;
  }

  /** The version of `subject` holding this schema (POST /subjects/{subject}); throws 40401/40403 when none. */
  lookup(subject: string, schema: RegistrySchema | string): Promise<RegisteredSchema> {
    return this.request<RegisteredSchema>('POST', `/subjects/${encodeURIComponent(subject)}`, normalize(schema)).then(complete);
  }

  /** The schema with this id. Cached: an id's schema never changes. */
  getSchemaById(id: number): Promise<RegistrySchema> {
    let s = this.byId.get(id);
    if (!s) {
      s = this.request<RegistrySchema>('GET', `/schemas/ids/${id}`).then((r) => ({ schema: r.schema, schemaType: r.schemaType ?? 'AVRO', references: r.references ?? [] }));
      s.catch(() => this.byId.delete(id));
      this.byId.set(id, s);
    }
    return s;
  }

  /** A version of a subject ('latest' by default). Not cached: the latest moves. */
  getVersion(subject: string, version: number | 'latest' = 'latest'): Promise<RegisteredSchema> {
    return this.request<RegisteredSchema>('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`).then(complete);
  }

  getLatest(subject: string): Promise<RegisteredSchema> {
    return this.getVersion(subject, 'latest');
  }

  listSubjects(): Promise<string[]> {
    return this.request<string[]>('GET', '/subjects');
  }

  listVersions(subject: string): Promise<number[]> {
    return this.request<number[]>('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
  }

  /** Whether `schema` is compatible with the subject's version (latest by default) under its compatibility level. */
  async testCompatibility(subject: string, schema: RegistrySchema | string, version: number | 'latest' = 'latest'): Promise<boolean> {
    const r = await this.request<{ is_compatible: boolean }>('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/${version}`, normalize(schema));
    return r.is_compatible;
  }

  /** Sets the compatibility level of a subject, or the global one when `subject` is null. */
  async setCompatibility(subject: string | null, level: string): Promise<string> {
    const r = await this.request<{ compatibility: string }>('PUT', subject === null ? '/config' : `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    return r.compatibility;
  }

  async deleteSubject(subject: string, permanent = false): Promise<number[]> {
    return this.request<number[]>('DELETE', `/subjects/${encodeURIComponent(subject)}${permanent ? '?permanent=true' : ''}`);
  }
}

function complete(r: RegisteredSchema): RegisteredSchema {
  return { ...r, schemaType: r.schemaType ?? 'AVRO', references: r.references ?? [] };
}
