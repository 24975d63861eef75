/**
 * ReplicaManager: this broker's replicas of partitions, leading or following as the etcd image says.
 *
 * Leader: appends are stamped with the partition's leader epoch; each follower's fetch tells its log end
 * (onFollowerFetch); the high watermark is the smallest log end of the ISR ("maximal" ISR while an expansion
 * is in flight, so an unconfirmed change never commits more), acks=all waiters resolve as it passes their
 * offset. A follower that has caught up to the high watermark (and to this leader's first offset in its epoch)
 * joins the ISR; one not caught up for replica.lag.time.max.ms leaves it. ISR changes are compare-and-swap
 * writes of the partition state on the partition epoch this leader read, so a deposed leader's change fails:
 * with the new leader still in its ISR (elected from it) and no longer fetching from it, a deposed leader can
 * never commit another offset.
 *
 * Follower: a ReplicaFetcher per leader (replica-fetcher.ts) first asks the leader where its epochs end
 * (OffsetForLeaderEpoch, KIP-101/KIP-279) and truncates a divergent tail, then fetches from its log end and
 * appends the leader's batches as they are (appendAsFollower), taking the high watermark from the leader.
 *
 * A deposed leader (paused, cut off from etcd) needs no fencing of its own: the broker that replaced it was in
 * its ISR and no longer fetches from it, so its high watermark cannot pass what the new leader has, and its
 * attempt to shrink the ISR fails the compare-and-swap; its pending acks=all requests time out or fail when the
 * image reaches it.
 *
 * Concurrency contract: single JS thread; applyImage, onFollowerFetch and the fetchers' appends run to
 * completion; the only awaits are the etcd writes (one ISR change in flight per partition) and the fetchers' I/O.
 */
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Log } from '../storage/log.js';
import type { MetadataImage, PartitionChange, PartitionState } from './metadata.js';
import { NO_LEADER } from './metadata.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { isThrottledReplica, UNLIMITED_RATE } from './replication-throttle.js';
import { PartitionReplica, type FollowerState, type Waiter } from './partition-replica.js';
import type { SaslOptions, SslOptions } from '../client/connection.js';

export { PartitionReplica, type Role } from './partition-replica.js';

export interface ReplicaStore {
  image(): MetadataImage;
  casPartitions(changes: PartitionChange[]): Promise<boolean>;
}

export interface ReplicaManagerOptions {
  nodeId: number;
  store: ReplicaStore;
  /** The local log of a partition this broker hosts. */
  log(topic: string, partition: number): Log | undefined;
  replicaLagTimeMaxMs: number;
  /** Fetcher settings (Kafka's replica.fetch.* keys). */
  fetchWaitMaxMs: number;
  fetchMaxBytes: number;
  fetchResponseMaxBytes: number;
  fetchBackoffMs: number;
  /** follower.replication.throttled.rate (bytes/s, read at every fetch) and a topic's configs, for KIP-73 throttling. */
  followerThrottleRate?: () => number;
  topicConfig?: (topic: string) => Readonly<Record<string, string>> | undefined;
  logger: Logger;
  now?: () => number;
  /** TLS for the fetchers' connections (an SSL inter-broker listener). */
  ssl?: SslOptions;
  sasl?: SaslOptions;
}

export class ReplicaManager {
  private readonly partitions = new Map<string, PartitionReplica>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly now: () => number;
  private readonly lagTimer: NodeJS.Timeout;
  private closed = false;
  /**
   * ISR changes of partitions led here, since start (Kafka's IsrShrinksPerSec / IsrExpandsPerSec at the leader):
   * this leader's own confirmed changes and the controller's seen in the image (a follower removed when its broker
   * goes), not a change that comes with a new leader epoch. Read by the metrics at scrape time.
   */
  isrShrinks = 0;
  isrExpands = 0;

  constructor(private readonly opts: ReplicaManagerOptions) {
    this.now = opts.now ?? Date.now;
    this.lagTimer = setInterval(() => this.checkLaggingFollowers(), Math.max(100, Math.floor(opts.replicaLagTimeMaxMs / 2)));
    this.lagTimer.unref();
  }

  get nodeId(): number {
    return this.opts.nodeId;
  }

  replica(topic: string, partition: number): PartitionReplica | undefined {
    return this.partitions.get(`${topic}-${partition}`);
  }

  all(): IterableIterator<PartitionReplica> {
    return this.partitions.values();
  }

  /**
   * Applies the image: every partition whose replicas name this broker is led or followed as its state says;
   * partitions that no longer name it are stopped. The caller creates the logs first (and deletes dropped ones after).
   * Returns the leadership changes, for the coordinators.
   */
  applyImage(image: MetadataImage): { becameLeader: PartitionReplica[]; stoppedLeading: PartitionReplica[] } {
    const becameLeader: PartitionReplica[] = [];
    const stoppedLeading: PartitionReplica[] = [];
    const seen = new Set<string>();
    for (const topic of image.topics.values()) {
      topic.partitions.forEach((state, partition) => {
        if (!state.replicas.includes(this.nodeId) && !state.addingReplicas.includes(this.nodeId)) return;
        const key = `${topic.name}-${partition}`;
        seen.add(key);
        let r = this.partitions.get(key);
        if (r && r.topicId !== topic.topicId) {
          // The topic was deleted and created again under the same name: a new replica of a new log.
          if (r.role === 'leader') stoppedLeading.push(r);
          this.stop(r);
          r = undefined;
        }
        if (!r) {
          r = new PartitionReplica(topic.name, topic.topicId, partition, state);
          this.partitions.set(key, r);
        }
        const wasLeader = r.role === 'leader';
        this.applyState(r, state, image);
        if (!wasLeader && r.role === 'leader') becameLeader.push(r);
        if (wasLeader && r.role !== 'leader') stoppedLeading.push(r);
      });
    }
    for (const [key, r] of this.partitions) {
      if (seen.has(key)) continue;
      if (r.role === 'leader') stoppedLeading.push(r);
      this.stop(r);
      this.partitions.delete(key);
    }
    this.refreshFetcherEndpoints(image);
    return { becameLeader, stoppedLeading };
  }

  private applyState(r: PartitionReplica, state: PartitionState, image: MetadataImage): void {
    const log = this.opts.log(r.topic, r.partition);
    const prev = r.state;
    r.state = state;
    if (!log) return;
    if (state.leader === this.nodeId) {
      if (r.role !== 'leader' || r.leaderEpoch !== state.leaderEpoch) {
        this.becomeLeader(r, log, state);
      } else {
        this.countIsrChange(prev.isr, state.isr);
        if (r.pendingIsr && prev.partitionEpoch !== state.partitionEpoch) r.pendingIsr = null;
      }
      this.syncFollowers(r, state);
      this.maybeIncrementHighWatermark(r, log);
      return;
    }
    if (r.role !== 'follower' || r.leaderEpoch !== state.leaderEpoch || this.fetcherOf(r) !== state.leader) {
      this.becomeFollower(r, state, image);
    }
  }

  private becomeLeader(r: PartitionReplica, log: Log, state: PartitionState): void {
    this.removeFromFetchers(r);
    r.role = 'leader';
    r.leaderEpoch = state.leaderEpoch;
    r.pendingIsr = null;
    r.epochStartOffset = log.logEndOffset;
    // Kafka's rule: the new epoch starts at this leader's log end, so followers asking where their epoch ends get
    // an answer before the first append of this epoch.
    log.assignLeaderEpoch(state.leaderEpoch);
    r.followers.clear();
    r.stopWatchingAppends?.();
    // An ISR of this broker alone commits on append; otherwise followers' fetches move the high watermark.
    r.stopWatchingAppends = log.onAppend(() => {
      if (r.role === 'leader') this.maybeIncrementHighWatermark(r, log);
    });
    this.opts.logger.info({ topic: r.topic, partition: r.partition, leaderEpoch: state.leaderEpoch, isr: state.isr, logEndOffset: log.logEndOffset }, 'leading partition');
  }

  /**
   * The followers tracked while leading are the state's replicas (a reassignment's adding ones included, since
   * they are in `replicas` while it runs): a replica added while this broker leads is tracked from the next
   * image on, a removed one is forgotten.
   */
  private syncFollowers(r: PartitionReplica, state: PartitionState): void {
    const now = this.now();
    for (const id of [...state.replicas, ...state.addingReplicas]) {
      if (id !== this.nodeId && !r.followers.has(id)) r.followers.set(id, { leo: -1, lastFetchMs: now, lastCaughtUpMs: now, leaderLeoAtLastFetch: -1 });
    }
    for (const id of r.followers.keys()) {
      if (!state.replicas.includes(id) && !state.addingReplicas.includes(id)) r.followers.delete(id);
    }
  }

  private becomeFollower(r: PartitionReplica, state: PartitionState, image: MetadataImage): void {
    const wasLeader = r.role === 'leader';
    r.stopWatchingAppends?.();
    r.stopWatchingAppends = null;
    this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.removeFromFetchers(r);
    r.role = 'follower';
    r.leaderEpoch = state.leaderEpoch;
    r.pendingIsr = null;
    r.followers.clear();
    if (state.leader !== NO_LEADER && state.leader !== this.nodeId && image.brokers.has(state.leader)) {
      this.fetcherFor(state.leader, image).add(r);
    }
    if (wasLeader) this.opts.logger.info({ topic: r.topic, partition: r.partition, leader: state.leader, leaderEpoch: state.leaderEpoch }, 'following partition');
  }

  private stop(r: PartitionReplica): void {
    r.stopWatchingAppends?.();
    r.stopWatchingAppends = null;
    this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.removeFromFetchers(r);
    r.role = 'none';
  }

  // ---- leader side -------------------------------------------------------------------------------------

  leaderReplica(topic: string, partition: number): PartitionReplica {
    const r = this.partitions.get(`${topic}-${partition}`);
    if (!r || r.role !== 'leader') {
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `This server is not the leader for partition ${topic}-${partition}`);
    }
    return r;
  }

  onFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number, currentLeaderEpoch: number): number {
    const r = this.partitions.get(`${topic}-${partition}`);
    if (!r || r.role !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== r.leaderEpoch) {
      return currentLeaderEpoch < r.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
    }
    const f = r.followers.get(replicaId);
    if (!f) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const log = this.opts.log(topic, partition);
    if (!log) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const now = this.now();
    const leaderLeo = log.logEndOffset;
    if (fetchOffset >= leaderLeo) f.lastCaughtUpMs = now;
    else if (fetchOffset >= f.leaderLeoAtLastFetch && f.leaderLeoAtLastFetch >= 0) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.leo = fetchOffset;
    f.lastFetchMs = now;
    f.leaderLeoAtLastFetch = leaderLeo;
    this.maybeExpandIsr(r, replicaId, f, log);
    this.maybeIncrementHighWatermark(r, log);
    return ErrorCode.NONE;
  }

  private maybeIncrementHighWatermark(r: PartitionReplica, log: Log): void {
    if (r.role !== 'leader') return;
    let hw = log.logEndOffset;
    for (const id of r.maximalIsr) {
      if (id === this.nodeId) continue;
      const f = r.followers.get(id);
      const leo = f ? f.leo : -1;
      if (leo < hw) hw = leo;
    }
    if (hw > log.highWatermark) log.updateHighWatermark(hw);
    this.completeWaiters(r, log);
  }

  private maybeExpandIsr(r: PartitionReplica, replicaId: number, f: FollowerState, log: Log): void {
    if (r.pendingIsr || r.state.isr.includes(replicaId)) return;
    if (f.leo < log.highWatermark || f.leo < r.epochStartOffset) return;
    const broker = this.opts.store.image().brokers.get(replicaId);
    if (!broker || broker.shuttingDown) return;
    this.proposeIsr(r, [...r.state.isr, replicaId]);
  }

  private checkLaggingFollowers(): void {
    if (this.closed) return;
    const now = this.now();
    for (const r of this.partitions.values()) {
      if (r.role !== 'leader' || r.pendingIsr) continue;
      const lagging = r.state.isr.filter((id) => {
        if (id === this.nodeId) return false;
        const f = r.followers.get(id);
        return !f || now - f.lastCaughtUpMs > this.opts.replicaLagTimeMaxMs;
      });
      if (lagging.length === 0) continue;
      this.opts.logger.info({ topic: r.topic, partition: r.partition, lagging }, 'shrinking ISR');
      this.proposeIsr(r, r.state.isr.filter((id) => !lagging.includes(id)));
    }
  }

  private proposeIsr(r: PartitionReplica, isr: number[]): void {
    const base = r.state;
    const next: PartitionState = { ...base, isr, partitionEpoch: base.partitionEpoch + 1 };
    r.pendingIsr = isr;
    this.opts.store.casPartitions([{ topic: r.topic, partition: r.partition, expectedPartitionEpoch: base.partitionEpoch, next }]).then(
      (ok) => {
        if (r.pendingIsr !== isr) return;
        if (ok && r.role === 'leader' && r.leaderEpoch === base.leaderEpoch) {
          // Confirmed: apply now rather than waiting for the watch (the image will say the same).
          if (r.state.partitionEpoch === base.partitionEpoch) {
            this.countIsrChange(base.isr, next.isr);
            r.state = next;
          }
          r.pendingIsr = null;
          const log = this.opts.log(r.topic, r.partition);
          if (log) this.maybeIncrementHighWatermark(r, log);
        } else if (!ok) {
          // Someone else changed the partition (the controller): the image will bring the new state.
          r.pendingIsr = null;
        }
      },
      (err: unknown) => {
        this.opts.logger.warn({ err, topic: r.topic, partition: r.partition }, 'ISR change failed; will retry');
        if (r.pendingIsr === isr) r.pendingIsr = null;
      },
    );
  }

  /** A shrink when a member left, an expansion when one joined (both for a swap). */
  private countIsrChange(prev: readonly number[], next: readonly number[]): void {
    if (prev === next) return;
    if (prev.some((id) => !next.includes(id))) this.isrShrinks++;
    if (next.some((id) => !prev.includes(id))) this.isrExpands++;
  }

  /** acks=all: NONE once the high watermark passes endOffset (with the ISR at least minIsr), else an error code. */
  awaitCommitted(topic: string, partition: number, endOffset: number, minIsr: number, timeoutMs: number): Promise<number> {
    const r = this.partitions.get(`${topic}-${partition}`);
    if (!r || r.role !== 'leader') return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const log = this.opts.log(topic, partition);
    if (!log) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The append may be committed already (an ISR of this broker alone, or followers ahead of this call).
    this.maybeIncrementHighWatermark(r, log);
    if (log.highWatermark >= endOffset) return Promise.resolve(r.state.isr.length >= minIsr ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        endOffset,
        minIsr,
        resolve,
        timer: setTimeout(() => {
          const i = r.waiters.indexOf(waiter);
          if (i >= 0) r.waiters.splice(i, 1);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, Math.max(0, timeoutMs)),
      };
      r.waiters.push(waiter);
    });
  }

  private completeWaiters(r: PartitionReplica, log: Log): void {
    if (r.waiters.length === 0) return;
    const hw = log.highWatermark;
    for (let i = 0; i < r.waiters.length; ) {
      const w = r.waiters[i]!;
      if (w.endOffset <= hw) {
        r.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(r.state.isr.length >= w.minIsr ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
      } else {
        i++;
      }
    }
  }

  private failWaiters(r: PartitionReplica, code: number): void {
    for (const w of r.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(code);
    }
  }

  // ---- follower side -----------------------------------------------------------------------------------

  private fetcherFor(leaderId: number, image: MetadataImage): ReplicaFetcher {
    let f = this.fetchers.get(leaderId);
    if (!f) {
      const b = image.brokers.get(leaderId)!;
      f = new ReplicaFetcher({
        nodeId: this.nodeId,
        leaderId,
        host: b.host,
        port: b.port,
        log: (topic, partition) => this.opts.log(topic, partition),
        isCurrent: (r) => this.partitions.get(r.key) === r && r.role === 'follower' && r.state.leader === leaderId,
        waitMaxMs: this.opts.fetchWaitMaxMs,
        maxBytes: this.opts.fetchMaxBytes,
        responseMaxBytes: this.opts.fetchResponseMaxBytes,
        backoffMs: this.opts.fetchBackoffMs,
        logger: this.opts.logger,
        ssl: this.opts.ssl,
        sasl: this.opts.sasl,
        throttle: {
          rate: () => this.opts.followerThrottleRate?.() ?? UNLIMITED_RATE,
          isThrottled: (r) => !r.state.isr.includes(this.nodeId) && isThrottledReplica(this.opts.topicConfig?.(r.topic)?.['follower.replication.throttled.replicas'], r.partition, this.nodeId),
        },
      });
      this.fetchers.set(leaderId, f);
    }
    return f;
  }

  private fetcherOf(r: PartitionReplica): number {
    for (const [id, f] of this.fetchers) if (f.has(r)) return id;
    return NO_LEADER;
  }

  private removeFromFetchers(r: PartitionReplica): void {
    for (const f of this.fetchers.values()) f.remove(r);
  }

  private refreshFetcherEndpoints(image: MetadataImage): void {
    for (const [id, f] of this.fetchers) {
      const b = image.brokers.get(id);
      if (b && f.size > 0) {
        f.setEndpoint(b.host, b.port);
      } else {
        void f.close();
        this.fetchers.delete(id);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.lagTimer);
    for (const r of this.partitions.values()) this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await Promise.all([...this.fetchers.values()].map((f) => f.close()));
    this.fetchers.clear();
  }
}
