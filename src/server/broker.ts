/**
 * Wires a broker together: configuration, topic store, log manager, handlers, and the TCP listener.
 * Also the library entry point: `await startBroker({ port: 0, dataDir })` runs a real broker in-process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { constants as cryptoConstants } from 'node:crypto';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { resolve } from 'node:path';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { resolveBrokerConfig, getInt, type BrokerConfig } from './config.js';
import { resolveListeners, checkInterBrokerListener, type ListenerEndpoint, type ListenerPlan, type ConnectionSession } from './listeners.js';
import { buildListenerTls, tlsPrincipal, watchFiles, type ListenerTls } from './tls.js';
import type { SaslOptions, SslOptions } from '../cluster/inter-broker.js';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { TopicStore, META_PROPERTIES_FILE, parseProperties, randomKafkaUuid } from '../storage/topic-store.js';
import type { EtcdClusterStore } from '../cluster/etcd-store.js';
import { ClusterMode, imageTopics } from './cluster-mode.js';
import { LocalReplication, type Replication } from './replication.js';
import { LogManager } from '../storage/log-manager.js';
import { DataDirLock, explainDataDirError } from '../storage/data-dir-lock.js';
import { TopicManager } from './topic-manager.js';
import { LocalPartitions } from './local-partitions.js';
import { FetchSessionCache } from './fetch-session.js';
import { openAuditTrail } from './audit-trail.js';
import { fileAclBackend, openAuthorizer } from './authorization.js';
import { buildListenerSasl, interBrokerSasl, type ListenerSasl } from './sasl/mechanisms.js';
import { SaslAuthenticator } from './sasl/authenticator.js';
import { ClientQuotaStore, FileClientQuotaBackend } from '../security/client-quotas.js';
import { ClientQuotaManager } from './client-quota-manager.js';
import { ConnectionQuotas } from './connection-quotas.js';
import { createRegistry } from './registry.js';
import { Connection } from './connection.js';
import { ProducerIdManager } from '../coordinator/producer-id-manager.js';
import { GroupCoordinatorService } from '../coordinator/group/group-coordinator-service.js';
import { TransactionCoordinatorService, transactionServiceConfig } from '../coordinator/transaction/transaction-coordinator-service.js';
import { SystemScheduler } from '../coordinator/scheduler.js';
import type { BrokerContext } from './broker-context.js';
import { GroupConfigManager } from './group-configs.js';
import { DynamicBrokerConfig } from './dynamic-configs.js';
import type { MetricsServer } from '../metrics/http.js';

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
  /** How often SSL listeners check their keystore/truststore files for changes (default 5000 ms). */
  sslReloadIntervalMs?: number;
}

/** A bound listener. */
export interface BoundListener extends ListenerEndpoint {
  /** The advertised endpoint (what Metadata answers on this listener). */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** `host:port`, ready for a client's bootstrap servers. */
  readonly address: string;
  /** Every listener, in `listeners` order (host/port/address above are the first one's). */
  readonly listeners: readonly BoundListener[];
  readonly nodeId: number;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly config: BrokerConfig;
  /** The broker's services (topics, coordinators…), for in-process tests and tools. */
  readonly context: BrokerContext;
  /** The Prometheus endpoint (http://host:port/metrics) when metrics.port is set; undefined while metrics are off. */
  readonly metricsUrl?: string;
  /** Stops accepting, lets in-flight requests finish, flushes, writes the clean-shutdown marker. */
  close(): Promise<void>;
}

const SHUTDOWN_BUDGET_MS = 4000;

export async function startBroker(opts: StartBrokerOptions = {}): Promise<RunningBroker> {
  const started = Date.now();
  const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const { values: config, explicitKeys, unknownKeys } = resolveBrokerConfig({ file: opts.configFile, overrides: opts.config });
  for (const key of unknownKeys) logger.warn({ key }, `The configuration '${key}' was supplied but isn't a known config.`);

  const plan = resolveListeners(config, { host: opts.host, port: opts.port });
  const clustered = !!config.get('etcd.connect');
  const interBroker = checkInterBrokerListener(plan, clustered);
  // TLS and SASL settings are checked (files read, JAAS configs parsed) before anything else starts.
  const tls = new Map<string, ListenerTls>();
  const sasl = new Map<string, ListenerSasl>();
  for (const l of plan.bind) {
    if (l.securityProtocol === 'SSL' || l.securityProtocol === 'SASL_SSL') tls.set(l.name, buildListenerTls(config, l.name, l.securityProtocol));
    if (l.securityProtocol === 'SASL_PLAINTEXT' || l.securityProtocol === 'SASL_SSL') sasl.set(l.name, buildListenerSasl(config, l.name));
  }
  // In a cluster, brokers reach each other's SASL inter-broker listener with the listener's own JAAS username/password.
  const interBrokerSaslOptions = clustered && sasl.has(interBroker.name) ? interBrokerSasl(config, sasl.get(interBroker.name)!) : undefined;
  const host = plan.bind[0]!.host === '' ? '0.0.0.0' : plan.bind[0]!.host;
  const port = plan.bind[0]!.port;
  const dataDir = resolve(opts.dataDir ?? config.get('log.dirs')?.split(',')[0] ?? config.get('log.dir') ?? './data');
  const nodeId = getInt(config, 'node.id');
  // Before anything in the directory is read or written: a second broker on it would "recover" the live
  // segments and lose acknowledged records.
  const lock = DataDirLock.acquire(dataDir);
  try {
    return await startLocked({ started, logger, config, explicitKeys, host, port, dataDir, nodeId, lock, plan, interBroker, tls, sasl, interBrokerSasl: interBrokerSaslOptions, sslReloadIntervalMs: opts.sslReloadIntervalMs ?? 5000 });
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
  plan: ListenerPlan;
  /** The listener other brokers use (checked against the plan once, at start). */
  interBroker: ListenerEndpoint;
  tls: Map<string, ListenerTls>;
  /** SASL settings of the SASL_PLAINTEXT / SASL_SSL listeners. */
  sasl: Map<string, ListenerSasl>;
  /** How this broker authenticates to a SASL inter-broker listener (a cluster only). */
  interBrokerSasl: SaslOptions | undefined;
  sslReloadIntervalMs: number;
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
    // Loaded only for a cluster: etcd3 (gRPC, protobufjs) costs ~100 ms of start-up that a single broker never uses.
    const { EtcdClusterStore } = await import('../cluster/etcd-store.js');
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
  const { started, logger, config, explicitKeys, host, port, dataDir, nodeId, lock, plan, interBroker } = r;
  const store = await TopicStore.open(dataDir, { nodeId, clusterId });
  // Metrics only with metrics.port: the request path then reports to them (BrokerContext.metrics).
  // prom-client and the metrics modules are loaded only when metrics are on.
  const metrics = config.has('metrics.port') ? new (await import('../metrics/broker-metrics.js')).BrokerMetrics({ nodeId, clusterId: store.clusterId }) : undefined;
  // Dynamic broker configs apply before the logs open; later changes update `config` and brokerDefaults in place.
  // In a cluster they live in etcd (every broker applies the image's default and its own entry).
  const clusterConfigs = etcd ? { brokerConfigs: etcd.image().brokerConfigs, update: etcd.updateBrokerConfig.bind(etcd) } : undefined;
  const dynamicConfigs = new DynamicBrokerConfig({ dataDir, nodeId, config, explicitKeys, logger, cluster: clusterConfigs });
  etcd?.onImage((image) => dynamicConfigs.applyClusterConfigs(image.brokerConfigs));
  const brokerDefaults: Record<string, string> = {};
  dynamicConfigs.mirrorInto(brokerDefaults);
  const logs = new LogManager({
    dataDir, brokerDefaults, logger, replicated: etcd !== null, onFlush: metrics?.onLogFlush,
    maxOpenSegmentDescriptors: config.has('log.segment.descriptors.max') ? getInt(config, 'log.segment.descriptors.max') : undefined,
  });
  dynamicConfigs.onChange(() => logs.reconfigureAll());
  if (etcd) {
    await logs.load(imageTopics(etcd.image(), nodeId).map((t) => ({ name: t.name, partitions: t.partitions, config: t.config, partitionIds: t.localPartitions })));
  } else {
    await logs.load(store.topics().map((t) => ({ name: t.name, partitions: t.partitions, config: t.config })));
  }
  const topics = new TopicManager(store, logs, brokerDefaults);
  // advertised.listeners: what clients and other brokers connect to (a port of 0 there means the bound port).
  // The registration's host/port are the inter-broker listener's; Metadata answers each listener's own.
  const advertisedHost = interBroker.host;
  const rack = config.get('broker.rack') || null;
  const advertisedListeners: ListenerEndpoint[] = plan.advertised.map((a) => ({ ...a }));
  const self: { nodeId: number; host: string; port: number; rack: string | null; listeners: ListenerEndpoint[] } = { nodeId, host: advertisedHost, port, rack, listeners: advertisedListeners };
  const interBrokerSsl = interBroker.securityProtocol === 'SSL' || interBroker.securityProtocol === 'SASL_SSL' ? interBrokerClientSsl(r.tls.get(interBroker.name)!) : undefined;
  let cluster: ClusterMode | null = null;
  let replication: Replication;
  if (etcd) {
    cluster = new ClusterMode({ store: etcd, nodeId, config, topics, log: (t, p) => logs.getLog(t, p), logger, interBrokerSsl, interBrokerSasl: r.interBrokerSasl });
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
  const authorizer = await openAuthorizer(config, () => replication.aclBackend?.() ?? fileAclBackend(dataDir), () => context.audit);
  const handlers = createRegistry({ unstableApiVersions: config.get('unstable.api.versions.enable') === 'true' });
  // Client quotas live with the cluster's metadata: etcd in a cluster, the data dir on one node.
  const quotaStore = await ClientQuotaStore.open(replication.clientQuotaBackend?.() ?? new FileClientQuotaBackend(dataDir));

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
    audit: openAuditTrail({ config, dataDir, nodeId, logger, topics, replication, appendLocal: partitions.append.bind(partitions), produceRemote: cluster ? cluster.produceRemote.bind(cluster) : null }),
    authorizer,
    quotas: new ClientQuotaManager(quotaStore, config),
    metrics,
    now: Date.now,
  };
  if (metrics) {
    metrics.attach(context);
    for (const l of plan.bind) metrics.listener(l.name);
  }

  const shutdown = new AbortController();
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();
  const limits = {
    maxRequestBytes: getInt(config, 'socket.request.max.bytes'),
    maxQueuedRequests: getInt(config, 'queued.max.requests'),
    idleMs: Number(config.get('connections.max.idle.ms')),
  };
  const servers: Array<Server | TlsServer> = [];
  const stopWatching: Array<() => void> = [];
  const connectionQuotas = new ConnectionQuotas(config, plan.bind.length > 1 ? interBroker.name : null, quotaStore);
  const accept = (socket: Socket, session: ConnectionSession): void => {
    sockets.add(socket);
    const ip = socket.remoteAddress ?? '';
    const admitted = connectionQuotas.admit(session.listenerName, ip, Date.now());
    if (!admitted.ok) {
      logger.warn({ remote: `${ip}:${socket.remotePort}`, listener: session.listenerName }, `connection refused: ${admitted.reason}`);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      if (admitted.closeAfterMs > 0) {
        socket.pause();
        setTimeout(() => socket.destroy(), admitted.closeAfterMs).unref();
      } else {
        socket.destroy();
      }
      return;
    }
    let conn: Connection | undefined;
    const listenerSasl = r.sasl.get(session.listenerName);
    // On a SASL listener the principal comes from SASL alone (a TLS client certificate does not authenticate).
    if (listenerSasl) session.principal = 'User:ANONYMOUS';
    socket.on('close', () => {
      sockets.delete(socket);
      if (conn) connections.delete(conn);
      connectionQuotas.release(session.listenerName, ip);
    });
    const serve = (): void => {
      if (socket.destroyed || shutdown.signal.aborted) return;
      const authenticator = listenerSasl ? new SaslAuthenticator(listenerSasl, session, context) : undefined;
      conn = new Connection(socket, context, handlers, limits, logger, shutdown.signal, session, authenticator);
      connections.add(conn);
      if (socket.isPaused()) socket.resume();
    };
    // Over max.connection.creation.rate (KIP-612) the connection waits, unread, as a throttled acceptor would.
    if (admitted.delayMs > 0) {
      socket.pause();
      socket.on('error', () => undefined);
      setTimeout(serve, admitted.delayMs).unref();
    } else {
      serve();
    }
  };
  const bound: BoundListener[] = [];
  let metricsServer: MetricsServer | undefined;
  const closeServers = (): Promise<void> => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
  try {
    for (const l of plan.bind) {
      const server = r.tls.has(l.name) ? tlsServer(l, r.tls.get(l.name)!, accept, logger, r.sslReloadIntervalMs, config, stopWatching) : createServer((socket) => accept(socket, { listenerName: l.name, securityProtocol: l.securityProtocol, principal: 'User:ANONYMOUS' }));
      servers.push(server);
      const bindHost = l.host === '' ? '0.0.0.0' : l.host;
      await new Promise<void>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(l.port, bindHost, () => {
          server.off('error', reject);
          resolveListen();
        });
      }).catch((err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new Error(`Cannot listen on ${bindHost}:${l.port} (listener ${l.name}): the port is in use (is another broker running? pick another with --port)`, { cause: err });
        throw err;
      });
      const addr = server.address();
      const boundPort = typeof addr === 'object' && addr ? addr.port : l.port;
      const adv = advertisedListeners.find((a) => a.name === l.name)!;
      const advertisedPort = adv.port > 0 ? adv.port : boundPort;
      advertisedListeners[advertisedListeners.indexOf(adv)] = { ...adv, port: advertisedPort };
      bound.push({ ...l, host: bindHost, port: boundPort, advertisedHost: adv.host, advertisedPort });
    }
    if (metrics) metricsServer = await (await import('../metrics/http.js')).startMetricsServer(metrics, config.get('metrics.host') || '127.0.0.1', getInt(config, 'metrics.port'), logger);
  } catch (err) {
    for (const stop of stopWatching) stop();
    await closeServers();
    await logs.close();
    throw err;
  }
  const ib = advertisedListeners.find((a) => a.name === interBroker.name)!;
  const boundPort = bound[0]!.port;
  const advertisedPort = ib.port;
  context.advertisedPort = advertisedPort;
  self.port = advertisedPort;
  logs.startBackgroundTasks();
  if (cluster) await cluster.register({ host: advertisedHost, port: advertisedPort, rack, listeners: advertisedListeners });
  const address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  const listening = bound.map((l) => `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`).join(',');
  logger.info({ address, listeners: listening, dataDir, nodeId, clusterId: store.clusterId, metrics: metricsServer?.url, startupMs: Date.now() - started }, `Tributary broker listening on ${bound.length === 1 && bound[0]!.securityProtocol === 'PLAINTEXT' ? address : listening}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      if (cluster) await cluster.controlledShutdown(SHUTDOWN_BUDGET_MS);
      for (const stop of stopWatching) stop();
      const serverClosed = closeServers();
      const metricsClosed = metricsServer?.close();
      shutdown.abort();
      const drained = Promise.all([...connections].map((c) => c.shutdown()));
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), SHUTDOWN_BUDGET_MS).unref()),
      ]);
      if (timedOut) logger.warn('in-flight requests did not finish in time; closing connections');
      for (const s of sockets) s.destroy();
      await serverClosed;
      await metricsClosed;
      groups.close();
      quotaStore.close();
      try {
        await context.audit.close?.();
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

  return { host, port: boundPort, address, listeners: bound, nodeId, clusterId: store.clusterId, dataDir, config, context, metricsUrl: metricsServer?.url, close };
}

/**
 * An SSL listener: node:tls with the listener's PEM settings, a handshake timeout, the principal from the
 * client certificate, and the secure context rebuilt when the key/certificate/CA files change.
 */
function tlsServer(
  l: ListenerEndpoint, settings: ListenerTls, accept: (socket: Socket, session: ConnectionSession) => void,
  logger: Logger, reloadIntervalMs: number, config: BrokerConfig, stopWatching: Array<() => void>,
): TlsServer {
  let current = settings;
  const server = createTlsServer({
    ...current.context,
    requestCert: current.clientAuth !== 'none',
    rejectUnauthorized: current.clientAuth === 'required',
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    // With client certificates, no TLS session tickets: every connection presents its certificate and has it checked
    // against the current truststore (a resumed session would skip that, even after the truststore was reloaded).
    secureOptions: current.clientAuth !== 'none' ? cryptoConstants.SSL_OP_NO_TICKET : 0,
  }, (socket: TLSSocket) => {
    let principal: string;
    try {
      // ssl.client.auth=requested: a certificate is optional, but one that is presented must be trusted.
      if (!socket.authorized && socket.getPeerX509Certificate()) throw new Error(`untrusted client certificate (${String(socket.authorizationError)})`);
      principal = tlsPrincipal(socket, current.principalMapper);
    } catch (err) {
      logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, listener: l.name, err: (err as Error).message }, 'closing TLS connection: client certificate refused');
      socket.destroy();
      return;
    }
    accept(socket, { listenerName: l.name, securityProtocol: l.securityProtocol, principal });
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    // A TCP probe (a peer's liveness watch) that never starts a handshake is not worth a warning.
    const quiet = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || err.code === 'ECONNRESET';
    logger[quiet ? 'debug' : 'warn']({ remote, listener: l.name, code: err.code, reason: err.message }, 'closing connection: TLS handshake failed');
    socket.destroy();
  });
  if (current.files.length > 0) {
    stopWatching.push(watchFiles(current.files, reloadIntervalMs, () => {
      try {
        const next = buildListenerTls(config, l.name, l.securityProtocol === 'SASL_SSL' ? 'SASL_SSL' : 'SSL');
        server.setSecureContext(next.context);
        current = next;
        logger.info({ listener: l.name, files: next.files }, 'SSL certificates reloaded');
      } catch (err) {
        logger.warn({ listener: l.name, err: (err as Error).message }, 'SSL certificates changed but cannot be loaded; keeping the previous ones');
      }
    }));
  }
  return server;
}

const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** How this broker connects to other brokers' SSL inter-broker listener: the listener's truststore and keystore. */
function interBrokerClientSsl(settings: ListenerTls): SslOptions {
  // The listener's own keystore and truststore, as loaded at start (the peer's host name is checked against its certificate).
  return { ca: settings.context.ca as string | undefined, cert: settings.context.cert as string, key: settings.context.key as string, passphrase: settings.context.passphrase };
}
