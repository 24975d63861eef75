// Interactive queries over HTTP: a small read-only JSON endpoint on a KafkaStreams instance's local stores (the
// partitions this instance holds), for dashboards and scripts that do not run inside the application.
//   GET /v1/stores                         the stores, their kinds, and the instance's state
//   GET /v1/stores/<store>                 key-value: entries in key order (?from=&to= a key range, ?limit=);
//                                          window: every key's windows starting in [?from, ?to] (epoch ms)
//   GET /v1/stores/<store>/<key>           key-value: the key's value (404 if absent);
//                                          window: the key's windows starting in [?from, ?to]; session: its sessions
// Keys in the path are strings; `parseKey` turns them into the store's key type for other key serdes.
// ?stale=true also reads the instance's standby (and still restoring) stores, which may lag (enableStaleStores).
// Across instances (application.server set): a key whose partition another instance holds active answers 307 with
// a Location header to the same path on that instance's application.server and the KeyQueryMetadata as JSON (with
// ?stale=true a standby here answers itself); where each store partition lives is served too:
//   GET /v1/metadata                       every instance (metadataForAllStreamsClients)
//   GET /v1/metadata/<store>               the instances hosting the store (streamsMetadataForStore)
//   GET /v1/metadata/<store>/<key>         the key's active host, standby hosts and partition (queryMetadataForKey)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamsException } from './config.js';
import type { KafkaStreams } from './kafka-streams.js';
import type { KeyQueryMetadata } from './metadata.js';
import { Serdes, type Serializer } from './serdes.js';
import type { ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore } from './state/stores.js';
import type { Windowed } from './windows.js';

export interface QueryServerOptions {
  /** Default: the host of the app's application.server, else 127.0.0.1. */
  host?: string;
  /** Default: the port of the app's application.server, else 0 (any free port: read it from the returned url). */
  port?: number;
  /** Turns a path segment into the store's key (default: the string itself). */
  parseKey?: (store: string, key: string) => unknown;
  /** The store's key serializer, to find the key's partition (default: the string serde; pair it with parseKey). */
  keySerializer?: (store: string) => Serializer<unknown>;
  /** The most entries one answer lists (default 1000; ?limit= lowers it). */
  maxEntries?: number;
}

export interface QueryServer {
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

const hostJson = (m: KeyQueryMetadata): Record<string, unknown> => ({
  activeHost: m.activeHost.toString(), standbyHosts: m.standbyHosts.map((h) => h.toString()), partition: m.partition,
});

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (Buffer.isBuffer(v)) return v.toString('base64');
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return v;
  });
}

function numberParam(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new HttpError(400, `?${name}= must be a number (epoch milliseconds for window bounds), got ${JSON.stringify(raw)}`);
  return n;
}

function windowed<K, V>(e: { key: Windowed<K>; value: V }): { key: K; start: number; end: number; value: V } {
  return { key: e.key.key, start: e.key.window.start, end: e.key.window.end, value: e.value };
}

/** Serves `app`'s stores over HTTP until close(). Start it after app.start(). */
export async function startQueryServer(app: KafkaStreams, options: QueryServerOptions = {}): Promise<QueryServer> {
  const parseKey = options.parseKey ?? ((_s: string, k: string) => k);
  const maxEntries = options.maxEntries ?? 1000;
  const stringSerde = Serdes.String() as Serializer<unknown>;
  const keySerializer = options.keySerializer ?? ((): Serializer<unknown> => stringSerde);
  const self = app.applicationServer();
  const keyMetadata = (store: string, key: unknown): KeyQueryMetadata => {
    try {
      return app.queryMetadataForKey(store, key, keySerializer(store));
    } catch (err) {
      if (err instanceof StreamsException) throw new HttpError(503, err.message);
      throw err;
    }
  };

  /** GET /v1/metadata[/<store>[/<key>]]. */
  const metadata = (parts: string[]): unknown => {
    if (parts.length > 4) throw new HttpError(404, 'not found: GET /v1/metadata, /v1/metadata/<store> or /v1/metadata/<store>/<key>');
    try {
      if (parts.length === 2) return { self: self?.toString() ?? null, instances: app.metadataForAllStreamsClients() };
      if (parts.length === 3) return { store: parts[2], instances: app.streamsMetadataForStore(parts[2]!) };
    } catch (err) {
      if (err instanceof StreamsException) throw new HttpError(503, err.message);
      throw err;
    }
    const name = parts[2]!;
    if (!app.storeNames().some((s) => s.name === name)) throw new HttpError(404, `no store named ${JSON.stringify(name)}`);
    return { store: name, key: parts[3], ...hostJson(keyMetadata(name, parseKey(name, parts[3]!))) };
  };

  /** A key another instance holds: 307 to the same path there (a standby here answers ?stale=true itself). */
  const routeKey = (req: IncomingMessage, name: string, key: unknown, stale: boolean): void => {
    if (self === null) return;
    const m = keyMetadata(name, key);
    if (m.partition < 0 || m.activeHost.equals(self) || (stale && m.standbyHosts.some((h) => h.equals(self)))) return;
    const location = `http://${m.activeHost.toString()}${req.url ?? '/'}`;
    throw new HttpError(307, `the key's partition ${m.partition} of ${name} is served by ${m.activeHost.toString()}`, { location }, { store: name, key, ...hostJson(m), location });
  };

  const answer = (req: IncomingMessage): unknown => {
    if (req.method !== 'GET') throw new HttpError(405, 'only GET: the endpoint is read-only');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
    if (parts[0] === 'v1' && parts[1] === 'metadata') return metadata(parts);
    if (parts[0] !== 'v1' || parts[1] !== 'stores' || parts.length > 4) throw new HttpError(404, 'not found: GET /v1/stores, /v1/stores/<store>, /v1/stores/<store>/<key> or /v1/metadata…');
    const stores = app.storeNames();
    if (parts.length === 2) return { state: app.state(), stores };
    const name = parts[2]!;
    const kind = stores.find((s) => s.name === name)?.kind;
    if (!kind) throw new HttpError(404, `no store named ${JSON.stringify(name)}; the stores are: ${stores.map((s) => s.name).join(', ') || 'none'}`);
    let limit = Math.min(maxEntries, numberParam(url, 'limit', maxEntries));
    if (limit < 0) limit = 0;
    // Window bounds (epoch ms); a key-value store's ?from=&to= are keys.
    const from = (): number => numberParam(url, 'from', -Infinity);
    const to = (): number => numberParam(url, 'to', Infinity);
    const take = <T>(it: Iterable<T>): { entries: T[]; truncated: boolean } => {
      const entries: T[] = [];
      for (const e of it) {
        if (entries.length >= limit) return { entries, truncated: true };
        entries.push(e);
      }
      return { entries, truncated: false };
    };
    let view: unknown;
    try {
      view = app.store(name, { enableStaleStores: url.searchParams.get('stale') === 'true' });
    } catch (err) {
      if (err instanceof StreamsException) throw new HttpError(503, err.message);
      throw err;
    }
    if (parts.length === 3) {
      if (kind === 'keyValue') {
        const kv = view as ReadOnlyKeyValueStore<unknown, unknown>;
        const fromKey = url.searchParams.get('from');
        const toKey = url.searchParams.get('to');
        const it = fromKey === null && toKey === null ? kv.all() : kv.range(fromKey === null ? undefined : parseKey(name, fromKey), toKey === null ? undefined : parseKey(name, toKey));
        return { store: name, kind, ...take(it) };
      }
      if (kind === 'window') {
        const ws = view as ReadOnlyWindowStore<unknown, unknown>;
        const { entries, truncated } = take(ws.fetchAll(from(), to()));
        return { store: name, kind, entries: entries.map(windowed), truncated };
      }
      throw new HttpError(400, `session store ${name} is read by key: GET /v1/stores/${encodeURIComponent(name)}/<key>`);
    }
    const key = parseKey(name, parts[3]!);
    routeKey(req, name, key, url.searchParams.get('stale') === 'true');
    if (kind === 'keyValue') {
      const value = (view as ReadOnlyKeyValueStore<unknown, unknown>).get(key);
      if (value === null || value === undefined) throw new HttpError(404, `key ${JSON.stringify(parts[3])} is not in ${name} on this instance (it may live on another instance of the application)`);
      return { store: name, key, value };
    }
    if (kind === 'window') {
      const { entries, truncated } = take((view as ReadOnlyWindowStore<unknown, unknown>).fetchRange(key, from(), to()));
      return { store: name, key, windows: entries.map((e) => ({ start: e.key, value: e.value })), truncated };
    }
    const { entries, truncated } = take((view as ReadOnlySessionStore<unknown, unknown>).fetch(key));
    return { store: name, key, sessions: entries.map(windowed).map(({ start, end, value }) => ({ start, end, value })), truncated };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let status = 200;
    let body: string;
    let headers: Record<string, string> = {};
    try {
      body = json(answer(req));
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      if (err instanceof HttpError) headers = err.headers;
      body = json({ error: err instanceof Error ? err.message : String(err), ...(err instanceof HttpError ? err.extra : {}) });
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? self?.port ?? 0, options.host ?? self?.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
