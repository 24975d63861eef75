// Standby tasks (num.standby.replicas > 0; Kafka Streams' StandbyTask): a standby keeps a copy of an active task's
// stores on another instance by reading their changelog partitions continuously — no processing, no output — so
// that the instance taking the task over restores only the changelog tail it lacks. The assignor (assignor.ts)
// decides which tasks are standbys here; this updater opens their stores (the task's StreamTask with its stores
// only), reads their changelogs with a group-less consumer of its own (read_committed under exactly_once_v2: a
// standby holds committed changelog records only), flushes and checkpoints persistent stores every
// commit.interval.ms and at close. KafkaStreams takes a standby's task when it becomes active (promotion: the
// active restores from the standby's positions) and hands an active task over when it becomes a standby
// (demotion: its stores are kept).
import type { Admin } from '../client/admin.js';
import { Consumer, type TopicPartition } from '../client/consumer.js';
import { TaskId } from './processor.js';
import { readCheckpoint, writeCheckpoint } from './state/state-directory.js';
import type { StateStore } from './state/stores.js';
import type { StreamTask } from './task.js';
import type { SubtopologyPlan } from './topology.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** What the updater needs from the runtime. */
export interface StandbyHost {
  readonly admin: Admin;
  /** The non-global sub-topology of this id, with its stores. */
  plan(subtopology: number): SubtopologyPlan | undefined;
  /** A new StreamTask for the task (not initialized). */
  newTask(id: TaskId, plan: SubtopologyPlan): StreamTask;
  /** Whether the task runs active here now. */
  isActive(id: string): boolean;
  /** Where a store's changelog is read from when there is no position yet (checkpoint, or the earliest offset). */
  restoreStart(stateDir: string | null, store: StateStore, tp: TopicPartition, earliest: number, end: number): number;
  /** A failure the application cannot go on after. */
  fail(err: unknown): void;
}

interface Changelog {
  readonly tp: TopicPartition;
  readonly store: StateStore;
  /** The next offset to read (what the store holds: everything before it). */
  position: number;
}

export interface StandbyTask {
  readonly id: string;
  readonly task: StreamTask;
  readonly plan: SubtopologyPlan;
  /** Empty until the positions are known (a new standby lists its changelogs' offsets first). */
  changelogs: Changelog[];
  ready: boolean;
  /** Taken by the runtime (promoted) or closed: the updater leaves it alone. */
  gone: boolean;
  /** Position sum at the last checkpoint (-1: none written). */
  checkpointed: number;
}

export class StandbyUpdater {
  private readonly tasks = new Map<string, StandbyTask>();
  private wanted = new Set<string>();
  private activeSoon = new Set<string>();
  private consumer: Consumer | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  /** The consumer's assignment must be recomputed (a standby came or went). */
  private dirty = false;
  private nextCheckpointAt = 0;
  private isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted';

  constructor(
    private readonly host: StandbyHost,
    private readonly pollMs: number,
    private readonly commitIntervalMs: number,
  ) {}

  async start(bootstrapServers: string | string[], clientId: string, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<void> {
    this.isolation = isolationLevel;
    this.consumer = new Consumer({ bootstrapServers, clientId: `${clientId}-standby-consumer`, enableAutoCommit: false, autoOffsetReset: 'earliest', isolationLevel });
    await this.consumer.connect();
    this.nextCheckpointAt = Date.now() + this.commitIntervalMs;
    this.loop = this.run();
  }

  /**
   * The standby and active tasks of the latest assignment (called before that rebalance's revoke and assign
   * callbacks): a standby about to be promoted is kept until the assign callback takes it.
   */
  setAssigned(standby: readonly string[], active: readonly string[]): void {
    this.wanted = new Set(standby);
    this.activeSoon = new Set(active);
  }

  isAssigned(id: string): boolean {
    return this.wanted.has(id);
  }

  /** The standby tasks open here (ready or still listing their offsets). */
  ids(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** Open standby stores of this name (interactive queries with stale stores). */
  stores(name: string): StateStore[] {
    return [...this.tasks.values()].filter((s) => s.ready).map((s) => s.task.stores.get(name)).filter((s): s is StateStore => s !== undefined);
  }

  /** Task id → the sum of its changelog positions (Kafka's task offset sums, for the subscription). */
  offsetSums(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.tasks.values()) if (s.ready) out.set(s.id, s.changelogs.reduce((n, c) => n + c.position, 0));
    return out;
  }

  /**
   * Promotion: the standby's task (its stores as they are) and each changelog partition's position, or null
   * positions when it had not started reading (the active task then restores as a new one would). The updater
   * forgets the task.
   */
  take(id: string): { task: StreamTask; positions: Map<string, number> | null } | null {
    const s = this.tasks.get(id);
    if (!s) return null;
    this.tasks.delete(id);
    s.gone = true;
    this.dirty = true;
    return { task: s.task, positions: s.ready ? new Map(s.changelogs.map((c) => [tpKey(c.tp.topic, c.tp.partition), c.position])) : null };
  }

  /** Demotion: an active task's (processors closed) stores, which hold its changelogs up to these next offsets. */
  adopt(id: string, task: StreamTask, plan: SubtopologyPlan, positions: ReadonlyMap<string, number>): void {
    const changelogs: Changelog[] = [];
    for (const { builder, changelogTopic } of plan.stores) {
      if (changelogTopic === null) continue;
      const tp = { topic: changelogTopic, partition: task.id.partition };
      changelogs.push({ tp, store: task.stores.get(builder.name)!, position: positions.get(tpKey(tp.topic, tp.partition)) ?? 0 });
    }
    this.tasks.set(id, { id, task, plan, changelogs, ready: true, gone: false, checkpointed: -1 });
    this.dirty = true;
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        await this.reconcile();
        if (this.stopped) break;
        const consumer = this.consumer!;
        if (this.dirty) this.reassign(consumer);
        if (consumer.assignment().length === 0) {
          await new Promise((r) => setTimeout(r, this.pollMs));
        } else {
          const records = await consumer.poll(this.pollMs);
          if (this.stopped) break;
          this.apply(records, consumer);
        }
        if (Date.now() >= this.nextCheckpointAt) {
          this.checkpointAll(false);
          this.nextCheckpointAt = Date.now() + this.commitIntervalMs;
        }
      }
    } catch (err) {
      if (!this.stopped) this.host.fail(err);
    }
  }

  /** Opens the standbys the assignment added (and not active here), closes those it dropped. */
  private async reconcile(): Promise<void> {
    for (const [id, s] of this.tasks) {
      if (this.wanted.has(id) || this.activeSoon.has(id) || this.host.isActive(id)) continue;
      this.tasks.delete(id);
      s.gone = true;
      this.dirty = true;
      this.closeTask(s, true);
    }
    const added: StandbyTask[] = [];
    for (const id of this.wanted) {
      if (this.tasks.has(id) || this.activeSoon.has(id) || this.host.isActive(id)) continue;
      const [sub, partition] = id.split('_').map(Number);
      const plan = this.host.plan(sub);
      if (!plan || !plan.stores.some((x) => x.changelogTopic !== null)) continue;
      const task = this.host.newTask(new TaskId(sub, partition), plan);
      try {
        task.initStores();
      } catch (err) {
        // The task directory may still be locked by an instance on the same state.dir that is letting it go.
        try { task.close(false); } catch { /* nothing opened */ }
        void err;
        continue;
      }
      const s: StandbyTask = { id, task, plan, changelogs: [], ready: false, gone: false, checkpointed: -1 };
      this.tasks.set(id, s);
      added.push(s);
    }
    if (added.length === 0) return;
    const tps: Array<{ s: StandbyTask; tp: TopicPartition; store: StateStore }> = [];
    for (const s of added) {
      for (const { builder, changelogTopic } of s.plan.stores) {
        if (changelogTopic !== null) tps.push({ s, tp: { topic: changelogTopic, partition: s.task.id.partition }, store: s.task.stores.get(builder.name)! });
      }
    }
    const ends = await this.host.admin.listOffsets(tps.map((x) => ({ ...x.tp, timestamp: 'latest' as const })), { isolationLevel: this.isolation });
    const starts = await this.host.admin.listOffsets(tps.map((x) => ({ ...x.tp, timestamp: 'earliest' as const })));
    tps.forEach((x, i) => {
      if (x.s.gone) return;
      x.s.changelogs.push({ tp: x.tp, store: x.store, position: this.host.restoreStart(x.s.task.stateDir, x.store, x.tp, starts[i].offset, ends[i].offset) });
    });
    for (const s of added) {
      if (s.gone) continue;
      s.ready = true;
      this.dirty = true;
    }
  }

  /** The consumer reads every ready standby's changelog partitions, each new one from its position. */
  private reassign(consumer: Consumer): void {
    this.dirty = false;
    const before = new Set(consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)));
    const all: Changelog[] = [];
    for (const s of this.tasks.values()) if (s.ready) all.push(...s.changelogs);
    consumer.assign(all.map((c) => c.tp));
    for (const c of all) if (!before.has(tpKey(c.tp.topic, c.tp.partition))) consumer.seek(c.tp, c.position);
  }

  private apply(records: Awaited<ReturnType<Consumer['poll']>>, consumer: Consumer): void {
    const byTp = new Map<string, Changelog>();
    for (const s of this.tasks.values()) if (s.ready) for (const c of s.changelogs) byTp.set(tpKey(c.tp.topic, c.tp.partition), c);
    for (const r of records) {
      const c = byTp.get(tpKey(r.topic, r.partition));
      // Not ours any more (promoted meanwhile), or fetched before a seek.
      if (!c || r.offset < c.position) continue;
      if (r.key !== null) c.store.restore?.(r.key, r.value);
      c.position = r.offset + 1;
    }
    // Past control records and aborted transactions too (read_committed skips them).
    for (const c of byTp.values()) {
      const pos = consumer.position(c.tp);
      if (pos !== undefined && pos > c.position) c.position = pos;
    }
  }

  /**
   * Flushes each standby's persistent stores and writes its checkpoint (the last offset held) when it moved. Also
   * under exactly_once_v2: a standby reads read_committed, so its stores never hold an uncommitted write.
   */
  private checkpointAll(force: boolean): void {
    for (const s of this.tasks.values()) if (s.ready) this.checkpoint(s, force);
  }

  private checkpoint(s: StandbyTask, force: boolean): void {
    const sum = s.changelogs.reduce((n, c) => n + c.position, 0);
    if (!force && sum === s.checkpointed) return;
    for (const st of s.task.stores.values()) st.flush();
    const dir = s.task.stateDir;
    if (dir === null) return;
    const offsets = s.changelogs.filter((c) => c.store.persistent && c.position > 0).map((c) => ({ ...c.tp, offset: c.position - 1 }));
    if (offsets.length > 0) writeCheckpoint(dir, offsets);
    s.checkpointed = sum;
  }

  private closeTask(s: StandbyTask, clean: boolean): void {
    try {
      if (clean && s.ready) this.checkpoint(s, true);
      s.task.close(clean);
    } catch {
      // closing regardless
    }
  }

  /** Stops reading; clean: stores flushed and checkpointed, else (a crash) dropped as they are. */
  async close(clean: boolean): Promise<void> {
    this.stopped = true;
    try { await this.consumer?.close(); } catch { /* closing regardless */ }
    await this.loop;
    for (const s of this.tasks.values()) {
      s.gone = true;
      this.closeTask(s, clean);
    }
    this.tasks.clear();
  }
}

/**
 * Task offset sums of the persistent state left in <state.dir>/<application.id>/ by earlier runs (task directories
 * with a checkpoint, except those in `skip`): Σ (checkpointed offset + 1) per task.
 */
export function onDiskOffsetSums(stateDir: string, applicationId: string, skip: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  const root = join(stateDir, applicationId);
  if (!existsSync(root)) return out;
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+_\d+$/.test(name) || skip.has(name)) continue;
    try {
      const cp = readCheckpoint(join(root, name));
      if (cp.size === 0) continue;
      let sum = 0;
      for (const offset of cp.values()) sum += offset + 1;
      out.set(name, sum);
    } catch {
      // unreadable checkpoint: no state to report
    }
  }
  return out;
}
