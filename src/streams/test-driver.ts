// TopologyTestDriver: runs a topology without a broker. Each sub-topology is one task (partition 0); a record piped
// into an input topic runs through its task at once, then stream-time punctuations fire, then whatever the task
// wrote to a topic the topology reads (repartition topics, through()) is fed back in, in order. Output topics are
// queues read through TestOutputTopic; stores are readable by name. The wall clock is a mock that only
// advanceWallClockTime moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsException, validateProps, type StreamsProps } from './config.js';
import { TaskId } from './processor.js';
import type { Headers, KeyValue } from './record.js';
import type { Deserializer, Serializer } from './serdes.js';
import {
  KeyValueStoreFacade, WindowStoreFacade,
  type KeyValueStore, type SessionStore, type StateStore, type TimestampedKeyValueStore, type TimestampedWindowStore, type WindowStore,
} from './state/stores.js';
import { StreamTask, type TaskEnvironment } from './task.js';
import type { Topology, TopologyPlan } from './topology.js';

const toBytes = (v: Buffer | string | null): Buffer | null => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

export interface TestRecord<K, V> {
  key: K | null;
  value: V | null;
  timestamp?: number;
  headers?: Headers;
}

interface RawRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestamp: number;
}

export class TopologyTestDriver {
  private readonly plan: TopologyPlan;
  private readonly tasks: StreamTask[] = [];
  private readonly globalTasks: StreamTask[] = [];
  private readonly taskByTopic = new Map<string, StreamTask>();
  private readonly globalStores = new Map<string, StateStore>();
  private readonly outputs = new Map<string, RawRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly pending: RawRecord[] = [];
  private wallClock: number;
  private closed = false;

  /** The temporary state.dir of persistent stores when props give none (made on first use, removed on close). */
  private tempStateDir: string | null = null;

  constructor(topology: Topology, readonly props: StreamsProps, initialWallClockTimeMs: number = Date.now()) {
    validateProps(props);
    if (props['state.dir'] === undefined) {
      props = { ...props };
      Object.defineProperty(props, 'state.dir', { enumerable: true, get: () => (this.tempStateDir ??= mkdtempSync(join(tmpdir(), 'ttd-state-'))) });
    }
    this.wallClock = initialWallClockTimeMs;
    this.plan = topology.build(props);
    const env: TaskEnvironment = {
      props,
      collector: { send: (topic, key, value, headers, timestamp) => this.capture({ topic, key: toBytes(key), value: toBytes(value), headers, timestamp }) },
      now: () => this.wallClock,
      globalStores: this.globalStores,
      changeLogger: () => null,
      partitionsFor: () => 1,
      decorate: this.plan.decorate,
    };
    for (const s of this.plan.subtopologies) {
      const task = new StreamTask(new TaskId(s.id, 0), s, env);
      (s.global ? this.globalTasks : this.tasks).push(task);
      for (const t of s.sourcesByTopic.keys()) this.taskByTopic.set(t, task);
    }
    // Global stores first: every task may read them from init on.
    for (const g of this.globalTasks) {
      g.init();
      for (const [name, store] of g.stores) this.globalStores.set(name, store);
    }
    for (const t of this.tasks) t.init();
  }

  createInputTopic<K, V>(name: string, keySerializer: Serializer<K>, valueSerializer: Serializer<V>, startTimestampMs?: number, autoAdvanceMs = 0): TestInputTopic<K, V> {
    if (!this.taskByTopic.has(this.plan.decorate(name))) throw new StreamsException(`the topology does not read topic ${name}`);
    return new TestInputTopic(this, name, keySerializer, valueSerializer, startTimestampMs ?? this.wallClock, autoAdvanceMs);
  }

  createOutputTopic<K, V>(name: string, keyDeserializer: Deserializer<K>, valueDeserializer: Deserializer<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, this.plan.decorate(name), keyDeserializer, valueDeserializer);
  }

  /** @internal TestInputTopic's way in. */
  pipeRaw(record: RawRecord): void {
    if (this.closed) throw new StreamsException('the driver is closed');
    this.enqueue(record);
    this.drain();
  }

  private enqueue(record: RawRecord): void {
    this.pending.push(record);
  }

  private drain(): void {
    try {
      while (this.pending.length > 0) {
        const r = this.pending.shift()!;
        const task = this.taskByTopic.get(r.topic);
        if (!task) throw new StreamsException(`the topology does not read topic ${r.topic}`);
        const offset = this.offsets.get(r.topic) ?? 0;
        this.offsets.set(r.topic, offset + 1);
        task.process(r.topic, 0, offset, r.key, r.value, r.timestamp, r.headers);
        task.maybePunctuateStreamTime();
      }
    } catch (e) {
      // The failure reaches the caller; what the failed record left queued is not processed later.
      this.pending.length = 0;
      throw e;
    }
  }

  private capture(record: RawRecord): void {
    let q = this.outputs.get(record.topic);
    if (!q) this.outputs.set(record.topic, (q = []));
    q.push(record);
    // What the topology itself reads (repartition topics, through()) goes back in after the current record.
    if (this.taskByTopic.has(record.topic)) this.enqueue(record);
  }

  /** @internal */
  readOutput(topic: string): RawRecord | undefined {
    return this.outputs.get(topic)?.shift();
  }

  /** @internal */
  outputSize(topic: string): number {
    return this.outputs.get(topic)?.length ?? 0;
  }

  /** Moves the mock wall clock and fires the wall-clock punctuations that are due. */
  advanceWallClockTime(ms: number): void {
    if (ms < 0) throw new RangeError('the wall clock does not go back');
    this.wallClock += ms;
    for (const t of this.tasks) t.maybePunctuateSystemTime();
    this.drain();
  }

  wallClockTimeMs(): number {
    return this.wallClock;
  }

  /** Topics the topology wrote to so far (decorated names). */
  producedTopicNames(): Set<string> {
    return new Set(this.outputs.keys());
  }

  getAllStateStores(): Map<string, StateStore> {
    const out = new Map<string, StateStore>(this.globalStores);
    for (const t of this.tasks) for (const [n, s] of t.stores) out.set(n, s);
    return out;
  }

  getStateStore(name: string): StateStore | null {
    return this.getAllStateStores().get(name) ?? null;
  }

  /** A key-value store by name; a DSL store's values come without their timestamps (getTimestampedKeyValueStore has them). */
  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    const s = this.typedStore(name, 'get', 'a key-value');
    return isTimestamped(s) ? new KeyValueStoreFacade(s as unknown as TimestampedKeyValueStore<K, V>) : (s as KeyValueStore<K, V>);
  }

  getTimestampedKeyValueStore<K, V>(name: string): TimestampedKeyValueStore<K, V> {
    const s = this.typedStore(name, 'get', 'a key-value');
    if (!isTimestamped(s)) throw new StreamsException(`store ${name} is not a timestamped store`);
    return s as unknown as TimestampedKeyValueStore<K, V>;
  }

  /** A window store by name; a DSL store's values come without their timestamps (getTimestampedWindowStore has them). */
  getWindowStore<K, V>(name: string): WindowStore<K, V> {
    const s = this.typedStore(name, 'fetchRange', 'a window');
    return isTimestamped(s) ? new WindowStoreFacade(s as unknown as TimestampedWindowStore<K, V>) : (s as WindowStore<K, V>);
  }

  getTimestampedWindowStore<K, V>(name: string): TimestampedWindowStore<K, V> {
    const s = this.typedStore(name, 'fetchRange', 'a window');
    if (!isTimestamped(s)) throw new StreamsException(`store ${name} is not a timestamped store`);
    return s as unknown as TimestampedWindowStore<K, V>;
  }

  getSessionStore<K, V>(name: string): SessionStore<K, V> {
    return this.typedStore(name, 'findSessions', 'a session') as SessionStore<K, V>;
  }

  private typedStore(name: string, method: string, kind: string): StateStore {
    const s = this.getStateStore(name);
    if (!s) throw new StreamsException(`no store named ${name}`);
    if (typeof (s as unknown as { [m: string]: unknown })[method] !== 'function') throw new StreamsException(`store ${name} is not ${kind} store`);
    return s;
  }

  /** Task metrics summed over the tasks, under Kafka Streams' names. */
  metrics(): { 'dropped-records-total': number; 'process-total': number; 'punctuate-total': number; droppedByReason: Map<string, number> } {
    const byReason = new Map<string, number>();
    let dropped = 0;
    let processed = 0;
    let punctuations = 0;
    for (const t of [...this.tasks, ...this.globalTasks]) {
      dropped += t.metrics.droppedRecords;
      processed += t.metrics.processed;
      punctuations += t.metrics.punctuations;
      for (const [r, n] of t.metrics.droppedByReason) byReason.set(r, (byReason.get(r) ?? 0) + n);
    }
    return { 'dropped-records-total': dropped, 'process-total': processed, 'punctuate-total': punctuations, droppedByReason: byReason };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of [...this.tasks, ...this.globalTasks]) t.close();
    if (this.tempStateDir !== null) rmSync(this.tempStateDir, { recursive: true, force: true });
  }
}

function isTimestamped(s: StateStore): boolean {
  return (s as { timestamped?: boolean }).timestamped === true;
}

export class TestInputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keySerializer: Serializer<K>,
    private readonly valueSerializer: Serializer<V>,
    private currentTime: number,
    private readonly autoAdvanceMs: number,
  ) {}

  /** Pipes one record; without a timestamp it gets the topic's current time, which then moves by autoAdvanceMs. */
  pipeInput(key: K | null, value: V | null, timestampMs?: number, headers: Headers = []): void {
    let ts = timestampMs;
    if (ts === undefined) {
      ts = this.currentTime;
      this.currentTime += this.autoAdvanceMs;
    }
    this.driver.pipeRaw({
      topic: this.name,
      key: this.keySerializer.serialize(this.name, key, headers),
      value: this.valueSerializer.serialize(this.name, value, headers),
      headers,
      timestamp: ts,
    });
  }

  pipeRecordList(records: readonly TestRecord<K, V>[]): void {
    for (const r of records) this.pipeInput(r.key, r.value, r.timestamp, r.headers);
  }

  pipeKeyValueList(records: readonly KeyValue<K | null, V | null>[]): void {
    for (const r of records) this.pipeInput(r.key, r.value);
  }

  pipeValueList(values: readonly (V | null)[]): void {
    for (const v of values) this.pipeInput(null, v);
  }

  advanceTime(ms: number): void {
    this.currentTime += ms;
  }
}

export class TestOutputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly name: string,
    private readonly keyDeserializer: Deserializer<K>,
    private readonly valueDeserializer: Deserializer<V>,
  ) {}

  readRecord(): Required<TestRecord<K, V>> {
    const r = this.driver.readOutput(this.name);
    if (!r) throw new StreamsException(`no record in topic ${this.name}`);
    return {
      key: this.keyDeserializer.deserialize(this.name, r.key, r.headers),
      value: this.valueDeserializer.deserialize(this.name, r.value, r.headers),
      timestamp: r.timestamp,
      headers: r.headers,
    };
  }

  readKeyValue(): KeyValue<K | null, V | null> {
    const r = this.readRecord();
    return { key: r.key, value: r.value };
  }

  readValue(): V | null {
    return this.readRecord().value;
  }

  readRecordsToList(): Required<TestRecord<K, V>>[] {
    const out = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readKeyValuesToList(): KeyValue<K | null, V | null>[] {
    return this.readRecordsToList().map((r) => ({ key: r.key, value: r.value }));
  }

  readValuesToList(): (V | null)[] {
    return this.readRecordsToList().map((r) => r.value);
  }

  /** The latest value per key; a null value (tombstone) removes the key. */
  readKeyValuesToMap(): Map<K | null, V> {
    const out = new Map<K | null, V>();
    for (const r of this.readRecordsToList()) {
      if (r.value === null) out.delete(r.key);
      else out.set(r.key, r.value);
    }
    return out;
  }

  isEmpty(): boolean {
    return this.driver.outputSize(this.name) === 0;
  }

  getQueueSize(): number {
    return this.driver.outputSize(this.name);
  }
}
