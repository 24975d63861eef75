/**
 * ReplicaFetcher: one per leader broker this broker follows partitions of. A loop over one connection:
 *   1. partitions new to it (or whose leader epoch changed) ask the leader where their last epoch ends
 *      (OffsetForLeaderEpoch with this broker's replica id, KIP-101/KIP-279) and truncate what diverges;
 *   2. one Fetch with the replica id for all of them from their log ends (read up to the leader's log end, not
 *      its high watermark), appended as they are (appendAsFollower), the high watermark taken from the leader.
 * A partition whose fetch offset is below the leader's log start starts over at it (truncateFullyAndStartAt).
 * Connection errors back off (replica.fetch.backoff.ms) and reconnect; a response is applied only to partitions
 * still following this leader at the epoch the request was built with. Throttled replicas (KIP-73, see
 * replication-throttle.ts) are fetched within follower.replication.throttled.rate.
 */
import { Connection, type SaslOptions, type SslOptions } from '../client/connection.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { FetchRequest } from '../protocol/generated/fetch-request.js';
import { FetchResponse } from '../protocol/generated/fetch-response.js';
import { OffsetForLeaderEpochRequest } from '../protocol/generated/offset-for-leader-epoch-request.js';
import { OffsetForLeaderEpochResponse } from '../protocol/generated/offset-for-leader-epoch-response.js';
import type { Log } from '../storage/log.js';
import type { PartitionReplica } from './partition-replica.js';
import { TokenBucket, UNLIMITED_RATE } from './replication-throttle.js';

/** Fetch v12: replica id in the header fields, topics by name, flexible. */
const FETCH_VERSION = 12;
const EPOCH_VERSION = 4;

export interface ReplicaFetcherOptions {
  nodeId: number;
  leaderId: number;
  host: string;
  port: number;
  log(topic: string, partition: number): Log | undefined;
  /** Still following this leader (else a response for it is dropped). */
  isCurrent(r: PartitionReplica): boolean;
  waitMaxMs: number;
  maxBytes: number;
  responseMaxBytes: number;
  backoffMs: number;
  logger: Logger;
  /**
   * follower.replication.throttled.rate (read at every fetch: it is a dynamic config) and whether a replica is
   * throttled (named in its topic's follower.replication.throttled.replicas and not in the ISR, as in Kafka).
   */
  throttle?: { rate(): number; isThrottled(r: PartitionReplica): boolean };
  /** TLS for the connection to the leader (an SSL inter-broker listener). */
  ssl?: SslOptions;
  sasl?: SaslOptions;
}

interface Entry {
  replica: PartitionReplica;
  /** The epoch the entry was added at: a truncation check is due when it changes. */
  epoch: number;
  truncated: boolean;
}

export class ReplicaFetcher {
  private readonly entries = new Map<string, Entry>();
  private conn: Connection | null = null;
  private running = true;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  private host: string;
  private port: number;
  private readonly bucket = new TokenBucket(UNLIMITED_RATE);

  constructor(private readonly opts: ReplicaFetcherOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.loop = this.run();
  }

  get size(): number {
    return this.entries.size;
  }

  has(r: PartitionReplica): boolean {
    return this.entries.get(r.key)?.replica === r;
  }

  add(r: PartitionReplica): void {
    this.entries.set(r.key, { replica: r, epoch: r.leaderEpoch, truncated: false });
    this.wake?.();
  }

  remove(r: PartitionReplica): void {
    if (this.entries.get(r.key)?.replica === r) this.entries.delete(r.key);
  }

  setEndpoint(host: string, port: number): void {
    if (host === this.host && port === this.port) return;
    this.host = host;
    this.port = port;
    this.conn?.close();
    this.conn = null;
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.conn?.close();
    this.conn = null;
    await this.loop.catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.entries.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        const conn = await this.connection();
        const needTruncation = [...this.entries.values()].filter((e) => !e.truncated || e.epoch !== e.replica.leaderEpoch);
        if (needTruncation.length > 0) await this.truncate(conn, needTruncation);
        await this.fetch(conn);
      } catch (err) {
        if (!this.running) return;
        this.opts.logger.debug({ err, leader: this.opts.leaderId }, 'replica fetch failed; backing off');
        this.conn?.close();
        this.conn = null;
        await this.sleep(this.opts.backoffMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
    });
  }

  private async connection(): Promise<Connection> {
    if (this.conn && !this.conn.closed) return this.conn;
    this.conn = await Connection.connect(this.host, this.port, {
      clientId: `broker-${this.opts.nodeId}-fetcher-${this.opts.leaderId}`,
      connectTimeoutMs: 5000,
      requestTimeoutMs: this.opts.waitMaxMs + 10_000,
      ssl: this.opts.ssl,
      sasl: this.opts.sasl,
    });
    return this.conn;
  }

  private byTopic(entries: Entry[]): Map<string, Entry[]> {
    const m = new Map<string, Entry[]>();
    for (const e of entries) {
      const list = m.get(e.replica.topic);
      if (list) list.push(e);
      else m.set(e.replica.topic, [e]);
    }
    return m;
  }

  /** KIP-279: truncate each partition to where its log and the leader's agree. */
  private async truncate(conn: Connection, entries: Entry[]): Promise<void> {
    const asked = entries.map((e) => ({ e, epoch: e.replica.leaderEpoch }));
    const topics = [...this.byTopic(entries)].map(([topic, list]) => ({
      topic,
      partitions: list.map((e) => ({
        partition: e.replica.partition,
        currentLeaderEpoch: e.replica.leaderEpoch,
        leaderEpoch: this.opts.log(topic, e.replica.partition)?.latestEpoch ?? -1,
      })),
    }));
    const res = await conn.send(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, { replicaId: this.opts.nodeId, topics }, { version: EPOCH_VERSION });
    const answers = new Map<string, { errorCode: number; leaderEpoch: number; endOffset: bigint }>();
    for (const t of res.topics) for (const p of t.partitions) answers.set(`${t.topic}-${p.partition}`, p);
    for (const { e, epoch } of asked) {
      const r = e.replica;
      if (!this.opts.isCurrent(r) || r.leaderEpoch !== epoch || this.entries.get(r.key) !== e) continue;
      const a = answers.get(r.key);
      const log = this.opts.log(r.topic, r.partition);
      if (!a || !log) continue;
      if (a.errorCode !== ErrorCode.NONE) {
        this.opts.logger.debug({ topic: r.topic, partition: r.partition, errorCode: a.errorCode }, 'OffsetForLeaderEpoch refused; retrying');
        continue;
      }
      let target: number;
      if (a.leaderEpoch < 0 || a.endOffset < 0n) {
        // The leader knows no epoch at or below ours: keep only what is known committed.
        target = log.highWatermark;
      } else {
        const leaderEnd = Number(a.endOffset);
        const mine = log.endOffsetForEpoch(a.leaderEpoch);
        const localEnd = mine && mine.leaderEpoch === a.leaderEpoch ? mine.endOffset : (mine?.endOffset ?? log.logEndOffset);
        target = Math.min(leaderEnd, localEnd, log.logEndOffset);
      }
      if (target < log.logEndOffset) {
        this.opts.logger.info({ topic: r.topic, partition: r.partition, from: log.logEndOffset, to: target, leaderEpoch: r.leaderEpoch }, 'truncating divergent log tail');
        await log.truncateTo(target);
      }
      e.epoch = epoch;
      e.truncated = true;
    }
  }

  private async fetch(conn: Connection): Promise<void> {
    let ready = [...this.entries.values()].filter((e) => e.truncated && e.epoch === e.replica.leaderEpoch);
    if (ready.length === 0) {
      await this.sleep(this.opts.backoffMs);
      return;
    }
    // Throttled partitions are fetched only while the budget lasts, each asking for its share of it.
    const rate = this.opts.throttle?.rate() ?? UNLIMITED_RATE;
    const throttled = new Set(rate < UNLIMITED_RATE ? ready.filter((e) => this.opts.throttle!.isThrottled(e.replica)).map((e) => e.replica.key) : []);
    let share = this.opts.maxBytes;
    if (throttled.size > 0) {
      const budget = this.bucket.available(rate);
      if (budget === 0) ready = ready.filter((e) => !throttled.has(e.replica.key));
      else share = Math.max(1, Math.min(share, Math.floor(budget / throttled.size)));
      if (ready.length === 0) {
        await this.sleep(Math.min(this.bucket.waitMs(rate), Math.max(1, this.opts.waitMaxMs)));
        return;
      }
    }
    const asked = new Map<string, { e: Entry; fetchOffset: number; epoch: number }>();
    const topics = [...this.byTopic(ready)].map(([topic, list]) => ({
      topic,
      partitions: list.flatMap((e) => {
        const log = this.opts.log(topic, e.replica.partition);
        if (!log) return [];
        asked.set(e.replica.key, { e, fetchOffset: log.logEndOffset, epoch: e.replica.leaderEpoch });
        return [{
          partition: e.replica.partition,
          currentLeaderEpoch: e.replica.leaderEpoch,
          fetchOffset: BigInt(log.logEndOffset),
          lastFetchedEpoch: log.latestEpoch ?? -1,
          logStartOffset: BigInt(log.logStartOffset),
          partitionMaxBytes: throttled.has(e.replica.key) ? share : this.opts.maxBytes,
        }];
      }),
    }));
    const res = await conn.send(FetchRequest, FetchResponse, {
      replicaId: this.opts.nodeId,
      maxWaitMs: this.opts.waitMaxMs,
      minBytes: 1,
      maxBytes: this.opts.responseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics,
      forgottenTopicsData: [],
      rackId: '',
    }, { version: FETCH_VERSION, timeoutMs: this.opts.waitMaxMs + 10_000 });
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`fetch from leader ${this.opts.leaderId} failed with error ${res.errorCode}`);
    let backoff = false;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const a = asked.get(`${t.topic}-${p.partitionIndex}`);
        if (!a) continue;
        const r = a.e.replica;
        if (!this.opts.isCurrent(r) || r.leaderEpoch !== a.epoch || this.entries.get(r.key) !== a.e) continue;
        const log = this.opts.log(r.topic, r.partition);
        if (!log || log.logEndOffset !== a.fetchOffset) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          const leaderStart = Number(p.logStartOffset);
          if (leaderStart > a.fetchOffset) {
            this.opts.logger.info({ topic: r.topic, partition: r.partition, fetchOffset: a.fetchOffset, leaderStart }, 'behind the leader\'s log start: starting over there');
            await log.truncateFullyAndStartAt(leaderStart);
          } else {
            a.e.truncated = false;
          }
          continue;
        }
        if (p.errorCode !== ErrorCode.NONE) {
          if (p.errorCode === ErrorCode.FENCED_LEADER_EPOCH || p.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH || p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) backoff = true;
          continue;
        }
        if (p.records && p.records.length > 0) {
          if (throttled.has(r.key)) this.bucket.take(p.records.length, rate);
          log.appendAsFollower(p.records);
        }
        const leaderHw = Number(p.highWatermark);
        const hw = Math.min(leaderHw, log.logEndOffset);
        if (hw > log.highWatermark || (hw < log.highWatermark && hw >= log.logStartOffset)) log.updateHighWatermark(hw);
        const leaderStart = Number(p.logStartOffset);
        if (leaderStart > log.logStartOffset && leaderStart <= log.highWatermark) log.deleteRecordsBefore(leaderStart);
      }
    }
    if (backoff) await this.sleep(this.opts.backoffMs);
  }
}
