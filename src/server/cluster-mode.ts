/**
 * A broker in a cluster (docs/CLUSTER.md): etcd (EtcdClusterStore) holds the metadata, the ReplicaManager leads
 * and follows this broker's replicas, the Controller runs while this broker is elected.
 *
 * ClusterMode is the broker's Replication (leadership and commitment for the handlers, brokers and partitions for
 * Metadata) and its TopicBackend (topic changes are written to etcd and come back through the image). Every image
 * from the watch is applied in order, one at a time: topics and local logs first (TopicManager.applyImage), then
 * leadership (ReplicaManager.applyImage), then the coordinators of the internal-topic partitions whose leadership
 * moved (onElection / onResignation).
 */
import { randomUUID } from 'node:crypto';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Log } from '../storage/log.js';
import type { EtcdClusterStore } from '../cluster/etcd-store.js';
import type { MetadataImage, PartitionState } from '../cluster/metadata.js';
import { PeerWatch } from '../cluster/peer-watch.js';
import type { CredentialBackend } from '../security/credential-store.js';
import type { AclBackend } from '../security/acl-store.js';
import type { ClientQuotaBackend } from '../security/client-quotas.js';
import { ReplicaManager } from '../cluster/replica-manager.js';
import { InterBrokerChannels } from '../cluster/inter-broker.js';
import { TokenBucket, UNLIMITED_RATE, isThrottledReplica, parseRate } from '../cluster/replication-throttle.js';
import type { TxnMarker } from '../coordinator/coordinator-partitions.js';
import { Controller } from '../cluster/controller.js';
import { assignReplicas, initialPartitionState, validateCreatePartitionsAssignments, validateCreateTopicAssignments } from '../cluster/replica-assignment.js';
import { epochError, type BrokerEndpoint, type PartitionInfo, type Replication } from './replication.js';
import type { ImageTopic, TopicBackend, TopicManager } from './topic-manager.js';
import type { BrokerConfig } from './config.js';
import { getInt } from './config.js';
import type { ListenerEndpoint } from './listeners.js';
import type { SaslOptions, SslOptions } from '../cluster/inter-broker.js';

/** The coordinators, as cluster mode moves them with the leadership of their partitions. */
export interface CoordinatorElections {
  onElection(partition: number, epoch: number): Promise<void>;
  onResignation(partition: number, epoch?: number): void;
}

const GROUP_TOPIC = '__consumer_offsets';
const TXN_TOPIC = '__transaction_state';
/** How long a topic change waits to come back through this broker's watch. */
const IMAGE_WAIT_MS = 15_000;

/** The topics of an image as the TopicManager takes them (with the partitions `nodeId` has a replica of). */
export function imageTopics(image: MetadataImage, nodeId: number): ImageTopic[] {
  return [...image.topics.values()].map((t) => ({
    name: t.name,
    topicId: t.topicId,
    partitions: t.partitions.length,
    config: { ...t.config },
    localPartitions: t.partitions.flatMap((s, p) => (s.replicas.includes(nodeId) || s.addingReplicas.includes(nodeId) ? [p] : [])),
  }));
}

export interface ClusterModeOptions {
  store: EtcdClusterStore;
  nodeId: number;
  config: BrokerConfig;
  topics: TopicManager;
  log(topic: string, partition: number): Log | undefined;
  logger: Logger;
  /** TLS for connections to other brokers, when the inter-broker listener is SSL. */
  interBrokerSsl?: SslOptions;
  /** SASL credentials for a SASL_PLAINTEXT / SASL_SSL inter-broker listener. */
  interBrokerSasl?: SaslOptions;
}

export class ClusterMode implements Replication, TopicBackend {
  readonly clustered = true;
  readonly replicas: ReplicaManager;
  private controller: Controller | null = null;
  private readonly store: EtcdClusterStore;
  private readonly nodeId: number;
  private readonly config: BrokerConfig;
  private readonly topics: TopicManager;
  private readonly logger: Logger;
  private applied: MetadataImage;
  private chain: Promise<void> = Promise.resolve();
  private readonly appliedListeners = new Set<() => void>();
  private groups: CoordinatorElections | null = null;
  private transactions: CoordinatorElections | null = null;
  private registration: { host: string; port: number; rack: string | null; listeners?: readonly ListenerEndpoint[] } | null = null;
  /** This process's life: the same in a registration after a lost lease (nothing was lost), new after a restart. */
  private readonly incarnationId = randomUUID();
  private closed = false;
  /** Set when shutdown begins (its listener closes soon): a lease revoked now is not registered again. */
  private stopping = false;
  private readonly peerWatch: PeerWatch;
  private credentials: CredentialBackend | null = null;
  private acls: AclBackend | null = null;
  private clientQuotas: ClientQuotaBackend | null = null;
  private reregistering = false;
  private leaseLostAgain = false;
  private unsubscribe: (() => void) | null = null;
  private readonly channels: InterBrokerChannels;
  /** The audit topic's Produce requests, on their own connections (not behind transaction markers). */
  private readonly auditChannels: InterBrokerChannels;
  /** leader.replication.throttled.rate: shared by every throttled follower fetch this broker answers. */
  private readonly leaderBucket = new TokenBucket(UNLIMITED_RATE);

  constructor(opts: ClusterModeOptions) {
    this.store = opts.store;
    this.nodeId = opts.nodeId;
    this.config = opts.config;
    this.topics = opts.topics;
    this.logger = opts.logger;
    this.applied = opts.store.image();
    this.channels = new InterBrokerChannels(opts.nodeId, undefined, opts.interBrokerSsl, undefined, opts.interBrokerSasl);
    this.auditChannels = new InterBrokerChannels(opts.nodeId, undefined, opts.interBrokerSsl, 'audit', opts.interBrokerSasl);
    this.peerWatch = new PeerWatch({ nodeId: opts.nodeId, revokeLease: (id) => opts.store.revokeLease(id), logger: opts.logger });
    const cfg = opts.config;
    this.replicas = new ReplicaManager({
      nodeId: opts.nodeId,
      store: opts.store,
      log: opts.log,
      replicaLagTimeMaxMs: Number(cfg.get('replica.lag.time.max.ms')),
      fetchWaitMaxMs: getInt(cfg, 'replica.fetch.wait.max.ms'),
      fetchMaxBytes: getInt(cfg, 'replica.fetch.max.bytes'),
      fetchResponseMaxBytes: getInt(cfg, 'replica.fetch.response.max.bytes'),
      fetchBackoffMs: getInt(cfg, 'replica.fetch.backoff.ms'),
      followerThrottleRate: () => parseRate(cfg.get('follower.replication.throttled.rate') ?? undefined),
      topicConfig: (topic) => this.applied.topics.get(topic)?.config,
      logger: opts.logger,
      ssl: opts.interBrokerSsl,
      sasl: opts.interBrokerSasl,
    });
  }

  /** Starts applying images (the first one now) and moving the coordinators with leadership. */
  async start(groups: CoordinatorElections, transactions: CoordinatorElections): Promise<void> {
    this.groups = groups;
    this.transactions = transactions;
    this.unsubscribe = this.store.onImage((image) => {
      this.peerWatch.update(image);
      this.enqueue(image);
    });
    this.peerWatch.update(this.store.image());
    this.enqueue(this.store.image());
    await this.chain;
  }

  /** Registers this broker (after its listener is bound) and campaigns for controller. */
  async register(endpoint: { host: string; port: number; rack: string | null; listeners?: readonly ListenerEndpoint[] }): Promise<void> {
    this.registration = endpoint;
    const brokerEpoch = await this.store.registerBroker({ nodeId: this.nodeId, ...endpoint, incarnationId: this.incarnationId });
    this.logger.info({ nodeId: this.nodeId, brokerEpoch }, 'registered in the cluster');
    this.store.onLeaseLost((err) => this.onLeaseLost(err));
    this.campaign();
  }

  private campaign(): void {
    this.store.campaign(
      this.nodeId,
      (epoch) => {
        if (this.closed) return;
        this.logger.info({ nodeId: this.nodeId, epoch }, 'elected controller');
        this.controller?.stop();
        this.controller = new Controller({
          store: this.store,
          nodeId: this.nodeId,
          epoch,
          config: {
            uncleanLeaderElection: this.config.get('unclean.leader.election.enable') === 'true',
            autoLeaderRebalance: this.config.get('auto.leader.rebalance.enable') === 'true',
            leaderImbalanceCheckIntervalMs: Number(this.config.get('leader.imbalance.check.interval.seconds')) * 1000,
            leaderImbalancePerBrokerPercentage: getInt(this.config, 'leader.imbalance.per.broker.percentage'),
          },
          logger: this.logger,
        });
        this.controller.start();
      },
      () => {
        this.logger.info({ nodeId: this.nodeId }, 'no longer controller');
        this.controller?.stop();
        this.controller = null;
      },
    );
  }

  /** One per broker: its watch is cancelled by close() (a watch left on a closed client would retry forever). */
  credentialBackend(): CredentialBackend {
    this.credentials ??= this.store.credentialBackend();
    return this.credentials;
  }

  /** One per broker, like credentialBackend(): its watch is cancelled by close(). */
  aclBackend(): AclBackend {
    this.acls ??= this.store.aclBackend();
    return this.acls;
  }

  /** One per broker, like credentialBackend(). */
  clientQuotaBackend(): ClientQuotaBackend {
    this.clientQuotas ??= this.store.clientQuotaBackend();
    return this.clientQuotas;
  }

  /** The last image applied (topics, partitions' leaders and ISRs, live brokers), for the metrics at scrape time. */
  metadataImage(): MetadataImage {
    return this.applied;
  }

  /** The running controller, while this broker is elected (ElectLeaders and reassignments go to it). */
  activeController(): Controller | null {
    return this.controller;
  }

  /**
   * The lease expired (etcd unreachable for longer than broker.session.timeout.ms, or this process was paused).
   * The controller role goes (another broker may be elected); partitions stay led as the last image says: a
   * leader that has been replaced cannot commit anything more, since its ISR still names the new leader, which
   * no longer fetches from it, and shrinking that ISR is a compare-and-swap etcd refuses. So while all of etcd is
   * down, leaders keep serving with the ISR they have (acks=all stalls only where a follower fails).
   */
  private onLeaseLost(err: unknown): void {
    if (this.closed || this.stopping) return;
    this.logger.warn({ err }, 'etcd lease lost: registering again');
    this.controller?.stop();
    this.controller = null;
    // One loop at a time: a loss while a loop runs (even right after its registration) is seen by that loop.
    this.leaseLostAgain = true;
    if (!this.reregistering) void this.reregister();
  }

  private async reregister(): Promise<void> {
    this.reregistering = true;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          if (!this.registration) return;
          this.leaseLostAgain = false;
          await this.store.registerBroker({ nodeId: this.nodeId, ...this.registration, incarnationId: this.incarnationId });
          if (this.leaseLostAgain) continue;
          this.logger.info({ nodeId: this.nodeId }, 'registered again after losing the lease');
          // The store resumes the campaign under the new lease by itself (campaign() again would throw
          // "already campaigning", and this loop would then retry a registration that had succeeded, forever).
          this.enqueue(this.store.image());
          return;
        } catch (err) {
          this.logger.warn({ err, attempt }, 'registering again failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.reregistering = false;
    }
  }

  private enqueue(image: MetadataImage): void {
    this.chain = this.chain.then(() => this.apply(image)).catch((err: unknown) => this.logger.error({ err }, 'applying cluster metadata failed'));
  }

  private async apply(image: MetadataImage): Promise<void> {
    if (this.closed) return;
    await this.topics.applyImage(imageTopics(image, this.nodeId));
    const { becameLeader, stoppedLeading } = this.replicas.applyImage(image);
    this.applied = image;
    for (const r of stoppedLeading) this.coordinatorsOf(r.topic)?.onResignation(r.partition, r.leaderEpoch);
    for (const r of becameLeader) {
      const c = this.coordinatorsOf(r.topic);
      if (c) c.onElection(r.partition, r.leaderEpoch).catch((err: unknown) => this.logger.error({ err, topic: r.topic, partition: r.partition }, 'loading coordinator state failed'));
    }
    for (const l of [...this.appliedListeners]) l();
  }

  private coordinatorsOf(topic: string): CoordinatorElections | null {
    if (topic === GROUP_TOPIC) return this.groups;
    if (topic === TXN_TOPIC) return this.transactions;
    return null;
  }

  /** Resolves once an applied image satisfies `pred` (this broker reads its own writes). */
  private waitForImage(pred: (image: MetadataImage) => boolean, what: string): Promise<void> {
    if (pred(this.applied)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred(this.applied)) return;
        clearTimeout(timer);
        this.appliedListeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.appliedListeners.delete(check);
        reject(new KafkaError('REQUEST_TIMED_OUT', `${what}: written to etcd but not seen by this broker within ${IMAGE_WAIT_MS} ms`));
      }, IMAGE_WAIT_MS);
      this.appliedListeners.add(check);
    });
  }

  // ---- Replication -------------------------------------------------------------------------------------

  brokers(): BrokerEndpoint[] {
    return [...this.applied.brokers.values()].map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, ...(b.listeners ? { listeners: b.listeners } : {}) }));
  }

  controllerId(): number {
    return this.applied.controller?.nodeId ?? -1;
  }

  partitionInfo(topic: string, partition: number): PartitionInfo | undefined {
    const s = this.applied.topics.get(topic)?.partitions[partition];
    if (!s) return undefined;
    const live = this.applied.brokers;
    return { leader: s.leader, leaderEpoch: s.leaderEpoch, replicas: s.replicas, isr: s.isr, offline: s.replicas.filter((id) => !live.has(id)) };
  }

  leaderEpochFor(topic: string, partition: number): number {
    if (!this.applied.topics.get(topic)?.partitions[partition]) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host ${topic}-${partition}`);
    return this.replicas.leaderReplica(topic, partition).leaderEpoch;
  }

  checkLeaderEpoch(topic: string, partition: number, currentLeaderEpoch: number): number {
    const r = this.replicas.replica(topic, partition);
    if (!r || r.role !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return epochError(currentLeaderEpoch, r.leaderEpoch);
  }

  checkEnoughReplicas(topic: string, partition: number, minIsr: number): void {
    const r = this.replicas.leaderReplica(topic, partition);
    if (r.state.isr.length < minIsr) {
      throw new KafkaError('NOT_ENOUGH_REPLICAS', `The size of the current ISR [${r.state.isr.join(', ')}] is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${topic}-${partition}`);
    }
  }

  async awaitCommitted(topic: string, partition: number, log: Log, endOffset: number, minIsr: number, timeoutMs: number): Promise<number> {
    const flushed = log.flush().then(() => ErrorCode.NONE, () => ErrorCode.KAFKA_STORAGE_ERROR);
    const [f, c] = await Promise.all([flushed, this.replicas.awaitCommitted(topic, partition, endOffset, minIsr, timeoutMs)]);
    return f !== ErrorCode.NONE ? f : c;
  }

  onFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number, currentLeaderEpoch: number): number {
    return this.replicas.onFollowerFetch(topic, partition, replicaId, fetchOffset, currentLeaderEpoch);
  }

  leaderThrottle(topic: string, partition: number, replicaId: number): { available: number; take(bytes: number): void } | null {
    const rate = parseRate(this.config.get('leader.replication.throttled.rate'));
    if (rate >= UNLIMITED_RATE) return null;
    const r = this.replicas.replica(topic, partition);
    if (!r || r.role !== 'leader' || r.state.isr.includes(replicaId)) return null;
    if (!isThrottledReplica(this.topics.get(topic)?.config['leader.replication.throttled.replicas'], partition, replicaId)) return null;
    return { available: this.leaderBucket.available(rate), take: (bytes) => this.leaderBucket.take(bytes, rate) };
  }

  /** A transaction marker for a partition led by broker `leaderId` (WriteTxnMarkers). */
  writeRemoteMarker(leaderId: number, topic: string, partition: number, marker: TxnMarker): Promise<void> {
    const b = this.applied.brokers.get(leaderId);
    if (!b) return Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER', `the leader ${leaderId} of ${topic}-${partition} is not alive`));
    return this.channels.writeTxnMarker(b, topic, partition, marker);
  }

  /** A record batch for a partition led by broker `leaderId` (the audit topic's writes; Produce with acks=all). */
  produceRemote(leaderId: number, topic: string, partition: number, batch: Buffer): Promise<void> {
    const b = this.applied.brokers.get(leaderId);
    if (!b) return Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER', `the leader ${leaderId} of ${topic}-${partition} is not alive`));
    return this.auditChannels.produce(b, topic, partition, batch);
  }

  // ---- TopicBackend ------------------------------------------------------------------------------------

  private liveBrokers(): Array<{ nodeId: number; rack: string | null }> {
    return [...this.applied.brokers.values()].filter((b) => !b.shuttingDown).map((b) => ({ nodeId: b.nodeId, rack: b.rack }));
  }

  private statesFor(assignments: number[][]): PartitionState[] {
    const live = new Set(this.liveBrokers().map((b) => b.nodeId));
    return assignments.map((replicas) => initialPartitionState(replicas, live));
  }

  async create(name: string, spec: { partitions: number; replicationFactor: number; config: Record<string, string>; assignments?: number[][] }): Promise<void> {
    const brokers = this.liveBrokers();
    let assignments: number[][];
    if (spec.assignments) {
      const live = new Set(brokers.map((b) => b.nodeId));
      assignments = validateCreateTopicAssignments(spec.assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })), this.applied.brokers, live);
    } else {
      assignments = assignReplicas(brokers, spec.partitions, spec.replicationFactor);
    }
    const topicId = randomUUID();
    await this.store.createTopic(name, { topicId, config: spec.config }, this.statesFor(assignments));
    await this.waitForImage((img) => img.topics.get(name)?.topicId === topicId, `topic ${name}`);
  }

  async delete(name: string): Promise<void> {
    await this.store.deleteTopic(name);
    await this.waitForImage((img) => !img.topics.has(name), `deletion of ${name}`);
  }

  async addPartitions(name: string, count: number, assignments?: number[][]): Promise<void> {
    const t = this.applied.topics.get(name);
    if (!t) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    const brokers = this.liveBrokers();
    const added = count - t.partitions.length;
    let fresh: number[][];
    const rf = t.partitions[0]?.replicas.length ?? 1;
    if (assignments && assignments.length > 0) {
      const live = new Set(brokers.map((b) => b.nodeId));
      fresh = validateCreatePartitionsAssignments(assignments, added, t.partitions.length, rf, this.applied.brokers, live);
    } else {
      fresh = assignReplicas(brokers, added, rf, { startPartitionId: t.partitions.length, existing: t.partitions.map((s) => [...s.replicas]) });
    }
    await this.store.addPartitions(name, this.statesFor(fresh));
    await this.waitForImage((img) => (img.topics.get(name)?.partitions.length ?? 0) >= count, `partitions of ${name}`);
  }

  async setConfig(name: string, config: Record<string, string>): Promise<void> {
    await this.store.updateTopicConfig(name, config);
    const want = JSON.stringify(config);
    await this.waitForImage((img) => JSON.stringify(img.topics.get(name)?.config ?? null) === want, `config of ${name}`);
  }

  // ---- shutdown ----------------------------------------------------------------------------------------

  /**
   * Controlled shutdown: says so in its registration, so the controller moves its leadership away, and waits
   * (up to `budgetMs`) until it leads nothing that has another in-sync replica.
   */
  async controlledShutdown(budgetMs: number): Promise<void> {
    this.stopping = true;
    this.peerWatch.close();
    if (this.config.get('controlled.shutdown.enable') !== 'true') return;
    try {
      await this.store.setShuttingDown();
    } catch (err) {
      this.logger.warn({ err }, 'could not announce the shutdown to etcd');
      return;
    }
    const deadline = Date.now() + budgetMs;
    const leadsMovable = (): boolean => [...this.replicas.all()].some((r) => r.role === 'leader' && r.state.isr.some((id) => id !== this.nodeId && this.applied.brokers.has(id)));
    while (leadsMovable() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (leadsMovable()) this.logger.warn('controlled shutdown: some partitions are still led here');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.peerWatch.close();
    this.unsubscribe?.();
    this.controller?.stop();
    await this.chain.catch(() => undefined);
    this.channels.close();
    this.auditChannels.close();
    await this.replicas.close();
    await this.credentials?.close?.();
    await this.acls?.close?.();
    await this.clientQuotas?.close?.();
    await this.store.close();
  }
}
