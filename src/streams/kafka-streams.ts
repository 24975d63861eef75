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
import { checkpointOffset, deleteCheckpoint, readCheckpoint, writeCheckpoint } from './state/state-directory.js';
import type { ReadOnlyKeyValueStore, ReadOnlySessionStore, ReadOnlyWindowStore, StateStore } from './state/stores.js';
import { StreamsPartitionAssignor } from './assignor.js';
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
  /** Accepted for compatibility; only 0 (no standby tasks) is supported. */
  'num.standby.replicas'?: number;
  /**
   * Where the instance keeps what outlives it (Kafka's default: /tmp/kafka-streams): persistent stores
   * (<state.dir>/<application.id>/<task>/) and the process id (<state.dir>/<application.id>/
   * kafka-streams-process-metadata) that keeps its transactional.id stable across restarts under exactly_once_v2.
   */
  'state.dir'?: string;
  /** Replication factor of the internal topics; -1 (default): the broker's default.replication.factor. */
  'replication.factor'?: number;
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
  private readonly description: string;
  /** exactly_once_v2: the producer that publishes the topology (the main one is transactional). */
  private publisher: Producer | null = null;
  private startTime = 0;
  /** Changelog partition → the last offset written to it or restored from it (what a checkpoint records). */
  private readonly changelogOffsets = new Map<string, number>();
  private readonly changelogTopics: ReadonlySet<string>;

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
    const standbys = props['num.standby.replicas'] ?? 0;
    if (standbys !== 0) throw new StreamsException(`num.standby.replicas: standby tasks are not supported yet, only 0 (got ${String(standbys)})`);
    this.commitIntervalMs = props['commit.interval.ms'] ?? (this.eos ? 100 : 30_000);
    if (!Number.isFinite(this.commitIntervalMs) || this.commitIntervalMs < 0) throw new StreamsException(`commit.interval.ms must be >= 0, got ${this.commitIntervalMs}`);
    this.pollMs = props['poll.ms'] ?? 100;
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
    return new StreamsPartitionAssignor(groups);
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
      for (const t of tasks) for (const s of t.task.stores.values()) s.flush();
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
        const task = new StreamTask(id, plan, this.environment(tp.partition));
        task.init();
        t = { task, plan, inputs: new Set(), consumed: new Map(), committed: new Map(), restoring: plan.stores.some((s) => s.changelogTopic !== null) };
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
        t.task.close(commit);
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
  private restoreStart(t: ActiveTask, store: StateStore, tp: TopicPartition, earliest: number, end: number): number {
    const dir = t.task.stateDir;
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
      w.start = this.restoreStart(w.t, w.store, w.tp, starts[i].offset, w.end);
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
      for (const topic of t.inputs) resume.push({ topic, partition: t.task.id.partition });
    }
    if (resume.length > 0) this.consumer!.resume(resume);
  }

  // ---- interactive queries -------------------------------------------------------------------------------------

  /**
   * A read-only view of a store across this instance's tasks (the partitions it holds now). Key-value stores read
   * as ReadOnlyKeyValueStore, window stores as ReadOnlyWindowStore, session stores as ReadOnlySessionStore; the
   * DSL's timestamped values come without their timestamps.
   */
  store<S = ReadOnlyKeyValueStore<unknown, unknown>>(name: string): S {
    if (this.currentState !== 'RUNNING' && this.currentState !== 'REBALANCING') {
      throw new StreamsException(`store ${name} cannot be queried in state ${this.currentState} (only RUNNING or REBALANCING)`);
    }
    const plan = this.plan.subtopologies.find((s) => s.stores.some((x) => x.builder.name === name));
    if (!plan) throw new StreamsException(`no store named ${name}`);
    const kind = plan.stores.find((x) => x.builder.name === name)!.builder.kind;
    const stores = plan.global ? (): StateStore[] => [this.global.stores.get(name)!] : (): StateStore[] => [...this.tasks.values()].filter((t) => !t.restoring).map((t) => t.task.stores.get(name)).filter((s): s is StateStore => s !== undefined);
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
    if (!options.crash) {
      try {
        if (!this.needsRevive) await this.commit([...this.tasks.values()].filter((t) => !t.restoring));
      } catch {
        // At-least-once: what was not committed is processed again by the next owner.
      }
      await this.abortOpenTransaction();
      await this.publishTopology('NOT_RUNNING');
    }
    await this.shutdownClients(!options.crash);
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
    await this.shutdownClients();
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
