/**
 * The Consumer: reads records from assigned partitions (manual assign() or a consumer group joined with
 * subscribe()), tracks positions, commits offsets. It speaks only the protocol, so it works against
 * Apache Kafka as well as Tributary. The parts live in consumer/: the fetcher and its lazy record
 * decoding, offset requests, and the two group protocols (classic, KIP-848).
 */
import { Cluster } from './cluster.js';
import { ClientStateError } from './errors.js';
import { assignorByName, type PartitionAssignor } from './assignors/index.js';
import { ClassicGroup } from './consumer/classic-group.js';
import { ConsumerGroup, unsupportedConsumerProtocol } from './consumer/consumer-group.js';
import { Fetcher, PartitionState } from './consumer/fetcher.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, commitOffsets, fetchCommitted, listOffsets, type CommitMember } from './consumer/offsets.js';
import { Signal } from './consumer/signal.js';
import { ConsumerGroupHeartbeatRequest } from '../protocol/generated/consumer-group-heartbeat-request.js';
import {
  type ConsumerOptions,
  type ConsumerRecord,
  type GroupHost,
  type GroupMetadata,
  type OffsetToCommit,
  type TopicPartition,
  sortTps,
  tpKey,
} from './consumer/types.js';

export type { ConsumerOptions, ConsumerRecord, RebalanceListener, TopicPartition, PartitionAssignorName } from './consumer/types.js';

type Resolved = Required<Pick<ConsumerOptions,
  'groupProtocol' | 'partitionAssignors' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxPollIntervalMs' | 'autoOffsetReset' |
  'enableAutoCommit' | 'autoCommitIntervalMs' | 'isolationLevel' | 'fetchMinBytes' | 'fetchMaxBytes' | 'maxPartitionFetchBytes' |
  'fetchMaxWaitMs' | 'maxPollRecords'>> & ConsumerOptions;

export class Consumer {
  private readonly options: Resolved;
  private readonly cluster: Cluster;
  /** The current assignment, manual or from the group. */
  private readonly partitions = new Map<string, PartitionState>();
  private readonly fetcher: Fetcher;
  private readonly signal = new Signal();
  private subscription: string[] | null = null;
  private subscriptionRegex: string | null = null;
  private manual = false;
  private group: ClassicGroup | ConsumerGroup | null = null;
  private connected = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private fatal: Error | null = null;
  /** Errors from rebalance listeners, thrown once by the next poll() (as the Java client does). */
  private listenerError: Error | null = null;
  private resolving = false;
  private resolveAgain = false;
  private resolveRetry: NodeJS.Timeout | null = null;
  private autoCommitTimer: NodeJS.Timeout | null = null;
  private committing: Promise<void> = Promise.resolve();
  /** When the application last called poll(), and how many polls are under way (for max.poll.interval.ms). */
  private lastPollAt = Date.now();
  private polling = 0;
  /** Round-robin start for draining, so one busy partition cannot starve the others. */
  private drainStart = 0;
  /** The assigned partitions' states as an array for drain()'s rotation; null after the assignment changes. */
  private stateList: PartitionState[] | null = null;

  constructor(options: ConsumerOptions) {
    this.options = {
      groupProtocol: 'classic',
      partitionAssignors: ['range', 'cooperative-sticky'],
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 3000,
      maxPollIntervalMs: 300_000,
      autoOffsetReset: 'latest',
      enableAutoCommit: true,
      autoCommitIntervalMs: 5000,
      isolationLevel: 'read_uncommitted',
      fetchMinBytes: 1,
      fetchMaxBytes: 52_428_800,
      maxPartitionFetchBytes: 1_048_576,
      fetchMaxWaitMs: 500,
      maxPollRecords: 500,
      // Options given as undefined (e.g. unset CLI flags) keep their defaults.
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as Resolved;
    if (!(this.options.maxPollRecords >= 1)) throw new ClientStateError('maxPollRecords must be at least 1');
    if (this.options.groupProtocol !== 'classic' && this.options.groupProtocol !== 'consumer') {
      throw new ClientStateError(`groupProtocol must be 'classic' or 'consumer', not '${String(this.options.groupProtocol)}'`);
    }
    // Check the assignor names now rather than at the first rebalance.
    if (this.options.groupProtocol === 'classic') for (const a of this.options.partitionAssignors) resolveAssignor(a);
    this.cluster = new Cluster(this.options);
    this.fetcher = new Fetcher(this.cluster, this.partitions, {
      minBytes: this.options.fetchMinBytes,
      maxBytes: this.options.fetchMaxBytes,
      maxPartitionBytes: this.options.maxPartitionFetchBytes,
      maxWaitMs: this.options.fetchMaxWaitMs,
      isolationLevel: this.isolationLevel,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
      retryBackoffMs: this.cluster.options.retryBackoffMs,
      autoOffsetReset: this.options.autoOffsetReset,
    }, () => this.signal.notify(), () => this.resolvePositions());
  }

  private get isolationLevel(): number {
    return this.options.isolationLevel === 'read_committed' ? 1 : 0;
  }

  async connect(): Promise<void> {
    this.ensureOpen();
    await this.cluster.connect();
    this.connected = true;
    if (this.options.groupId !== undefined && this.options.enableAutoCommit) this.scheduleAutoCommit();
  }

  /**
   * Joins the group for these topics; the membership (heartbeats, rebalances) runs in the background.
   * `{ topicRegex }` (groupProtocol 'consumer' only): every topic whose whole name matches the regular
   * expression, in RE2/J syntax, resolved by the broker (KIP-848), including topics created later.
   */
  async subscribe(topics: string[] | { topicRegex: string }): Promise<void> {
    this.ensureOpen();
    if (this.options.groupId === undefined) throw new ClientStateError('subscribe() needs a groupId; without one use assign()');
    if (this.manual) throw new ClientStateError('this consumer uses assign(): subscribe() and assign() cannot be mixed');
    const regex = Array.isArray(topics) ? null : topics.topicRegex;
    if (regex !== null && this.options.groupProtocol !== 'consumer') {
      throw new ClientStateError("subscribe({ topicRegex }) is resolved by the broker: it needs groupProtocol 'consumer'");
    }
    if (regex === '' || (Array.isArray(topics) && topics.length === 0)) throw new ClientStateError('subscribe() needs at least one topic or a regex');
    if (!this.connected) await this.connect();
    this.subscription = Array.isArray(topics) ? [...new Set(topics)] : [];
    this.subscriptionRegex = regex;
    this.lastPollAt = Date.now();
    // Metadata for the topics, so their ids and leaders are at hand.
    await this.cluster.refreshMetadata(regex === null ? this.subscription : null);
    if (this.group) {
      this.group.requestRejoin();
      return;
    }
    if (this.options.groupProtocol === 'consumer') {
      const conn = await this.cluster.coordinatorConnection(this.options.groupId);
      if (!conn.supports(ConsumerGroupHeartbeatRequest)) throw unsupportedConsumerProtocol(conn.address);
      this.group = new ConsumerGroup(this.cluster, this.host, {
        groupId: this.options.groupId,
        groupInstanceId: this.options.groupInstanceId ?? null,
        serverAssignor: this.options.groupRemoteAssignor ?? null,
        rebalanceTimeoutMs: this.options.maxPollIntervalMs,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        retryBackoffMs: this.cluster.options.retryBackoffMs,
      });
    } else {
      this.group = new ClassicGroup(this.cluster, this.host, this.options.partitionAssignors.map(resolveAssignor), {
        groupId: this.options.groupId,
        groupInstanceId: this.options.groupInstanceId ?? null,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        rebalanceTimeoutMs: this.options.maxPollIntervalMs,
        retryBackoffMs: this.cluster.options.retryBackoffMs,
      });
    }
    this.group.start();
  }

  /** Manual assignment: no group membership (a groupId, if set, is only used for commits). */
  assign(partitions: TopicPartition[]): void {
    this.ensureOpen();
    if (this.subscription !== null) throw new ClientStateError('this consumer subscribed to topics: assign() and subscribe() cannot be mixed');
    this.manual = true;
    const keep = new Set(partitions.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const [key] of this.partitions) if (!keep.has(key)) this.partitions.delete(key);
    this.stateList = null;
    this.addPartitions(partitions);
    this.signal.notify();
  }

  assignment(): TopicPartition[] {
    return sortTps([...this.partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition })));
  }

  /**
   * Up to maxPollRecords records. Waits up to timeoutMs for some (returns [] then); without a timeout it
   * waits until records arrive or the consumer closes.
   */
  async poll(timeoutMs = Infinity): Promise<ConsumerRecord[]> {
    if (this.closing) return [];
    if (!this.connected) throw new ClientStateError('call connect() before poll()');
    this.polling++;
    this.group?.onPoll();
    try {
      return await this.pollOnce(timeoutMs);
    } finally {
      this.polling--;
      this.lastPollAt = Date.now();
    }
  }

  private async pollOnce(timeoutMs: number): Promise<ConsumerRecord[]> {
    const deadline = Date.now() + timeoutMs;
    this.fetcher.started = true;
    for (;;) {
      this.throwPending();
      this.resolvePositions();
      const out = this.drain(this.options.maxPollRecords);
      // Fetch what was just drained before handing records over (prefetch while the application works).
      this.fetcher.maybeFetch();
      if (out.length > 0) return out;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.closing) return [];
      await this.signal.wait(remaining);
      if (this.closing) return [];
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    while (!this.closing) {
      const records = await this.poll();
      for (const r of records) yield r;
    }
  }

  async *batches(): AsyncIterable<ConsumerRecord[]> {
    while (!this.closing) {
      const records = await this.poll();
      if (records.length > 0) yield records;
    }
  }

  /** Commits the given offsets, or the position of every assigned partition (what poll() returned so far). */
  async commit(offsets?: OffsetToCommit[]): Promise<void> {
    this.ensureOpen();
    await this.commitInternal(offsets, false);
  }

  async committed(tps: TopicPartition[]): Promise<Array<TopicPartition & { offset: number; metadata: string | null }>> {
    const groupId = this.requireGroupId('committed()');
    const res = await fetchCommitted(this.cluster, groupId, tps);
    return tps.map((tp) => {
      const c = res.find((r) => r.topic === tp.topic && r.partition === tp.partition);
      // No committed offset: metadata null (the broker sends '').
      return c && c.offset >= 0 ? { topic: tp.topic, partition: tp.partition, offset: c.offset, metadata: c.metadata } : { topic: tp.topic, partition: tp.partition, offset: -1, metadata: null };
    });
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0) throw new ClientStateError(`seek offset must be a non-negative integer, not ${offset}`);
    this.stateOf(tp).seek(offset);
    this.fetcher.maybeFetch();
    this.signal.notify();
  }

  async seekToBeginning(tps?: TopicPartition[]): Promise<void> {
    await this.seekToListed(tps, EARLIEST_TIMESTAMP);
  }

  async seekToEnd(tps?: TopicPartition[]): Promise<void> {
    await this.seekToListed(tps, LATEST_TIMESTAMP);
  }

  /** Each partition to its first offset with a timestamp at or after `timestamp`; to its end when there is none. */
  async seekToTimestamp(timestamp: number, tps?: TopicPartition[]): Promise<void> {
    const targets = (tps ?? this.assignment()).map((tp) => ({ tp, st: this.stateOf(tp) }));
    const found = await listOffsets(this.cluster, targets.map(({ tp }) => ({ topic: tp.topic, partition: tp.partition, timestamp })), this.isolationLevel);
    const missing = found.filter((f) => f.offset < 0);
    const ends = missing.length > 0
      ? await listOffsets(this.cluster, missing.map((f) => ({ topic: f.topic, partition: f.partition, timestamp: LATEST_TIMESTAMP })), this.isolationLevel)
      : [];
    targets.forEach(({ st }, i) => {
      const f = found[i];
      const offset = f.offset >= 0 ? f.offset : ends.find((e) => e.topic === f.topic && e.partition === f.partition)!.offset;
      if (this.partitions.get(tpKey(st.topic, st.partition)) === st) st.seek(offset);
    });
    this.fetcher.maybeFetch();
    this.signal.notify();
  }

  /** ListOffsets by timestamp: the first offset at or after each; offset and timestamp -1 where there is none. */
  async offsetsForTimes(query: Array<TopicPartition & { timestamp: number }>): Promise<Array<TopicPartition & { offset: number; timestamp: number }>> {
    this.ensureOpen();
    for (const q of query) if (q.timestamp < 0) throw new ClientStateError(`offsetsForTimes needs timestamps >= 0, not ${q.timestamp}`);
    const res = await listOffsets(this.cluster, query.map((q) => ({ topic: q.topic, partition: q.partition, timestamp: q.timestamp })), this.isolationLevel);
    return res.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.offset < 0 ? -1 : r.timestamp }));
  }

  position(tp: TopicPartition): number | undefined {
    return this.partitions.get(tpKey(tp.topic, tp.partition))?.position ?? undefined;
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.stateOf(tp).paused = true;
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.stateOf(tp).paused = false;
    this.fetcher.maybeFetch();
    this.signal.notify();
  }

  paused(): TopicPartition[] {
    return sortTps([...this.partitions.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition })));
  }

  groupMetadata(): GroupMetadata {
    const groupId = this.requireGroupId('groupMetadata()');
    const g = this.group;
    return {
      groupId,
      generationId: g instanceof ClassicGroup ? g.generationId : g instanceof ConsumerGroup ? g.memberEpoch : -1,
      memberId: g?.memberId ?? '',
      groupInstanceId: this.options.groupInstanceId ?? null,
    };
  }

  /** Commits (when auto-commit is on), leaves the group, closes the connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Waiting polls return [] now (iterators end); the rest winds down in order: stop heartbeats, commit, revoke, leave.
    this.signal.notify();
    if (this.autoCommitTimer) clearTimeout(this.autoCommitTimer);
    this.autoCommitTimer = null;
    if (this.resolveRetry) clearTimeout(this.resolveRetry);
    try {
      if (this.group) {
        await this.group.stop();
        const owned = this.owned();
        if (this.group.stable && owned.length > 0) await this.host.revoke(owned);
        await this.group.leave();
      } else if (this.connected && this.options.groupId !== undefined && this.options.enableAutoCommit) {
        await this.commitInternal(undefined, true).catch(() => undefined);
      }
    } finally {
      this.closed = true;
      this.fetcher.close();
      this.signal.notify();
      // The brokers free the consumer's fetch sessions now rather than evicting them later (bounded wait).
      await this.fetcher.closeSessions(Math.min(this.options.requestTimeoutMs ?? 1000, 1000));
      await this.cluster.close();
    }
  }

  // ---------------------------------------------------------------- internals

  private ensureOpen(): void {
    if (this.closing) throw new ClientStateError('the consumer is closed');
  }

  private requireGroupId(what: string): string {
    if (this.options.groupId === undefined) throw new ClientStateError(`${what} needs a groupId`);
    return this.options.groupId;
  }

  private stateOf(tp: TopicPartition): PartitionState {
    const st = this.partitions.get(tpKey(tp.topic, tp.partition));
    if (!st) throw new ClientStateError(`${tp.topic}-${tp.partition} is not assigned to this consumer`);
    return st;
  }

  private owned(): TopicPartition[] {
    return [...this.partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  private addPartitions(tps: TopicPartition[]): void {
    for (const tp of tps) {
      const key = tpKey(tp.topic, tp.partition);
      if (!this.partitions.has(key)) this.partitions.set(key, new PartitionState(tp.topic, tp.partition));
      this.stateList = null;
    }
    this.resolvePositions();
  }

  private throwPending(): void {
    if (this.fatal) throw this.fatal;
    if (this.listenerError) {
      const err = this.listenerError;
      this.listenerError = null;
      throw err;
    }
    for (const st of this.partitions.values()) {
      if (st.error) {
        const err = st.error;
        st.error = null;
        throw err;
      }
    }
  }

  private drain(max: number): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    // Kept between polls: copying 10,000 states at every poll was most of a many-partition consumer's garbage.
    const states = (this.stateList ??= [...this.partitions.values()]);
    const n = states.length;
    if (n === 0) return out;
    const start = this.drainStart++ % n;
    for (let i = 0; i < n && out.length < max; i++) {
      const st = states[(start + i) % n];
      if (st.paused || st.position === null) continue;
      while (st.queue.length > 0 && out.length < max) {
        const cf = st.queue[0];
        const before = out.length;
        try {
          cf.take(max - out.length, st.position, out);
        } catch (err) {
          // A corrupt batch: drop the data and fetch it again from the position; the application sees the error.
          st.queue.length = 0;
          st.fetchPosition = st.position;
          st.epoch++;
          if (out.length > before) this.advance(st, out[out.length - 1]);
          st.error = err as Error;
          break;
        }
        if (out.length > before) this.advance(st, out[out.length - 1]);
        if (cf.exhausted) {
          st.queue.shift();
          if (cf.endOffset > st.position) st.position = cf.endOffset;
        } else if (cf.nextOffset > st.position) {
          st.position = cf.nextOffset;
        }
      }
    }
    return out;
  }

  private advance(st: PartitionState, last: ConsumerRecord): void {
    st.position = last.offset + 1;
    st.leaderEpoch = last.leaderEpoch;
  }

  /** Resolves positions of partitions that have none: committed offset, else autoOffsetReset. */
  private resolvePositions(): void {
    if (this.closed || !this.connected) return;
    if (this.resolving) {
      this.resolveAgain = true;
      return;
    }
    // Runs at every poll: no array of every assigned partition (10,000 of them) unless one needs resolving.
    let need: PartitionState[] | undefined;
    for (const s of this.partitions.values()) if (s.position === null && s.error === null) (need ??= []).push(s);
    if (need === undefined) return;
    this.resolving = true;
    void this.resolve(need)
      .catch((err: unknown) => {
        if (this.closed) return;
        if ((err as { retriable?: boolean }).retriable) {
          this.resolveRetry = setTimeout(() => {
            this.resolveRetry = null;
            this.resolvePositions();
          }, this.cluster.options.retryBackoffMs);
        } else {
          for (const s of need) if (s.position === null) s.error = err as Error;
        }
      })
      .finally(() => {
        this.resolving = false;
        this.fetcher.maybeFetch();
        this.signal.notify();
        if (this.resolveAgain) {
          this.resolveAgain = false;
          this.resolvePositions();
        }
      });
  }

  private async resolve(need: PartitionState[]): Promise<void> {
    const epochs = new Map(need.map((s) => [s, s.epoch]));
    const current = (s: PartitionState): boolean => this.partitions.get(tpKey(s.topic, s.partition)) === s && s.epoch === epochs.get(s) && s.position === null;
    const toReset: PartitionState[] = need.filter((s) => s.resetStrategy !== null);
    const useCommitted = need.filter((s) => s.resetStrategy === null);
    if (this.options.groupId !== undefined && useCommitted.length > 0) {
      const committed = await fetchCommitted(this.cluster, this.options.groupId, useCommitted.map((s) => ({ topic: s.topic, partition: s.partition })));
      for (const s of useCommitted) {
        const c = committed.find((x) => x.topic === s.topic && x.partition === s.partition);
        if (c && c.offset >= 0) {
          if (current(s)) {
            s.seek(c.offset, c.leaderEpoch);
            s.committed = c.offset;
          }
        } else {
          toReset.push(s);
        }
      }
    } else {
      toReset.push(...useCommitted);
    }
    const queries: Array<{ s: PartitionState; timestamp: number }> = [];
    for (const s of toReset) {
      const strategy = s.resetStrategy ?? this.options.autoOffsetReset;
      if (strategy === 'none') {
        if (current(s)) s.error = new ClientStateError(`${s.topic}-${s.partition} has no committed offset and autoOffsetReset is 'none': seek() first`);
        continue;
      }
      queries.push({ s, timestamp: strategy === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP });
    }
    if (queries.length === 0) return;
    const found = await listOffsets(this.cluster, queries.map((q) => ({ topic: q.s.topic, partition: q.s.partition, timestamp: q.timestamp })), this.isolationLevel);
    queries.forEach((q, i) => {
      if (current(q.s)) q.s.seek(found[i].offset);
    });
  }

  private async seekToListed(tps: TopicPartition[] | undefined, timestamp: number): Promise<void> {
    this.ensureOpen();
    const targets = (tps ?? this.assignment()).map((tp) => this.stateOf(tp));
    const found = await listOffsets(this.cluster, targets.map((s) => ({ topic: s.topic, partition: s.partition, timestamp })), this.isolationLevel);
    targets.forEach((s, i) => {
      if (this.partitions.get(tpKey(s.topic, s.partition)) === s) s.seek(found[i].offset);
    });
    this.fetcher.maybeFetch();
    this.signal.notify();
  }

  private commitMember(): CommitMember {
    const g = this.group;
    if (g instanceof ClassicGroup) return { generationIdOrMemberEpoch: g.generationId, memberId: g.memberId, groupInstanceId: this.options.groupInstanceId ?? null };
    if (g instanceof ConsumerGroup) return { generationIdOrMemberEpoch: g.memberEpoch, memberId: g.memberId, groupInstanceId: this.options.groupInstanceId ?? null };
    // Manual assignment: commit as a "simple" consumer outside any generation.
    return { generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null };
  }

  /** Commits explicit offsets or the positions of (`onlyChanged`: moved since their last commit) assigned partitions. */
  private async commitInternal(offsets: OffsetToCommit[] | undefined, onlyChanged: boolean, which?: TopicPartition[]): Promise<void> {
    const groupId = this.requireGroupId('commit()');
    let list = offsets;
    if (list === undefined) {
      const states = which ? which.map((tp) => this.partitions.get(tpKey(tp.topic, tp.partition))).filter((s): s is PartitionState => s !== undefined) : [...this.partitions.values()];
      list = states
        .filter((s) => s.position !== null && (!onlyChanged || s.position !== s.committed))
        .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position!, leaderEpoch: s.leaderEpoch, metadata: '' }));
    }
    if (list.length === 0) return;
    const run = async (): Promise<void> => {
      await commitOffsets(this.cluster, groupId, this.commitMember(), list);
      for (const o of list) {
        const st = this.partitions.get(tpKey(o.topic, o.partition));
        if (st) st.committed = o.offset;
      }
    };
    // One commit at a time, in order, so a later commit never lands before an earlier one.
    const p = this.committing.then(run, run);
    this.committing = p.catch(() => undefined);
    await p;
  }

  private scheduleAutoCommit(): void {
    if (this.autoCommitTimer || this.closing) return;
    this.autoCommitTimer = setTimeout(() => {
      this.autoCommitTimer = null;
      const g = this.group;
      const inGroup = g === null ? this.manual : g.stable;
      const p = inGroup ? this.commitInternal(undefined, true) : Promise.resolve();
      // A failed auto-commit is retried at the next interval (the Java client logs it likewise).
      void p.catch(() => undefined).finally(() => this.scheduleAutoCommit());
    }, this.options.autoCommitIntervalMs);
    this.autoCommitTimer.unref();
  }

  private readonly host: GroupHost = {
    subscription: () => this.subscription ?? [],
    subscriptionRegex: () => this.subscriptionRegex,
    owned: () => this.owned(),
    addPartitions: (tps) => {
      this.addPartitions(tps);
      this.signal.notify();
    },
    removePartitions: (tps) => {
      for (const tp of tps) this.partitions.delete(tpKey(tp.topic, tp.partition));
      this.stateList = null;
      this.signal.notify();
    },
    revoke: async (tps) => {
      if (this.options.enableAutoCommit) await this.commitInternal(undefined, true, tps).catch(() => undefined);
      await this.callListener('onPartitionsRevoked', tps);
    },
    lose: (tps) => this.callListener('onPartitionsLost', tps),
    assigned: (tps) => this.callListener('onPartitionsAssigned', tps),
    fail: (err) => {
      this.fatal = err;
      this.signal.notify();
    },
    pollIdleMs: () => (this.polling > 0 ? 0 : Date.now() - this.lastPollAt),
  };

  private async callListener(name: 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'onPartitionsLost', tps: TopicPartition[]): Promise<void> {
    const l = this.options.rebalanceListener;
    // As Kafka: lost falls back to revoked when the listener has no onPartitionsLost.
    const fn = name === 'onPartitionsLost' && !l?.onPartitionsLost ? l?.onPartitionsRevoked : l?.[name];
    if (!fn) return;
    try {
      await fn.call(l, sortTps(tps.map((tp) => ({ topic: tp.topic, partition: tp.partition }))));
    } catch (err) {
      this.listenerError ??= err instanceof Error ? err : new Error(`${name} threw ${String(err)}`);
    }
  }
}

/** A name from the built-in assignors, or a custom assignor object as given. */
function resolveAssignor(a: string | PartitionAssignor): PartitionAssignor {
  return typeof a === 'string' ? assignorByName(a) : a;
}
