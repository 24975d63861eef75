/**
 * The fetch side of the consumer: one Fetch in flight per partition leader, on the 'fetch' connection
 * pool (Kafka mutes a connection while it holds a long poll). A partition is fetched again as soon as it
 * has fewer than two responses buffered, from the end of the last one, so the next fetch is already on
 * the wire while the application works through the current records.
 *
 * Fetch sessions (KIP-227, Fetch v7+; Kafka's FetchSessionHandler): the first Fetch to a leader is a full one
 * (session id 0, epoch 0) and the broker answers with a session id; later Fetches carry that id and the next
 * epoch and name only the partitions whose fetch offset changed or that join the session, and list those that
 * leave it (not fetchable now: buffered, paused, unassigned) as forgotten. The broker then answers only for
 * partitions with news. With 10,000 assigned partitions a poll that moved a few sends a few, not 10,000. An
 * answer of FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH or a failed request starts a new session
 * with the next Fetch (a full one); close() ends the sessions (epoch -1) so the broker frees their slots.
 */
import { FetchRequest } from '../../protocol/generated/fetch-request.js';
import { FetchResponse } from '../../protocol/generated/fetch-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../../protocol/primitives/codec.js';
import { type Cluster, isMetadataError } from '../cluster.js';
import { ProtocolError, isRetriable } from '../errors.js';
import { CompletedFetch, endOffsetOf } from './completed-fetch.js';

/** What the consumer knows about one assigned partition. */
export class PartitionState {
  /** Next offset poll() returns; null until resolved (committed offset or reset). */
  position: number | null = null;
  /** Where the next fetch starts (ahead of position while responses are buffered). */
  fetchPosition = 0;
  /** Leader epoch of the last record returned, committed with the position. */
  leaderEpoch = -1;
  paused = false;
  readonly queue: CompletedFetch[] = [];
  /** Bumped by seek and reset so responses to older fetches are dropped. */
  epoch = 0;
  /** A pending reset after OFFSET_OUT_OF_RANGE; null means "committed offset, else autoOffsetReset". */
  resetStrategy: 'earliest' | 'latest' | 'none' | null = null;
  inFlight = false;
  /** No fetch before this time (backoff after an error). */
  retryAt = 0;
  /** An error for the application, thrown by the next poll(). */
  error: Error | null = null;
  highWatermark = -1;
  /** The offset last committed (auto-commit only commits what moved). */
  committed = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  seek(offset: number, leaderEpoch = -1): void {
    this.position = offset;
    this.fetchPosition = offset;
    this.leaderEpoch = leaderEpoch;
    this.queue.length = 0;
    this.epoch++;
    this.resetStrategy = null;
    this.error = null;
    this.retryAt = 0;
  }

  /** Forget the position so it is resolved again with this strategy. */
  reset(strategy: 'earliest' | 'latest' | 'none' | null): void {
    this.position = null;
    this.queue.length = 0;
    this.epoch++;
    this.resetStrategy = strategy;
  }

  get fetchable(): boolean {
    return this.position !== null && !this.paused && !this.inFlight && this.error === null && this.queue.length < 2;
  }
}

export interface FetcherConfig {
  minBytes: number;
  maxBytes: number;
  maxPartitionBytes: number;
  maxWaitMs: number;
  /** 0 read_uncommitted, 1 read_committed. */
  isolationLevel: number;
  requestTimeoutMs: number;
  retryBackoffMs: number;
  autoOffsetReset: 'earliest' | 'latest' | 'none';
}

/** What a broker's fetch session holds for one partition: the fetch offset it will read from next. */
interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
}

/** The client side of one leader's fetch session. */
interface FetchSession {
  /** 0: none (the next Fetch creates one). */
  id: number;
  /** The epoch of the next Fetch: 0 = a full Fetch (creating the session, closing `id`'s if set). */
  epoch: number;
  /** The Fetch version the session was made with (v13+ keys partitions by topic id, earlier by name). */
  version: number;
  /** By partition state: what the broker holds after the last Fetch sent. */
  partitions: Map<PartitionState, SessionPartition>;
}

const INT32_MAX = 0x7fffffff;

export class Fetcher {
  private readonly inFlightNodes = new Set<number>();
  private readonly sessions = new Map<number, FetchSession>();
  private metadataRefresh: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private metadataTimer: NodeJS.Timeout | null = null;
  private lastRefresh = 0;
  private closed = false;
  /**
   * Fetching starts with the application's first poll(), as in Kafka: a position resolved by assign()
   * (autoOffsetReset) and then moved by a seek before that poll would otherwise hold a long poll at the
   * old position and delay the first records by fetchMaxWaitMs.
   */
  started = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly partitions: Map<string, PartitionState>,
    private readonly config: FetcherConfig,
    /** Something changed that a waiting poll() may care about. */
    private readonly onChange: () => void,
    /** Positions were forgotten (OFFSET_OUT_OF_RANGE) and need resolving. */
    private readonly onReset: () => void,
  ) {}

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.metadataTimer) clearTimeout(this.metadataTimer);
    this.retryTimer = null;
    this.metadataTimer = null;
  }

  /**
   * Ends the open fetch sessions (a Fetch with epoch -1 and no partitions each, as Kafka's consumer sends on close),
   * so the brokers free their cache slots at once instead of evicting them later. Best effort, bounded by `timeoutMs`.
   */
  async closeSessions(timeoutMs: number): Promise<void> {
    const open = [...this.sessions].filter(([, s]) => s.id !== 0);
    this.sessions.clear();
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const closing = Promise.all(open.map(async ([node, s]) => {
      try {
        const conn = await this.cluster.connection(node, 'fetch');
        await conn.send(FetchRequest, FetchResponse, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: this.config.maxBytes, isolationLevel: this.config.isolationLevel,
          sessionId: s.id, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: '',
        }, { version: s.version, timeoutMs });
      } catch {
        // The broker evicts it in time anyway.
      }
    }));
    await Promise.race([closing, deadline]);
    clearTimeout(timer);
  }

  /** Sends a Fetch to every leader that has fetchable partitions and none in flight. */
  maybeFetch(): void {
    if (this.closed || !this.started) return;
    const byNode = new Map<number, PartitionState[]>();
    const now = Date.now();
    let needMetadata = false;
    let nextRetry = Infinity;
    for (const st of this.partitions.values()) {
      if (!st.fetchable) continue;
      if (st.retryAt > now) {
        nextRetry = Math.min(nextRetry, st.retryAt);
        continue;
      }
      const leader = this.cluster.topics.get(st.topic)?.partitions[st.partition]?.leader;
      if (leader === undefined || leader < 0 || !this.cluster.brokers.has(leader)) {
        needMetadata = true;
        continue;
      }
      if (this.inFlightNodes.has(leader)) continue;
      let list = byNode.get(leader);
      if (!list) byNode.set(leader, (list = []));
      list.push(st);
    }
    if (needMetadata) this.refreshMetadata();
    for (const [node, states] of byNode) this.send(node, states);
    if (nextRetry !== Infinity && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.maybeFetch();
      }, Math.max(1, nextRetry - now));
    }
  }

  private refreshMetadata(): void {
    if (this.metadataRefresh || this.closed) return;
    // At most one refresh per backoff interval, so a topic that does not exist is not asked for in a tight loop.
    const wait = this.lastRefresh + this.config.retryBackoffMs - Date.now();
    if (wait > 0) {
      this.metadataTimer ??= setTimeout(() => {
        this.metadataTimer = null;
        this.refreshMetadata();
      }, wait);
      return;
    }
    this.lastRefresh = Date.now();
    const topics = [...new Set([...this.partitions.values()].map((s) => s.topic))];
    this.metadataRefresh = this.cluster.refreshMetadata(topics).then(() => undefined, () => undefined).finally(() => {
      this.metadataRefresh = null;
      this.maybeFetch();
    });
  }

  private send(node: number, states: PartitionState[]): void {
    this.inFlightNodes.add(node);
    const requested = states.map((st) => ({ st, epoch: st.epoch, offset: st.fetchPosition }));
    for (const st of states) st.inFlight = true;
    void this.fetch(node, requested)
      .catch((err: unknown) => {
        if (this.closed) return;
        const retryAt = Date.now() + this.config.retryBackoffMs;
        for (const r of requested) r.st.retryAt = retryAt;
        if (isMetadataError(err)) {
          this.cluster.invalidateMetadata();
          this.refreshMetadata();
        } else if (!isRetriable(err)) {
          for (const r of requested) r.st.error = err as Error;
        }
      })
      .finally(() => {
        this.inFlightNodes.delete(node);
        for (const st of states) st.inFlight = false;
        this.maybeFetch();
        this.onChange();
      });
  }

  /**
   * The session fields of the next Fetch to `node` for `requested` (every fetchable partition led by it), and the
   * session's partitions updated to what the broker will hold once it applies that Fetch.
   */
  private sessionFor(
    node: number, version: number, requested: Array<{ st: PartitionState; epoch: number; offset: number }>, topicIds: Map<string, string>,
  ): { id: number; epoch: number; full: boolean; changed: typeof requested; forgotten: Array<{ topic: string; topicId: string; partitions: number[] }> } {
    if (version < 7) return { id: 0, epoch: -1, full: true, changed: requested, forgotten: [] };
    let s = this.sessions.get(node);
    if (!s) this.sessions.set(node, (s = { id: 0, epoch: 0, version, partitions: new Map() }));
    // Another version keys the broker's session otherwise (names vs ids): start over with a full Fetch (closing the old session).
    if (s.version !== version) s.epoch = 0;
    // By state object, not a string key per partition per fetch; held entries are reused (updated in place).
    const next = new Map<PartitionState, SessionPartition>();
    const changed: typeof requested = [];
    for (const r of requested) {
      const topicId = topicIds.get(r.st.topic)!;
      let held = s.partitions.get(r.st);
      // A recreated topic has a new id: the broker holds the old one, so start over with a full Fetch.
      if (held !== undefined && held.topicId !== topicId) s.epoch = 0;
      if (held === undefined) held = { topic: r.st.topic, topicId, partition: r.st.partition, fetchOffset: -1 };
      if (held.fetchOffset !== r.offset) {
        held.fetchOffset = r.offset;
        changed.push(r);
      }
      next.set(r.st, held);
    }
    if (s.epoch === 0) {
      s.version = version;
      s.partitions = next;
      for (const held of next.values()) held.topicId = topicIds.get(held.topic)!;
      return { id: s.id, epoch: 0, full: true, changed: requested, forgotten: [] };
    }
    const forgottenByTopic = new Map<string, { topic: string; topicId: string; partitions: number[] }>();
    for (const [st, held] of s.partitions) {
      if (next.has(st)) continue;
      let f = forgottenByTopic.get(held.topic);
      if (!f) forgottenByTopic.set(held.topic, (f = { topic: held.topic, topicId: held.topicId, partitions: [] }));
      f.partitions.push(held.partition);
    }
    s.partitions = next;
    return { id: s.id, epoch: s.epoch, full: false, changed, forgotten: [...forgottenByTopic.values()] };
  }

  /** A Fetch of the session was answered without error. */
  private sessionAnswered(node: number, full: boolean, responseSessionId: number): void {
    const s = this.sessions.get(node);
    if (!s) return;
    if (responseSessionId === 0) {
      // No session (the broker has no slot, or closed it): the next Fetch is a full one asking for a new one.
      s.id = 0;
      s.epoch = 0;
    } else if (full) {
      s.id = responseSessionId;
      s.epoch = 1;
    } else {
      s.epoch = s.epoch >= INT32_MAX ? 1 : s.epoch + 1;
    }
  }

  /** The next Fetch to `node` is a full one: closing the current session (`closeExisting`) or asking for a new one. */
  private resetSession(node: number, closeExisting: boolean): void {
    const s = this.sessions.get(node);
    if (!s) return;
    if (!closeExisting) s.id = 0;
    s.epoch = 0;
  }

  private async fetch(node: number, requested: Array<{ st: PartitionState; epoch: number; offset: number }>): Promise<void> {
    const conn = await this.cluster.connection(node, 'fetch');
    if (this.closed) return;
    const byTopic = new Map<string, typeof requested>();
    let haveIds = true;
    for (const r of requested) {
      let list = byTopic.get(r.st.topic);
      if (!list) {
        byTopic.set(r.st.topic, (list = []));
        const id = this.cluster.topics.get(r.st.topic)?.topicId;
        if (id === undefined || id === ZERO_UUID) haveIds = false;
      }
      list.push(r);
    }
    // v13+ names topics by id only; without ids (older metadata) stay at v12.
    const version = conn.versionFor(FetchRequest, { minVersion: 4, maxVersion: haveIds ? undefined : 12 });
    const topicByName = new Map<string, string>();
    const topicIds = new Map<string, string>();
    for (const topic of byTopic.keys()) {
      const topicId = this.cluster.topics.get(topic)?.topicId ?? ZERO_UUID;
      topicIds.set(topic, topicId);
      topicByName.set(version >= 13 ? topicId : topic, topic);
    }
    const session = this.sessionFor(node, version, requested, topicIds);
    // Full: every partition; incremental: those the session does not hold at this offset.
    const send = session.full ? requested : session.changed;
    const sendByTopic = new Map<string, typeof requested>();
    for (const r of send) {
      let list = sendByTopic.get(r.st.topic);
      if (!list) sendByTopic.set(r.st.topic, (list = []));
      list.push(r);
    }
    const topics = [...sendByTopic].map(([topic, rs]) => ({
      topic,
      topicId: topicIds.get(topic)!,
      partitions: rs.map((r) => ({
        partition: r.st.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(r.offset),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: this.config.maxPartitionBytes,
      })),
    }));
    let res;
    try {
      res = await conn.send(FetchRequest, FetchResponse, {
        replicaId: -1,
        maxWaitMs: this.config.maxWaitMs,
        minBytes: this.config.minBytes,
        maxBytes: this.config.maxBytes,
        isolationLevel: this.config.isolationLevel,
        sessionId: session.id,
        sessionEpoch: session.epoch,
        topics,
        forgottenTopicsData: session.forgotten,
        rackId: '',
      }, { version, timeoutMs: this.config.requestTimeoutMs + this.config.maxWaitMs });
    } catch (err) {
      // Whether the broker took this epoch is unknown: the next Fetch closes the session and starts a new one.
      this.resetSession(node, true);
      throw err;
    }
    if (res.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND || res.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH) {
      // As Kafka's FetchSessionHandler: the next Fetch (at once, not after a backoff) is a full one in a new session.
      this.resetSession(node, res.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH);
      return;
    }
    if (res.errorCode !== 0) this.resetSession(node, true);
    else this.sessionAnswered(node, session.full, res.sessionId);
    if (this.closed) return;
    if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, `Fetch from broker ${node}`);
    const readCommitted = this.config.isolationLevel === 1;
    let reset = false;
    for (const t of res.responses) {
      const topic = topicByName.get(version >= 13 ? t.topicId : t.topic);
      if (topic === undefined) continue;
      // By partition, not rs.find per answer: that was quadratic (10,000 partitions: 50M comparisons per fetch).
      const rs = new Map(byTopic.get(topic)!.map((x) => [x.st.partition, x]));
      for (const p of t.partitions) {
        const r = rs.get(p.partitionIndex);
        if (!r) continue;
        const st = r.st;
        // Reassigned, sought or reset since the request went out: the data is for an old position.
        if (this.partitions.get(`${topic}\u0000${st.partition}`) !== st || st.epoch !== r.epoch || st.fetchPosition !== r.offset) continue;
        switch (p.errorCode) {
          case 0: {
            st.highWatermark = Number(p.highWatermark);
            const records = p.records;
            if (records === null || records.length === 0) break;
            const end = endOffsetOf(records);
            if (end < 0) {
              st.error = new ProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `Fetch ${topic}-${st.partition} at offset ${r.offset}`,
                `a record batch is larger than maxPartitionFetchBytes/fetchMaxBytes (${records.length} bytes returned)`);
              break;
            }
            if (end <= r.offset) break;
            const aborted = readCommitted && p.abortedTransactions
              ? p.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: Number(a.firstOffset) }))
              : null;
            st.queue.push(new CompletedFetch(topic, st.partition, records, r.offset, end, aborted, readCommitted));
            st.fetchPosition = end;
            break;
          }
          case ErrorCode.OFFSET_OUT_OF_RANGE: {
            const err = new ProtocolError(p.errorCode, `Fetch ${topic}-${st.partition} at offset ${r.offset}`);
            if (this.config.autoOffsetReset === 'none') st.error = err;
            else {
              st.reset(this.config.autoOffsetReset);
              reset = true;
            }
            break;
          }
          default: {
            const err = new ProtocolError(p.errorCode, `Fetch ${topic}-${st.partition}`);
            if (isMetadataError(err) || p.errorCode === ErrorCode.UNKNOWN_TOPIC_ID || p.errorCode === ErrorCode.INCONSISTENT_TOPIC_ID ||
              p.errorCode === ErrorCode.KAFKA_STORAGE_ERROR || p.errorCode === ErrorCode.OFFSET_NOT_AVAILABLE) {
              this.cluster.invalidateMetadata();
              this.refreshMetadata();
              st.retryAt = Date.now() + this.config.retryBackoffMs;
            } else if (err.retriable) {
              st.retryAt = Date.now() + this.config.retryBackoffMs;
            } else {
              st.error = err;
            }
          }
        }
      }
    }
    if (reset) this.onReset();
  }
}
