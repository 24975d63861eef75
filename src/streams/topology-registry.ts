// Where a KafkaStreams application says what it runs: one record per application.id on the compacted topic
// __tributary_streams_topologies, its value a JSON object with the Topology's describe() text, the instance's
// client id, start time and state. `tributary streams describe <application.id>` / `streams list` and the
// console read it back (the last record per key wins, as compaction keeps it).
import type { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Consumer } from '../client/consumer.js';
import type { Producer } from '../client/producer.js';

export const TOPOLOGIES_TOPIC = '__tributary_streams_topologies';

/** The property turning publishing off (default true). */
export const TOPOLOGY_PUBLISH_CONFIG = 'tributary.topology.publish';

export interface PublishedTopology {
  applicationId: string;
  /** The instance: its client id (application.id-StreamThread-1 unless client.id is set). */
  clientId: string;
  /** host:pid of the process that published it. */
  instance: string;
  /** When the instance started (ms since the epoch). */
  startTime: number;
  /** The KafkaStreams state when this record was written. */
  state: string;
  /** When this record was written (ms since the epoch). */
  updateTime: number;
  /** Topology.describe().toString(). */
  description: string;
}

/** Creates the compacted topic when it is missing (another instance creating it first is fine). */
export async function ensureTopologiesTopic(admin: Admin, replicationFactor = -1): Promise<void> {
  if ((await admin.listTopics({ includeInternal: true })).includes(TOPOLOGIES_TOPIC)) return;
  try {
    await admin.createTopics([{ name: TOPOLOGIES_TOPIC, numPartitions: 1, replicationFactor, configs: { 'cleanup.policy': 'compact' } }]);
  } catch (err) {
    if (!(await admin.listTopics({ includeInternal: true })).includes(TOPOLOGIES_TOPIC)) throw err;
  }
}

/** Writes one application's record (keyed by application.id) and waits for its acknowledgement. */
export async function publishTopology(producer: Producer, record: PublishedTopology): Promise<void> {
  await producer.send({ topic: TOPOLOGIES_TOPIC, partition: 0, key: record.applicationId, value: JSON.stringify(record) });
}

/** The value's fields, or null when it is not a record of ours (a foreign writer, a tombstone). */
export function parsePublishedTopology(value: Buffer | null): PublishedTopology | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value.toString('utf8')) as Partial<PublishedTopology>;
    if (typeof v.applicationId !== 'string' || typeof v.description !== 'string') return null;
    return {
      applicationId: v.applicationId,
      clientId: String(v.clientId ?? ''),
      instance: String(v.instance ?? ''),
      startTime: Number(v.startTime ?? 0),
      state: String(v.state ?? ''),
      updateTime: Number(v.updateTime ?? 0),
      description: v.description,
    };
  } catch {
    return null;
  }
}

/**
 * Every application published, the last record per application.id (a tombstone removes it), sorted by id.
 * Reads the topic from its start to its end offset at the time of the call; null when the topic does not exist.
 */
export async function readPublishedTopologies(admin: Admin, bootstrapServers: string | string[], options: { timeoutMs?: number; clientOptions?: Partial<ClientOptions> } = {}): Promise<PublishedTopology[] | null> {
  if (!(await admin.listTopics({ includeInternal: true })).includes(TOPOLOGIES_TOPIC)) return null;
  const tp = { topic: TOPOLOGIES_TOPIC, partition: 0 };
  const [start, end] = await admin.listOffsets([{ ...tp, timestamp: 'earliest' }, { ...tp, timestamp: 'latest' }]);
  const byId = new Map<string, PublishedTopology>();
  if (end!.offset > start!.offset) {
    const consumer = new Consumer({ ...options.clientOptions, bootstrapServers, enableAutoCommit: false, autoOffsetReset: 'earliest' });
    await consumer.connect();
    try {
      consumer.assign([tp]);
      consumer.seek(tp, start!.offset);
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      let position = start!.offset;
      while (position < end!.offset) {
        if (Date.now() > deadline) throw new Error(`reading ${TOPOLOGIES_TOPIC} timed out at offset ${position} of ${end!.offset}`);
        for (const r of await consumer.poll(500)) {
          position = r.offset + 1;
          const key = r.key?.toString('utf8');
          if (key === undefined) continue;
          const parsed = parsePublishedTopology(r.value);
          if (parsed === null) byId.delete(key);
          else byId.set(key, parsed);
        }
      }
    } finally {
      await consumer.close();
    }
  }
  return [...byId.values()].sort((a, b) => a.applicationId.localeCompare(b.applicationId));
}

/** A published application joined with its consumer group (the group id is the application.id). */
export interface StreamsApplicationOverview extends PublishedTopology {
  /** The group's state (Stable, Empty, …; Dead when the group does not exist). */
  groupState: string;
  members: number;
  /** Sum over the committed partitions of log end offset − committed offset (null: nothing committed). */
  lag: number | null;
}

export async function streamsApplications(admin: Admin, bootstrapServers: string | string[], options: { clientOptions?: Partial<ClientOptions> } = {}): Promise<StreamsApplicationOverview[] | null> {
  const published = await readPublishedTopologies(admin, bootstrapServers, options);
  if (published === null) return null;
  if (published.length === 0) return [];
  const groups = await admin.describeGroups(published.map((p) => p.applicationId));
  const byId = new Map(groups.map((g) => [g.groupId, g]));
  return Promise.all(published.map(async (p) => {
    const g = byId.get(p.applicationId);
    const committed = (await admin.listGroupOffsets(p.applicationId)).filter((c) => c.offset >= 0);
    let lag: number | null = null;
    if (committed.length > 0) {
      const ends = await admin.listOffsets(committed.map((c) => ({ topic: c.topic, partition: c.partition, timestamp: 'latest' as const })));
      lag = committed.reduce((sum, c, i) => sum + Math.max(0, ends[i]!.offset - c.offset), 0);
    }
    return { ...p, groupState: g?.state ?? 'Dead', members: g?.members.length ?? 0, lag };
  }));
}
