/**
 * All partition logs of the broker under one data directory.
 *
 * On disk (data directory):
 *   <topic>-<partition>/                    one Log each (see log.ts, log-segment.ts)
 *   <topic>-<partition>.<32 hex>-delete/    a deleted topic's partition, being removed in the background
 *   recovery-point-offset-checkpoint        per partition: offsets below it are durable (offset-checkpoint.ts)
 *   log-start-offset-checkpoint             per partition: the log start offset (DeleteRecords)
 *   replication-offset-checkpoint           per replicated partition: the high watermark (only written once a
 *                                           log is replicated; same schedule as the recovery points, and on close)
 *   cleaner-offset-checkpoint               per compacted partition: the first dirty offset (log-cleaner.ts)
 *   .kafka_cleanshutdown                    written last on a clean close, deleted once the next load is done
 *
 * Concurrency: single JS thread. load() finishes before anything else uses the manager. One timer each for
 * retention, flush.ms, recovery-point checkpointing and producer expiration serves every partition; timers are unref'd and stopped
 * by close(). Recovery-point checkpoint writes are serialised; the log-start-offset checkpoint is written
 * synchronously (DeleteRecords must be durable before segments go) and only from the JS thread. A truncation
 * (Log.truncateTo) that lowers a recovery point rewrites recovery-point-offset-checkpoint at once, in the same
 * serialised chain, before its promise resolves. The high-watermark checkpoint is written in that chain too. The LogCleaner
 * runs beside them in slices (log-cleaner.ts); close() and deleteLogs() stop its pass first.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDirSync, tempPathOf, writeFileAtomicSync, type Fdatasync } from './file-io.js';
import { parseTopicConfig, type BrokerDefaults, type LogConfig } from './log-config.js';
import { LogCleaner, logCleanerConfig, type LogCleanerOptions } from './log-cleaner.js';
import { emptyLoadStats, loadLog, type LoadStats } from './log-loader.js';
import { segmentDescriptors } from './log-segment.js';
import type { Log, StorageLogger } from './log.js';
import { OffsetCheckpointFile, partitionKey, type CheckpointEntry } from './offset-checkpoint.js';

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';

/** Logs closed at once by close(): enough to keep libuv's pool busy with their fsyncs. */
const CLOSE_CONCURRENCY = 64;

/** Promise.allSettled over fn(item), at most `limit` pending at a time. */
async function settleEach<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results = new Array<PromiseSettledResult<void>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!);
        results[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT_FILE = 'replication-offset-checkpoint';
const DELETE_DIR_SUFFIX = '-delete';
const MAX_TIMER_MS = 2147483647;
const noop = (): void => {};

export interface LogManagerOptions {
  dataDir: string;
  /** Broker-level keys (log.segment.bytes, log.retention.hours, log.retention.check.interval.ms, ...). */
  brokerDefaults: BrokerDefaults;
  logger?: StorageLogger;
  now?: () => number;
  /** Durability primitive; injectable so tests can count fdatasyncs. */
  fdatasync?: Fdatasync;
  /** Told how long each log flush took, in ms (Kafka's LogFlushStats; the broker's metrics). */
  onFlush?: (ms: number) => void;
  /** Test hook of the log cleaner's swap steps. */
  onCleanerSwapStep?: LogCleanerOptions['onSwapStep'];
  /**
   * Open every log replicated (explicit high watermark, restored from replication-offset-checkpoint; see
   * Log.updateHighWatermark). Default false: high watermark = log end. Single logs can also be switched with
   * Log.enableReplication().
   */
  replicated?: boolean;
  /**
   * log.segment.descriptors.max: the bound on open segment .log descriptors (process-wide: see SegmentDescriptors
   * in log-segment.ts). Unset: the default there (3/4 of the open-file limit).
   */
  maxOpenSegmentDescriptors?: number;
}

export interface TopicToLoad {
  name: string;
  partitions: number;
  config: Record<string, string>;
  /** Only these partitions (a cluster broker hosts some replicas of a topic); default all of them. */
  partitionIds?: readonly number[];
}

/** Whether a log's (normalised) overrides are what `config` asks for. */
function sameOverrides(current: Readonly<Record<string, string>>, config: Record<string, string>): boolean {
  const keys = Object.keys(config);
  if (keys.length !== Object.keys(current).length) return false;
  return keys.every((k) => current[k] === String(config[k]).trim());
}

export class LogManager {
  readonly dataDir: string;
  /** Summed over every log opened by load(). */
  readonly loadStats: LoadStats = emptyLoadStats();
  /** Whether load() found the clean-shutdown marker. */
  hadCleanShutdown = false;
  /** Compaction of cleanup.policy=compact logs (started by startBackgroundTasks when log.cleaner.enable). */
  readonly cleaner: LogCleaner;

  private readonly brokerDefaults: BrokerDefaults;
  private readonly logger: StorageLogger | undefined;
  private readonly now: () => number;
  private readonly fdatasync: Fdatasync | undefined;
  private readonly onFlush: ((ms: number) => void) | undefined;
  private readonly byTopic = new Map<string, Log[]>();
  private readonly recoveryPointFile: OffsetCheckpointFile;
  private readonly logStartOffsetFile: OffsetCheckpointFile;
  private readonly highWatermarkFile: OffsetCheckpointFile;
  private readonly replicated: boolean;
  private checkpointChain: Promise<void> = Promise.resolve();
  private readonly background = new Set<Promise<void>>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private producerExpirationTimer: NodeJS.Timeout | undefined;
  private flushTimerMs = 0;
  private started = false;
  private loaded = false;
  private closed = false;

  constructor(opts: LogManagerOptions) {
    this.dataDir = opts.dataDir;
    this.brokerDefaults = opts.brokerDefaults;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.fdatasync = opts.fdatasync;
    this.onFlush = opts.onFlush;
    this.recoveryPointFile = new OffsetCheckpointFile(path.join(this.dataDir, RECOVERY_POINT_CHECKPOINT_FILE), this.logger);
    this.logStartOffsetFile = new OffsetCheckpointFile(path.join(this.dataDir, LOG_START_OFFSET_CHECKPOINT_FILE), this.logger);
    this.highWatermarkFile = new OffsetCheckpointFile(path.join(this.dataDir, REPLICATION_OFFSET_CHECKPOINT_FILE), this.logger);
    this.replicated = opts.replicated ?? false;
    if (opts.maxOpenSegmentDescriptors !== undefined) segmentDescriptors.limit = opts.maxOpenSegmentDescriptors;
    this.cleaner = new LogCleaner({
      dataDir: this.dataDir,
      logs: () => this.logs(),
      config: logCleanerConfig(this.brokerDefaults),
      logger: this.logger,
      now: this.now,
      fdatasync: this.fdatasync,
      onSwapStep: opts.onCleanerSwapStep,
    });
  }

  /** Opens (recovering where needed) every partition of the given topics. Call once, before anything else. */
  async load(topics: ReadonlyArray<TopicToLoad>): Promise<void> {
    if (this.loaded) throw new Error('LogManager.load() called twice');
    this.loaded = true;
    fs.mkdirSync(this.dataDir, { recursive: true });
    for (const name of fs.readdirSync(this.dataDir)) {
      if (name.endsWith(DELETE_DIR_SUFFIX)) this.removeInBackground(path.join(this.dataDir, name));
    }
    for (const file of [this.recoveryPointFile.file, this.logStartOffsetFile.file, this.highWatermarkFile.file, path.join(this.dataDir, CLEAN_SHUTDOWN_FILE)]) {
      fs.rmSync(tempPathOf(file), { force: true }); // an interrupted atomic write
    }
    const marker = path.join(this.dataDir, CLEAN_SHUTDOWN_FILE);
    this.hadCleanShutdown = fs.existsSync(marker);
    const recoveryPoints = this.recoveryPointFile.read();
    this.cleaner.loadCheckpoints();
    const logStartOffsets = this.logStartOffsetFile.read();
    const highWatermarks = this.highWatermarkFile.read();
    const started = this.now();
    for (const t of topics) {
      const config = parseTopicConfig(t.config, this.brokerDefaults);
      for (const p of t.partitionIds ?? Array.from({ length: t.partitions }, (_, i) => i)) {
        const key = partitionKey(t.name, p);
        const stats = this.open(t.name, p, config, {
          hadCleanShutdown: this.hadCleanShutdown,
          recoveryPoint: recoveryPoints.get(key) ?? 0,
          logStartOffset: logStartOffsets.get(key) ?? 0,
          highWatermark: highWatermarks.get(key),
        });
        for (const k of Object.keys(stats) as Array<keyof LoadStats>) this.loadStats[k] += stats[k];
      }
    }
    // Until the marker is gone for good, a crash would make the next start trust files written after now.
    if (this.hadCleanShutdown) {
      fs.rmSync(marker, { force: true });
      syncDirSync(this.dataDir);
    }
    this.logger?.info(
      { dataDir: this.dataDir, hadCleanShutdown: this.hadCleanShutdown, ...this.loadStats, ms: this.now() - started },
      'logs loaded',
    );
  }

  private open(
    topic: string,
    partition: number,
    config: LogConfig,
    state: { hadCleanShutdown: boolean; recoveryPoint: number; logStartOffset: number; highWatermark?: number },
  ): LoadStats {
    const { log, stats } = loadLog({
      dir: this.partitionDir(topic, partition),
      topic,
      partition,
      config,
      ...state,
      now: this.now,
      fdatasync: this.fdatasync,
      onFlush: this.onFlush,
      logger: this.logger,
      onLogStartOffsetChange: () => this.writeLogStartOffsetCheckpoint(),
      onTruncate: (log) => this.onLogTruncated(log),
      replicated: this.replicated,
      producerIdExpirationMs: this.brokerMs('producer.id.expiration.ms', 86_400_000),
    });
    let logs = this.byTopic.get(topic);
    if (!logs) this.byTopic.set(topic, (logs = []));
    logs[partition] = log;
    return stats;
  }

  partitionDir(topic: string, partition: number): string {
    return path.join(this.dataDir, `${topic}-${partition}`);
  }

  getLog(topic: string, partition: number): Log | undefined {
    return this.byTopic.get(topic)?.[partition];
  }

  /** Every open log. */
  logs(): Log[] {
    const out: Log[] = [];
    for (const logs of this.byTopic.values()) for (const log of logs) if (log) out.push(log);
    return out;
  }

  /** A new, empty partition log (the existing one if already open). A stray directory is moved aside first. */
  createLog(topic: string, partition: number, config: Record<string, string>): Log {
    const existing = this.getLog(topic, partition);
    if (existing) return existing;
    // One frozen config object per topic, as load() and updateConfig() keep it: parsed per partition it cost
    // ~1.4 KB each (a dictionary-mode object), 14 MB for a topic of 10,000 partitions.
    const sibling = this.byTopic.get(topic)?.find((l) => l !== undefined);
    const parsed = sibling && sameOverrides(sibling.config.overrides, config) ? sibling.config : parseTopicConfig(config, this.brokerDefaults);
    const dir = this.partitionDir(topic, partition);
    if (fs.existsSync(dir)) {
      this.logger?.warn({ dir }, 'directory of a partition that does not exist; moving it aside for deletion');
      this.moveAsideForDeletion(dir);
    }
    this.open(topic, partition, parsed, { hadCleanShutdown: true, recoveryPoint: 0, logStartOffset: 0 });
    // The timer ticks at the smallest finite flush.ms: only a log with one can change it (the walk over every log
    // per created partition was quadratic: 367 ms of CPU for a 10,000-partition CreateTopics).
    if (parsed.flushMs < MAX_TIMER_MS) this.rescheduleFlushTimer();
    return this.getLog(topic, partition)!;
  }

  /** Closes one partition's log (its replica moved away) and removes its directory like deleteLogs. */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const logs = this.byTopic.get(topic);
    const log = logs?.[partition];
    if (!logs || !log) return;
    // A sparse array: the other partitions keep their index.
    delete logs[partition];
    await log.close({ flush: false });
    this.moveAsideForDeletion(log.dir);
  }

  /** Closes a topic's logs, renames their directories to `<dir>.<uuid hex>-delete` and removes them in the background. */
  async deleteLogs(topic: string): Promise<void> {
    const logs = this.byTopic.get(topic);
    if (!logs) return;
    await this.cleaner.abortTopic(topic);
    this.byTopic.delete(topic);
    for (const log of logs) {
      if (!log) continue;
      await log.close({ flush: false });
      this.moveAsideForDeletion(log.dir);
    }
    this.writeLogStartOffsetCheckpoint();
  }

  private moveAsideForDeletion(dir: string): void {
    const target = `${dir}.${randomUUID().replace(/-/g, '')}${DELETE_DIR_SUFFIX}`;
    fs.renameSync(dir, target);
    this.removeInBackground(target);
  }

  private removeInBackground(target: string): void {
    this.track(fs.promises.rm(target, { recursive: true, force: true }).catch((err: unknown) => this.logger?.warn({ err, dir: target }, 'could not remove deleted log directory')));
  }

  private track(p: Promise<void>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Applies new topic overrides to every partition of the topic (validated; throws ConfigError). */
  updateConfig(topic: string, config: Record<string, string>): void {
    const parsed = parseTopicConfig(config, this.brokerDefaults);
    for (const log of this.byTopic.get(topic) ?? []) if (log) log.config = parsed;
    this.rescheduleFlushTimer();
  }

  /**
   * Re-derives every log's config from its own overrides and the broker defaults, after a dynamic broker
   * config changed those defaults in place (topics without an override pick up the new default).
   */
  reconfigureAll(): void {
    for (const logs of this.byTopic.values()) {
      const first = logs.find((l) => l);
      if (!first) continue;
      const parsed = parseTopicConfig(first.config.overrides, this.brokerDefaults);
      for (const log of logs) if (log) log.config = parsed;
    }
    this.rescheduleFlushTimer();
  }

  /** Retention every log.retention.check.interval.ms, the flush.ms scheduler, recovery-point checkpoints. */
  startBackgroundTasks(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const retentionMs = this.brokerMs('log.retention.check.interval.ms', 300_000);
    this.retentionTimer = setInterval(() => this.runRetention(), retentionMs).unref();
    const checkpointMs = this.brokerMs('log.flush.offset.checkpoint.interval.ms', 60_000);
    this.checkpointTimer = setInterval(() => {
      this.checkpointRecoveryPoints().catch((err: unknown) => this.logger?.error({ err }, 'recovery point checkpoint failed'));
    }, checkpointMs).unref();
    const expirationCheckMs = this.brokerMs('producer.id.expiration.check.interval.ms', 600_000);
    this.producerExpirationTimer = setInterval(() => this.removeExpiredProducers(), expirationCheckMs).unref();
    this.rescheduleFlushTimer();
    this.cleaner.start();
  }

  /** Forgets idempotent producers silent for producer.id.expiration.ms in every log; returns how many. */
  removeExpiredProducers(): number {
    const now = this.now();
    let removed = 0;
    for (const log of this.logs()) removed += log.producerState.removeExpired(now);
    return removed;
  }

  private brokerMs(key: string, fallback: number): number {
    const raw = this.brokerDefaults[key];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    return Number.isFinite(n) && n > 0 ? Math.min(n, MAX_TIMER_MS) : fallback;
  }

  /** Deletes segments past retention in every log; returns how many. */
  runRetention(): number {
    const now = this.now();
    let deleted = 0;
    for (const log of this.logs()) {
      try {
        deleted += log.applyRetention(now);
      } catch (err) {
        this.logger?.error({ err, topic: log.topic, partition: log.partition }, 'retention failed');
      }
    }
    return deleted;
  }

  /**
   * flush.ms: one timer ticking at log.flush.scheduler.interval.ms when the broker sets it, else at the smallest
   * finite flush.ms of any topic; no timer when every topic flushes only on demand.
   */
  private rescheduleFlushTimer(): void {
    if (!this.started || this.closed) return;
    let interval = Number(this.brokerDefaults['log.flush.scheduler.interval.ms'] ?? Infinity);
    if (!Number.isFinite(interval) || interval >= MAX_TIMER_MS) {
      interval = Infinity;
      for (const log of this.logs()) interval = Math.min(interval, log.config.flushMs);
    }
    interval = Number.isFinite(interval) ? Math.min(Math.max(interval, 1), MAX_TIMER_MS) : 0;
    if (interval === this.flushTimerMs) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.flushTimerMs = interval;
    if (interval > 0) this.flushTimer = setInterval(() => this.flushDue(), interval).unref();
  }

  private flushDue(): void {
    const now = this.now();
    for (const log of this.logs()) {
      if (log.isDirty && now - log.lastFlushTime >= log.config.flushMs) {
        log.flush().catch((err: unknown) => this.logger?.error({ err, topic: log.topic, partition: log.partition }, 'scheduled flush failed'));
      }
    }
  }

  private entries(pick: (log: Log) => number): CheckpointEntry[] {
    return this.logs().map((log) => ({ topic: log.topic, partition: log.partition, offset: pick(log) }));
  }

  /** A log was truncated (replication): its cleaning stops and restarts from valid offsets; recovery points are rewritten. */
  private async onLogTruncated(log: Log): Promise<void> {
    await Promise.all([this.cleaner.onLogTruncated(log), this.checkpointRecoveryPoints()]);
  }

  /**
   * Writes recovery-point-offset-checkpoint and, once any log is replicated (or the file exists),
   * replication-offset-checkpoint (serialised with other writes of them).
   */
  checkpointRecoveryPoints(): Promise<void> {
    const next = this.checkpointChain.catch(noop).then(async () => {
      await this.recoveryPointFile.write(this.entries((l) => l.recoveryPoint));
      const hws = this.highWatermarkEntries();
      if (hws) await this.highWatermarkFile.write(hws);
    });
    this.checkpointChain = next;
    return next;
  }

  /** The replication-offset-checkpoint entries, or null when nothing is replicated and the file is absent. */
  private highWatermarkEntries(): CheckpointEntry[] | null {
    const out: CheckpointEntry[] = [];
    for (const log of this.logs()) {
      const hw = log.checkpointHighWatermark;
      if (hw !== undefined) out.push({ topic: log.topic, partition: log.partition, offset: hw });
    }
    return out.length > 0 || fs.existsSync(this.highWatermarkFile.file) ? out : null;
  }

  private writeLogStartOffsetCheckpoint(): void {
    this.logStartOffsetFile.writeSync(this.entries((l) => l.logStartOffset));
  }

  /** Flushes and closes every log, writes both checkpoints and, if all went well, the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.retentionTimer, this.checkpointTimer, this.flushTimer, this.producerExpirationTimer]) if (t) clearInterval(t);
    await this.cleaner.stop();
    const logs = this.logs();
    // A bounded number at a time: each close opens a snapshot file, and 10,000 at once would meet EMFILE.
    const results = await settleEach(logs, CLOSE_CONCURRENCY, (log) => log.close());
    await this.checkpointChain.catch(noop);
    if (logs.length > 0 || fs.existsSync(this.dataDir)) {
      fs.mkdirSync(this.dataDir, { recursive: true });
      this.recoveryPointFile.writeSync(this.entries((l) => l.recoveryPoint));
      this.writeLogStartOffsetCheckpoint();
      const hws = this.highWatermarkEntries();
      if (hws) this.highWatermarkFile.writeSync(hws);
    }
    await Promise.all(this.background);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    writeFileAtomicSync(path.join(this.dataDir, CLEAN_SHUTDOWN_FILE), '{"version":0,"brokerEpoch":-1}\n');
  }
}
