/**
 * Topics of this broker: names, ids, partition counts and config overrides (persisted by the TopicStore),
 * and the partition logs behind them (owned by the LogManager). Every mutation is persisted atomically
 * before it is acknowledged.
 */
import { KafkaError } from '../errors.js';
import type { Log } from '../storage/log.js';
import type { LogManager } from '../storage/log-manager.js';
import type { TopicStore, TopicRecord } from '../storage/topic-store.js';
import { parseTopicConfig } from '../storage/log-config.js';
import { randomUUID } from 'node:crypto';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;
/** Kafka caps partitions per request in practice through memory; we cap to keep one request from exhausting fds. */
export const MAX_PARTITIONS = 10_000;

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  partitions: number;
  config: Record<string, string>;
  readonly internal: boolean;
}

/**
 * Where topic changes go in a cluster: etcd (server/cluster-mode.ts). Each call returns once this broker's
 * image shows the change (applyImage has run), so the caller reads its own write.
 */
export interface TopicBackend {
  create(name: string, spec: { partitions: number; replicationFactor: number; config: Record<string, string>; assignments?: number[][] }): Promise<void>;
  delete(name: string): Promise<void>;
  addPartitions(name: string, count: number, assignments?: number[][]): Promise<void>;
  setConfig(name: string, config: Record<string, string>): Promise<void>;
}

/** A topic as the cluster image gives it, with the partitions this broker has a replica of. */
export interface ImageTopic {
  name: string;
  topicId: string;
  partitions: number;
  config: Record<string, string>;
  localPartitions: readonly number[];
}

export function validateTopicName(name: string): void {
  if (name === '') throw new KafkaError('INVALID_TOPIC_EXCEPTION', 'Topic name is empty');
  if (name === '.' || name === '..') throw new KafkaError('INVALID_TOPIC_EXCEPTION', `Topic name cannot be "${name}"`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new KafkaError('INVALID_TOPIC_EXCEPTION', `Topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`);
  }
  if (!LEGAL_TOPIC.test(name)) {
    throw new KafkaError('INVALID_TOPIC_EXCEPTION', `Topic name "${name}" is illegal: it may contain only ASCII alphanumerics, '.', '_' and '-'`);
  }
}

const collisionKey = (name: string): string => name.replace(/\./g, '_');

export class TopicManager {
  private readonly byName = new Map<string, TopicInfo>();
  private readonly byId = new Map<string, TopicInfo>();
  private readonly byCollisionKey = new Map<string, string>();
  private namesChanged = 0;
  /** Set in a cluster: changes go to etcd and come back through applyImage. */
  backend: TopicBackend | null = null;

  constructor(
    private readonly store: TopicStore,
    private readonly logs: LogManager,
    private readonly brokerDefaults: Record<string, string>,
  ) {
    for (const t of store.topics()) this.index({ ...t, config: { ...t.config }, internal: t.name.startsWith('__') });
  }

  private index(t: TopicInfo): void {
    this.byName.set(t.name, t);
    this.namesChanged++;
    this.byId.set(t.topicId, t);
    this.byCollisionKey.set(collisionKey(t.name), t.name);
  }

  get(name: string): TopicInfo | undefined {
    return this.byName.get(name);
  }

  getById(topicId: string): TopicInfo | undefined {
    return this.byId.get(topicId);
  }

  /** Moves whenever a topic is created or deleted (consumer groups re-resolve their regex subscriptions). */
  namesVersion(): number {
    return this.namesChanged;
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  list(): TopicInfo[] {
    return [...this.byName.values()];
  }

  /** The log of a partition, or a KafkaError UNKNOWN_TOPIC_OR_PARTITION. */
  log(topic: string, partition: number): Log {
    const log = this.byName.has(topic) ? this.logs.getLog(topic, partition) : undefined;
    if (!log) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host ${topic}-${partition}`);
    return log;
  }

  tryLog(topic: string, partition: number): Log | undefined {
    return this.byName.has(topic) ? this.logs.getLog(topic, partition) : undefined;
  }

  /** Validates config overrides against the topic-level definitions; throws INVALID_CONFIG. */
  validateConfig(config: Record<string, string>): void {
    try {
      parseTopicConfig(config, this.brokerDefaults);
    } catch (err) {
      throw new KafkaError('INVALID_CONFIG', (err as Error).message, { cause: err });
    }
  }

  async create(
    name: string,
    opts: { partitions: number; replicationFactor: number; config?: Record<string, string>; validateOnly?: boolean; assignments?: number[][] },
  ): Promise<TopicInfo> {
    validateTopicName(name);
    if (this.byName.has(name)) throw new KafkaError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    const clash = this.byCollisionKey.get(collisionKey(name));
    if (clash !== undefined) {
      throw new KafkaError('INVALID_TOPIC_EXCEPTION', `Topic '${name}' collides with existing topic '${clash}' ('.' and '_' are interchangeable in metric names)`);
    }
    let partitions = opts.partitions;
    if (this.backend) {
      if (opts.assignments && opts.assignments.length > 0 && (partitions !== -1 || opts.replicationFactor !== -1)) {
        throw new KafkaError('INVALID_REQUEST', 'Both manual replica assignments and partitions/replication factor were set');
      }
      if (partitions === -1 && !(opts.assignments && opts.assignments.length > 0)) partitions = Number(this.brokerDefaults['num.partitions'] ?? 1);
      if (opts.assignments && opts.assignments.length > 0) partitions = opts.assignments.length;
      if (!Number.isInteger(partitions) || partitions < 1) throw new KafkaError('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.');
      if (partitions > MAX_PARTITIONS) throw new KafkaError('INVALID_PARTITIONS', `Number of partitions must be at most ${MAX_PARTITIONS}.`);
      const config = { ...(opts.config ?? {}) };
      this.validateConfig(config);
      const rf = opts.replicationFactor === -1 ? Number(this.brokerDefaults['default.replication.factor'] ?? 1) : opts.replicationFactor;
      if (opts.validateOnly) return { name, topicId: randomUUID(), partitions, config, internal: name.startsWith('__') };
      await this.backend.create(name, { partitions, replicationFactor: rf, config, assignments: opts.assignments && opts.assignments.length > 0 ? opts.assignments : undefined });
      const created = this.byName.get(name);
      if (!created) throw new KafkaError('UNKNOWN_SERVER_ERROR', `Topic '${name}' was created but is not in this broker's metadata yet`);
      return created;
    }
    if (opts.assignments && opts.assignments.length > 0) {
      if (partitions !== -1 || opts.replicationFactor !== -1) {
        throw new KafkaError('INVALID_REQUEST', 'Both manual replica assignments and partitions/replication factor were set');
      }
      partitions = opts.assignments.length;
      for (const replicas of opts.assignments) {
        if (replicas.length !== 1 || replicas[0] !== this.nodeId()) {
          throw new KafkaError('INVALID_REPLICA_ASSIGNMENT', `Replica assignment must name only this broker (${this.nodeId()})`);
        }
      }
    }
    if (partitions === -1) partitions = Number(this.brokerDefaults['num.partitions'] ?? 1);
    if (!Number.isInteger(partitions) || partitions < 1) throw new KafkaError('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.');
    if (partitions > MAX_PARTITIONS) throw new KafkaError('INVALID_PARTITIONS', `Number of partitions must be at most ${MAX_PARTITIONS}.`);
    const rf = opts.replicationFactor === -1 ? 1 : opts.replicationFactor;
    if (rf < 1) throw new KafkaError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0.');
    if (rf > 1) {
      throw new KafkaError('INVALID_REPLICATION_FACTOR', `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only 1 broker(s) are registered.`);
    }
    const config = { ...(opts.config ?? {}) };
    this.validateConfig(config);
    const info: TopicInfo = { name, topicId: randomUUID(), partitions, config, internal: name.startsWith('__') };
    if (opts.validateOnly) return info;
    this.index(info);
    for (let p = 0; p < partitions; p++) this.logs.createLog(name, p, config);
    this.store.putTopic(this.toRecord(info));
    await this.store.save();
    return info;
  }

  async delete(name: string): Promise<TopicInfo> {
    const info = this.byName.get(name);
    if (!info) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    if (this.backend) {
      await this.backend.delete(name);
      return info;
    }
    this.byName.delete(name);
    this.namesChanged++;
    this.byId.delete(info.topicId);
    this.byCollisionKey.delete(collisionKey(name));
    this.store.deleteTopic(name);
    await this.store.save();
    await this.logs.deleteLogs(name);
    return info;
  }

  async addPartitions(name: string, count: number, validateOnly: boolean, assignments?: number[][]): Promise<void> {
    const info = this.byName.get(name);
    if (!info) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    if (count === info.partitions) throw new KafkaError('INVALID_PARTITIONS', `Topic already has ${info.partitions} partitions.`);
    if (count < info.partitions) {
      throw new KafkaError('INVALID_PARTITIONS', `Topic currently has ${info.partitions} partitions, which is higher than the requested ${count}.`);
    }
    if (count > MAX_PARTITIONS) throw new KafkaError('INVALID_PARTITIONS', `Number of partitions must be at most ${MAX_PARTITIONS}.`);
    if (validateOnly) return;
    if (this.backend) {
      await this.backend.addPartitions(name, count, assignments);
      return;
    }
    for (let p = info.partitions; p < count; p++) this.logs.createLog(name, p, info.config);
    info.partitions = count;
    this.store.putTopic(this.toRecord(info));
    await this.store.save();
  }

  async setConfig(name: string, config: Record<string, string>, validateOnly: boolean): Promise<void> {
    const info = this.byName.get(name);
    if (!info) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    this.validateConfig(config);
    if (validateOnly) return;
    if (this.backend) {
      await this.backend.setConfig(name, config);
      return;
    }
    info.config = { ...config };
    this.logs.updateConfig(name, info.config);
    this.store.putTopic(this.toRecord(info));
    await this.store.save();
  }

  /**
   * Cluster: makes this broker's topics what the image says. New topics are indexed and their local replicas'
   * logs created, new partitions likewise, config changes applied, topics gone are dropped and their logs deleted,
   * replicas moved away deleted. Nothing is written to the local topic store: etcd is the record.
   */
  async applyImage(topics: ReadonlyArray<ImageTopic>): Promise<void> {
    const present = new Set<string>();
    for (const t of topics) {
      present.add(t.name);
      let info = this.byName.get(t.name);
      if (info && info.topicId !== t.topicId) {
        await this.dropTopic(t.name);
        info = undefined;
      }
      if (!info) {
        info = { name: t.name, topicId: t.topicId, partitions: t.partitions, config: { ...t.config }, internal: t.name.startsWith('__') };
        this.index(info);
      } else {
        info.partitions = t.partitions;
        if (JSON.stringify(info.config) !== JSON.stringify(t.config)) {
          info.config = { ...t.config };
          this.logs.updateConfig(t.name, info.config);
        }
      }
      const local = new Set(t.localPartitions);
      for (const p of local) if (!this.logs.getLog(t.name, p)) this.logs.createLog(t.name, p, info.config);
      for (let p = 0; p < t.partitions; p++) if (!local.has(p) && this.logs.getLog(t.name, p)) await this.logs.deleteLog(t.name, p);
    }
    for (const name of [...this.byName.keys()]) if (!present.has(name)) await this.dropTopic(name);
  }

  private async dropTopic(name: string): Promise<void> {
    const info = this.byName.get(name);
    if (!info) return;
    this.byName.delete(name);
    this.namesChanged++;
    this.byId.delete(info.topicId);
    this.byCollisionKey.delete(collisionKey(name));
    await this.logs.deleteLogs(name);
  }

  private nodeId(): number {
    return Number(this.brokerDefaults['node.id'] ?? 1);
  }

  private toRecord(info: TopicInfo): TopicRecord {
    return { name: info.name, topicId: info.topicId, partitions: info.partitions, config: info.config };
  }
}
