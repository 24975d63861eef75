// Global stores (Kafka Streams' GlobalStreamThread + GlobalStateManager): one group-less consumer assigned every
// partition of every global store's source topic. start() reads them from the beginning to their end offsets at
// that moment (the bootstrap: nothing else runs before it), running each record through its global sub-topology
// (the store's update processor, as the TopologyTestDriver does); then a loop of its own keeps polling and
// updating the stores for as long as the application runs. Every task reads the same store objects.
import { Admin } from '../client/admin.js';
import { Consumer, type TopicPartition } from '../client/consumer.js';
import { StreamsException } from './config.js';
import { TaskId } from './processor.js';
import type { Headers } from './record.js';
import type { StateStore } from './state/stores.js';
import { StreamTask, type TaskEnvironment } from './task.js';
import type { SubtopologyPlan, TopologyPlan } from './topology.js';

export interface GlobalRestoreListener {
  onRestoreStart?(partition: TopicPartition, storeName: string, startingOffset: number, endingOffset: number): void;
  onRestoreEnd?(partition: TopicPartition, storeName: string, totalRestored: number): void;
}

export class GlobalStateUpdater {
  /** Store name → the one store every task reads. */
  readonly stores = new Map<string, StateStore>();
  private readonly tasks = new Map<string, StreamTask>();
  private readonly globals: SubtopologyPlan[];
  private consumer: Consumer | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  /** Records applied to the global stores (bootstrap and loop). */
  processed = 0;

  constructor(private readonly plan: TopologyPlan, private readonly env: Omit<TaskEnvironment, 'globalStores'>, private readonly pollMs: number) {
    this.globals = plan.subtopologies.filter((s) => s.global);
  }

  get enabled(): boolean {
    return this.globals.length > 0;
  }

  /** Builds the global stores and reads their topics to the end; resolves once they are up to date. */
  async start(
    bootstrapServers: string | string[], clientId: string, admin: Admin, listener: GlobalRestoreListener | null,
    isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_uncommitted',
  ): Promise<void> {
    if (!this.enabled) return;
    const env: TaskEnvironment = { ...this.env, globalStores: this.stores, changeLogger: () => null };
    for (const s of this.globals) {
      const task = new StreamTask(new TaskId(s.id, -1), s, env);
      task.init();
      for (const [name, store] of task.stores) this.stores.set(name, store);
      for (const topic of s.sourcesByTopic.keys()) this.tasks.set(topic, task);
    }
    const topics = [...this.tasks.keys()];
    const described = await admin.describeTopics(topics);
    const tps: TopicPartition[] = [];
    for (const d of described) {
      if (d.partitions.length === 0) throw new StreamsException(`global topic ${d.name} does not exist`);
      for (const p of d.partitions) tps.push({ topic: d.name, partition: p.partition });
    }
    // read_committed (exactly_once_v2): to the last stable offsets, as the consumer reads no further.
    const ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel });
    const starts = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'earliest' as const })));
    this.consumer = new Consumer({ bootstrapServers, clientId: `${clientId}-global-consumer`, enableAutoCommit: false, autoOffsetReset: 'earliest', isolationLevel });
    await this.consumer.connect();
    const c = this.consumer;
    c.assign(tps);
    const storeOf = (topic: string): string => this.tasks.get(topic)!.plan.globalStore ?? topic;
    const pending = new Map<string, { tp: TopicPartition; end: number; restored: number }>();
    tps.forEach((tp, i) => {
      c.seek(tp, starts[i].offset);
      listener?.onRestoreStart?.(tp, storeOf(tp.topic), starts[i].offset, ends[i].offset);
      if (starts[i].offset < ends[i].offset) pending.set(`${tp.topic}\u0000${tp.partition}`, { tp, end: ends[i].offset, restored: 0 });
      else listener?.onRestoreEnd?.(tp, storeOf(tp.topic), 0);
    });
    // The bootstrap: to the end offsets of now. Records past them are applied too (the loop would anyway).
    while (pending.size > 0 && !this.stopping) {
      for (const r of await c.poll(this.pollMs)) {
        this.apply(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers as Headers);
        const w = pending.get(`${r.topic}\u0000${r.partition}`);
        if (w && r.offset < w.end) w.restored++;
      }
      for (const [k, w] of pending) {
        const pos = c.position(w.tp);
        if (pos !== undefined && pos >= w.end) {
          pending.delete(k);
          listener?.onRestoreEnd?.(w.tp, storeOf(w.tp.topic), w.restored);
        }
      }
    }
    this.loop = this.run();
  }

  private apply(topic: string, partition: number, offset: number, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    this.tasks.get(topic)?.process(topic, partition, offset, key, value, timestamp, headers);
    this.processed++;
  }

  /** Keeps the stores up to date; a failure is handed to onError (the application moves to ERROR). */
  private onError: (err: unknown) => void = () => undefined;

  setErrorHandler(handler: (err: unknown) => void): void {
    this.onError = handler;
  }

  private async run(): Promise<void> {
    const c = this.consumer!;
    try {
      while (!this.stopping) {
        const records = await c.poll(this.pollMs);
        if (this.stopping) break;
        for (const r of records) this.apply(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp, r.headers as Headers);
      }
    } catch (err) {
      if (!this.stopping) this.onError(err);
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.loop;
    for (const t of new Set(this.tasks.values())) {
      try { t.close(); } catch { /* closing regardless */ }
    }
    try { await this.consumer?.close(); } catch { /* closing regardless */ }
    this.consumer = null;
  }
}
