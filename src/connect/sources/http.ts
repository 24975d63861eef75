/**
 * HTTP source: POST one JSON object or an array of them to `path`; each object becomes a record. The answer,
 * 202 {"accepted": n}, is sent only after the producer acknowledged every record of the request, so a client
 * that got 202 knows its events are durable in the topic. 400 bad JSON, 413 body over maxBodyBytes, 404 other
 * paths, 405 other methods, 503 while stopping or when too much is waiting for the brokers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keyOf } from '../records.js';
import type { HttpSourceConfig, SourceConnector, SourceContext, SourceRecord } from '../types.js';
import { SourceError } from './input.js';

interface RequestState {
  res: ServerResponse;
  total: number;
  remaining: number;
  bytes: number;
  error: Error | null;
}

/** Body bytes accepted but not yet acknowledged, at most: beyond it requests get 503 (memory stays bounded). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** How long stop() waits for owed answers before it drops the connections. */
const STOP_GRACE_MS = 10_000;

function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export class HttpSource implements SourceConnector {
  private server: Server | null = null;
  private listening: Promise<void> | null = null;
  private closed: Promise<void> | null = null;
  private stopped = false;
  private readonly queue: SourceRecord[] = [];
  private wake: (() => void) | null = null;
  private readonly requestOf = new WeakMap<SourceRecord, RequestState>();
  private pendingBytes = 0;

  constructor(
    readonly name: string,
    private readonly config: Pick<HttpSourceConfig, 'port' | 'host' | 'path' | 'keyColumn' | 'maxBodyBytes'>,
  ) {}

  /** Starts listening (records() does it too); resolves once the port is bound. */
  start(): Promise<void> {
    this.listening ??= new Promise<void>((resolve, reject) => {
      const server = createServer((req, res) => this.handle(req, res));
      this.server = server;
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new SourceError(`${this.name}: cannot listen on ${this.config.host}:${this.config.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, { cause: err })),
      );
      server.listen(this.config.port, this.config.host, () => resolve());
    });
    return this.listening;
  }

  /** The bound port (after start()). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.config.port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.config.path) {
      req.resume();
      reply(res, 404, { error: `not found: POST records to ${this.config.path}` });
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      reply(res, 405, { error: `method ${req.method} not allowed: POST a JSON object or array` }, { allow: 'POST' });
      return;
    }
    if (this.stopped) {
      req.resume();
      reply(res, 503, { error: 'the pipeline is stopping' }, { connection: 'close' });
      return;
    }
    const max = this.config.maxBodyBytes;
    const tooLarge = (): void => {
      // Close the connection rather than read the rest of an oversized body.
      reply(res, 413, { error: `body over ${max} bytes (maxBodyBytes)` }, { connection: 'close' });
      req.resume();
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (over) return;
      this.accept(Buffer.concat(chunks, size), res);
    });
  }

  private accept(body: Buffer, res: ServerResponse): void {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (err) {
      reply(res, 400, { error: `not valid JSON: ${(err as Error).message}` });
      return;
    }
    const items = Array.isArray(doc) ? doc : [doc];
    const bad = items.findIndex((v) => v === null || typeof v !== 'object' || Array.isArray(v));
    if (bad >= 0) {
      reply(res, 400, { error: Array.isArray(doc) ? `element ${bad} is not a JSON object` : 'the body must be a JSON object or an array of objects' });
      return;
    }
    if (this.stopped) {
      reply(res, 503, { error: 'the pipeline is stopping' }, { connection: 'close' });
      return;
    }
    if (this.pendingBytes + body.length > MAX_PENDING_BYTES && this.pendingBytes > 0) {
      reply(res, 503, { error: 'too much is waiting for the brokers; retry shortly' }, { 'retry-after': '1' });
      return;
    }
    if (items.length === 0) {
      reply(res, 202, { accepted: 0 });
      return;
    }
    const state: RequestState = { res, total: items.length, remaining: items.length, bytes: body.length, error: null };
    this.pendingBytes += body.length;
    for (const value of items) {
      const record: SourceRecord = { key: keyOf(value, this.config.keyColumn), value };
      this.requestOf.set(record, state);
      this.queue.push(record);
    }
    this.wake?.();
  }

  /** http://host:port/path of the bound server (after start()). */
  get url(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `http://${host}:${this.port}${this.config.path}`;
  }

  async *records(context?: SourceContext): AsyncGenerator<SourceRecord> {
    await this.start();
    context?.log(`listening on ${this.url} (POST a JSON object or an array of them)`);
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  commitRecord(record: SourceRecord, error: Error | null): void {
    const state = this.requestOf.get(record);
    if (state === undefined) return;
    if (error !== null) state.error ??= error;
    if (--state.remaining > 0) return;
    this.pendingBytes -= state.bytes;
    const close: Record<string, string> = this.stopped ? { connection: 'close' } : {};
    if (state.error !== null) reply(state.res, 503, { error: `not stored: ${state.error.message}` }, close);
    else reply(state.res, 202, { accepted: state.total }, close);
  }

  /**
   * Stops taking requests; records already accepted are still yielded (and answered once acknowledged).
   * Resolves when the server has closed, i.e. after those answers went out.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.server === null) return;
    const server = this.server;
    this.closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Answers still owed after this long will not come (the pipeline failed): do not hang the exit on them.
      setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS).unref();
    });
    server.closeIdleConnections();
    await this.closed;
  }
}
