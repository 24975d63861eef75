/**
 * Source offsets: where each source pipeline got to in each of its inputs, kept as Kafka Connect keeps them —
 * in the compacted topic `connect-offsets` (Kafka's default offset.storage.topic, 25 partitions), one record per
 * source partition, the latest record winning:
 *
 *   key    JSON ["<pipeline>", {"path": "/abs/file.csv"}]        (Kafka Connect's [connector, partition] layout)
 *   value  JSON {"position": 1200, "last": "<fingerprint>", "eof": true, "size": …, "mtimeMs": …, "ino": …}
 *          or null (a tombstone: the partition starts again from the beginning)
 *
 * `position` counts the records of that input already produced; `last` fingerprints the last of them, so a
 * rerun can tell the same file (or the same file grown) from a different file at the same path; `eof` with
 * size/mtime/ino says the input was read to its end, so an unchanged file is skipped without reading it.
 * The records are read back with read_committed: offsets written in an aborted transaction do not count.
 */
import { createHash } from 'node:crypto';
import { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Consumer } from '../client/consumer.js';
import type { ProducerRecord } from '../client/producer.js';
import { TributaryError } from '../errors.js';
import type { ConnectorOffset, SourceOffset, SourcePartition, SourceRecord, TopicCreation } from './types.js';

/** Kafka Connect's default offset.storage.topic and its partition count (offset.storage.partitions). */
export const OFFSETS_TOPIC = 'connect-offsets';
export const OFFSETS_TOPIC_PARTITIONS = 25;
/** How long reading the offsets topic to its end may take before start-up fails. */
const LOAD_TIMEOUT_MS = 30_000;

/** The record value as produced: an object as JSON, a string or Buffer as is. */
export function serializeValue(value: unknown): string | Buffer | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) || typeof value === 'string' ? value : JSON.stringify(value);
}

/** A short digest of a record's key and value as produced: the identity of the last record a run produced. */
export function fingerprint(r: Pick<SourceRecord, 'key' | 'value'>): string {
  const h = createHash('sha256');
  if (r.key !== null) h.update(r.key);
  h.update('\0');
  const v = serializeValue(r.value);
  if (v !== null) h.update(v);
  return h.digest('base64url').slice(0, 22);
}

/** The offsets-topic key of a source partition (stable key order, so one partition has one key). */
export function offsetKey(pipeline: string, partition: SourcePartition): string {
  const sorted: SourcePartition = {};
  for (const k of Object.keys(partition).sort()) sorted[k] = partition[k];
  return JSON.stringify([pipeline, sorted]);
}

/** The stored offsets of one pipeline, by partition key. */
export class SourceOffsets {
  constructor(
    readonly pipeline: string,
    private readonly byKey: Map<string, SourceOffset>,
  ) {}

  /** Kafka Connect's OffsetStorageReader.offset(partition): the stored offset, or null. */
  offset(partition: SourcePartition): SourceOffset | null {
    return this.byKey.get(offsetKey(this.pipeline, partition)) ?? null;
  }

  get size(): number {
    return this.byKey.size;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }
}

/** An offset record for the producer (null offset = tombstone). */
export function offsetRecord(key: string, offset: SourceOffset | ConnectorOffset | null): ProducerRecord {
  return { topic: OFFSETS_TOPIC, key, value: offset === null ? null : JSON.stringify(offset) };
}

/** Creates connect-offsets (compacted) unless it exists. */
export async function ensureOffsetsTopic(client: ClientOptions): Promise<void> {
  const admin = new Admin(client);
  try {
    await admin.createTopics([{ name: OFFSETS_TOPIC, numPartitions: OFFSETS_TOPIC_PARTITIONS, configs: { 'cleanup.policy': 'compact' } }]);
  } catch (err) {
    if ((err as { kafkaError?: string }).kafkaError !== 'TOPIC_ALREADY_EXISTS') {
      throw new TributaryError('ERR_CONNECT_OFFSETS', `cannot create the source offsets topic ${OFFSETS_TOPIC}: ${(err as Error).message}`, { cause: err });
    }
  } finally {
    await admin.close();
  }
}

/**
 * Creates a topic a source names per record (CDC: `<prefix>.<db>.<table>`) unless it exists, with the source's
 * topic.creation settings (-1: the broker's default partitions / replication factor).
 */
export async function ensureRecordTopic(client: ClientOptions, topic: string, creation: TopicCreation | undefined): Promise<void> {
  const admin = new Admin(client);
  try {
    await admin.createTopics([
      {
        name: topic,
        ...(creation !== undefined && creation.partitions > 0 ? { numPartitions: creation.partitions } : {}),
        ...(creation !== undefined && creation.replicationFactor > 0 ? { replicationFactor: creation.replicationFactor } : {}),
        configs: creation?.configs ?? {},
      },
    ]);
  } catch (err) {
    if ((err as { kafkaError?: string }).kafkaError !== 'TOPIC_ALREADY_EXISTS') {
      throw new TributaryError('ERR_CONNECT_TOPIC', `cannot create topic ${topic}: ${(err as Error).message}`, { cause: err });
    }
  } finally {
    await admin.close();
  }
}

/**
 * Reads connect-offsets to its last stable offset (read_committed) and returns the offsets of these pipelines.
 * A transactional source must call this after its producer's InitProducerId, which ends a dead run's open
 * transaction, so the read is not held up by it.
 */
export async function loadSourceOffsets(client: ClientOptions, pipelines: string[]): Promise<Map<string, SourceOffsets>> {
  const wanted = new Map(pipelines.map((p) => [p, new Map<string, SourceOffset>()]));
  const admin = new Admin(client);
  let ends;
  try {
    const [topic] = await admin.describeTopics([OFFSETS_TOPIC]);
    const tps = topic.partitions.map((p) => ({ topic: OFFSETS_TOPIC, partition: p.partition }));
    ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel: 'read_committed' });
  } finally {
    await admin.close();
  }
  const todo = ends.filter((e) => e.offset > 0);
  if (todo.length > 0) {
    const consumer = new Consumer({ ...client, isolationLevel: 'read_committed', autoOffsetReset: 'earliest', maxPollRecords: 10_000 });
    try {
      await consumer.connect();
      consumer.assign(todo.map((e) => ({ topic: e.topic, partition: e.partition })));
      const deadline = Date.now() + LOAD_TIMEOUT_MS;
      const behind = (): boolean => todo.some((e) => (consumer.position(e) ?? 0) < e.offset);
      while (behind()) {
        if (Date.now() > deadline) throw new TributaryError('ERR_CONNECT_OFFSETS', `could not read ${OFFSETS_TOPIC} to its end within ${LOAD_TIMEOUT_MS / 1000} s`);
        for (const r of await consumer.poll(500)) {
          if (r.key === null) continue;
          const key = r.key.toString();
          let pipeline: unknown;
          try {
            pipeline = (JSON.parse(key) as unknown[])[0];
          } catch {
            continue; // not written by us: ignore
          }
          const map = typeof pipeline === 'string' ? wanted.get(pipeline) : undefined;
          if (map === undefined) continue;
          if (r.value === null) {
            map.delete(key);
            continue;
          }
          try {
            map.set(key, JSON.parse(r.value.toString()) as SourceOffset);
          } catch {
            map.delete(key);
          }
        }
      }
    } finally {
      await consumer.close();
    }
  }
  return new Map([...wanted].map(([p, m]) => [p, new SourceOffsets(p, m)]));
}
