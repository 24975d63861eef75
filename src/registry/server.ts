// The Confluent Schema Registry REST API over node:http (no framework), on a SchemaStore. Paths, JSON bodies,
// status codes and error_code values are Confluent's, so its serializers and tools talk to it unchanged.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientOptions } from '../client/cluster.js';
import { RegistryError, invalidVersion, schemaNotFound } from './errors.js';
import { SCHEMA_TYPES, type CompatibilityLevel, type SchemaReference } from './formats.js';
import { SchemaStore } from './store.js';

export interface RegistryServerOptions {
  /** The Kafka cluster holding `_schemas` (the client's options: bootstrapServers, TLS, SASL, …). */
  client: ClientOptions;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8081; 0 picks a free port. */
  port?: number;
  topic?: string;
  defaultCompatibility?: CompatibilityLevel;
  timeoutMs?: number;
}

export interface RunningRegistry {
  url: string;
  port: number;
  store: SchemaStore;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const MAX_BODY = 16 * 1024 * 1024;

class BadRequest extends RegistryError {}

function readBody(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new BadRequest(413, 413, 'Request body too large'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new BadRequest(400, 400, `Unrecognized or malformed JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

function parseVersion(text: string): number | 'latest' {
  if (text === 'latest' || text === '-1') return 'latest';
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 2 ** 31 - 1) throw invalidVersion(text);
  return n;
}

function parseId(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text)) throw schemaNotFound();
  return n;
}

function schemaBody(body: any): { schema: string; schemaType?: string; references: SchemaReference[]; id?: number; version?: number } {
  if (typeof body?.schema !== 'string') throw new RegistryError(422, 42201, 'Invalid schema: the body has no "schema" string');
  const references = Array.isArray(body.references) ? (body.references as any[]).map((r) => ({ name: String(r.name), subject: String(r.subject), version: Number(r.version) })) : [];
  return {
    schema: body.schema, references,
    ...(typeof body.schemaType === 'string' ? { schemaType: body.schemaType } : {}),
    ...(typeof body.id === 'number' && body.id > 0 ? { id: body.id } : {}),
    ...(typeof body.version === 'number' && body.version > 0 ? { version: body.version } : {}),
  };
}

type Handler = (m: string[], q: URLSearchParams, req: IncomingMessage) => Promise<unknown> | unknown;

/** Starts the registry: reads `_schemas` to its end, then listens. */
export async function startRegistry(options: RegistryServerOptions): Promise<RunningRegistry> {
  const store = new SchemaStore({ client: options.client, topic: options.topic, defaultCompatibility: options.defaultCompatibility, timeoutMs: options.timeoutMs });
  try {
    await store.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true';
  /** A path segment decoded; malformed percent-encoding is the client's error (400), not the store's (500). */
  const dec = (segment: string): string => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new BadRequest(400, 400, `Malformed percent-encoding in the path: ${segment}`);
    }
  };

  const schemaResponse = (s: { subject: string; id: number; version: number; schemaType: string; references: SchemaReference[]; schema: string }): unknown => ({
    subject: s.subject, version: s.version, id: s.id, ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }),
    ...(s.references.length > 0 ? { references: s.references } : {}), schema: s.schema,
  });

  const routes: Array<[string, RegExp, Handler]> = [
    ['GET', /^\/$/, () => ({})],
    ['GET', /^\/subjects$/, (_m, q) => store.subjectNames(flag(q, 'deleted'), q.get('subjectPrefix') ?? '')],
    ['GET', /^\/schemas\/types$/, () => SCHEMA_TYPES],
    ['GET', /^\/schemas\/ids\/([^/]+)$/, (m) => {
      const s = store.schemaById(parseId(m[1]!));
      return { ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }), ...(s.references.length > 0 ? { references: s.references } : {}), schema: s.schema };
    }],
    ['GET', /^\/schemas\/ids\/([^/]+)\/schema$/, (m) => JSON.parse(store.schemaById(parseId(m[1]!)).schema)],
    ['GET', /^\/schemas\/ids\/([^/]+)\/subjects$/, (m, q) => [...new Set(store.subjectVersionsOfId(parseId(m[1]!), flag(q, 'deleted')).map((v) => v.subject))]],
    ['GET', /^\/schemas\/ids\/([^/]+)\/versions$/, (m, q) => store.subjectVersionsOfId(parseId(m[1]!), flag(q, 'deleted'))],
    ['GET', /^\/subjects\/([^/]+)\/versions$/, (m, q) => store.versions(dec(m[1]!), flag(q, 'deleted'))],
    ['POST', /^\/subjects\/([^/]+)\/versions$/, async (m, _q, req) => {
      const { id } = await store.register(dec(m[1]!), schemaBody(await readBody(req)));
      return { id };
    }],
    ['GET', /^\/subjects\/([^/]+)\/versions\/([^/]+)$/, (m, q) => schemaResponse(store.version(dec(m[1]!), parseVersion(m[2]!), flag(q, 'deleted')))],
    ['GET', /^\/subjects\/([^/]+)\/versions\/([^/]+)\/schema$/, (m, q) => JSON.parse(store.version(dec(m[1]!), parseVersion(m[2]!), flag(q, 'deleted')).schema)],
    ['GET', /^\/subjects\/([^/]+)\/versions\/([^/]+)\/referencedby$/, (m) => {
      const v = store.version(dec(m[1]!), parseVersion(m[2]!), false);
      return store.referencedBy(v.subject, v.version);
    }],
    ['DELETE', /^\/subjects\/([^/]+)\/versions\/([^/]+)$/, (m, q) => store.deleteVersion(dec(m[1]!), parseVersion(m[2]!), flag(q, 'permanent'))],
    ['POST', /^\/subjects\/([^/]+)$/, async (m, q, req) => {
      const subject = dec(m[1]!);
      const body = schemaBody(await readBody(req));
      const parsed = store.parse(body.schemaType, body.schema, body.references);
      return schemaResponse(store.lookup(subject, parsed, body.references, flag(q, 'deleted')));
    }],
    ['DELETE', /^\/subjects\/([^/]+)$/, (m, q) => store.deleteSubject(dec(m[1]!), flag(q, 'permanent'))],
    ['GET', /^\/config$/, () => ({ compatibilityLevel: store.compatibility(null, true) })],
    ['PUT', /^\/config$/, async (_m, _q, req) => ({ compatibility: await store.setCompatibility(null, (await readBody(req)).compatibility) })],
    ['DELETE', /^\/config$/, async () => ({ compatibilityLevel: await store.deleteCompatibility(null) })],
    ['GET', /^\/config\/([^/]+)$/, (m, q) => ({ compatibilityLevel: store.compatibility(dec(m[1]!), flag(q, 'defaultToGlobal')) })],
    ['PUT', /^\/config\/([^/]+)$/, async (m, _q, req) => ({ compatibility: await store.setCompatibility(dec(m[1]!), (await readBody(req)).compatibility) })],
    ['DELETE', /^\/config\/([^/]+)$/, async (m) => ({ compatibilityLevel: await store.deleteCompatibility(dec(m[1]!)) })],
    ['GET', /^\/mode$/, () => ({ mode: store.mode(null, true) })],
    ['PUT', /^\/mode$/, async (_m, q, req) => ({ mode: await store.setMode(null, (await readBody(req)).mode, flag(q, 'force')) })],
    ['GET', /^\/mode\/([^/]+)$/, (m, q) => ({ mode: store.mode(dec(m[1]!), flag(q, 'defaultToGlobal')) })],
    ['PUT', /^\/mode\/([^/]+)$/, async (m, q, req) => ({ mode: await store.setMode(dec(m[1]!), (await readBody(req)).mode, flag(q, 'force')) })],
    ['DELETE', /^\/mode\/([^/]+)$/, async (m) => ({ mode: await store.deleteMode(dec(m[1]!)) })],
    ['POST', /^\/compatibility\/subjects\/([^/]+)\/versions(?:\/([^/]+))?$/, async (m, q, req) => {
      const subject = dec(m[1]!);
      const body = schemaBody(await readBody(req));
      const parsed = store.parse(body.schemaType, body.schema, body.references);
      let errors: string[];
      if (m[2] === undefined) {
        errors = store.subjectNames(false).includes(subject) ? store.testCompatibility(subject, parsed, 'all') : [];
      } else {
        const version = parseVersion(m[2]);
        // A subject with no versions is compatible with anything (as Confluent answers for "latest").
        if (version === 'latest' && !store.subjectNames(false).includes(subject)) errors = [];
        else errors = store.testCompatibility(subject, parsed, version);
      }
      return { is_compatible: errors.length === 0, ...(flag(q, 'verbose') ? { messages: errors } : {}) };
    }],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    let status = 200;
    let body: unknown;
    try {
      const matching = routes.filter(([, re]) => re.test(path));
      const route = matching.find(([method]) => method === req.method);
      if (!route) {
        if (matching.length > 0) throw new RegistryError(405, 405, 'HTTP 405 Method Not Allowed');
        throw new RegistryError(404, 404, 'HTTP 404 Not Found');
      }
      body = await route[2]([...path.match(route[1])!] as string[], url.searchParams, req);
    } catch (err) {
      if (err instanceof RegistryError) {
        status = err.status;
        body = { error_code: err.errorCode, message: err.message };
      } else {
        status = 500;
        body = { error_code: 50001, message: `Error in the backend data store - ${(err as Error).message}` };
      }
    }
    const text = JSON.stringify(body);
    // Confluent's media type unless the client asks for plain application/json only.
    const accept = req.headers.accept ?? '';
    const type = /application\/json/.test(accept) && !/schemaregistry|\*\/\*/.test(accept) ? 'application/json' : CONTENT_TYPE;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8081, host, () => resolve());
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
