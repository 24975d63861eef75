/**
 * Wires a broker together: configuration, topic store, log manager, handlers, and the TCP listener.
 * Also the library entry point: `await startBroker({ port: 0, dataDir })` runs a real broker in-process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { resolveBrokerConfig, parseListener, getInt, type BrokerConfig } from './config.js';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { TopicStore, META_PROPERTIES_FILE, parseProperties, randomKafkaUuid } from '../storage/topic-store.js';
import { EtcdClusterStore } from '../cluster/etcd-store.js';
import { ClusterMode, imageTopics } from './cluster-mode.js';
import { LocalReplication, type Replication } from './replication.js';
import { LogManager } from '../storage/log-manager.js';
import { DataDirLock, explainDataDirError } from '../storage/data-dir-lock.js';
import { TopicManager } from './topic-manager.js';
import { LocalPartitions } from './local-partitions.js';
import { FetchSessionCache } from './fetch-session.js';
import { createRegistry } from './registry.js';
import { Connection } from './connection.js';
import { ProducerIdManager } from '../coordinator/producer-id-manager.js';
import { GroupCoordinatorService } from '../coordinator/group/group-coordinator-service.js';
import { TransactionCoordinatorService, transactionServiceConfig } from '../coordinator/transaction/transaction-coordinator-service.js';
import { SystemScheduler } from '../coordinator/scheduler.js';
import type { BrokerContext } from './broker-context.js';
import { GroupConfigManager } from './group-configs.js';
import { DynamicBrokerConfig } from './dynamic-configs.js';

export interface StartBrokerOptions {
  /** Listen address; defaults to the `listeners` config (PLAINTEXT://127.0.0.1:9092). */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Data directory; defaults to log.dirs / log.dir (./data). */
  dataDir?: string;
  /** Broker config with Kafka's key names, applied over the config file. */
  config?: Record<string, string | number | boolean>;
  /** A server.properties-style file. */
  configFile?: string;
  logLevel?: LogLevel;
  logger?: Logger;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** `host:port`, ready for a client's bootstrap servers. */
  readonly address: string;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly config: BrokerConfig;
  /** The broker's services (topics, coordinators…), for in-process tests and tools. */
  readonly context: BrokerContext;
  /** Stops accepting, lets in-flight requests finish, flushes, writes the clean-shutdown marker. */
  close(): Promise<void>;
}

const SHUTDOWN_BUDGET_MS = 4000;

export async function startBroker(opts: StartBrokerOptions = {}): Promise<RunningBroker> {
  const started = Date.now();
  const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const { values: config, explicitKeys, unknownKeys } = resolveBrokerConfig({ file: opts.configFile, overrides: opts.config });
  for (const key of unknownKeys) logger.warn({ key }, `The configuration '${key}' was supplied but isn't a known config.`);

  const listener = parseListener(config.get('listeners')!);
  const host = opts.host ?? listener.host;
  const port = opts.port ?? listener.port;
  const dataDir = resolve(opts.dataDir ?? config.get('log.dirs')?.split(',')[0] ?? config.get('log.dir') ?? './data');
  const nodeId = getInt(config, 'node.id');
  // Before anything in the directory is read or written: a second broker on it would "recover" the live
  // segments and lose acknowledged records.
  const lock = DataDirLock.acquire(dataDir);
  try {
    return await startLocked({ started, logger, config, explicitKeys, host, port, dataDir, nodeId, lock });
  } catch (err) {
    lock.release();
    throw explainDataDirError(err, dataDir);
  }
}

/** What startBroker resolved before taking the lock. */
interface Resolved {
  started: number;
  logger: Logger;
  config: BrokerConfig;
  explicitKeys: ReadonlySet<string>;
  host: string;
  port: number;
  dataDir: string;
  nodeId: number;
  lock: DataDirLock;
}

/** The cluster id a data directory already belongs to, if it has one. */
function storedClusterId(dataDir: string): string | undefined {
  try {
    return parseProperties(fs.readFileSync(join(dataDir, META_PROPERTIES_FILE), 'utf8')).get('cluster.id');
  } catch {
    return undefined;
  }
}

async function startLocked(r: Resolved): Promise<RunningBroker> {
  const { logger, config, dataDir } = r;
  // A cluster (etcd.connect): etcd holds the cluster id (created by the first broker) and every topic.
  const etcdConnect = config.get('etcd.connect');
  let etcd: EtcdClusterStore | null = null;
  let clusterId: string | undefined;
  if (etcdConnect) {
    etcd = await EtcdClusterStore.connect({
      endpoints: etcdConnect.split(',').map((e) => e.trim()).filter((e) => e !== ''),
      prefix: config.get('etcd.prefix') ?? '/tributary',
      leaseTtlSeconds: Math.ceil(getInt(config, 'broker.session.timeout.ms') / 1000),
      logger,
    });
    try {
      clusterId = await etcd.ensureClusterId(storedClusterId(dataDir) ?? randomKafkaUuid());
    } catch (err) {
      await etcd.close();
      throw err;
    }
  }
  try {
    return await startWithStore(r, etcd, clusterId);
  } catch (err) {
    await etcd?.close().catch(() => undefined);
    throw err;
  }
}

async function startWithStore(r: Resolved, etcd: EtcdClusterStore | null, clusterId: string | undefined): Promise<RunningBroker> {
  const { started, logger, config, explicitKeys, host, port, dataDir, nodeId, lock } = r;
  const store = await TopicStore.open(dataDir, { nodeId, clusterId });
  // Dynamic broker configs apply before the logs open; later changes update `config` and brokerDefaults in place.
  // In a cluster they live in etcd (every broker applies the image's default and its own entry).
  const clusterConfigs = etcd ? { brokerConfigs: etcd.image().brokerConfigs, update: etcd.updateBrokerConfig.bind(etcd) } : undefined;
  const dynamicConfigs = new DynamicBrokerConfig({ dataDir, nodeId, config, explicitKeys, logger, cluster: clusterConfigs });
  etcd?.onImage((image) => dynamicConfigs.applyClusterConfigs(image.brokerConfigs));
  const brokerDefaults: Record<string, string> = {};
  dynamicConfigs.mirrorInto(brokerDefaults);
  const logs = new LogManager({ dataDir, brokerDefaults, logger, replicated: etcd !== null });
  dynamicConfigs.onChange(() => logs.reconfigureAll());
  if (etcd) {
    await logs.load(imageTopics(etcd.image(), nodeId).map((t) => ({ name: t.name, partitions: t.partitions, config: t.config, partitionIds: t.localPartitions })));
  } else {
    await logs.load(store.topics().map((t) => ({ name: t.name, partitions: t.partitions, config: t.config })));
  }
  const topics = new TopicManager(store, logs, brokerDefaults);
  let advertisedHost = host === '0.0.0.0' || host === '::' ? hostname() : host;
  const advertised = config.get('advertised.listeners');
  // advertised.listeners: what clients and other brokers connect to (a port of 0 there means the bound port).
  const advertisedListener = advertised ? parseListener(advertised) : undefined;
  if (advertisedListener) advertisedHost = advertisedListener.host;
  const rack = config.get('broker.rack') || null;
  const self = { nodeId, host: advertisedHost, port, rack };
  let cluster: ClusterMode | null = null;
  let replication: Replication;
  if (etcd) {
    cluster = new ClusterMode({ store: etcd, nodeId, config, topics, log: (t, p) => logs.getLog(t, p), logger });
    topics.backend = cluster;
    replication = cluster;
  } else {
    replication = new LocalReplication(() => self, (t) => topics.get(t)?.partitions);
  }
  const internalRf = (name: string): number =>
    etcd ? getInt(config, name === '__transaction_state' ? 'transaction.state.log.replication.factor' : 'offsets.topic.replication.factor') : 1;
  const partitions = new LocalPartitions(topics, replication, internalRf, nodeId, cluster ? (leader, t, p, m) => cluster!.writeRemoteMarker(leader, t, p, m) : null);
  const groupConfigs = new GroupConfigManager(config, dataDir);
  const groups = new GroupCoordinatorService(partitions, config, new SystemScheduler(), logger, groupConfigs);
  // A cluster's producer ids are unique across brokers: blocks come from a counter in etcd.
  const producerIds = etcd ? ProducerIdManager.fromBlockSource((size) => etcd.allocateProducerIdBlock(size)) : ProducerIdManager.open(dataDir);
  await producerIds.prime();
  const transactions = new TransactionCoordinatorService(partitions, groups, transactionServiceConfig(config), producerIds, new SystemScheduler(), logger);
  if (cluster) {
    // Coordinators load the internal-topic partitions this broker leads, as leadership arrives and moves (and
    // only those: never every partition, as a single node's first request would make them).
    groups.runtime.electedFromOutside();
    transactions.runtime.electedFromOutside();
    await cluster.start(groups, transactions);
  } else {
    await groups.runtime.load();
    await transactions.load();
  }
  const handlers = createRegistry({ unstableApiVersions: config.get('unstable.api.versions.enable') === 'true' });

  const context: BrokerContext = {
    nodeId,
    clusterId: store.clusterId,
    advertisedHost,
    advertisedPort: port,
    config,
    explicitConfigKeys: explicitKeys,
    dynamicConfigs,
    topics,
    fetchSessions: new FetchSessionCache(getInt(config, 'max.incremental.fetch.session.cache.slots'), Date.now),
    handlers,
    dataDir,
    producerIds,
    groups,
    groupConfigs,
    transactions,
    replication,
    now: Date.now,
  };

  const shutdown = new AbortController();
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();
  const limits = {
    maxRequestBytes: getInt(config, 'socket.request.max.bytes'),
    maxQueuedRequests: getInt(config, 'queued.max.requests'),
    idleMs: Number(config.get('connections.max.idle.ms')),
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const conn = new Connection(socket, context, handlers, limits, logger, shutdown.signal);
    connections.add(conn);
    socket.on('close', () => {
      sockets.delete(socket);
      connections.delete(conn);
    });
  });
  server.maxConnections = getInt(config, 'max.connections');
  dynamicConfigs.onChange(() => (server.maxConnections = getInt(config, 'max.connections')));
  server.on('drop', (info) => logger.warn({ remote: info?.remoteAddress }, 'connection refused: max.connections reached'));

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolveListen();
      });
    });
  } catch (err) {
    await logs.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new Error(`Cannot listen on ${host}:${port}: the port is in use (is another broker running? pick another with --port)`, { cause: err });
    throw err;
  }
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  const advertisedPort = advertisedListener && advertisedListener.port > 0 ? advertisedListener.port : boundPort;
  context.advertisedPort = advertisedPort;
  self.port = advertisedPort;
  logs.startBackgroundTasks();
  if (cluster) await cluster.register({ host: advertisedHost, port: advertisedPort, rack });
  const address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  logger.info({ address, dataDir, nodeId, clusterId: store.clusterId, startupMs: Date.now() - started }, `Tributary broker listening on ${address}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      if (cluster) await cluster.controlledShutdown(SHUTDOWN_BUDGET_MS);
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      shutdown.abort();
      const drained = Promise.all([...connections].map((c) => c.shutdown()));
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), SHUTDOWN_BUDGET_MS).unref()),
      ]);
      if (timedOut) logger.warn('in-flight requests did not finish in time; closing connections');
      for (const s of sockets) s.destroy();
      await serverClosed;
      groups.close();
      try {
        await cluster?.close();
        await transactions.close();
        await logs.close();
      } finally {
        lock.release();
      }
      logger.info('shut down cleanly');
    })();
    return closing;
  };

  return { host, port: boundPort, address, nodeId, clusterId: store.clusterId, dataDir, config, context, close };
}
