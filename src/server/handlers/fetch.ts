// Fetch (key 1), v4-17. v0-3 carry legacy message formats and are left out. Long-polls until min_bytes are
// available or max_wait passes, woken by appends; honours the request's max_bytes (capped by fetch.max.bytes and
// by a consumer_byte_rate quota's window) and each partition's limit, returning at least one whole batch of the
// first partition with data (KIP-74).
// v7+ supports incremental fetch sessions (KIP-227); v13+ names topics by id. read_committed
// (isolation_level 1) returns only batches below the last stable offset, with the aborted transactions
// overlapping them; long-polls are woken by markers too (they are appends). Every version reports the LSO.
// Consumers read below the high watermark at the partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere); a
// follower's fetch (replica id >= 0: ReplicaId before v15, ReplicaState from v15) reports its log end to the
// leader (which may move the high watermark) and reads up to the log end. From v16 a partition answered
// NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH names its current leader, with the leader's endpoint (KIP-951).
import { ZERO_UUID, EMPTY_BUFFER } from '../../protocol/primitives/codec.js';
import { FetchRequest } from '../../protocol/generated/fetch-request.js';
import { FetchResponse, type FetchResponseInit, type FetchableTopicResponseInit, type PartitionDataInit } from '../../protocol/generated/fetch-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import { LeaderHints } from '../leader-hints.js';
import { partitionKey, type FetchSession, type SessionPartition } from '../fetch-session.js';
import { quotaUser } from '../client-quota-manager.js';
import type { AppendWaiter, Log } from '../../storage/log.js';
import { BufferPool } from '../../util/buffer-pool.js';
import type { BrokerMetricsHooks } from '../metrics-hooks.js';
import type { TopicManager } from '../topic-manager.js';
import { LOG_OVERHEAD, OFFSET_BATCH_LENGTH, OFFSET_LAST_OFFSET_DELTA, readInt64 } from '../../protocol/records/record-batch.js';


interface Target {
  entry: SessionPartition;
  /** A follower's fetch of a throttled replica (leader.replication.throttled.*): its byte budget. */
  throttle?: { available: number; take(bytes: number): void } | null;
  /** Set when the partition cannot be served (unknown topic, fenced epoch…). */
  errorCode: number;
  log?: Log;
}

/** One partition's read: numbers, not the response's bigints, until it is known to go into the response. */
interface ReadResult {
  target: Target;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: Buffer;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  bytes: number;
}

/** A requested partition as the session remembers it (names filled in from ids where known). */
function requestedEntry(ctx: RequestContext, topic: string, topicId: string, byId: boolean, p: {
  partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number;
}): SessionPartition {
  const info = byId ? ctx.broker.topics.getById(topicId) : ctx.broker.topics.get(topic);
  return {
    topic: info?.name ?? topic,
    topicId: info?.topicId ?? topicId,
    partition: p.partition,
    fetchOffset: Number(p.fetchOffset),
    maxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
    lastHighWatermark: -1,
    lastLogStartOffset: -1,
    lastStableOffset: -1,
  };
}

/** Finds the log behind an entry, or the error for it (the topic may be gone since the session began). */
function resolveTarget(ctx: RequestContext, entry: SessionPartition, byId: boolean, replicaId: number, authorized: (topic: string) => boolean): Target {
  const { topics, replication } = ctx.broker;
  const info = byId ? topics.getById(entry.topicId) : topics.get(entry.topic);
  if (byId && !info) return { entry, errorCode: ErrorCode.UNKNOWN_TOPIC_ID };
  if (!authorized(info?.name ?? entry.topic)) return { entry, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
  if (!info) return { entry, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const log = topics.tryLog(info.name, entry.partition);
  if (!log) {
    const exists = entry.partition >= 0 && entry.partition < info.partitions;
    return { entry, errorCode: replication.clustered && exists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  }
  if (replicaId >= 0) {
    const code = replication.onFollowerFetch(info.name, entry.partition, replicaId, entry.fetchOffset, entry.currentLeaderEpoch);
    if (code !== ErrorCode.NONE) return { entry, errorCode: code };
    return { entry, errorCode: code, log, throttle: replication.leaderThrottle?.(info.name, entry.partition, replicaId) ?? null };
  }
  try {
    replication.leaderEpochFor(info.name, entry.partition);
  } catch (err) {
    return { entry, errorCode: errorCodeOf(err) };
  }
  const epochErr = replication.checkLeaderEpoch(info.name, entry.partition, entry.currentLeaderEpoch);
  if (epochErr !== ErrorCode.NONE) return { entry, errorCode: epochErr, log };
  return { entry, errorCode: ErrorCode.NONE, log };
}

/** The offset after the last batch in `records` (whole batches): walks batch headers, not records. */
function nextOffsetAfter(records: Buffer): number {
  let pos = 0;
  let last = 0;
  while (pos + LOG_OVERHEAD <= records.length) {
    last = pos;
    pos += records.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
  }
  return readInt64(records, last) + records.readInt32BE(last + OFFSET_LAST_OFFSET_DELTA) + 1;
}

/**
 * Read buffers of answered fetches, for the next fetches (util/buffer-pool.ts: a fresh 1 MiB buffer costs 256 page
 * faults, on the benchmark VM more than the read itself). A response's buffers come back once the socket has taken
 * all of it; at most FETCH_POOL_BYTES are kept.
 */
const FETCH_POOL_BYTES = 64 * 1024 * 1024;
/** Exported for tests. */
export const readBuffers: BufferPool = new BufferPool((): number => FETCH_POOL_BYTES - readBuffers.pooledBytes);

/** An allocator for this request's reads whose buffers go back to the pool after its response is written. */
function leaseReadBuffers(afterResponse: (fn: () => void) => void): (size: number) => Buffer {
  const taken: Buffer[] = [];
  afterResponse(() => {
    for (const b of taken) readBuffers.release(b);
  });
  return (size) => {
    const b = readBuffers.acquire(size);
    taken.push(b);
    return b;
  };
}

/** Reads every target once, within the response budget. */
function readAll(
  targets: Target[], budget: number, readCommitted: boolean, follower: boolean, alloc?: (size: number) => Buffer,
  reuse?: ReadResult[],
): { results: ReadResult[]; total: number; hasError: boolean } {
  // A long poll's later passes refill the first pass's results: no object per partition per pass.
  const results: ReadResult[] = reuse ?? new Array<ReadResult>(targets.length);
  let total = 0;
  let first = true;
  let hasError = false;
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    const { entry } = target;
    let r = results[i];
    if (r === undefined) {
      results[i] = r = {
        target, errorCode: 0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: EMPTY_BUFFER, abortedTransactions: null, bytes: 0,
      };
    }
    r.errorCode = target.errorCode;
    r.highWatermark = -1;
    r.lastStableOffset = -1;
    r.logStartOffset = -1;
    r.records = EMPTY_BUFFER;
    r.abortedTransactions = readCommitted ? [] : null;
    r.bytes = 0;
    const log = target.log;
    if (log && target.errorCode === ErrorCode.NONE) {
      const lso = log.lastStableOffset;
      const hw = log.highWatermark;
      r.highWatermark = hw;
      r.lastStableOffset = lso;
      r.logStartOffset = log.logStartOffset;
      // Nothing to read at the bound (the usual case of a caught-up partition in a long poll): no read at all.
      const bound = follower ? log.logEndOffset : readCommitted ? lso : hw;
      if (entry.fetchOffset !== bound || entry.fetchOffset < r.logStartOffset) {
        try {
          let limit = Math.max(0, Math.min(entry.maxBytes, budget - total));
          // A throttled follower fetch reads at most what the leader's throttle has left (none: nothing this time).
          const throttled = target.throttle ? Math.min(limit, target.throttle.available) : -1;
          if (throttled >= 0) limit = throttled;
          if (throttled !== 0 && (limit > 0 || first)) {
            const records = log.read(entry.fetchOffset, limit, first, follower ? undefined : bound, alloc);
            target.throttle?.take(records.length);
            if (records.length > 0) {
              r.records = records;
              r.bytes = records.length;
              first = false;
              if (readCommitted) {
                r.abortedTransactions = log.abortedTransactions(entry.fetchOffset, nextOffsetAfter(records))
                  .map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
              }
            }
          }
        } catch (err) {
          r.errorCode = errorCodeOf(err);
        }
      }
    }
    if (r.errorCode !== ErrorCode.NONE) hasError = true;
    total += r.bytes;
  }
  return { results, total, hasError };
}

/**
 * Resolves when any of the logs gets an append (or its high watermark moves), the deadline passes, or the broker
 * shuts down. `wakes`, when given, filters the log's notifications: a follower's fetch reads up to the log end, so
 * only an append past its fetch offset can give it data (the high watermark moving on the other followers'
 * fetches would wake it for nothing).
 */
function waitForData(logs: Log[], ms: number, signal: AbortSignal, wakes?: (log: Log) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // One waiter for every log (Log.wakeOnAppend): nothing to unsubscribe from 10,000 logs when it fires. A
    // notification `wakes` turns down keeps the waiter on that log.
    const waiter: AppendWaiter = {
      done: false,
      wake: (log) => {
        if (wakes && !wakes(log)) return false;
        done();
        return true;
      },
    };
    const done = (): void => {
      if (waiter.done) return;
      waiter.done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    for (const log of logs) log.wakeOnAppend(waiter);
  });
}

/** A follower's wake-up filter: the log has records at or past some fetch offset asked of it. */
function followerWakes(targets: Target[]): (log: Log) => boolean {
  const fetchOffsets = new Map<Log, number>();
  for (const t of targets) if (t.log) fetchOffsets.set(t.log, t.entry.fetchOffset);
  return (log) => log.logEndOffset > (fetchOffsets.get(log) ?? Infinity);
}

export default defineHandler({
  request: FetchRequest,
  response: FetchResponse,
  minVersion: 4,
  concurrent: true,
  async handle(req, ctx): Promise<FetchResponseInit> {
    const broker = ctx.broker;
    const v = ctx.apiVersion;
    const byId = v >= 13;
    const replicaId = v >= 15 ? req.replicaState.replicaId : req.replicaId;
    const follower = replicaId >= 0;
    const readCommitted = req.isolationLevel === 1 && !follower;
    let session: FetchSession | null = null;
    let incremental = false;
    let responseSessionId = 0;

    const requested: SessionPartition[] = [];
    for (const t of req.topics) {
      for (const p of t.partitions) requested.push(requestedEntry(ctx, t.topic, t.topicId, byId, p));
    }
    const keyOf = (e: SessionPartition): string => partitionKey(byId ? e.topicId : e.topic, e.partition);

    let entries: Iterable<SessionPartition> = requested;
    if (v >= 7) {
      const { sessionId, sessionEpoch } = req;
      try {
        if (sessionId === 0 && sessionEpoch === 0) {
          session = broker.fetchSessions.create();
        } else if (sessionId !== 0 && sessionEpoch === 0) {
          broker.fetchSessions.remove(sessionId);
          session = broker.fetchSessions.create();
        } else if (sessionId !== 0 && sessionEpoch === -1) {
          broker.fetchSessions.remove(sessionId);
        } else if (sessionId !== 0) {
          session = broker.fetchSessions.use(sessionId, sessionEpoch);
          incremental = true;
        }
      } catch (err) {
        return { throttleTimeMs: 0, errorCode: errorCodeOf(err), sessionId: 0, responses: [] };
      }
      if (session) {
        responseSessionId = session.id;
        if (incremental) {
          for (const ft of req.forgottenTopicsData) {
            const key = byId ? ft.topicId : ft.topic;
            for (const p of ft.partitions) session.partitions.delete(partitionKey(key, p));
          }
          for (const e of requested) {
            const prev = session.partitions.get(keyOf(e));
            if (prev) {
              prev.fetchOffset = e.fetchOffset;
              prev.maxBytes = e.maxBytes;
              prev.currentLeaderEpoch = e.currentLeaderEpoch;
            } else {
              session.partitions.set(keyOf(e), e);
            }
          }
          entries = session.partitions.values();
        } else {
          for (const e of requested) session.partitions.set(keyOf(e), e);
        }
      }
    }
    // Authorization (as Kafka): a follower needs CLUSTER_ACTION (else every partition is refused), a consumer READ on each topic.
    const authz = broker.authorizer;
    const clusterAction = follower ? authz.authorizeCluster(ctx, Operation.CLUSTER_ACTION) : true;
    const readable = new Map<string, boolean>();
    const authorized = (topic: string): boolean => {
      if (follower) return clusterAction;
      let ok = readable.get(topic);
      if (ok === undefined) readable.set(topic, (ok = authz.authorize(ctx, Operation.READ, ResourceType.TOPIC, topic)));
      return ok;
    };
    const targets = [...entries].map((e) => resolveTarget(ctx, e, byId, replicaId, authorized));

    // A consumer under consumer_byte_rate asks for at most one quota window's worth (as Kafka caps it).
    const quotaBytes = follower ? Infinity : broker.quotas.maxValueInQuotaWindow('consumer_byte_rate', { user: quotaUser(ctx.session?.principal), clientId: ctx.clientId ?? '' });
    const budget = Math.min(req.maxBytes, Number(broker.config.get('fetch.max.bytes') ?? 57671680), quotaBytes);
    const minBytes = Math.min(req.minBytes, budget);
    // Without a connection (in-process requests) nobody says when the response is written: fresh buffers then.
    const alloc = ctx.afterResponse ? leaseReadBuffers(ctx.afterResponse) : undefined;
    let { results, total, hasError } = readAll(targets, budget, readCommitted, follower, alloc);
    const deadline = Date.now() + req.maxWaitMs;
    const wakes = follower ? followerWakes(targets) : undefined;
    while (total < minBytes && !hasError && !ctx.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const logs: Log[] = [];
      for (const t of targets) if (t.log) logs.push(t.log);
      if (logs.length === 0) break;
      await waitForData(logs, left, ctx.signal, wakes);
      ({ results, total, hasError } = readAll(targets, budget, readCommitted, follower, alloc, results));
    }

    if (broker.metrics) countFetch(broker.metrics, broker.topics, results, follower);
    const responses: FetchableTopicResponseInit[] = [];
    const hints = v >= 16 ? new LeaderHints(broker.replication, ctx.session?.listenerName) : null;
    let current: FetchableTopicResponseInit | undefined;
    for (const r of results) {
      const e = r.target.entry;
      if (incremental) {
        const changed = r.bytes > 0 || r.errorCode !== ErrorCode.NONE || r.highWatermark !== e.lastHighWatermark ||
          r.logStartOffset !== e.lastLogStartOffset || r.lastStableOffset !== e.lastStableOffset;
        if (!changed) continue;
      }
      e.lastHighWatermark = r.highWatermark;
      e.lastLogStartOffset = r.logStartOffset;
      e.lastStableOffset = r.lastStableOffset;
      const key = byId ? e.topicId : e.topic;
      if (!current || (byId ? current.topicId : current.topic) !== key) {
        current = { topic: e.topic, topicId: byId ? e.topicId : ZERO_UUID, partitions: [] };
        responses.push(current);
      }
      const data: PartitionDataInit = {
        partitionIndex: e.partition,
        errorCode: r.errorCode,
        highWatermark: BigInt(r.highWatermark),
        lastStableOffset: BigInt(r.lastStableOffset),
        logStartOffset: BigInt(r.logStartOffset),
        abortedTransactions: r.abortedTransactions,
        records: r.records,
      };
      const leader = hints?.currentLeader(e.topic, e.partition, r.errorCode);
      if (leader) data.currentLeader = leader;
      current.partitions!.push(data);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: responseSessionId, responses, nodeEndpoints: hints?.nodeEndpoints() ?? [] };
  },
});

/**
 * Kafka's BrokerTopicMetrics for a fetch: bytes out (to consumers, not followers), and the total and failed fetch
 * request rates per partition, for topics that exist (label values stay bounded).
 */
function countFetch(metrics: BrokerMetricsHooks, topics: TopicManager, results: ReadResult[], follower: boolean): void {
  for (const r of results) {
    const name = r.target.entry.topic;
    if (!topics.get(name)) continue;
    const stats = metrics.topic(name);
    stats.totalFetch++;
    if (r.errorCode !== ErrorCode.NONE) stats.failedFetch++;
    if (!follower) stats.bytesOut += r.bytes;
  }
}
