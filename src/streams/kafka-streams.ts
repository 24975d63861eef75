// KafkaStreams: runs a Topology against a cluster on the own client, at-least-once or exactly_once_v2 (a
// transaction per commit interval: see ARCHITECTURE.md's Streams section). One consumer in the group
// application.id reads every source topic (user and repartition) with the streams assignor (assignor.ts: whole
// tasks per member, protocol 'stream'); global stores are kept by global-state.ts. Each
// assigned partition belongs to a task (sub-topology, partition), created when the partition is assigned and
// closed (after a commit) when the last of its partitions is revoked. Sinks, repartition writes and changelog
// writes go through one idempotent acks=all producer. A task with logged stores first restores them from their
// changelog partitions (a second, group-less consumer) while its input partitions stay paused. A commit flushes
// the producer, then commits the next offset of every record each task processed: every commit.interval.ms, on
// revoke and on close. The loop is one async function: a poll's records are processed synchronously, so the
// rebalance callbacks (which run at the loop's awaits) never see a task half-way through a batch, and the loop
// waits for a callback that is committing or closing tasks to finish before it processes again.
import { Admin } from '../client/admin.js';
import { Consumer, type ConsumerRecord, type TopicPartition } from '../client/consumer.js';
import { Producer, type SendListener } from '../client/producer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireProcessId, type ProcessId } from './process-id.js';
import { StreamsException, TopologyException, validateProps, type StreamsProps } from './config.js';
import { TaskId } from './processor.js';
import type { Headers, KeyValue, ValueAndTimestamp } from './record.js';
import { cacheMaxBytes, RecordCache } from './state/record-cache.js';
import { checkpointOffset, DEFAULT_STATE_DIR, deleteCheckpoint, readCheckpoint, writeCheckpoint } from './state/state-directory.js';
import type { ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore, StateStore } from './state/stores.js';
import { LATEST_OFFSET, StreamsPartitionAssignor, type PartitionsByHost, type StreamsAssignorOptions } from './assignor.js';
import { allMetadata, HostInfo, keyMetadata, NOT_AVAILABLE, type KeyQueryMetadata, type StreamsMetadata, type TopologyStores } from './metadata.js';
import type { Serializer } from './serdes.js';
import type { StreamPartitioner } from './topology.js';
import { onDiskOffsetSums, StandbyUpdater, type StandbyHost } from './standby.js';
import { GlobalStateUpdater } from './global-state.js';
import { StreamTask, type TaskEnvironment } from './task.js';
import type { SubtopologyPlan, Topology, TopologyPlan } from './topology.js';
import { ensureTopologiesTopic, publishTopology, TOPOLOGY_PUBLISH_CONFIG } from './topology-registry.js';
import { hostname } from 'node:os';
import type { Windowed } from './windows.js';

/** Kafka Streams' KafkaStreams.State (PENDING_ERROR folded into ERROR). */
export type KafkaStreamsState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

const TRANSITIONS: { [S in KafkaStreamsState]: readonly KafkaStreamsState[] } = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  ERROR: [],
};

export type StateListener = (newState: KafkaStreamsState, oldState: KafkaStreamsState) => void;

/** Kafka's StateRestoreListener: progress of restoring a store from one changelog partition. */
export interface StateRestoreListener {
  onRestoreStart?(partition: TopicPartition, storeName: string, startingOffset: number, endingOffset: number): void;
  onBatchRestored?(partition: TopicPartition, storeName: string, batchEndOffset: number, numRestored: number): void;
  onRestoreEnd?(partition: TopicPartition, storeName: string, totalRestored: number): void;
}

export interface KafkaStreamsProps extends StreamsProps {
  'bootstrap.servers': string | string[];
  /** How often offsets are committed (Kafka's default 30000; 100 under exactly_once_v2). */
  'commit.interval.ms'?: number;
  /**
   * 'at_least_once' (default) or 'exactly_once_v2': output, changelog and repartition writes and the input offsets
   * of each commit interval go into one transaction of a transactional producer (transactional.id
   * <application.id>-<process id>-1), and every read is read_committed.
   */
  'processing.guarantee'?: 'at_least_once' | 'exactly_once_v2';
  /** Under exactly_once_v2: the producer's transaction.timeout.ms (Kafka Streams' default there: 10000). */
  'transaction.timeout.ms'?: number;
  /**
   * Standby replicas per stateful task (default 0): copies of its stores on other instances, kept up to date from
   * the changelogs, so that a task moving there restores only the changelog tail (standby.ts).
   */
  'num.standby.replicas'?: number;
  /** How far behind a changelog's end an instance's state may be and still count as caught up (default 10000). */
  'acceptable.recovery.lag'?: number;
  /**
   * Where the instance keeps what outlives it (Kafka's default: /tmp/kafka-streams): persistent stores
   * (<state.dir>/<application.id>/<task>/) and the process id (<state.dir>/<application.id>/
   * kafka-streams-process-metadata) that keeps its transactional.id stable across restarts under exactly_once_v2.
   */
  'state.dir'?: string;
  /** Replication factor of the internal topics; -1 (default): the broker's default.replication.factor. */
  'replication.factor'?: number;
  /**
   * Kafka's application.server: this instance's "host:port" for interactive queries across instances. Sent to the
   * group leader, which tells every instance where each store partition lives (metadataForAllStreamsClients,
   * queryMetadataForKey); startQueryServer listens there.
   */
  'application.server'?: string;
  /** The longest a poll blocks (Kafka's poll.ms, default 100). */
  'poll.ms'?: number;
  'client.id'?: string;
  'session.timeout.ms'?: number;
  'heartbeat.interval.ms'?: number;
  'max.poll.interval.ms'?: number;
}

/** One running task: the core StreamTask, the input partitions assigned to it and what it consumed. */
interface ActiveTask {
  readonly task: StreamTask;
  readonly plan: SubtopologyPlan;
  /** Assigned input partitions, by topic (the task's partition number). */
  readonly inputs: Set<string>;
  /** Topic → the offset after the last processed record. */
  readonly consumed: Map<string, number>;
  /** Topic → the offset last committed. */
  readonly committed: Map<string, number>;
  restoring: boolean;
  /** A promoted standby's changelog positions (tpKey → next offset): its restore starts there. */
  restoreFrom: Map<string, number> | null;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const EMPTY_HEADERS: Headers = [];

export class KafkaStreams {
  private readonly plan: TopologyPlan;
  private currentState: KafkaStreamsState = 'CREATED';
  private stateListener: StateListener | null = null;
  private restoreListener: StateRestoreListener | null = null;
  private uncaughtHandler: ((err: Error) => void) | null = null;
  private readonly commitIntervalMs: number;
  private readonly pollMs: number;
  private readonly clientId: string;
  private admin: Admin | null = null;
  private consumer: Consumer | null = null;
  private restoreConsumer: Consumer | null = null;
  private producer: Producer | null = null;
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly taskByInput = new Map<string, ActiveTask>();
  private readonly subtopologyByTopic = new Map<string, SubtopologyPlan>();
  private readonly topicPartitions = new Map<string, number>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private sendError: Error | null = null;
  private commitChain: Promise<void> = Promise.resolve();
  private nextCommitAt = 0;
  private assignedOnce = false;
  private rebalancing = true;
  private error: Error | null = null;
  /** exactly_once_v2: one transaction per commit interval. */
  private readonly eos: boolean;
  /** A transaction is open (begun at the first send or commit after the last one ended). */
  private inTransaction = false;
  /** A commit failed under exactly_once_v2: the tasks' state and output since it are gone (aborted); revive them. */
  private needsRevive = false;
  private processId: ProcessId | null = null;
  /** The rebalance callbacks in progress, one after another (see exclusively()). */
  private exclusive: Promise<void> = Promise.resolve();
  private exclusiveRunning = 0;
  /** Tasks closed dirty and revived (their stores rebuilt from the committed changelog) after an aborted transaction. */
  private revivals = 0;
  private readonly global: GlobalStateUpdater;
  /** statestore.cache.max.bytes: one budget for every cached store of every task of this instance. */
  private readonly recordCache: RecordCache;
  private readonly description: string;
  /** exactly_once_v2: the producer that publishes the topology (the main one is transactional). */
  private publisher: Producer | null = null;
  private startTime = 0;
  /** Changelog partition → the last offset written to it or restored from it (what a checkpoint records). */
  private readonly changelogOffsets = new Map<string, number>();
  private readonly changelogTopics: ReadonlySet<string>;
  /** num.standby.replicas > 0: the standby tasks' stores, kept up to date from their changelogs. */
  private standby: StandbyUpdater | null = null;
  private readonly numStandbys: number;
  /** application.server, parsed; null when unset. */
  private readonly hostInfo: HostInfo | null;
  /** The last assignment's cluster-wide maps (null until the first assignment of version 2). */
  private hostMetadata: { active: PartitionsByHost; standby: PartitionsByHost } | null = null;

  constructor(topology: Topology, readonly props: KafkaStreamsProps) {
    validateProps(props);
    if (!props['bootstrap.servers'] || (Array.isArray(props['bootstrap.servers']) && props['bootstrap.servers'].length === 0)) {
      throw new StreamsException('bootstrap.servers is required');
    }
    const guarantee = props['processing.guarantee'] ?? 'at_least_once';
    if (guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
      throw new StreamsException(`processing.guarantee must be 'at_least_once' or 'exactly_once_v2', got ${JSON.stringify(guarantee)}`);
    }
    this.eos = guarantee === 'exactly_once_v2';
    this.numStandbys = props['num.standby.replicas'] ?? 0;
    if (!Number.isInteger(this.numStandbys) || this.numStandbys < 0) throw new StreamsException(`num.standby.replicas must be an integer >= 0, got ${String(this.numStandbys)}`);
    const lag = props['acceptable.recovery.lag'] ?? 10_000;
    if (!Number.isInteger(lag) || lag < 0) throw new StreamsException(`acceptable.recovery.lag must be an integer >= 0, got ${String(lag)}`);
    this.commitIntervalMs = props['commit.interval.ms'] ?? (this.eos ? 100 : 30_000);
    if (!Number.isFinite(this.commitIntervalMs) || this.commitIntervalMs < 0) throw new StreamsException(`commit.interval.ms must be >= 0, got ${this.commitIntervalMs}`);
    this.recordCache = new RecordCache(cacheMaxBytes(props));
    this.pollMs = props['poll.ms'] ?? 100;
    const server = props['application.server'];
    this.hostInfo = server === undefined || server === '' ? null : HostInfo.parse(String(server));
    this.clientId = props['client.id'] ?? `${props['application.id']}-StreamThread-1`;
    this.plan = topology.build(props);
    this.changelogTopics = new Set(this.plan.changelogTopics);
    this.description = topology.describe().toString();
    this.global = new GlobalStateUpdater(this.plan, this.environment(-1), this.pollMs, this.commitIntervalMs);
    for (const s of this.plan.subtopologies) if (!s.global) for (const t of s.sourcesByTopic.keys()) this.subtopologyByTopic.set(t, s);
  }

  state(): KafkaStreamsState {
    return this.currentState;
  }

  setStateListener(listener: StateListener): void {
    this.stateListener = listener;
  }

  setGlobalStateRestoreListener(listener: StateRestoreListener): void {
    this.restoreListener = listener;
  }

  /** Called with the error that moved the application to ERROR. */
  setUncaughtExceptionHandler(handler: (err: Error) => void): void {
    this.uncaughtHandler = handler;
  }

  private setState(next: KafkaStreamsState): boolean {
    const old = this.currentState;
    if (!TRANSITIONS[old].includes(next)) return false;
    this.currentState = next;
    if (old !== next) this.stateListener?.(next, old);
    if (next === 'RUNNING' && old !== next && !this.stopping) void this.publishTopology(next);
    return true;
  }

  /**
   * Creates the missing internal topics, joins the group and starts processing in the background; resolves once
   * the consumer has subscribed (the state is REBALANCING until the first assignment is restored).
   */
  async start(): Promise<void> {
    if (this.currentState !== 'CREATED') throw new StreamsException(`start() in state ${this.currentState}: a KafkaStreams starts once`);
    this.setState('REBALANCING');
    const bootstrapServers = this.props['bootstrap.servers'];
    try {
      this.admin = new Admin({ bootstrapServers, clientId: `${this.clientId}-admin` });
      await this.admin.connect();
      await this.createInternalTopics(this.admin);
      this.checkCopartitioning();
      await this.startGlobal();
      let transactional = {};
      if (this.eos) {
        this.processId = acquireProcessId(this.props['state.dir'] ?? join(tmpdir(), 'kafka-streams'), this.props['application.id']);
        transactional = { transactionalId: `${this.props['application.id']}-${this.processId.id}-1`, transactionTimeoutMs: this.props['transaction.timeout.ms'] ?? 10_000 };
      }
      this.producer = new Producer({ bootstrapServers, clientId: `${this.clientId}-producer`, acks: 'all', idempotent: true, lingerMs: this.eos ? 5 : 100, ...transactional });
      await this.producer.connect();
      this.startTime = Date.now();
      await this.publishTopology();
      const isolationLevel = this.eos ? 'read_committed' as const : 'read_uncommitted' as const;
      this.restoreConsumer = new Consumer({ bootstrapServers, clientId: `${this.clientId}-restore-consumer`, enableAutoCommit: false, autoOffsetReset: 'earliest', isolationLevel });
      await this.restoreConsumer.connect();
      if (this.numStandbys > 0) {
        this.standby = new StandbyUpdater(this.standbyHost(), this.pollMs, this.commitIntervalMs);
        await this.standby.start(bootstrapServers, this.clientId, isolationLevel);
      }
      this.consumer = new Consumer({
        bootstrapServers,
        clientId: `${this.clientId}-consumer`,
        groupId: this.props['application.id'],
        partitionAssignors: [this.taskAssignor()],
        isolationLevel,
        enableAutoCommit: false,
        autoOffsetReset: 'earliest',
        sessionTimeoutMs: this.props['session.timeout.ms'],
        heartbeatIntervalMs: this.props['heartbeat.interval.ms'],
        maxPollIntervalMs: this.props['max.poll.interval.ms'],
        rebalanceListener: {
          onPartitionsAssigned: (tps) => this.onAssigned(tps),
          onPartitionsRevoked: (tps) => this.exclusively(() => this.onRevoked(tps, true)),
          onPartitionsLost: (tps) => this.exclusively(() => this.onRevoked(tps, false)),
        },
      });
      await this.consumer.connect();
      await this.consumer.subscribe([...this.subtopologyByTopic.keys()]);
    } catch (err) {
      await this.fail(err);
      throw err;
    }
    this.nextCommitAt = Date.now() + this.commitIntervalMs;
    this.loop = this.run();
  }

  /** Partition counts of the source topics, then the repartition and changelog topics that are missing, created. */
  private async createInternalTopics(admin: Admin): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const internal = new Set([...this.plan.repartitionTopics, ...this.plan.changelogTopics]);
    const known = [...new Set([...this.plan.subtopologies.flatMap((s) => [...s.sourcesByTopic.keys()]), ...this.sinkTopics()])].filter((t) => existing.has(t));
    if (known.length > 0) for (const d of await admin.describeTopics(known)) this.topicPartitions.set(d.name, d.partitions.length);
    const missing = this.plan.sourceTopics.filter((t) => !this.topicPartitions.has(t) && !internal.has(t));
    if (missing.length > 0) throw new StreamsException(`source topics missing: ${missing.join(', ')} (create them before starting the application)`);
    // Repartition topics: configured, else the most partitions of the inputs of the sub-topologies writing them
    // (which may themselves read repartition topics: repeat until nothing changes).
    const writers = new Map<string, SubtopologyPlan[]>();
    for (const s of this.plan.subtopologies) {
      for (const n of s.nodes) {
        if (n.kind !== 'sink' || typeof n.topic !== 'string') continue;
        const t = this.plan.decorate(n.topic);
        if (!this.plan.repartitionTopics.includes(t)) continue;
        let list = writers.get(t);
        if (!list) writers.set(t, (list = []));
        list.push(s);
      }
    }
    const counts = new Map<string, number>();
    for (const [t, n] of this.plan.repartitionPartitions) counts.set(t, n);
    const countOf = (t: string): number | undefined => counts.get(t) ?? this.topicPartitions.get(t);
    const inputsOf = (s: SubtopologyPlan): number | undefined => {
      const ns = [...s.sourcesByTopic.keys()].map(countOf);
      return ns.some((n) => n === undefined) ? undefined : Math.max(...(ns as number[]));
    };
    for (let changed = true; changed;) {
      changed = false;
      for (const t of this.plan.repartitionTopics) {
        if (counts.has(t)) continue;
        const ns = (writers.get(t) ?? []).map(inputsOf);
        if (ns.length === 0 || ns.some((n) => n === undefined)) continue;
        counts.set(t, Math.max(...(ns as number[])));
        changed = true;
      }
    }
    const replicationFactor = this.props['replication.factor'] ?? -1;
    const create: Array<{ name: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> }> = [];
    for (const t of this.plan.repartitionTopics) {
      const n = counts.get(t);
      if (n === undefined) throw new StreamsException(`cannot work out the partition count of repartition topic ${t}`);
      if (!existing.has(t)) create.push({ name: t, numPartitions: n, replicationFactor, configs: { 'cleanup.policy': 'delete' } });
      this.topicPartitions.set(t, existing.has(t) ? (this.topicPartitions.get(t) ?? n) : n);
    }
    for (const s of this.plan.subtopologies) {
      for (const { builder, changelogTopic } of s.stores) {
        if (changelogTopic === null || existing.has(changelogTopic)) continue;
        const n = inputsOf(s);
        if (n === undefined) throw new StreamsException(`cannot work out the partition count of changelog topic ${changelogTopic}`);
        create.push({ name: changelogTopic, numPartitions: n, replicationFactor, configs: { ...builder.logConfig, 'cleanup.policy': 'compact' } });
      }
    }
    if (create.length > 0) {
      try {
        await admin.createTopics(create);
      } catch (err) {
        // Another instance may have created them first: fine if they exist now.
        const now = new Set(await admin.listTopics());
        if (!create.every((c) => now.has(c.name))) throw err;
      }
    }
  }

  /** Kafka's StreamsPartitionAssignor over this topology's sub-topologies: whole tasks to members. */
  private taskAssignor(): StreamsPartitionAssignor {
    const groups = new Map<number, string[]>();
    for (const s of this.plan.subtopologies) if (!s.global) groups.set(s.id, [...s.sourcesByTopic.keys()]);
    return new StreamsPartitionAssignor(groups, this.standbyOptions());
  }

  /**
   * The assignor's standby and lag inputs: the changelogs per sub-topology, this instance's task offset sums
   * (active tasks caught up, standbys at their positions, persistent state left on disk at its checkpoint), the
   * leader's end offsets (the last stable offset under exactly_once_v2) and where the standby tasks go.
   */
  private standbyOptions(): StreamsAssignorOptions {
    const changelogs = new Map<number, string[]>();
    for (const s of this.plan.subtopologies) {
      const topics = s.stores.map((x) => x.changelogTopic).filter((t): t is string => t !== null);
      if (!s.global && topics.length > 0) changelogs.set(s.id, topics);
    }
    return {
      numStandbyReplicas: this.numStandbys,
      acceptableRecoveryLag: this.props['acceptable.recovery.lag'] ?? 10_000,
      changelogs,
      taskOffsetSums: () => {
        const sums = new Map<string, number>();
        const active = new Set(this.tasks.keys());
        // Where the task directories are (taskDirectory's default), not the process id's.
        const stateDir = this.props['state.dir'] ?? DEFAULT_STATE_DIR;
        for (const [id, sum] of onDiskOffsetSums(stateDir, this.props['application.id'], active)) sums.set(id, sum);
        for (const [id, sum] of this.standby?.offsetSums() ?? []) sums.set(id, sum);
        for (const [id, t] of this.tasks) if (t.plan.stores.some((x) => x.changelogTopic !== null)) sums.set(id, LATEST_OFFSET);
        return sums;
      },
      endOffsets: async (tps) => {
        const ends = await this.admin!.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel: this.eos ? 'read_committed' : 'read_uncommitted' });
        return new Map(ends.map((e) => [`${e.topic} ${e.partition}`, e.offset]));
      },
      onTasks: (active, standby) => this.standby?.setAssigned(standby, active),
      applicationServer: this.hostInfo?.toString(),
      onHostMetadata: (active, standby) => {
        this.hostMetadata = { active, standby };
      },
    };
  }

  private standbyHost(): StandbyHost {
    return {
      admin: this.admin!,
      plan: (id) => this.plan.subtopologies.find((s) => s.id === id && !s.global),
      newTask: (id, plan) => new StreamTask(id, plan, this.environment(id.partition)),
      isActive: (id) => this.tasks.has(id),
      restoreStart: (dir, store, tp, earliest, end) => this.restoreStart(dir, store, tp, earliest, end),
      fail: (err) => void this.fail(err),
    };
  }

  /**
   * Kafka's CopartitionedTopicsEnforcer: the user topics a stateful sub-topology reads together (a join's two
   * sides) must have as many partitions, or partition p of one would meet a different key range of the other.
   */
  private checkCopartitioning(): void {
    for (const s of this.plan.subtopologies) {
      if (s.global || s.stores.length === 0) continue;
      const topics = [...s.sourcesByTopic.keys()].filter((t) => !this.plan.repartitionTopics.includes(t));
      const counts = topics.map((t) => this.topicPartitions.get(t));
      if (new Set(counts).size > 1) {
        throw new TopologyException(`topics not co-partitioned: [${topics.map((t, i) => `${t}=${counts[i]}`).join(', ')}] (sub-topology ${s.id} joins them: they need the same number of partitions)`);
      }
    }
  }

  /** Global stores: built and read to the end of their topics before any task exists (Kafka's GlobalStreamThread). */
  private async startGlobal(): Promise<void> {
    this.global.setErrorHandler((err) => void this.fail(err));
    await this.global.start(this.props['bootstrap.servers'], this.clientId, this.admin!, this.restoreListener, this.eos ? 'read_committed' : 'read_uncommitted');
  }

  /**
   * Best effort: the topology's describe() text and this instance's state, keyed by application.id, on the
   * compacted __tributary_streams_topologies (created if missing) for `tributary streams describe` and the console;
   * a failure is logged to stderr and the application goes on. Off with 'tributary.topology.publish': false.
   */
  private async publishTopology(state: KafkaStreamsState = this.currentState): Promise<void> {
    if (this.props[TOPOLOGY_PUBLISH_CONFIG] === false || this.props[TOPOLOGY_PUBLISH_CONFIG] === 'false' || !this.admin || !this.producer) return;
    try {
      await ensureTopologiesTopic(this.admin, this.props['replication.factor'] ?? -1);
      // Under exactly_once_v2 the main producer sends only inside the tasks' transactions: a plain one publishes.
      if (this.eos && !this.publisher) {
        this.publisher = new Producer({ bootstrapServers: this.props['bootstrap.servers'], clientId: `${this.clientId}-topology-publisher`, acks: 'all', idempotent: false });
        await this.publisher.connect();
      }
      await publishTopology(this.publisher ?? this.producer, {
        applicationId: this.props['application.id'], clientId: this.clientId, instance: `${hostname()}:${process.pid}`,
        startTime: this.startTime, state, updateTime: Date.now(), description: this.description,
      });
    } catch (err) {
      process.stderr.write(`KafkaStreams ${this.props['application.id']}: could not publish the topology (${(err as Error).message}); going on\n`);
    }
  }

  private sinkTopics(): string[] {
    const out: string[] = [];
    for (const s of this.plan.subtopologies) for (const n of s.nodes) if (n.kind === 'sink' && typeof n.topic === 'string') out.push(this.plan.decorate(n.topic));
    return out;
  }

  // ---- the loop ------------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const consumer = this.consumer!;
    try {
      while (!this.stopping) {
        await this.restorePending();
        if (this.stopping) break;
        if (this.needsRevive) {
          await this.revive();
          continue;
        }
        const records = await consumer.poll(this.pollMs);
        await this.waitExclusive();
        // Records polled but not processed are not committed: commits carry the tasks' own offsets.
        if (this.stopping) break;
        // A commit that failed during the poll (in a revoke) aborted the transaction: these records go to revived tasks.
        if (this.needsRevive) continue;
        this.process(records);
        // Back-pressure: the producer queues what does not fit its buffer; wait for room before polling more.
        if (this.producer!.bufferFull) await this.producer!.waitForSpace();
        const now = Date.now();
        for (const t of this.tasks.values()) if (!t.restoring) t.task.maybePunctuateSystemTime();
        if (this.sendError && !this.eos) throw this.sendError;
        if (now >= this.nextCommitAt || (this.eos && this.sendError)) {
          await this.commit([...this.tasks.values()]).catch((err: unknown) => {
            // exactly_once_v2: the transaction is aborted and the tasks revived from what was committed.
            if (this.eos) {
              this.needsRevive = true;
              return;
            }
            if (this.sendError) throw this.sendError;
            // A failed offset commit (e.g. a rebalance under way) is retried at the next interval; at-least-once.
            void err;
          });
          this.nextCommitAt = Date.now() + this.commitIntervalMs;
        }
        this.maybeRunning();
      }
    } catch (err) {
      if (!this.stopping) await this.fail(err);
    }
  }

  /**
   * Runs a poll's records through their tasks. A task reading one partition takes them in offset order; a task
   * reading several (a join, a merge of topics) takes next the record with the lowest timestamp at the head of
   * its partitions' queues, as Kafka Streams' PartitionGroup does (within what this poll returned).
   */
  private process(records: ConsumerRecord[]): void {
    let skip: Set<string> | null = null;
    let multi: Map<ActiveTask, Map<string, ConsumerRecord[]>> | null = null;
    // A poll's records come partition by partition: look the task up once per run of one partition.
    let lastTopic = '';
    let lastPartition = -1;
    let key = '';
    let t: ActiveTask | undefined;
    for (const r of records) {
      if (r.partition !== lastPartition || r.topic !== lastTopic) {
        lastTopic = r.topic;
        lastPartition = r.partition;
        key = tpKey(r.topic, r.partition);
        t = this.taskByInput.get(key);
      }
      if (!t || skip?.has(key)) continue;
      if (t.restoring) {
        // Fetched before the pause took effect: read again once the task is ready.
        this.consumer!.seek({ topic: r.topic, partition: r.partition }, r.offset);
        (skip ??= new Set()).add(key);
        continue;
      }
      if (t.inputs.size === 1) {
        this.processOne(t, r);
        continue;
      }
      let queues = (multi ??= new Map()).get(t);
      if (!queues) multi.set(t, (queues = new Map()));
      let q = queues.get(r.topic);
      if (!q) queues.set(r.topic, (q = []));
      q.push(r);
    }
    if (multi === null) return;
    for (const [t, queues] of multi) {
      const qs = [...queues.values()];
      const heads = qs.map(() => 0);
      for (;;) {
        let pick = -1;
        for (let i = 0; i < qs.length; i++) {
          if (heads[i] < qs[i].length && (pick < 0 || qs[i][heads[i]].timestamp < qs[pick][heads[pick]].timestamp)) pick = i;
        }
        if (pick < 0) break;
        this.processOne(t, qs[pick][heads[pick]++]);
      }
    }
  }

  private processOne(t: ActiveTask, r: ConsumerRecord): void {
    t.task.process(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers as Headers);
    t.consumed.set(r.topic, r.offset + 1);
    t.task.maybePunctuateStreamTime();
  }

  private maybeRunning(): void {
    if (this.assignedOnce && !this.rebalancing && this.currentState === 'REBALANCING') {
      if (![...this.tasks.values()].some((t) => t.restoring)) this.setState('RUNNING');
    }
  }

  // ---- commits -------------------------------------------------------------------------------------------------

  /** Flushes the producer, then commits what the tasks consumed since their last commit. One commit at a time. */
  private commit(tasks: ActiveTask[]): Promise<void> {
    const run = async (): Promise<void> => {
      const producer = this.producer;
      const consumer = this.consumer;
      if (!producer || !consumer) return;
      // The record caches first: what they hold goes to the stores, the changelogs and downstream (into the
      // transaction under exactly_once_v2) before the offsets that produced it are committed.
      for (const t of tasks) t.task.flush();
      const offsets: Array<{ topic: string; partition: number; offset: number }> = [];
      for (const t of tasks) {
        for (const [topic, offset] of t.consumed) {
          if (t.committed.get(topic) !== offset) offsets.push({ topic, partition: t.task.id.partition, offset });
        }
      }
      if (this.eos) {
        // One transaction holds everything sent since the last commit and the offsets that produced it.
        if (this.sendError) throw this.sendError;
        if (!this.inTransaction && offsets.length === 0) return;
        this.beginTransaction(producer);
        if (offsets.length > 0) await producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        await producer.commitTransaction();
        this.inTransaction = false;
      } else {
        await producer.flush();
        if (this.sendError) throw this.sendError;
        if (offsets.length > 0) await consumer.commit(offsets);
      }
      for (const t of tasks) for (const [topic, offset] of t.consumed) t.committed.set(topic, offset);
      // Under exactly_once_v2 a running task's persistent stores may hold writes of a transaction that is still to
      // commit (they are flushed before it): their checkpoints are written at a clean close only, as Kafka does.
      if (!this.eos || this.stopping) this.writeCheckpoints(tasks);
    };
    const p = this.commitChain.then(run, run);
    this.commitChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Runs a rebalance callback that commits and closes tasks. The consumer calls it from its own rebalance, which may
   * run while the loop is between awaits: the loop waits for it to end before it processes, so no record is
   * processed (and sent into a transaction being committed, or for a task being closed) half-way through it.
   */
  private exclusively(work: () => Promise<void>): Promise<void> {
    const p = this.exclusive.then(work, work);
    const settled = p.catch(() => undefined);
    this.exclusive = settled;
    this.exclusiveRunning++;
    void settled.then(() => this.exclusiveRunning--);
    return p;
  }

  private async waitExclusive(): Promise<void> {
    while (this.exclusiveRunning > 0) await this.exclusive;
  }

  private beginTransaction(producer: Producer): void {
    if (this.inTransaction) return;
    producer.beginTransaction();
    this.inTransaction = true;
  }

  /**
   * exactly_once_v2, after a commit failed: aborts the open transaction (the output, changelog writes and offsets
   * of every task since the last commit vanish for read_committed readers), closes every task dirty and creates
   * it again — its stores restored from the committed changelog, its inputs read again from the committed offsets
   * (Kafka Streams' handling of a TaskMigratedException). A producer that cannot abort (fenced) fails the instance.
   */
  private async revive(): Promise<void> {
    this.needsRevive = false;
    const producer = this.producer!;
    const consumer = this.consumer!;
    await this.commitChain;
    if (this.inTransaction) {
      this.inTransaction = false;
      await producer.abortTransaction();
    }
    this.sendError = null;
    const inputs = [...this.taskByInput.keys()].map((k) => {
      const i = k.lastIndexOf('\u0000');
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
    });
    for (const t of this.tasks.values()) {
      try {
        // Persistent stores were flushed at the failed commit's start: they may hold the aborted writes.
        for (const st of t.task.stores.values()) if (st.persistent) st.wipe?.();
        if (t.task.stateDir !== null) deleteCheckpoint(t.task.stateDir);
        t.task.close(false);
      } catch { /* dirty close: the state is rebuilt */ }
    }
    this.tasks.clear();
    this.taskByInput.clear();
    this.revivals++;
    if (inputs.length === 0) return;
    this.onAssigned(inputs);
    const committed = await consumer.committed(inputs);
    const fromStart: TopicPartition[] = [];
    for (const c of committed) {
      if (c.offset >= 0) consumer.seek({ topic: c.topic, partition: c.partition }, c.offset);
      else fromStart.push({ topic: c.topic, partition: c.partition });
    }
    if (fromStart.length > 0) await consumer.seekToBeginning(fromStart);
  }

  /**
   * After a commit: each task's persistent logged stores hold every changelog record written so far (flushed
   * before the producer was), so their checkpoint is the last offset written or restored per changelog partition.
   */
  private writeCheckpoints(tasks: ActiveTask[]): void {
    for (const t of tasks) {
      const dir = t.task.stateDir;
      if (dir === null || t.restoring) continue;
      const offsets: Array<{ topic: string; partition: number; offset: number }> = [];
      for (const { builder, changelogTopic } of t.plan.stores) {
        if (changelogTopic === null || !t.task.stores.get(builder.name)?.persistent) continue;
        const offset = this.changelogOffsets.get(tpKey(changelogTopic, t.task.id.partition));
        if (offset !== undefined) offsets.push({ topic: changelogTopic, partition: t.task.id.partition, offset });
      }
      if (offsets.length > 0) writeCheckpoint(dir, offsets);
    }
  }

  // ---- rebalance callbacks -------------------------------------------------------------------------------------

  private onAssigned(tps: TopicPartition[]): void {
    const toPause: TopicPartition[] = [];
    for (const tp of tps) {
      const plan = this.subtopologyByTopic.get(tp.topic);
      if (!plan) continue;
      const id = new TaskId(plan.id, tp.partition);
      let t = this.tasks.get(id.toString());
      if (!t) {
        // A standby of the task becomes active with its stores as they are (restoring the tail), else a new task.
        const promoted = this.standby?.take(id.toString()) ?? null;
        const task = promoted?.task ?? new StreamTask(id, plan, this.environment(tp.partition));
        if (promoted) task.initProcessors();
        else task.init();
        t = { task, plan, inputs: new Set(), consumed: new Map(), committed: new Map(), restoring: plan.stores.some((s) => s.changelogTopic !== null), restoreFrom: promoted?.positions ?? null };
        this.tasks.set(id.toString(), t);
      }
      t.inputs.add(tp.topic);
      this.taskByInput.set(tpKey(tp.topic, tp.partition), t);
      if (t.restoring) toPause.push(tp);
    }
    if (toPause.length > 0) this.consumer!.pause(toPause);
    this.assignedOnce = true;
    this.rebalancing = false;
  }

  /**
   * An active task the assignment made a standby here keeps its stores (Kafka recycles it): processors closed,
   * stores flushed, handed to the standby updater at the changelog offsets it wrote or restored. Not after a lost
   * partition, a task still restoring, or a failed commit under exactly_once_v2 (its stores may hold aborted writes).
   */
  private demoteToStandby(t: ActiveTask, committed: boolean): boolean {
    const id = t.task.id.toString();
    if (!this.standby?.isAssigned(id) || !committed || t.restoring || (this.eos && this.needsRevive)) return false;
    try {
      t.task.closeProcessors();
      for (const st of t.task.stores.values()) st.flush();
    } catch {
      return false;
    }
    const positions = new Map<string, number>();
    for (const { changelogTopic } of t.plan.stores) {
      if (changelogTopic === null) continue;
      const k = tpKey(changelogTopic, t.task.id.partition);
      positions.set(k, (this.changelogOffsets.get(k) ?? -1) + 1);
    }
    this.standby.adopt(id, t.task, t.plan, positions);
    return true;
  }

  private async onRevoked(tps: TopicPartition[], commit: boolean): Promise<void> {
    if (tps.length === 0) return;
    this.rebalancing = true;
    if (this.currentState === 'RUNNING') this.setState('REBALANCING');
    const affected = new Set<ActiveTask>();
    for (const tp of tps) {
      const t = this.taskByInput.get(tpKey(tp.topic, tp.partition));
      if (t) affected.add(t);
    }
    if (this.eos && !this.needsRevive && (commit || this.inTransaction)) {
      // One transaction spans every task: commit all of them (the revoked ones' new owner starts from it). Lost
      // partitions (commit=false) cannot commit: abort, and the remaining tasks are revived from what was committed.
      const committed = commit ? await this.commit([...this.tasks.values()].filter((t) => !t.restoring)).then(() => true, () => false) : false;
      if (!committed) this.needsRevive = true;
    } else if (!this.eos && commit && affected.size > 0) {
      // The new owner starts from this commit; a failure here means it reprocesses some records (at-least-once).
      await this.commit([...affected].filter((t) => !t.restoring)).catch(() => undefined);
    }
    for (const tp of tps) {
      const t = this.taskByInput.get(tpKey(tp.topic, tp.partition));
      if (!t) continue;
      this.taskByInput.delete(tpKey(tp.topic, tp.partition));
      t.inputs.delete(tp.topic);
      if (t.inputs.size === 0) {
        this.tasks.delete(t.task.id.toString());
        if (!this.demoteToStandby(t, commit)) t.task.close(commit);
      }
    }
  }

  private environment(partition: number): TaskEnvironment {
    return {
      props: this.props,
      collector: {
        send: (topic, key, value, headers, timestamp, p) => this.send(topic, p, key, value, headers, timestamp),
      },
      now: () => Date.now(),
      globalStores: this.global?.stores ?? new Map(),
      changeLogger: (_store, changelogTopic) => ({
        logChange: (key, value, timestamp) => {
          this.send(changelogTopic, partition, key, value, EMPTY_HEADERS, timestamp);
        },
      }),
      partitionsFor: (topic) => {
        const n = this.topicPartitions.get(topic);
        if (n === undefined) throw new StreamsException(`the partition count of topic ${topic} is unknown (does it exist?)`);
        return n;
      },
      decorate: this.plan.decorate,
      recordCache: this.recordCache,
    };
  }

  /**
   * Sink, repartition and changelog writes: no promise per record (Producer.sendTo); `sends` hears once per batch —
   * the changelog offsets a checkpoint records, and the first failure, which fails the next commit.
   */
  private send(topic: string, partition: number | null, key: Buffer | string | null, value: Buffer | string | null, headers: Headers, timestamp: number): void {
    const producer = this.producer;
    if (!producer) throw new StreamsException('the producer is not running');
    if (this.eos) this.beginTransaction(producer);
    try {
      producer.sendTo({ topic, partition: partition ?? undefined, key, value, headers: headers.length > 0 ? [...headers] : undefined, timestamp }, this.sends);
    } catch (err) {
      this.sendError ??= err instanceof Error ? err : new StreamsException(String(err));
    }
  }

  private readonly sends: SendListener = {
    onAcknowledged: (topic, partition, lastOffset) => {
      if (this.changelogTopics.has(topic)) this.noteChangelogOffset(topic, partition, lastOffset);
    },
    onFailed: (_topic, _partition, err) => {
      this.sendError ??= err;
    },
  };

  private noteChangelogOffset(topic: string, partition: number, offset: number): void {
    const k = tpKey(topic, partition);
    if (offset > (this.changelogOffsets.get(k) ?? -1)) this.changelogOffsets.set(k, offset);
  }

  /**
   * Where restoring a store starts: a persistent store with a checkpoint holds the changelog up to its offset, so
   * after it; anything else (in memory, no checkpoint) from the earliest offset. A checkpoint at or past the
   * changelog's end (the topic was recreated) means the store does not match it: wiped and restored in full.
   */
  private restoreStart(dir: string | null, store: StateStore, tp: TopicPartition, earliest: number, end: number): number {
    if (!store.persistent || dir === null) return earliest;
    const cp = checkpointOffset(readCheckpoint(dir), tp.topic, tp.partition);
    if (cp === undefined) {
      // exactly_once_v2 without a checkpoint (no clean close): the store may hold uncommitted writes. Start over.
      if (this.eos) store.wipe?.();
      return earliest;
    }
    if (cp >= end) {
      store.wipe?.();
      return earliest;
    }
    return Math.max(earliest, cp + 1);
  }

  // ---- restoration ---------------------------------------------------------------------------------------------

  private async restorePending(): Promise<void> {
    const pending = [...this.tasks.values()].filter((t) => t.restoring);
    if (pending.length === 0) return;
    interface Work { t: ActiveTask; store: StateStore; tp: TopicPartition; start: number; end: number; restored: number; done: boolean }
    const work: Work[] = [];
    for (const t of pending) {
      for (const { builder, changelogTopic } of t.plan.stores) {
        if (changelogTopic === null) continue;
        const store = t.task.stores.get(builder.name)!;
        work.push({ t, store, tp: { topic: changelogTopic, partition: t.task.id.partition }, start: 0, end: 0, restored: 0, done: false });
      }
    }
    const admin = this.admin!;
    // Under exactly_once_v2 a changelog is read up to its last stable offset: only committed writes are restored.
    const ends = await admin.listOffsets(work.map((w) => ({ ...w.tp, timestamp: 'latest' as const })), { isolationLevel: this.eos ? 'read_committed' : 'read_uncommitted' });
    const starts = await admin.listOffsets(work.map((w) => ({ ...w.tp, timestamp: 'earliest' as const })));
    work.forEach((w, i) => {
      w.end = ends[i].offset;
      // A promoted standby holds its changelogs up to its positions: only the tail is restored.
      const from = w.t.restoreFrom?.get(tpKey(w.tp.topic, w.tp.partition));
      w.start = from !== undefined && from <= w.end ? Math.max(starts[i].offset, from) : this.restoreStart(w.t.task.stateDir, w.store, w.tp, starts[i].offset, w.end);
      w.done = w.start >= w.end;
      if (w.end > 0) this.noteChangelogOffset(w.tp.topic, w.tp.partition, w.end - 1);
    });
    // exactly_once_v2: from now on the stores run ahead of what is committed; a crash must not trust the checkpoint.
    if (this.eos) for (const t of pending) if (t.task.stateDir !== null) deleteCheckpoint(t.task.stateDir);
    const active = work.filter((w) => !w.done);
    if (active.length > 0) {
      const rc = this.restoreConsumer!;
      const byTp = new Map(active.map((w) => [tpKey(w.tp.topic, w.tp.partition), w]));
      rc.assign(active.map((w) => w.tp));
      for (const w of active) {
        rc.seek(w.tp, w.start);
        this.restoreListener?.onRestoreStart?.(w.tp, w.store.name, w.start, w.end);
      }
      while (!this.stopping && active.some((w) => !w.done)) {
        const records = await rc.poll(this.pollMs);
        const batch = new Map<Work, { n: number; last: number }>();
        for (const r of records) {
          const w = byTp.get(tpKey(r.topic, r.partition));
          if (!w || w.done || r.offset >= w.end) continue;
          if (r.key !== null && this.tasks.get(w.t.task.id.toString()) === w.t) w.store.restore?.(r.key, r.value);
          w.restored++;
          const b = batch.get(w) ?? { n: 0, last: r.offset };
          b.n++;
          b.last = r.offset;
          batch.set(w, b);
        }
        for (const [w, b] of batch) this.restoreListener?.onBatchRestored?.(w.tp, w.store.name, b.last, b.n);
        for (const w of active) {
          if (w.done) continue;
          const pos = rc.position(w.tp);
          if (pos !== undefined && pos >= w.end) {
            w.done = true;
            this.restoreListener?.onRestoreEnd?.(w.tp, w.store.name, w.restored);
          }
        }
      }
      rc.assign([]);
    }
    if (this.stopping) return;
    const resume: TopicPartition[] = [];
    for (const t of pending) {
      if (this.tasks.get(t.task.id.toString()) !== t) continue; // revoked meanwhile
      t.restoring = false;
      t.restoreFrom = null;
      for (const topic of t.inputs) resume.push({ topic, partition: t.task.id.partition });
    }
    if (resume.length > 0) this.consumer!.resume(resume);
  }

  // ---- interactive queries -------------------------------------------------------------------------------------

  /**
   * A read-only view of a store across this instance's tasks (the partitions it holds now). Key-value stores read
   * as ReadOnlyKeyValueStore, window stores as ReadOnlyWindowStore, session stores as ReadOnlySessionStore; the
   * DSL's timestamped values come without their timestamps. With `enableStaleStores` (Kafka's
   * StoreQueryParameters.enableStaleStores()) the view also reads this instance's standby tasks and active tasks
   * still restoring, which may lag behind; never by default.
   */
  store<S = ReadOnlyKeyValueStore<unknown, unknown>>(name: string, params: { enableStaleStores?: boolean } = {}): S {
    if (this.currentState !== 'RUNNING' && this.currentState !== 'REBALANCING') {
      throw new StreamsException(`store ${name} cannot be queried in state ${this.currentState} (only RUNNING or REBALANCING)`);
    }
    const plan = this.plan.subtopologies.find((s) => s.stores.some((x) => x.builder.name === name));
    if (!plan) throw new StreamsException(`no store named ${name}`);
    const kind = plan.stores.find((x) => x.builder.name === name)!.builder.kind;
    const stale = params.enableStaleStores === true;
    const local = (): StateStore[] => [
      ...[...this.tasks.values()].filter((t) => stale || !t.restoring).map((t) => t.task.stores.get(name)).filter((s): s is StateStore => s !== undefined),
      ...(stale ? this.standby?.stores(name) ?? [] : []),
    ];
    const stores = plan.global ? (): StateStore[] => [this.global.stores.get(name)!] : local;
    if (kind === 'keyValue') return new CompositeKeyValueView(stores) as S;
    if (kind === 'window') return new CompositeWindowView(stores) as S;
    return new CompositeSessionView(stores) as S;
  }

  /** The topology's queryable stores (global ones excluded) and what kind each is. */
  storeNames(): Array<{ name: string; kind: 'keyValue' | 'window' | 'session' }> {
    const out: Array<{ name: string; kind: 'keyValue' | 'window' | 'session' }> = [];
    for (const s of this.plan.subtopologies) for (const { builder } of s.stores) out.push({ name: builder.name, kind: builder.kind });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- interactive queries across instances (metadata.ts) ------------------------------------------------------

  private queryableOrThrow(what: string): void {
    if (this.currentState !== 'RUNNING' && this.currentState !== 'REBALANCING') {
      throw new StreamsException(`${what} in state ${this.currentState} (only RUNNING or REBALANCING)`);
    }
  }

  private topologyStores(): TopologyStores {
    const sourceTopicsByStore = new Map<string, string[]>();
    const globalStores: string[] = [];
    for (const s of this.plan.subtopologies) {
      for (const { builder } of s.stores) {
        if (s.global) globalStores.push(builder.name);
        else sourceTopicsByStore.set(builder.name, [...s.sourcesByTopic.keys()]);
      }
    }
    return { sourceTopicsByStore, globalStores, partitionCount: (t) => this.topicPartitions.get(t) };
  }

  /**
   * Kafka's metadataForAllStreamsClients(): every instance of the application that set application.server, with
   * its stores and the source partitions of its active and standby tasks, from the last assignment. Empty until
   * the first assignment (and when no instance sets application.server).
   */
  metadataForAllStreamsClients(): StreamsMetadata[] {
    this.queryableOrThrow('metadataForAllStreamsClients()');
    const m = this.hostMetadata;
    return m === null ? [] : allMetadata(m.active, m.standby, this.topologyStores());
  }

  /** Kafka's streamsMetadataForStore(): the instances hosting the store (active tasks); empty for an unknown store. */
  streamsMetadataForStore(storeName: string): StreamsMetadata[] {
    return this.metadataForAllStreamsClients().filter((m) => m.stateStoreNames.includes(storeName));
  }

  /**
   * Kafka's queryMetadataForKey(): the instance whose active task holds the key's partition of the store, the
   * instances with a standby of it, and the partition — by the key serializer and the default partitioner, or by
   * a StreamPartitioner. KeyQueryMetadata.NOT_AVAILABLE (activeHost unavailable:-1, partition -1) until the first
   * assignment, for an unknown store, or while no instance holds the partition.
   */
  queryMetadataForKey<K>(storeName: string, key: K, keySerializer: Serializer<K> | StreamPartitioner<K, unknown>): KeyQueryMetadata {
    this.queryableOrThrow('queryMetadataForKey()');
    const m = this.hostMetadata;
    if (m === null) return NOT_AVAILABLE;
    return keyMetadata(storeName, key, keySerializer, m.active, m.standby, this.topologyStores(), this.hostInfo);
  }

  /** This instance's application.server, parsed (null when unset). */
  applicationServer(): HostInfo | null {
    return this.hostInfo;
  }

  /**
   * Kafka's metadataForLocalThreads(): this instance runs one stream thread — its state (StreamThread's names),
   * its active and standby tasks with their source partitions, and its clients' ids.
   */
  metadataForLocalThreads(): Array<{
    threadName: string; threadState: string;
    activeTasks: Array<{ taskId: string; topicPartitions: TopicPartition[] }>; standbyTasks: Array<{ taskId: string; topicPartitions: TopicPartition[] }>;
    consumerClientId: string; restoreConsumerClientId: string; producerClientIds: string[]; adminClientId: string;
  }> {
    const threadState = ({ CREATED: 'CREATED', REBALANCING: 'PARTITIONS_ASSIGNED', RUNNING: 'RUNNING', PENDING_SHUTDOWN: 'PENDING_SHUTDOWN', NOT_RUNNING: 'DEAD', ERROR: 'DEAD' } as const)[this.currentState];
    const partitionsOf = (id: string): TopicPartition[] => {
      const [s, p] = id.split('_').map(Number);
      const plan = this.plan.subtopologies.find((x) => x.id === s && !x.global);
      return [...(plan?.sourcesByTopic.keys() ?? [])].filter((t) => p < (this.topicPartitions.get(t) ?? 0)).map((topic) => ({ topic, partition: p }));
    };
    return [{
      threadName: this.clientId,
      threadState,
      activeTasks: this.activeTasks().map((taskId) => ({ taskId, topicPartitions: partitionsOf(taskId) })),
      standbyTasks: this.standbyTasks().map((taskId) => ({ taskId, topicPartitions: partitionsOf(taskId) })),
      consumerClientId: `${this.clientId}-consumer`,
      restoreConsumerClientId: `${this.clientId}-restore-consumer`,
      producerClientIds: [`${this.clientId}-producer`],
      adminClientId: `${this.clientId}-admin`,
    }];
  }

  /** Task metrics summed over this instance's tasks, under Kafka Streams' names. */
  metrics(): { 'process-total': number; 'dropped-records-total': number; 'punctuate-total': number; tasks: number; 'task-revivals-total': number } {
    let processed = 0;
    let dropped = 0;
    let punctuations = 0;
    for (const t of this.tasks.values()) {
      processed += t.task.metrics.processed;
      dropped += t.task.metrics.droppedRecords;
      punctuations += t.task.metrics.punctuations;
    }
    return { 'process-total': processed, 'dropped-records-total': dropped, 'punctuate-total': punctuations, tasks: this.tasks.size, 'task-revivals-total': this.revivals };
  }

  /** The tasks this instance runs now ("<sub-topology>_<partition>"). */
  activeTasks(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** The standby tasks this instance keeps now (num.standby.replicas > 0). */
  standbyTasks(): string[] {
    return this.standby?.ids() ?? [];
  }

  // ---- shutdown ------------------------------------------------------------------------------------------------

  /**
   * Stops processing, commits, closes the tasks and leaves the group. `crash` (for tests) stops as a killed
   * process would: no commit, no flush and no checkpoint; persistent stores drop their unflushed writes.
   */
  async close(options: { crash?: boolean } = {}): Promise<void> {
    if (this.currentState === 'NOT_RUNNING' || this.currentState === 'PENDING_SHUTDOWN') {
      await this.loop;
      return;
    }
    if (this.currentState === 'ERROR') return;
    this.setState('PENDING_SHUTDOWN');
    this.stopping = true;
    await this.loop;
    let committed = false;
    if (!options.crash) {
      try {
        if (!this.needsRevive) {
          await this.commit([...this.tasks.values()].filter((t) => !t.restoring));
          committed = true;
        }
      } catch {
        // At-least-once: what was not committed is processed again by the next owner.
      }
      await this.abortOpenTransaction();
      await this.publishTopology('NOT_RUNNING');
    }
    // Under exactly_once_v2 tasks whose last commit failed close dirty: their record caches must not flush into a
    // transaction that never commits.
    await this.shutdownClients(!options.crash && (committed || !this.eos));
    this.setState('NOT_RUNNING');
  }

  private async shutdownClients(clean = true): Promise<void> {
    for (const t of this.tasks.values()) {
      try { t.task.close(clean); } catch { /* closing regardless */ }
    }
    this.tasks.clear();
    this.taskByInput.clear();
    const quietly = async (c: { close(): Promise<void> } | null): Promise<void> => {
      try { await c?.close(); } catch { /* closing regardless */ }
    };
    // The group consumer first (it leaves the group; its revoke callback finds no tasks left).
    await quietly(this.consumer);
    try { await this.standby?.close(clean); } catch { /* closing regardless */ }
    await quietly(this.global);
    await quietly(this.restoreConsumer);
    await quietly(this.producer);
    await quietly(this.publisher);
    await quietly(this.admin);
    this.processId?.release();
  }

  /** exactly_once_v2: nothing of an unfinished transaction may become visible (best effort; else it times out). */
  private async abortOpenTransaction(): Promise<void> {
    if (!this.inTransaction || !this.producer) return;
    this.inTransaction = false;
    try {
      await this.producer.abortTransaction();
    } catch {
      // Fenced or unreachable: the coordinator aborts it at transaction.timeout.ms, or the next instance's
      // InitProducerId with the same transactional.id does.
    }
  }

  private async fail(err: unknown): Promise<void> {
    this.error = err instanceof Error ? err : new StreamsException(String(err));
    this.stopping = true;
    await this.abortOpenTransaction();
    // Dirty: after a processing error the record caches hold what must be processed again, not flushed.
    await this.shutdownClients(false);
    this.setState('ERROR');
    this.uncaughtHandler?.(this.error);
  }

  /** The error that moved the application to ERROR, if any. */
  lastError(): Error | null {
    return this.error;
  }
}

// ---- read-only views across tasks -----------------------------------------------------------------------------

function unwrap<V>(v: unknown, store: StateStore): V {
  return ((store as { timestamped?: boolean }).timestamped ? (v as ValueAndTimestamp<V> | null)?.value ?? null : v) as V;
}

class CompositeKeyValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  constructor(private readonly stores: () => StateStore[]) {}

  private kv(): Array<{ s: StateStore; kv: ReadOnlyKeyValueStore<K, unknown> }> {
    return this.stores().map((s) => ({ s, kv: s as unknown as ReadOnlyKeyValueStore<K, unknown> }));
  }

  get(key: K): V | null {
    for (const { s, kv } of this.kv()) {
      const v = kv.get(key);
      if (v !== null) return unwrap<V>(v, s);
    }
    return null;
  }

  *range(from: K | undefined, to: K | undefined): IterableIterator<KeyValue<K, V>> {
    for (const { s, kv } of this.kv()) for (const e of kv.range(from, to)) yield { key: e.key, value: unwrap<V>(e.value, s) };
  }

  all(): IterableIterator<KeyValue<K, V>> {
    return this.range(undefined, undefined);
  }

  approximateNumEntries(): number {
    return this.kv().reduce((n, { kv }) => n + kv.approximateNumEntries(), 0);
  }
}

class CompositeWindowView<K, V> implements ReadOnlyWindowStore<K, V> {
  constructor(private readonly stores: () => StateStore[]) {}

  private ws(): Array<{ s: StateStore; w: ReadOnlyWindowStore<K, unknown> }> {
    return this.stores().map((s) => ({ s, w: s as unknown as ReadOnlyWindowStore<K, unknown> }));
  }

  fetch(key: K, windowStart: number): V | null {
    for (const { s, w } of this.ws()) {
      const v = w.fetch(key, windowStart);
      if (v !== null) return unwrap<V>(v, s);
    }
    return null;
  }

  *fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<KeyValue<number, V>> {
    for (const { s, w } of this.ws()) for (const e of w.fetchRange(key, timeFrom, timeTo)) yield { key: e.key, value: unwrap<V>(e.value, s) };
  }

  *fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>> {
    for (const { s, w } of this.ws()) for (const e of w.fetchAll(timeFrom, timeTo)) yield { key: e.key, value: unwrap<V>(e.value, s) };
  }

  all(): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.fetchAll(-Infinity, Infinity);
  }
}

class CompositeSessionView<K, AGG> implements ReadOnlySessionStore<K, AGG> {
  constructor(private readonly stores: () => StateStore[]) {}

  private ss(): ReadOnlySessionStore<K, AGG>[] {
    return this.stores() as unknown as ReadOnlySessionStore<K, AGG>[];
  }

  *findSessions(key: K, earliestSessionEnd: number, latestSessionStart: number): IterableIterator<KeyValue<Windowed<K>, AGG>> {
    for (const s of this.ss()) yield* s.findSessions(key, earliestSessionEnd, latestSessionStart);
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): AGG | null {
    for (const s of this.ss()) {
      const v = s.fetchSession(key, sessionStart, sessionEnd);
      if (v !== null) return v;
    }
    return null;
  }

  fetch(key: K): IterableIterator<KeyValue<Windowed<K>, AGG>> {
    return this.findSessions(key, -Infinity, Infinity);
  }
}
