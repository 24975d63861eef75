// Serializers and deserializers in the wire format of Confluent's serializers: magic byte 0, the schema's id as a
// 4-byte big-endian integer, then the Avro binary encoding or the JSON document's UTF-8 bytes. Subjects follow
// the TopicNameStrategy by default (`<topic>-value`, `<topic>-key`).
import type avro from 'avsc';
import { parseAvro } from './avro.js';
import { SchemaRegistryClient, type RegistrySchema } from './client.js';
import { parseJsonSchema, type ParsedJsonSchema } from './json-schema.js';

export const MAGIC_BYTE = 0;

export function encodeWireFormat(id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(id, 1);
  payload.copy(out, 5);
  return out;
}

export function decodeWireFormat(data: Buffer): { id: number; payload: Buffer } {
  if (data.length < 5 || data[0] !== MAGIC_BYTE) throw new Error(`not in the schema registry's wire format (magic byte ${data[0] ?? 'missing'}, ${data.length} bytes)`);
  return { id: data.readUInt32BE(1), payload: data.subarray(5) };
}

export type SubjectNameStrategy = (topic: string, isKey: boolean) => string;
export const topicNameStrategy: SubjectNameStrategy = (topic, isKey) => `${topic}-${isKey ? 'key' : 'value'}`;

export interface SerializerOptions {
  /** The registry: a client, or its URL. */
  registry: SchemaRegistryClient | string;
  /** The writer's schema (text or object). Without it, the subject's latest version is used. */
  schema?: string | object;
  /** Register the schema when it is new (default true); false: look it up, failing when the subject lacks it. */
  autoRegister?: boolean;
  /** Serialize keys (subject `<topic>-key`). Default false. */
  isKey?: boolean;
  subjectNameStrategy?: SubjectNameStrategy;
  /** References of `schema` (other subjects' schemas it names). */
  references?: RegistrySchema['references'];
}

export interface DeserializerOptions {
  registry: SchemaRegistryClient | string;
  /** Avro: the reader's schema; data written with another (compatible) schema is resolved to it. */
  readerSchema?: string | object;
  /** JSON Schema: validate each document against the writer's schema (default true). */
  validate?: boolean;
}

const clientOf = (r: SchemaRegistryClient | string): SchemaRegistryClient => typeof r === 'string' ? new SchemaRegistryClient(r) : r;
const schemaText = (s: string | object): string => typeof s === 'string' ? s : JSON.stringify(s);

/** The writer's id and schema text for a topic: registered/looked up once per subject. */
class WriterSchema {
  private readonly cache = new Map<string, Promise<{ id: number; schema: string; references: RegistrySchema['references'] }>>();
  constructor(private readonly client: SchemaRegistryClient, private readonly options: SerializerOptions, private readonly schemaType: 'AVRO' | 'JSON') {}

  get(topic: string): Promise<{ id: number; schema: string; references: RegistrySchema['references'] }> {
    const subject = (this.options.subjectNameStrategy ?? topicNameStrategy)(topic, this.options.isKey ?? false);
    let got = this.cache.get(subject);
    if (!got) {
      got = (async () => {
        if (this.options.schema === undefined) {
          const latest = await this.client.getLatest(subject);
          return { id: latest.id, schema: latest.schema, references: latest.references };
        }
        const s: RegistrySchema = { schema: schemaText(this.options.schema), schemaType: this.schemaType, ...(this.options.references ? { references: this.options.references } : {}) };
        const id = this.options.autoRegister === false ? (await this.client.lookup(subject, s)).id : await this.client.register(subject, s);
        return { id, schema: s.schema, references: s.references };
      })();
      got.catch(() => this.cache.delete(subject));
      this.cache.set(subject, got);
    }
    return got;
  }
}

/** The referenced schemas' texts, dependencies first. */
async function referencedTexts(client: SchemaRegistryClient, refs: RegistrySchema['references'], seen = new Set<string>()): Promise<Array<{ name: string; schema: string }>> {
  const out: Array<{ name: string; schema: string }> = [];
  for (const ref of refs ?? []) {
    if (seen.has(`${ref.subject}\u0000${ref.version}`)) continue;
    seen.add(`${ref.subject}\u0000${ref.version}`);
    const v = await client.getVersion(ref.subject, ref.version === -1 ? 'latest' : ref.version);
    out.push(...await referencedTexts(client, v.references, seen), { name: ref.name, schema: v.schema });
  }
  return out;
}

async function avroType(client: SchemaRegistryClient, schema: string, refs: RegistrySchema['references']): Promise<avro.Type> {
  return parseAvro(schema, (await referencedTexts(client, refs)).map((r) => r.schema)).type;
}

/** Avro values → Confluent wire format, the schema registered under `<topic>-value` (or `-key`). */
export class AvroSerializer {
  private readonly client: SchemaRegistryClient;
  private readonly writer: WriterSchema;
  private readonly types = new Map<number, Promise<avro.Type>>();

  constructor(options: SerializerOptions) {
    this.client = clientOf(options.registry);
    this.writer = new WriterSchema(this.client, options, 'AVRO');
  }

  async serialize(topic: string, value: unknown): Promise<Buffer> {
    const w = await this.writer.get(topic);
    let type = this.types.get(w.id);
    if (!type) {
      type = avroType(this.client, w.schema, w.references);
      this.types.set(w.id, type);
    }
    return encodeWireFormat(w.id, (await type).toBuffer(value));
  }
}

/** Confluent wire format → Avro values, decoded with the writer's schema fetched by id (resolved to a reader schema if given). */
export class AvroDeserializer {
  private readonly client: SchemaRegistryClient;
  private readonly reader: avro.Type | undefined;
  private readonly decoders = new Map<number, Promise<(payload: Buffer) => unknown>>();

  constructor(options: DeserializerOptions) {
    this.client = clientOf(options.registry);
    this.reader = options.readerSchema === undefined ? undefined : parseAvro(schemaText(options.readerSchema)).type;
  }

  async deserialize(_topic: string, data: Buffer): Promise<unknown> {
    const { id, payload } = decodeWireFormat(data);
    let decoder = this.decoders.get(id);
    if (!decoder) {
      decoder = this.client.getSchemaById(id).then(async (s) => {
        if ((s.schemaType ?? 'AVRO') !== 'AVRO') throw new Error(`schema ${id} is ${s.schemaType}, not AVRO`);
        const writer = await avroType(this.client, s.schema, s.references);
        if (!this.reader) return (p: Buffer) => writer.fromBuffer(p);
        const reader = this.reader;
        const resolver = reader.createResolver(writer);
        return (p: Buffer) => reader.fromBuffer(p, resolver);
      });
      decoder.catch(() => this.decoders.delete(id));
      this.decoders.set(id, decoder);
    }
    return (await decoder)(payload);
  }
}

async function jsonSchema(client: SchemaRegistryClient, schema: string, refs: RegistrySchema['references']): Promise<ParsedJsonSchema> {
  return parseJsonSchema(schema, new Map((await referencedTexts(client, refs)).map((r) => [r.name, r.schema])));
}

function assertValid(parsed: ParsedJsonSchema, value: unknown): void {
  if (!parsed.validate(value)) {
    throw new Error(`the document does not match its JSON Schema: ${(parsed.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
  }
}

/** JSON documents → Confluent wire format, validated against the JSON Schema registered for the topic. */
export class JsonSchemaSerializer {
  private readonly client: SchemaRegistryClient;
  private readonly writer: WriterSchema;
  private readonly schemas = new Map<number, Promise<ParsedJsonSchema>>();

  constructor(options: SerializerOptions) {
    this.client = clientOf(options.registry);
    this.writer = new WriterSchema(this.client, options, 'JSON');
  }

  async serialize(topic: string, value: unknown): Promise<Buffer> {
    const w = await this.writer.get(topic);
    let parsed = this.schemas.get(w.id);
    if (!parsed) {
      parsed = jsonSchema(this.client, w.schema, w.references);
      this.schemas.set(w.id, parsed);
    }
    assertValid(await parsed, value);
    return encodeWireFormat(w.id, Buffer.from(JSON.stringify(value), 'utf8'));
  }
}

/** Confluent wire format → JSON documents, validated against the writer's JSON Schema (fetched by id) unless turned off. */
export class JsonSchemaDeserializer {
  private readonly client: SchemaRegistryClient;
  private readonly schemas = new Map<number, Promise<ParsedJsonSchema>>();

  constructor(private readonly options: DeserializerOptions) {
    this.client = clientOf(options.registry);
  }

  async deserialize(_topic: string, data: Buffer): Promise<unknown> {
    const { id, payload } = decodeWireFormat(data);
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    if (this.options.validate === false) return value;
    let parsed = this.schemas.get(id);
    if (!parsed) {
      parsed = this.client.getSchemaById(id).then((s) => {
        if (s.schemaType !== 'JSON') throw new Error(`schema ${id} is ${s.schemaType ?? 'AVRO'}, not JSON`);
        return jsonSchema(this.client, s.schema, s.references);
      });
      parsed.catch(() => this.schemas.delete(id));
      this.schemas.set(id, parsed);
    }
    assertValid(await parsed, value);
    return value;
  }
}
