/**
 * Offset requests the consumer makes: ListOffsets to the partition leaders (earliest, latest, by
 * timestamp), OffsetFetch and OffsetCommit to the group coordinator. Retriable failures are retried
 * after refreshing whatever they showed to be stale (metadata, coordinator).
 */
import { ListOffsetsRequest } from '../../protocol/generated/list-offsets-request.js';
import { ListOffsetsResponse } from '../../protocol/generated/list-offsets-response.js';
import { OffsetFetchRequest } from '../../protocol/generated/offset-fetch-request.js';
import { OffsetFetchResponse } from '../../protocol/generated/offset-fetch-response.js';
import { OffsetCommitRequest } from '../../protocol/generated/offset-commit-request.js';
import { OffsetCommitResponse } from '../../protocol/generated/offset-commit-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { type Cluster, CoordinatorType, isCoordinatorError, isMetadataError, withRetry } from '../cluster.js';
import { ProtocolError } from '../errors.js';
import type { OffsetToCommit, TopicPartition } from './types.js';

/** ListOffsets special timestamps. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;

export interface ListedOffset extends TopicPartition {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

function groupBy<T extends TopicPartition>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let a = m.get(it.topic);
    if (!a) m.set(it.topic, (a = []));
    a.push(it);
  }
  return m;
}

/** ListOffsets for each query (timestamp -2 earliest, -1 latest, else the first offset at or after it: -1 when none). */
export async function listOffsets(
  cluster: Cluster,
  queries: Array<TopicPartition & { timestamp: number }>,
  isolationLevel: number,
): Promise<ListedOffset[]> {
  // A partition may appear once per request (Kafka refuses duplicates): several queries for one partition go in rounds.
  const rounds: Array<typeof queries> = [];
  const seen = new Map<string, number>();
  const where: Array<[number, number]> = [];
  for (const q of queries) {
    const key = `${q.topic}\u0000${q.partition}`;
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(q);
    where.push([round, rounds[round].length - 1]);
  }
  const answers: ListedOffset[][] = [];
  for (const round of rounds) answers.push(await listOffsetsOnce(cluster, round, isolationLevel));
  return where.map(([round, i]) => answers[round][i]);
}

async function listOffsetsOnce(
  cluster: Cluster,
  queries: Array<TopicPartition & { timestamp: number }>,
  isolationLevel: number,
): Promise<ListedOffset[]> {
  const results = new Map<string, ListedOffset>();
  let pending = queries;
  await withRetry(async () => {
    const byLeader = new Map<number, typeof queries>();
    for (const q of pending) {
      const leader = await cluster.leaderFor(q.topic, q.partition);
      let a = byLeader.get(leader);
      if (!a) byLeader.set(leader, (a = []));
      a.push(q);
    }
    const failed: typeof queries = [];
    let firstError: unknown = null;
    await Promise.all([...byLeader].map(async ([leader, qs]) => {
      try {
        const conn = await cluster.connection(leader);
        const res = await conn.send(ListOffsetsRequest, ListOffsetsResponse, {
          replicaId: -1,
          isolationLevel,
          topics: [...groupBy(qs)].map(([name, ps]) => ({
            name,
            partitions: ps.map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: BigInt(p.timestamp), maxNumOffsets: 1 })),
          })),
        }, { minVersion: 1 });
        // By key, not qs.find per answer: that was quadratic (10,000 partitions: 50M comparisons per seek).
        const asked = new Map(qs.map((q) => [`${q.topic}\u0000${q.partition}`, q]));
        for (const t of res.topics) {
          for (const p of t.partitions) {
            const q = asked.get(`${t.name}\u0000${p.partitionIndex}`);
            if (!q) continue;
            if (p.errorCode !== 0) {
              const err = new ProtocolError(p.errorCode, `ListOffsets for ${t.name}-${p.partitionIndex}`);
              if (isMetadataError(err)) cluster.invalidateMetadata(t.name);
              failed.push(q);
              firstError ??= err;
              continue;
            }
            results.set(`${t.name}\u0000${p.partitionIndex}`, {
              topic: t.name, partition: p.partitionIndex, offset: Number(p.offset), timestamp: Number(p.timestamp), leaderEpoch: p.leaderEpoch,
            });
          }
        }
      } catch (err) {
        if (isMetadataError(err)) cluster.invalidateMetadata();
        failed.push(...qs);
        firstError ??= err;
      }
    }));
    pending = failed;
    if (firstError) throw firstError;
  }, cluster.retryOptions());
  return queries.map((q) => {
    const r = results.get(`${q.topic}\u0000${q.partition}`);
    if (!r) throw new ProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `ListOffsets for ${q.topic}-${q.partition}`, 'no answer for this partition');
    return r;
  });
}

async function withCoordinator<T>(cluster: Cluster, groupId: string, fn: (conn: Awaited<ReturnType<Cluster['coordinatorConnection']>>) => Promise<T>): Promise<T> {
  return withRetry(async () => {
    try {
      return await fn(await cluster.coordinatorConnection(groupId, CoordinatorType.GROUP));
    } catch (err) {
      if (isCoordinatorError(err)) cluster.invalidateCoordinator(groupId);
      throw err;
    }
  }, cluster.retryOptions());
}

export interface CommittedOffset extends TopicPartition {
  offset: number;
  metadata: string | null;
  leaderEpoch: number;
}

/** The group's committed offsets (-1 where none). `member` is the KIP-848 member (id, epoch) or null. */
export async function fetchCommitted(
  cluster: Cluster,
  groupId: string,
  tps: TopicPartition[],
  member: { memberId: string; memberEpoch: number } | null = null,
): Promise<CommittedOffset[]> {
  if (tps.length === 0) return [];
  return withCoordinator(cluster, groupId, async (conn) => {
    const version = conn.versionFor(OffsetFetchRequest, { minVersion: 1 });
    const topics = [...groupBy(tps)].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) }));
    const res = await conn.send(OffsetFetchRequest, OffsetFetchResponse, version >= 8
      ? { groups: [{ groupId, memberId: member?.memberId ?? null, memberEpoch: member?.memberEpoch ?? -1, topics }], requireStable: true }
      : { groupId, topics, requireStable: true }, { version });
    let errorCode: number;
    let rtopics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; metadata: string | null; errorCode: number }> }>;
    if (version >= 8) {
      const g = res.groups[0];
      errorCode = g?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      rtopics = g?.topics ?? [];
    } else {
      errorCode = res.errorCode;
      rtopics = res.topics;
    }
    if (errorCode !== 0) throw new ProtocolError(errorCode, `OffsetFetch for group '${groupId}'`);
    const out: CommittedOffset[] = [];
    for (const t of rtopics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new ProtocolError(p.errorCode, `OffsetFetch for ${t.name}-${p.partitionIndex}`);
        out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset), metadata: p.metadata, leaderEpoch: p.committedLeaderEpoch });
      }
    }
    return out;
  });
}

export interface CommitMember {
  /** Classic: the generation; KIP-848: the member epoch; -1 for a consumer outside any group. */
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** OffsetCommit; throws one error naming every partition that failed. */
export async function commitOffsets(cluster: Cluster, groupId: string, member: CommitMember, offsets: OffsetToCommit[]): Promise<void> {
  if (offsets.length === 0) return;
  await withCoordinator(cluster, groupId, async (conn) => {
    const res = await conn.send(OffsetCommitRequest, OffsetCommitResponse, {
      groupId,
      generationIdOrMemberEpoch: member.generationIdOrMemberEpoch,
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      retentionTimeMs: -1n,
      topics: [...groupBy(offsets)].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({
          partitionIndex: p.partition,
          committedOffset: BigInt(p.offset),
          committedLeaderEpoch: p.leaderEpoch ?? -1,
          commitTimestamp: -1n,
          committedMetadata: p.metadata ?? null,
        })),
      })),
    }, { minVersion: 1 });
    const failures: string[] = [];
    let code = 0;
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue;
        if (code === 0 || !new ProtocolError(p.errorCode, '').retriable) code = p.errorCode;
        failures.push(`${t.name}-${p.partitionIndex}`);
      }
    }
    if (code !== 0) throw new ProtocolError(code, `OffsetCommit for group '${groupId}' (${failures.join(', ')})`);
  });
}
