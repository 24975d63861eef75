// Global stores (Kafka Streams' GlobalStreamThread + GlobalStateManager): one group-less consumer assigned every
// partition of every global store's source topic. start() reads them from the beginning to their end offsets at
// that moment (the bootstrap: nothing else runs before it), running each record through its global sub-topology
// (the store's update processor, as the TopologyTestDriver does); then a loop of its own keeps polling and
// updating the stores for as long as the application runs. Every task reads the same store objects.
// Persistent global stores keep a checkpoint in their directory (<state.dir>/<application.id>/<sub-topology>_-1/
// .checkpoint: the last offset of each source partition the stores hold), written every commit interval and at
// close after the stores are flushed, so a restart reads only what came after it. The stores hold only what the
// consumer read (committed data under exactly_once_v2), so a store ahead of its checkpoint after a crash is
// brought up to date by applying the same records again; one without a checkpoint is wiped and read in full.
import { Admin } from '../client/admin.js';
import { Consumer, type TopicPartition } from '../client/consumer.js';
import { StreamsException } from './config.js';
import { TaskId } from './processor.js';
import type { Headers } from './record.js';
import type { StateStore } from './state/stores.js';
import { checkpointOffset, readCheckpoint, writeCheckpoint } from './state/state-directory.js';
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
  /** "<topic>\0<partition>" → the last offset applied to the stores (or that their checkpoint holds). */
  private readonly applied = new Map<string, { tp: TopicPartition; offset: number }>();
  private nextCheckpointAt = Infinity;

  /** checkpointIntervalMs: how often persistent global stores write their checkpoint (the commit interval). */
  constructor(
    private readonly plan: TopologyPlan, private readonly env: Omit<TaskEnvironment, 'globalStores'>, private readonly pollMs: number,
    private readonly checkpointIntervalMs = 30_000,
  ) {
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
    // Persistent global stores resume after their checkpoint; without one (or one past the topic's end: the topic
    // was recreated) they start over, wiped.
    const checkpoints = new Map<StreamTask, Map<string, number> | null>();
    for (const task of new Set(this.tasks.values())) {
      const persistent = task.stores.size > 0 && [...task.stores.values()].every((st) => st.persistent) && task.stateDir !== null;
      checkpoints.set(task, persistent ? readCheckpoint(task.stateDir!) : null);
    }
    const wiped = new Set<StreamTask>();
    const wipe = (task: StreamTask): void => {
      if (wiped.has(task)) return;
      wiped.add(task);
      for (const st of task.stores.values()) st.wipe?.();
    };
    const from = tps.map((tp, i) => {
      const task = this.tasks.get(tp.topic)!;
      const cp = checkpoints.get(task);
      if (!cp) return starts[i].offset;
      const held = checkpointOffset(cp, tp.topic, tp.partition);
      if (held === undefined || held >= ends[i].offset) {
        wipe(task);
        return starts[i].offset;
      }
      this.applied.set(`${tp.topic}\u0000${tp.partition}`, { tp, offset: held });
      return Math.max(starts[i].offset, held + 1);
    });
    // A wiped task starts every one of its partitions over, also those whose checkpoint was fine.
    tps.forEach((tp, i) => {
      if (wiped.has(this.tasks.get(tp.topic)!)) {
        from[i] = starts[i].offset;
        this.applied.delete(`${tp.topic}\u0000${tp.partition}`);
      }
    });
    tps.forEach((tp, i) => {
      c.seek(tp, from[i]);
      listener?.onRestoreStart?.(tp, storeOf(tp.topic), from[i], ends[i].offset);
      if (from[i] < ends[i].offset) pending.set(`${tp.topic}\u0000${tp.partition}`, { tp, end: ends[i].offset, restored: 0 });
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
    // A partition with nothing to read holds its end offset too (else the next start would take it for missing).
    tps.forEach((tp, i) => {
      const k = `${tp.topic}\u0000${tp.partition}`;
      if (!this.applied.has(k)) this.applied.set(k, { tp, offset: ends[i].offset - 1 });
    });
    if ([...checkpoints.values()].some((cp) => cp !== null)) {
      this.checkpoint();
      this.nextCheckpointAt = Date.now() + this.checkpointIntervalMs;
    }
    this.loop = this.run();
  }

  private apply(topic: string, partition: number, offset: number, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    this.tasks.get(topic)?.process(topic, partition, offset, key, value, timestamp, headers);
    this.processed++;
    const k = `${topic}\u0000${partition}`;
    const a = this.applied.get(k);
    if (a) a.offset = offset;
    else this.applied.set(k, { tp: { topic, partition }, offset });
  }

  /** Flushes the persistent global stores and writes their checkpoints (what they hold, per source partition). */
  private checkpoint(): void {
    for (const task of new Set(this.tasks.values())) {
      if (task.stateDir === null || task.stores.size === 0 || ![...task.stores.values()].every((st) => st.persistent)) continue;
      for (const st of task.stores.values()) st.flush();
      const topics = new Set(task.plan.sourcesByTopic.keys());
      const offsets = [...this.applied.values()].filter((a) => topics.has(a.tp.topic)).map((a) => ({ topic: a.tp.topic, partition: a.tp.partition, offset: a.offset }));
      writeCheckpoint(task.stateDir, offsets);
    }
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
        if (Date.now() >= this.nextCheckpointAt) {
          this.checkpoint();
          this.nextCheckpointAt = Date.now() + this.checkpointIntervalMs;
        }
      }
    } catch (err) {
      if (!this.stopping) this.onError(err);
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.loop;
    if (this.nextCheckpointAt !== Infinity) {
      try { this.checkpoint(); } catch { /* the next start reads more */ }
    }
    for (const t of new Set(this.tasks.values())) {
      try { t.close(); } catch { /* closing regardless */ }
    }
    try { await this.consumer?.close(); } catch { /* closing regardless */ }
    this.consumer = null;
  }
}
