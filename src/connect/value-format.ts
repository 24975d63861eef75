/**
 * Pipeline value formats: JSON (the default: records as JSON text, no registry), or Avro / JSON Schema through a
 * schema registry in the wire format of Confluent's serializers (magic byte 0, the schema id, the payload).
 *
 * - Sources with a schema (pipeline `valueSchema`/`valueSchemaFile`, or for csv one derived from the header: every
 *   column a nullable string) register it under `<topic>-value` (TopicNameStrategy, auto-register) and encode
 *   each record value with it (SourceValueEncoder).
 * - CDC sources derive the schemas per table from the change events (src/connect/cdc/registry-format.ts).
 * - Sinks decode wire-format values (and keys) back to the JSON the sinks map to rows (SinkValueDecoder).
 */
import { SchemaRegistryClient, SchemaRegistryError } from '../registry/client.js';
import { parseSchema } from '../registry/formats.js';
import { AvroDeserializer, decodeWireFormat, encodeWireFormat, JsonSchemaDeserializer, MAGIC_BYTE, topicNameStrategy } from '../registry/serdes.js';
import type { AvroType } from '../registry/avro.js';
import type { ParsedJsonSchema } from '../registry/json-schema.js';
import { SinkError, type PipelineConfig, type RecordFailure, type SinkRecord, type SourceConnector, type SourceRecord } from './types.js';

export type ValueFormat = 'json' | 'avro' | 'json-schema';
export const VALUE_FORMATS: readonly ValueFormat[] = ['json', 'avro', 'json-schema'];

/** The registry's schema type of a value format. */
export const schemaTypeOf = (f: Exclude<ValueFormat, 'json'>): 'AVRO' | 'JSON' => (f === 'avro' ? 'AVRO' : 'JSON');

/** A valid Avro name from any text: letters, digits and '_', not starting with a digit. */
export function avroName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(n) || n === '' ? `_${n}` : n;
}

/** A valid Avro namespace from a dotted name (each part an Avro name). */
export const avroNamespace = (s: string): string => s.split('.').map(avroName).join('.');

/** A schema registered for a subject, ready to encode: its id and a payload encoder (validating for JSON Schema). */
export interface WriterSchema {
  id: number;
  encode(value: unknown): Buffer;
}

/**
 * Parses `schema` as the format's type, registers it under `subject` (the client caches the id) and returns its
 * encoder. `validate` false skips JSON Schema validation (values built to fit the schema, as CDC rows are).
 */
export async function registerWriter(client: SchemaRegistryClient, subject: string, format: Exclude<ValueFormat, 'json'>, schema: string, validate = true): Promise<WriterSchema> {
  const parsed = parseSchema(schemaTypeOf(format), schema);
  const id = await client.register(subject, { schema, schemaType: schemaTypeOf(format) });
  if (parsed.schemaType === 'AVRO') {
    const type: AvroType = parsed.avro;
    return {
      id,
      encode: (v) => {
        try {
          return encodeWireFormat(id, type.toBuffer(v));
        } catch (err) {
          // Which fields are wrong, for the message (only now: validating every value first costs a second walk).
          const bad: string[] = [];
          type.isValid(v, { errorHook: (path: string[], x: unknown, t: AvroType) => bad.push(`${path.join('.') || 'the value'} is ${JSON.stringify(x) ?? 'missing'}, not ${JSON.stringify(t.schema())}`) });
          throw new Error(`the value does not match its Avro schema (${subject}, id ${id}): ${bad.length > 0 ? bad.join('; ') : (err as Error).message}`, { cause: err });
        }
      },
    };
  }
  const json: ParsedJsonSchema = parsed.json;
  return {
    id,
    encode: (v) => {
      if (validate && !json.validate(v)) throw new Error(`the value does not match its JSON Schema (${subject}, id ${id}): ${(json.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
      return encodeWireFormat(id, Buffer.from(JSON.stringify(v), 'utf8'));
    },
  };
}

/** The schema a csv header gives: every column a nullable string (Avro: a record `<topic>.Value`). */
export function headerSchema(format: Exclude<ValueFormat, 'json'>, topic: string, columns: readonly string[]): string {
  if (format === 'avro') {
    return JSON.stringify({ type: 'record', name: 'Value', namespace: avroNamespace(topic), fields: columns.map((c) => ({ name: c, type: ['null', 'string'], default: null })) });
  }
  return JSON.stringify({ type: 'object', title: `${topic}.Value`, properties: Object.fromEntries(columns.map((c) => [c, { type: ['string', 'null'] }])), additionalProperties: false });
}

const asText = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * A file (or http) source's values → wire format. With a pipeline schema every value is encoded with it; without
 * one (csv), the schema is the header's and each cell is sent as its text.
 */
export class SourceValueEncoder {
  private readonly client: SchemaRegistryClient;
  private readonly writers = new Map<string, Promise<WriterSchema>>();

  constructor(
    private readonly format: Exclude<ValueFormat, 'json'>,
    registry: string,
    private readonly schema: string | undefined,
  ) {
    this.client = new SchemaRegistryClient(registry);
  }

  private writer(topic: string, schema: string): Promise<WriterSchema> {
    const key = `${topic}\u0000${schema}`;
    let w = this.writers.get(key);
    if (w === undefined) {
      w = registerWriter(this.client, topicNameStrategy(topic, false), this.format, schema);
      w.catch(() => this.writers.delete(key));
      this.writers.set(key, w);
    }
    return w;
  }

  async encode(topic: string, value: unknown): Promise<Buffer | null> {
    if (value === null || value === undefined) return null;
    if (this.schema !== undefined) return (await this.writer(topic, this.schema)).encode(value);
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`a value without a pipeline schema must be a row (an object), got ${typeof value}`);
    const row = value as Record<string, unknown>;
    const columns = Object.keys(row);
    const text: Record<string, string | null> = {};
    for (const c of columns) text[c] = asText(row[c]);
    return (await this.writer(topic, headerSchema(this.format, topic, columns))).encode(text);
  }
}

/**
 * A record's value in wire format for the source runtime; undefined when the record is refused: an http source's
 * record that cannot be encoded is answered (503 with the reason, through commitRecord) and skipped, where a
 * file source's stops the pipeline (a file does not change by being read again).
 */
export async function encodeSourceValue(encoder: SourceValueEncoder, topic: string, record: SourceRecord, connector: SourceConnector, http: boolean): Promise<Buffer | null | undefined> {
  try {
    return await encoder.encode(topic, record.value);
  } catch (err) {
    if (!http) throw err;
    connector.commitRecord?.(record, err as Error);
    return undefined;
  }
}

/** The encoder of a source pipeline whose values go through the registry (none for json, nor for CDC: its connector encodes). */
export function sourceValueEncoder(p: PipelineConfig): SourceValueEncoder | undefined {
  if (p.valueFormat === undefined || p.valueFormat === 'json' || p.schemaRegistry === undefined) return undefined;
  if (p.source === undefined || p.source.type === 'mysql' || p.source.type === 'postgres') return undefined;
  return new SourceValueEncoder(p.valueFormat, p.schemaRegistry, p.valueSchema);
}

/** A JSON value as the bytes sinks read (avsc's records, Buffers as base64). */
const toJsonBytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data) ? Buffer.from((x as { data: number[] }).data).toString('base64') : x)), 'utf8');

/**
 * The registry could not answer (network error, timeout, 5xx) — as opposed to a record that does not decode
 * (wrong magic byte, unknown id: 404, bytes the schema does not read: plain Errors from the decoders).
 */
function registryUnavailable(err: unknown): boolean {
  if (err instanceof SchemaRegistryError) return err.status >= 500;
  return err instanceof Error && err.name !== 'Error' && !(err instanceof SyntaxError);
}

/**
 * A sink's records in wire format → the same records with JSON values (and keys, when a key is in wire format too,
 * as CDC keys are), so the sinks map them to rows as in json mode. Records that do not decode are failures (the
 * dead-letter topic gets them as they were).
 */
export class SinkValueDecoder {
  private readonly value: { deserialize(topic: string, data: Buffer): Promise<unknown> };
  private readonly key: { deserialize(topic: string, data: Buffer): Promise<unknown> };

  constructor(format: Exclude<ValueFormat, 'json'>, registry: string) {
    const client = new SchemaRegistryClient(registry);
    this.value = format === 'avro' ? new AvroDeserializer({ registry: client }) : new JsonSchemaDeserializer({ registry: client });
    // Keys follow their own writer's type (a CDC key has the same format as its value).
    this.key = this.value;
  }

  async decode(records: SinkRecord[]): Promise<{ records: SinkRecord[]; failures: RecordFailure[] }> {
    const out: SinkRecord[] = [];
    const failures: RecordFailure[] = [];
    for (const record of records) {
      try {
        const value = record.value === null ? null : toJsonBytes(await this.value.deserialize(record.topic, record.value));
        let key = record.key;
        if (key !== null && key.length >= 5 && key[0] === MAGIC_BYTE) {
          decodeWireFormat(key);
          key = toJsonBytes(await this.key.deserialize(record.topic, key));
        }
        out.push({ ...record, key, value });
      } catch (err) {
        // The registry unreachable or failing: the whole batch waits and is retried (nothing was written).
        if (registryUnavailable(err)) {
          throw new SinkError(`the schema registry: ${(err as Error).message}`, { retriable: true, cause: err });
        }
        failures.push({ record, error: new SinkError(`record value does not decode from the registry's wire format: ${(err as Error).message}`, { retriable: false, cause: err }) });
      }
    }
    return { records: out, failures };
  }
}

/** The decoder of a sink pipeline reading registry-encoded values, or none (json). */
export function sinkValueDecoder(p: PipelineConfig): SinkValueDecoder | undefined {
  if (p.valueFormat === undefined || p.valueFormat === 'json' || p.schemaRegistry === undefined || p.sink === undefined) return undefined;
  return new SinkValueDecoder(p.valueFormat, p.schemaRegistry);
}
