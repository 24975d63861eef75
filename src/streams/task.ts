// A task: one sub-topology over one input partition. It deserializes each input record, keeps stream time (the
// largest timestamp seen), runs the record depth-first through the processors, hands sink output to a
// RecordCollector (the test driver's queues now, a producer later) and fires punctuations. Tasks are driven from
// outside: the caller decides which record comes next.
import { recordTimestampExtractor, resolveSerde, StreamsException, type StreamsProps } from './config.js';
import { PunctuationType, TaskId, type Cancellable, type Processor, type ProcessorContext, type Punctuator } from './processor.js';
import { Record, type Headers, type RecordMetadata } from './record.js';
import { isTextSerializer, type Serde } from './serdes.js';
import { lockTaskDirectory, taskDirectory } from './state/state-directory.js';
import type { ChangeLogger, StateStore, StoreContext } from './state/stores.js';
import type { SinkNode, SubtopologyPlan, TopologyNode } from './topology.js';

/** Where sink output goes. */
export interface RecordCollector {
  /** key and value are bytes, or text that stands for its UTF-8 bytes (a String or JSON serde's output). */
  send(topic: string, key: Buffer | string | null, value: Buffer | string | null, headers: Headers, timestamp: number, partition: number | null): void;
}

/** What the runtime gives a task. */
export interface TaskEnvironment {
  readonly props: StreamsProps;
  readonly collector: RecordCollector;
  /** Wall-clock time in ms (the test driver's mock clock). */
  now(): number;
  /** Stores every task may read (global stores). */
  readonly globalStores: ReadonlyMap<string, StateStore>;
  /** The changelog writer for a store, or null (the test driver logs nothing). */
  changeLogger(storeName: string, changelogTopic: string): ChangeLogger | null;
  /** Partitions of an output topic, for a StreamPartitioner (1 in the test driver). */
  partitionsFor(topic: string): number;
  decorate(topic: string): string;
}

/** What DSL processors reach beyond the public context. */
export interface InternalProcessorContext<K = unknown, V = unknown> extends ProcessorContext<K, V> {
  /** Counts a record the processor dropped (late, null key, ...): dropped-records-total. */
  recordDropped(reason: string): void;
}

interface Schedule {
  node: string;
  next: number;
  interval: number;
  callback: Punctuator;
  cancelled: boolean;
}

export interface TaskMetrics {
  droppedRecords: number;
  droppedByReason: Map<string, number>;
  processed: number;
  punctuations: number;
}

export class StreamTask {
  readonly stores = new Map<string, StateStore>();
  readonly metrics: TaskMetrics = { droppedRecords: 0, droppedByReason: new Map(), processed: 0, punctuations: 0 };
  private readonly runners = new Map<string, NodeRunner>();
  private streamTime = -1;
  private readonly partitionTime = new Map<string, number>();
  private current: RecordMetadata | null = null;
  private readonly schedules: { [T in PunctuationType]: Schedule[] } = { STREAM_TIME: [], WALL_CLOCK_TIME: [] };

  constructor(readonly id: TaskId, readonly plan: SubtopologyPlan, private readonly env: TaskEnvironment) {}

  get applicationId(): string {
    return this.env.props['application.id'];
  }

  streamTimeMs(): number {
    return this.streamTime;
  }

  /** The task's directory under state.dir, once a persistent store opened it (it stays locked until close). */
  stateDir: string | null = null;
  private unlock: (() => void) | null = null;

  private taskDir(): string {
    if (this.stateDir === null) {
      const dir = taskDirectory(this.env.props['state.dir'] as string | undefined, this.applicationId, this.id.toString());
      this.unlock = lockTaskDirectory(dir);
      this.stateDir = dir;
    }
    return this.stateDir;
  }

  init(): void {
    for (const { builder, changelogTopic } of this.plan.stores) {
      const store = builder.build(this.env.props);
      const ctx: StoreContext = {
        applicationId: this.applicationId,
        props: this.env.props,
        changelogTopic,
        changeLogger: changelogTopic ? this.env.changeLogger(builder.name, changelogTopic) : null,
        recordTimestamp: () => this.currentTimestamp,
        taskDir: () => this.taskDir(),
      };
      store.init(ctx);
      this.stores.set(builder.name, store);
    }
    for (const n of this.plan.nodes) this.runners.set(n.name, new NodeRunner(n, this));
    for (const r of this.runners.values()) r.children = r.node.children.map((c) => this.runners.get(c)!);
    for (const n of this.plan.nodes) this.runners.get(n.name)!.init();
  }

  /** The timestamp of the record in flight (its changelog records carry it). */
  currentTimestamp = 0;

  /** Processes one input record; returns false when the task has no source for the topic. */
  process(topic: string, partition: number, offset: number, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): boolean {
    const source = this.plan.sourcesByTopic.get(topic);
    if (!source) return false;
    const runner = this.runners.get(source.name)!;
    this.current = { topic, partition, offset, headers };
    try {
      const serdes = runner.sourceSerdes();
      const k = serdes.key.deserialize(topic, key, headers);
      const v = serdes.value.deserialize(topic, value, headers);
      // A task reads one partition number of each of its topics: the topic alone is the key then.
      const ptKey = partition === this.id.partition ? topic : `${topic}:${partition}`;
      const partitionTime = this.partitionTime.get(ptKey) ?? -1;
      const extractor = source.options.timestampExtractor ?? this.env.props['default.timestamp.extractor'] ?? recordTimestampExtractor;
      const ts = extractor === recordTimestampExtractor ? timestamp : extractor({ topic, partition, offset, key: k, value: v, timestamp, headers }, partitionTime);
      if (!Number.isFinite(ts) || ts < 0) {
        // Kafka's default handling of an invalid extracted timestamp would fail; dropping with a count is the
        // log-and-skip choice, made explicit.
        this.recordDropped(`negative timestamp ${ts}`);
        return true;
      }
      this.partitionTime.set(ptKey, Math.max(partitionTime, ts));
      this.streamTime = Math.max(this.streamTime, ts);
      this.currentTimestamp = ts;
      this.metrics.processed++;
      runner.forwardToChildren(new Record(k, v, ts, headers), undefined);
    } finally {
      this.current = null;
    }
    return true;
  }

  recordDropped(reason: string): void {
    this.metrics.droppedRecords++;
    this.metrics.droppedByReason.set(reason, (this.metrics.droppedByReason.get(reason) ?? 0) + 1);
  }

  recordMetadata(): RecordMetadata | null {
    return this.current;
  }

  schedule(node: string, intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError(`a punctuation interval must be >= 1 ms, got ${intervalMs}`);
    // Stream-time punctuations are aligned to 0 and fire on the first record; wall-clock ones fire an interval from now.
    const s: Schedule = { node, next: type === PunctuationType.STREAM_TIME ? 0 : this.env.now() + intervalMs, interval: intervalMs, callback, cancelled: false };
    this.schedules[type].push(s);
    return { cancel: () => { s.cancelled = true; } };
  }

  maybePunctuateStreamTime(): boolean {
    return this.streamTime >= 0 && this.punctuate(PunctuationType.STREAM_TIME, this.streamTime);
  }

  maybePunctuateSystemTime(): boolean {
    return this.punctuate(PunctuationType.WALL_CLOCK_TIME, this.env.now());
  }

  private punctuate(type: PunctuationType, now: number): boolean {
    let fired = false;
    const list = this.schedules[type];
    for (const s of [...list].sort((a, b) => a.next - b.next)) {
      if (s.cancelled || s.next > now) continue;
      // Missed intervals are skipped: one call, then the next interval boundary after now.
      s.next += s.interval * (Math.floor((now - s.next) / s.interval) + 1);
      this.metrics.punctuations++;
      fired = true;
      this.currentTimestamp = now;
      s.callback(now);
    }
    this.schedules[type] = list.filter((s) => !s.cancelled);
    return fired;
  }

  /** @internal */
  store(name: string, node: string, allowed: readonly string[]): StateStore {
    const s = this.stores.get(name) ?? this.env.globalStores.get(name);
    if (!s) throw new StreamsException(`processor ${node}: no store named ${name}`);
    if (this.stores.has(name) && !allowed.includes(name)) throw new StreamsException(`processor ${node} is not connected to store ${name}`);
    return s;
  }

  /** @internal */
  get environment(): TaskEnvironment {
    return this.env;
  }

  /** Closes the processors and stores; unclean (a crash, a lost task): stores drop what they did not flush. */
  close(clean = true): void {
    for (const r of this.runners.values()) r.close();
    for (const s of this.stores.values()) {
      if (clean) s.flush();
      s.close();
    }
    this.unlock?.();
    this.unlock = null;
  }
}

/** A node of the task: its processor instance (sources and sinks are built-in) and its context. */
class NodeRunner implements InternalProcessorContext {
  children: NodeRunner[] = [];
  private processor: Processor<unknown, unknown, unknown, unknown> | null = null;
  private serdes: { key: Serde<unknown>; value: Serde<unknown> } | null = null;
  /** A sink's fixed topic, decorated once; null for a topic chosen per record. */
  private sinkTopic: string | null = null;

  constructor(readonly node: TopologyNode, private readonly task: StreamTask) {}

  get applicationId(): string {
    return this.task.applicationId;
  }

  get taskId(): TaskId {
    return this.task.id;
  }

  init(): void {
    if (this.node.kind === 'processor') {
      this.processor = this.node.supplier();
      this.processor.init?.(this);
    } else {
      const props = this.task.environment.props;
      const what = `${this.node.kind} ${this.node.name}`;
      const key = resolveSerde(this.node.options.keySerde, props, 'key', what);
      const value = resolveSerde(this.node.options.valueSerde, props, 'value', what);
      const wrap = this.node.options.valueSerdeWrap;
      this.serdes = { key, value: wrap ? wrap(value) : value };
      if (this.node.kind === 'sink' && typeof this.node.topic === 'string') this.sinkTopic = this.task.environment.decorate(this.node.topic);
    }
  }

  sourceSerdes(): { key: Serde<unknown>; value: Serde<unknown> } {
    return this.serdes!;
  }

  process(record: Record<unknown, unknown>): void {
    if (this.node.kind === 'processor') this.processor!.process(record);
    else if (this.node.kind === 'sink') this.sink(this.node, record);
    else this.forwardToChildren(record, undefined);
  }

  private sink(node: SinkNode, record: Record<unknown, unknown>): void {
    const env = this.task.environment;
    let topic = this.sinkTopic;
    if (topic === null) {
      const meta = this.task.recordMetadata();
      topic = env.decorate(typeof node.topic === 'string' ? node.topic : node.topic(record.key, record.value, { topic: meta?.topic ?? null, headers: record.headers, timestamp: record.timestamp }));
    }
    const ks = this.serdes!.key;
    const vs = this.serdes!.value;
    const key = isTextSerializer(ks) ? ks.serializeText(topic, record.key, record.headers) : ks.serialize(topic, record.key, record.headers);
    const value = isTextSerializer(vs) ? vs.serializeText(topic, record.value, record.headers) : vs.serialize(topic, record.value, record.headers);
    const partition = node.options.partitioner ? node.options.partitioner(topic, record.key, record.value, env.partitionsFor(topic)) : null;
    env.collector.send(topic, key, value, record.headers, record.timestamp, partition);
  }

  forwardToChildren(record: Record<unknown, unknown>, childName: string | undefined): void {
    if (childName !== undefined) {
      const child = this.children.find((c) => c.node.name === childName);
      if (!child) throw new StreamsException(`${this.node.name} has no child named ${childName}`);
      child.process(record);
      return;
    }
    for (const c of this.children) c.process(record);
  }

  // ---- ProcessorContext ----

  forward<K, V>(record: Record<K, V>, childName?: string): void {
    this.forwardToChildren(record as Record<unknown, unknown>, childName);
  }

  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable {
    return this.task.schedule(this.node.name, intervalMs, type, callback);
  }

  getStateStore<S>(name: string): S {
    return this.task.store(name, this.node.name, this.node.kind === 'processor' ? this.node.stores : []) as S;
  }

  recordMetadata(): RecordMetadata | null {
    return this.task.recordMetadata();
  }

  currentStreamTimeMs(): number {
    return this.task.streamTimeMs();
  }

  currentSystemTimeMs(): number {
    return this.task.environment.now();
  }

  appConfigs(): Readonly<{ [key: string]: unknown }> {
    return this.task.environment.props;
  }

  recordDropped(reason: string): void {
    this.task.recordDropped(reason);
  }

  close(): void {
    this.processor?.close?.();
  }
}
