// Synchronous serdes over the schema registry, for Kafka Streams topologies (src/streams' Serde: serialize and
// deserialize return at once). A schema is fetched or registered once per id / subject; that one call blocks the
// thread on a worker doing the HTTP request (Atomics.wait), as Confluent's Java serdes block on theirs. The
// objects fit streams' Serde<T> interface structurally (this layer does not import streams).
import type avro from 'avsc';
import { parseAvro } from './avro.js';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { parseJsonSchema, type ParsedJsonSchema } from './json-schema.js';
import { decodeWireFormat, encodeWireFormat, topicNameStrategy, type SubjectNameStrategy } from './serdes.js';

const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ url, method, body, port, signal, timeoutMs }) => {
  let result;
  try {
    const res = await fetch(url, {
      method, body, signal: AbortSignal.timeout(timeoutMs),
      headers: body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    });
    result = { status: res.status, text: await res.text() };
  } catch (err) {
    result = { error: String(err && err.message || err) };
  }
  port.postMessage(result);
  port.close();
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});`;

let worker: Worker | undefined;

/** One blocking HTTP request to the registry; throws on a transport error or an error status. */
function requestSync<T>(base: string, method: string, path: string, body: unknown, timeoutMs: number): T {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true });
    worker.unref();
  }
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ url: `${base}${path}`, method, body: body === undefined ? undefined : JSON.stringify(body), port: port2, signal, timeoutMs }, [port2]);
  const waited = Atomics.wait(signal, 0, 0, timeoutMs + 1000);
  const reply = receiveMessageOnPort(port1)?.message as { status?: number; text?: string; error?: string } | undefined;
  port1.close();
  if (waited === 'timed-out' || !reply) throw new Error(`the schema registry at ${base} did not answer ${method} ${path} within ${timeoutMs} ms`);
  if (reply.error !== undefined) throw new Error(`the schema registry at ${base}: ${reply.error}`);
  const json = reply.text ? JSON.parse(reply.text) as any : undefined;
  if (reply.status! >= 300) throw new Error(`the schema registry at ${base} answered ${method} ${path} with ${reply.status}: ${json?.message ?? reply.text}`);
  return json as T;
}

export interface RegistrySerdeOptions {
  /** The writer's schema, registered under the topic's subject on first use; without it, the subject's latest version. */
  schema?: string | object;
  /** Register the schema when new (default true); false: it must be registered already. */
  autoRegister?: boolean;
  isKey?: boolean;
  subjectNameStrategy?: SubjectNameStrategy;
  /** Per registry call (default 10 s). */
  timeoutMs?: number;
}

interface Fetched { schema: string; schemaType?: string; references?: Array<{ name: string; subject: string; version: number }> }

/** The registry side both serdes share: the writer's id per subject and the schema per id, each fetched once. */
class SyncRegistry {
  private readonly writers = new Map<string, { id: number; schema: string }>();
  private readonly schemas = new Map<number, Fetched>();
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(url: string, private readonly options: RegistrySerdeOptions, private readonly schemaType: 'AVRO' | 'JSON') {
    this.base = url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  writer(topic: string): { id: number; schema: string } {
    const subject = (this.options.subjectNameStrategy ?? topicNameStrategy)(topic, this.options.isKey ?? false);
    let w = this.writers.get(subject);
    if (!w) {
      const s = encodeURIComponent(subject);
      if (this.options.schema === undefined) {
        const latest = requestSync<{ id: number; schema: string }>(this.base, 'GET', `/subjects/${s}/versions/latest`, undefined, this.timeoutMs);
        w = { id: latest.id, schema: latest.schema };
      } else {
        const schema = typeof this.options.schema === 'string' ? this.options.schema : JSON.stringify(this.options.schema);
        const body = { schema, schemaType: this.schemaType };
        const id = this.options.autoRegister === false
          ? requestSync<{ id: number }>(this.base, 'POST', `/subjects/${s}`, body, this.timeoutMs).id
          : requestSync<{ id: number }>(this.base, 'POST', `/subjects/${s}/versions`, body, this.timeoutMs).id;
        w = { id, schema };
      }
      this.writers.set(subject, w);
    }
    return w;
  }

  byId(id: number): Fetched {
    let s = this.schemas.get(id);
    if (!s) {
      s = requestSync<Fetched>(this.base, 'GET', `/schemas/ids/${id}`, undefined, this.timeoutMs);
      this.schemas.set(id, s);
    }
    return s;
  }

  /** Referenced schemas' texts, dependencies first. */
  references(refs: Fetched['references'], seen = new Set<string>()): Array<{ name: string; schema: string }> {
    const out: Array<{ name: string; schema: string }> = [];
    for (const r of refs ?? []) {
      if (seen.has(`${r.subject}\u0000${r.version}`)) continue;
      seen.add(`${r.subject}\u0000${r.version}`);
      const v = requestSync<Fetched>(this.base, 'GET', `/subjects/${encodeURIComponent(r.subject)}/versions/${r.version === -1 ? 'latest' : r.version}`, undefined, this.timeoutMs);
      out.push(...this.references(v.references, seen), { name: r.name, schema: v.schema });
    }
    return out;
  }
}

export interface SyncSerde<T> {
  serialize(topic: string, value: T | null): Buffer | null;
  deserialize(topic: string, data: Buffer | null): T | null;
}

function avroTypeOf(text: string, refs: Array<{ schema: string }>): avro.Type {
  return parseAvro(text, refs.map((r) => r.schema)).type;
}

/** An Avro serde in Confluent's wire format: `Consumed.with(Serdes.String(), avroSerde(url, { schema }))`. */
export function avroSerde<T = unknown>(registryUrl: string, options: RegistrySerdeOptions & { readerSchema?: string | object } = {}): SyncSerde<T> {
  const registry = new SyncRegistry(registryUrl, options, 'AVRO');
  const types = new Map<number, avro.Type>();
  const reader = options.readerSchema === undefined ? undefined : avroTypeOf(typeof options.readerSchema === 'string' ? options.readerSchema : JSON.stringify(options.readerSchema), []);
  const decoders = new Map<number, (b: Buffer) => T>();
  return {
    serialize(topic, value) {
      if (value === null || value === undefined) return null;
      const w = registry.writer(topic);
      let type = types.get(w.id);
      if (!type) {
        type = avroTypeOf(w.schema, registry.references(registry.byId(w.id).references));
        types.set(w.id, type);
      }
      return encodeWireFormat(w.id, type.toBuffer(value));
    },
    deserialize(_topic, data) {
      if (data === null || data === undefined) return null;
      const { id, payload } = decodeWireFormat(data);
      let decode = decoders.get(id);
      if (!decode) {
        const s = registry.byId(id);
        const writer = avroTypeOf(s.schema, registry.references(s.references));
        if (reader) {
          const resolver = reader.createResolver(writer);
          decode = (b) => reader.fromBuffer(b, resolver) as T;
        } else {
          decode = (b) => writer.fromBuffer(b) as T;
        }
        decoders.set(id, decode);
      }
      return decode(payload);
    },
  };
}

/** A JSON Schema serde in Confluent's wire format; documents are validated against the writer's schema both ways. */
export function jsonSchemaSerde<T = unknown>(registryUrl: string, options: RegistrySerdeOptions = {}): SyncSerde<T> {
  const registry = new SyncRegistry(registryUrl, options, 'JSON');
  const compiled = new Map<number, ParsedJsonSchema>();
  const schemaOf = (id: number): ParsedJsonSchema => {
    let p = compiled.get(id);
    if (!p) {
      const s = registry.byId(id);
      p = parseJsonSchema(s.schema, new Map(registry.references(s.references).map((r) => [r.name, r.schema])));
      compiled.set(id, p);
    }
    return p;
  };
  const check = (p: ParsedJsonSchema, value: unknown): void => {
    if (!p.validate(value)) throw new Error(`the document does not match its JSON Schema: ${(p.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
  };
  return {
    serialize(topic, value) {
      if (value === null || value === undefined) return null;
      const w = registry.writer(topic);
      check(schemaOf(w.id), value);
      return encodeWireFormat(w.id, Buffer.from(JSON.stringify(value), 'utf8'));
    },
    deserialize(_topic, data) {
      if (data === null || data === undefined) return null;
      const { id, payload } = decodeWireFormat(data);
      const value = JSON.parse(payload.toString('utf8')) as T;
      check(schemaOf(id), value);
      return value;
    },
  };
}
