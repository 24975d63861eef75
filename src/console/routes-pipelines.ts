/**
 * /api/pipelines: connect pipelines as the Kafka protocol shows them, so it works against any cluster.
 *
 * Sources: the compacted topic `connect-offsets` (Kafka Connect's default offset.storage.topic, where
 * `tributary connect` keeps how far each source pipeline got in each input; layout in src/connect/source-offsets.ts:
 * key `["<pipeline>", {"path": …}]`, value `{"position": n, "eof": true, …}` or null), read to its end with
 * read_committed, the latest record per key winning and tombstones removing it; bounded in time.
 * Sinks: consumer groups named `connect-<pipeline>` (the default sink group, and Kafka Connect's sink naming),
 * with their lag as the groups page computes it.
 */
import { sendJson } from './http.js';
import { mapLimit } from './kafka.js';
import { groupRow } from './routes-groups.js';
import type { ConsoleApp, Router } from './router.js';
import { readTopicToEnd } from './topic-reader.js';

/** Kafka Connect's default offset.storage.topic (src/connect/source-offsets.ts writes it; the console may not import connect). */
export const CONNECT_OFFSETS_TOPIC = 'connect-offsets';
/** Sink pipelines' consumer groups are named with this prefix unless their config names another group. */
export const SINK_GROUP_PREFIX = 'connect-';
/** Reading connect-offsets stops after this long; what was read so far is answered, flagged partial. */
export const SOURCES_TIME_BUDGET_MS = 2000;
/** At most this many sink groups are described (one OffsetFetch each). */
const MAX_SINK_GROUPS = 200;

export interface SourceRow {
  pipeline: string;
  /** The input (a file's path; the key's partition as JSON when it is not a path). */
  input: string;
  /** Records of the input produced so far. */
  position: number;
  /** The input was read to its end. */
  eof: boolean;
  /** Timestamp of the offset record (ms since the epoch): when the position was last stored. */
  updated: number;
}

export interface SinkRow {
  pipeline: string;
  groupId: string;
  state: string;
  topics: string[];
  lag: number;
  members: number;
}

function inputOf(partition: unknown): string {
  if (partition !== null && typeof partition === 'object' && !Array.isArray(partition)) {
    const o = partition as Record<string, unknown>;
    if (typeof o.path === 'string') return o.path;
    const values = Object.values(o);
    if (values.length === 1 && (typeof values[0] === 'string' || typeof values[0] === 'number')) return String(values[0]);
  }
  return JSON.stringify(partition);
}

/** Every source partition's latest stored offset in connect-offsets (none when the topic does not exist). */
export async function readSources(app: ConsoleApp): Promise<{ sources: SourceRow[]; partial: boolean }> {
  const byKey = new Map<string, SourceRow>();
  const { partial } = await readTopicToEnd(app, CONNECT_OFFSETS_TOPIC, {
    clientId: 'tributary-console-pipelines', budgetMs: SOURCES_TIME_BUDGET_MS, isolationLevel: 'read_committed', maxPollRecords: 10_000,
  }, (r) => {
    if (r.key === null) return;
    const key = r.key.toString();
    let parsed: unknown;
    try {
      parsed = JSON.parse(key);
    } catch {
      return; // not a connect offset key
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return;
    if (r.value === null) {
      byKey.delete(key); // tombstone: the input starts again from its beginning
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(r.value.toString());
    } catch {
      byKey.delete(key);
      return;
    }
    const v = (value ?? {}) as { position?: unknown; eof?: unknown };
    if (typeof v.position !== 'number') {
      byKey.delete(key);
      return;
    }
    byKey.set(key, { pipeline: parsed[0], input: inputOf(parsed[1]), position: v.position, eof: v.eof === true, updated: r.timestamp });
  });
  const sources = [...byKey.values()].sort((a, b) => (a.pipeline < b.pipeline ? -1 : a.pipeline > b.pipeline ? 1 : a.input < b.input ? -1 : a.input > b.input ? 1 : 0));
  return { sources, partial };
}

/** Consumer groups of sink pipelines (`connect-*`), with members, topics and lag. */
export async function readSinks(app: ConsoleApp): Promise<SinkRow[]> {
  const { admin } = app.kafka;
  const ids = (await admin.listGroups()).map((g) => g.groupId).filter((id) => id.startsWith(SINK_GROUP_PREFIX)).sort().slice(0, MAX_SINK_GROUPS);
  if (ids.length === 0) return [];
  // Kafka Connect's distributed workers also form `connect-*` groups, of protocol type "connect": not sinks.
  const described = (await admin.describeGroups(ids)).filter((d) => d.protocolType !== 'connect');
  return mapLimit(described, 8, async (d) => {
    const g = await groupRow(app, d);
    return { pipeline: g.groupId.slice(SINK_GROUP_PREFIX.length), groupId: g.groupId, state: g.state, topics: g.topics, lag: g.lag, members: g.members };
  });
}

export function registerPipelineRoutes(router: Router): void {
  router.add('GET', '/api/pipelines', async ({ app, res }) => {
    const [{ sources, partial }, sinks] = await Promise.all([readSources(app), readSinks(app)]);
    sendJson(res, 200, { sources, sinks, ...(partial ? { sourcesPartial: true } : {}) });
  });
}
