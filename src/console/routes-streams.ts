/**
 * /api/streams: Kafka Streams applications as they published themselves on the compacted topic
 * `__tributary_streams_topologies` (src/streams/topology-registry.ts writes it: key application.id, value JSON with
 * the topology's describe() text, client id, instance, start time and state; the console may not import streams),
 * read to its end within a time budget, the latest record per key winning and tombstones removing it; each joined
 * with the consumer group of the same id (state, members, lag) as the groups page computes it.
 */
import { HttpError, sendJson } from './http.js';
import { mapLimit } from './kafka.js';
import { groupRow } from './routes-groups.js';
import { readTopicToEnd } from './topic-reader.js';
import type { ConsoleApp, Router } from './router.js';

export const STREAMS_TOPOLOGIES_TOPIC = '__tributary_streams_topologies';
export const STREAMS_TIME_BUDGET_MS = 2000;

export interface StreamsAppRow {
  applicationId: string;
  clientId: string;
  instance: string;
  startTime: number;
  updateTime: number;
  /** The KafkaStreams state it last published. */
  state: string;
  /** Its consumer group's state, members and lag (Dead, 0, 0 when the group does not exist). */
  groupState: string;
  members: number;
  lag: number;
  description: string;
}

async function readPublished(app: ConsoleApp): Promise<{ apps: Array<Omit<StreamsAppRow, 'groupState' | 'members' | 'lag'>>; partial: boolean }> {
  const byId = new Map<string, Omit<StreamsAppRow, 'groupState' | 'members' | 'lag'>>();
  const { partial } = await readTopicToEnd(app, STREAMS_TOPOLOGIES_TOPIC, { clientId: 'tributary-console-streams', budgetMs: STREAMS_TIME_BUDGET_MS }, (r) => {
    if (r.key === null) return;
    const id = r.key.toString();
    let v: Record<string, unknown> | null = null;
    try {
      v = r.value === null ? null : JSON.parse(r.value.toString()) as Record<string, unknown>;
    } catch {
      v = null;
    }
    if (v === null || typeof v.description !== 'string') {
      byId.delete(id);
      return;
    }
    byId.set(id, {
      applicationId: id, clientId: String(v.clientId ?? ''), instance: String(v.instance ?? ''), startTime: Number(v.startTime ?? 0),
      updateTime: Number(v.updateTime ?? r.timestamp), state: String(v.state ?? ''), description: v.description,
    });
  });
  return { apps: [...byId.values()].sort((a, b) => (a.applicationId < b.applicationId ? -1 : a.applicationId > b.applicationId ? 1 : 0)), partial };
}

export async function readStreamsApps(app: ConsoleApp): Promise<{ apps: StreamsAppRow[]; partial: boolean }> {
  const { apps, partial } = await readPublished(app);
  if (apps.length === 0) return { apps: [], partial };
  const described = await app.kafka.admin.describeGroups(apps.map((a) => a.applicationId));
  const byId = new Map(described.map((d) => [d.groupId, d]));
  const rows = await mapLimit(apps, 8, async (a) => {
    const d = byId.get(a.applicationId);
    const g = d ? await groupRow(app, d) : null;
    return { ...a, groupState: g?.state ?? 'Dead', members: g?.members ?? 0, lag: g?.lag ?? 0 };
  });
  return { apps: rows, partial };
}

export function registerStreamsRoutes(router: Router): void {
  router.add('GET', '/api/streams', async ({ app, res }) => {
    const { apps, partial } = await readStreamsApps(app);
    sendJson(res, 200, { apps, ...(partial ? { partial: true } : {}) });
  });
  router.add('GET', '/api/streams/:id', async ({ app, res, params }) => {
    const { apps } = await readStreamsApps(app);
    const found = apps.find((a) => a.applicationId === params.id);
    if (!found) throw new HttpError(404, `no streams application '${params.id!}' has published its topology`, 'NOT_FOUND');
    sendJson(res, 200, found);
  });
}
