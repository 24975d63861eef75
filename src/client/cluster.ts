/**
 * What every client (Producer, Consumer, Admin) shares: bootstrap, the cluster's metadata (brokers,
 * topics, partition leaders), one connection per broker and purpose, coordinator lookup, and retries
 * with exponential backoff on retriable errors. It speaks only the protocol, so it works against
 * Apache Kafka as well as Tributary.
 */
import { MetadataRequest } from '../protocol/generated/metadata-request.js';
import { MetadataResponse } from '../protocol/generated/metadata-response.js';
import { FindCoordinatorRequest } from '../protocol/generated/find-coordinator-request.js';
import { FindCoordinatorResponse } from '../protocol/generated/find-coordinator-response.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { ClientStateError, ConnectionError, ProtocolError, RequestTimeoutError, isRetriable } from './errors.js';

/** The bootstrap server Tributary's tools (CLI, connect) use when none is given: a broker on this machine. */
export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export interface ClientOptions extends ConnectionOptions {
  /** 'host:port' or a list of them, or a comma-separated string (Kafka's bootstrap.servers). */
  bootstrapServers: string | string[];
  /**
   * Attempts after the first for retriable failures. Default 10: with the default backoff, about 8 s of retrying,
   * enough to ride out a leader's failover in a cluster (a couple of seconds) and a coordinator's move.
   */
  retries?: number;
  /** First backoff between attempts (retry.backoff.ms). Default 100 ms. */
  retryBackoffMs?: number;
  /** Backoff ceiling (retry.backoff.max.ms). Default 1000 ms. */
  retryBackoffMaxMs?: number;
  /** Metadata older than this is refreshed before use (metadata.max.age.ms). Default 5 min. */
  metadataMaxAgeMs?: number;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

/** FindCoordinator key types. */
export const CoordinatorType = { GROUP: 0, TRANSACTION: 1 } as const;

/** Connection purposes: requests that block a connection (Fetch long polls) get their own. */
export type ConnectionPool = 'default' | 'coordinator' | 'fetch';

export interface RetryOptions {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** Called before each retry (e.g. to refresh metadata). */
  onRetry?: (err: unknown, attempt: number) => void | Promise<void>;
  /** Defaults to the error's `retriable` flag. */
  isRetriable?: (err: unknown) => boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying retriable failures with exponential backoff and jitter. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const retriable = options.isRetriable ? options.isRetriable(err) : isRetriable(err);
      if (!retriable || attempt >= options.retries) throw err;
      const base = Math.min(options.backoffMs * 2 ** attempt, options.maxBackoffMs);
      await sleep(base * (0.8 + Math.random() * 0.4));
      await options.onRetry?.(err, attempt + 1);
    }
  }
}

export function parseBootstrap(servers: string | string[]): Array<{ host: string; port: number }> {
  const list = (Array.isArray(servers) ? servers : [servers]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new ClientStateError('bootstrapServers is empty: give host:port of at least one broker');
  return list.map((s) => {
    const i = s.lastIndexOf(':');
    const port = i < 0 ? 9092 : Number(s.slice(i + 1));
    const host = (i < 0 ? s : s.slice(0, i)).replace(/^\[(.*)\]$/, '$1');
    if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new ClientStateError(`bad bootstrap server '${s}': expected host:port, e.g. 127.0.0.1:9092`);
    }
    return { host, port };
  });
}

export class Cluster {
  readonly options: Required<Pick<ClientOptions, 'retries' | 'retryBackoffMs' | 'retryBackoffMaxMs' | 'metadataMaxAgeMs'>> & ClientOptions;
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  clusterId: string | null = null;
  controllerId = -1;
  private readonly bootstrap: Array<{ host: string; port: number }>;
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly coordinators = new Map<string, number>();
  private metadataAt = 0;
  private refreshing: Promise<void> | null = null;
  private closed = false;

  constructor(options: ClientOptions) {
    // An option given as undefined (e.g. a CLI flag not set) keeps its default rather than erasing it.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ClientOptions;
    this.options = { retries: 10, retryBackoffMs: 100, retryBackoffMaxMs: 1000, metadataMaxAgeMs: 300_000, ...given };
    this.bootstrap = parseBootstrap(options.bootstrapServers);
  }

  retryOptions(onRetry?: RetryOptions['onRetry']): RetryOptions {
    return { retries: this.options.retries, backoffMs: this.options.retryBackoffMs, maxBackoffMs: this.options.retryBackoffMaxMs, onRetry };
  }

  /** Connects to a bootstrap server and loads the broker list. */
  async connect(): Promise<void> {
    if (this.brokers.size === 0) await this.refreshMetadata([]);
  }

  /** A connection to a broker for one purpose, opened on first use and reopened after it closes. */
  connection(nodeId: number, pool: ConnectionPool = 'default'): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientStateError('the client is closed'));
    const key = `${nodeId}/${pool}`;
    const existing = this.connections.get(key);
    if (existing) return existing;
    const broker = this.brokers.get(nodeId);
    if (!broker) return Promise.reject(new ProtocolError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`));
    const opening = Connection.connect(broker.host, broker.port, this.options).then((conn) => {
      conn.onClose(() => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
      });
      return conn;
    });
    opening.catch(() => this.connections.delete(key));
    this.connections.set(key, opening);
    return opening;
  }

  /** A connection to any reachable broker: a known one first, else the bootstrap list. */
  async anyConnection(): Promise<Connection> {
    // After close(), background work (e.g. a metadata refresh) must not open a socket that nobody closes.
    if (this.closed) throw new ClientStateError('the client is closed');
    const errors: string[] = [];
    for (const nodeId of this.brokers.keys()) {
      try {
        return await this.connection(nodeId);
      } catch (err) {
        if (isAuthenticationError(err)) throw err;
        errors.push(unreachable(err));
      }
    }
    for (const { host, port } of this.bootstrap) {
      const key = `bootstrap:${host}:${port}`;
      let opening = this.connections.get(key);
      if (!opening) {
        opening = Connection.connect(host, port, this.options);
        const p = opening;
        opening.then((c) => c.onClose(() => this.connections.get(key) === p && this.connections.delete(key)), () => this.connections.delete(key));
        this.connections.set(key, opening);
      }
      try {
        return await opening;
      } catch (err) {
        // Wrong credentials or mechanism: say so at once, not "cannot reach", and do not retry.
        if (isAuthenticationError(err)) throw err;
        errors.push(unreachable(err, `${host}:${port}`));
      }
    }
    const list = this.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ');
    // Each address once, with why: "cannot reach a:9092 (ECONNREFUSED), b:9092 (no answer within 10000 ms)".
    throw new ConnectionError(list, `cannot reach ${errors.join(', ')} — is \`tributary start\` running, and is --bootstrap-server right?`);
  }

  /**
   * Loads metadata for some topics ([] = brokers only, null = every topic). Concurrent callers share
   * one request when they ask for the same thing.
   */
  async refreshMetadata(topics: string[] | null = null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const conn = await withRetry(() => this.anyConnection(), this.retryOptions());
    const res = await conn.send(MetadataRequest, MetadataResponse, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
    }, { minVersion: 1 });
    // v13+: a top-level error (REBOOTSTRAP_REQUIRED) means the answer carries no usable metadata.
    if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, 'Metadata');
    this.applyMetadata(res, topics === null);
    return res;
  }

  private applyMetadata(res: MetadataResponse, full: boolean): void {
    this.brokers.clear();
    for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    this.clusterId = res.clusterId;
    this.controllerId = res.controllerId;
    if (full) this.topics.clear();
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topics.delete(t.name);
        continue;
      }
      const partitions: PartitionInfo[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }
      this.topics.set(t.name, { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions });
    }
    this.metadataAt = Date.now();
  }

  /** Drops cached metadata so the next lookup asks a broker (after NOT_LEADER_OR_FOLLOWER and friends). */
  invalidateMetadata(topic?: string): void {
    if (topic === undefined) this.metadataAt = 0;
    else this.topics.delete(topic);
  }

  /**
   * A topic's metadata, fetched when missing or stale. Throws UNKNOWN_TOPIC_OR_PARTITION (retriable,
   * so callers' retry loops wait for a topic that is being created) when the broker does not know it.
   */
  async topic(name: string, allowAutoTopicCreation = false): Promise<TopicInfo> {
    const cached = this.topics.get(name);
    if (cached && Date.now() - this.metadataAt < this.options.metadataMaxAgeMs) return cached;
    const res = await this.sharedRefresh(name, allowAutoTopicCreation);
    const t = res.topics.find((x) => x.name === name);
    if (!t) throw new ProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}'`);
    if (t.errorCode !== 0) throw new ProtocolError(t.errorCode, `topic '${name}'`);
    return this.topics.get(name)!;
  }

  private readonly inflightTopicRefresh = new Map<string, Promise<MetadataResponse>>();
  private sharedRefresh(name: string, allowAutoTopicCreation: boolean): Promise<MetadataResponse> {
    const key = `${allowAutoTopicCreation ? 1 : 0}:${name}`;
    let p = this.inflightTopicRefresh.get(key);
    if (!p) {
      p = this.refreshMetadata([name], allowAutoTopicCreation).finally(() => this.inflightTopicRefresh.delete(key));
      this.inflightTopicRefresh.set(key, p);
    }
    return p;
  }

  /** The leader of a partition; throws a retriable error when it has none or is unknown. */
  async leaderFor(topic: string, partition: number): Promise<number> {
    const t = await this.topic(topic);
    const p = t.partitions[partition];
    if (!p) throw new ProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition}`);
    if (p.leader < 0) {
      this.invalidateMetadata(topic);
      throw new ProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition}`);
    }
    return p.leader;
  }

  /** The coordinator of a group (keyType GROUP) or transactional id (TRANSACTION), cached. */
  async findCoordinator(key: string, keyType: number = CoordinatorType.GROUP): Promise<number> {
    const cacheKey = `${keyType}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached !== undefined && this.brokers.has(cached)) return cached;
    return withRetry(async () => {
      const conn = await this.anyConnection();
      const version = conn.versionFor(FindCoordinatorRequest);
      const res = await conn.send(FindCoordinatorRequest, FindCoordinatorResponse, { key, keyType, coordinatorKeys: [key] }, { version });
      const c = version >= 4
        ? res.coordinators[0] ?? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, nodeId: -1, host: '', port: 0 }
        : res;
      if (c.errorCode !== 0) throw new ProtocolError(c.errorCode, `FindCoordinator for '${key}'`, c.errorMessage);
      this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: this.brokers.get(c.nodeId)?.rack ?? null });
      this.coordinators.set(cacheKey, c.nodeId);
      return c.nodeId;
    }, this.retryOptions());
  }

  /** Forget a coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE. */
  invalidateCoordinator(key: string, keyType: number = CoordinatorType.GROUP): void {
    this.coordinators.delete(`${keyType}:${key}`);
  }

  /** A connection to the coordinator of `key`. */
  async coordinatorConnection(key: string, keyType: number = CoordinatorType.GROUP, pool: ConnectionPool = 'coordinator'): Promise<Connection> {
    return this.connection(await this.findCoordinator(key, keyType), pool);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const p of all) {
      try {
        (await p).close();
      } catch {
        // a connection that never opened has nothing to close
      }
    }
  }
}

/** Errors after which a coordinator must be looked up again. */
export function isCoordinatorError(err: unknown): boolean {
  return err instanceof ProtocolError && (err.errorCode === ErrorCode.NOT_COORDINATOR || err.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE);
}

/** Errors after which partition leadership must be looked up again. */
export function isMetadataError(err: unknown): boolean {
  return err instanceof ProtocolError && (
    err.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    err.errorCode === ErrorCode.LEADER_NOT_AVAILABLE ||
    err.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    err.errorCode === ErrorCode.FENCED_LEADER_EPOCH ||
    err.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH
    // A broker that stopped answering (paused, cut off) may have lost its leadership meanwhile: as Kafka's clients
    // do after a request timeout, look the leaders up again.
  ) || err instanceof ConnectionError || err instanceof RequestTimeoutError;
}

/** A SASL failure (or a broker refusing the mechanism): retrying with the same settings cannot succeed. */
export function isAuthenticationError(err: unknown): boolean {
  return err instanceof ProtocolError && (
    err.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED ||
    err.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM ||
    err.errorCode === ErrorCode.ILLEGAL_SASL_STATE
  );
}

/** `address (reason)` for a failed connection attempt, naming the address once. */
function unreachable(err: unknown, fallbackAddress?: string): string {
  if (err instanceof ConnectionError && err.reason !== undefined) return `${err.address} (${err.reason})`;
  const address = err instanceof ConnectionError ? err.address : fallbackAddress;
  const message = err instanceof Error ? err.message : String(err);
  if (address === undefined) return message;
  const reason = message.startsWith(address) ? message.slice(address.length).trim() : message;
  return `${address} (${reason})`;
}
