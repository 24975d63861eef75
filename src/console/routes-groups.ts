/** /api/groups…: list, describe, lag history, reset offsets, delete. */
import { asObject, HttpError, optInt, optStr, sendJson, sendNoContent } from './http.js';
import { mapLimit, tpKey, type TP } from './kafka.js';
import type { GroupDescription } from '../client/admin.js';
import type { ConsoleApp, Router } from './router.js';

/** The list page describes at most this many groups (their offsets: one OffsetFetch each). */
const MAX_GROUPS_LISTED = 500;

export interface GroupRow {
  groupId: string;
  state: string;
  type: string;
  protocol: string;
  members: number;
  topics: string[];
  lag: number;
}

/** A group as the list shows it: its topics (committed or assigned) and its total lag (end − committed). */
export async function groupRow(app: ConsoleApp, d: GroupDescription): Promise<GroupRow> {
  const offsets = await app.kafka.groupOffsets(d.groupId).catch(() => []);
  const topics = new Set<string>([...offsets.map((o) => o.topic), ...d.members.flatMap((m) => m.assignment.map((a) => a.topic))]);
  return {
    groupId: d.groupId, state: d.state, type: d.type, protocol: d.assignor, members: d.members.length,
    topics: [...topics].sort(), lag: offsets.reduce((s, o) => s + o.lag, 0),
  };
}

export function registerGroupRoutes(router: Router): void {
  router.add('GET', '/api/groups', async ({ app, res }) => {
    const { admin } = app.kafka;
    const listed = (await admin.listGroups()).slice(0, MAX_GROUPS_LISTED);
    const described = listed.length === 0 ? [] : await admin.describeGroups(listed.map((g) => g.groupId));
    sendJson(res, 200, await mapLimit(described, 8, (d) => groupRow(app, d)));
  });

  router.add('GET', '/api/groups/:id', async ({ app, res, params }) => {
    const groupId = params.id!;
    const [d] = await app.kafka.admin.describeGroups([groupId]);
    if (!d || (d.state === 'Dead' && d.members.length === 0)) {
      // Kafka describes an unknown group as Dead; a group with only committed offsets is Empty, not Dead.
      const committed = await app.kafka.admin.listGroupOffsets(groupId).catch(() => []);
      if (!d || committed.length === 0) throw new HttpError(404, `group '${groupId}' does not exist`, 'GROUP_ID_NOT_FOUND');
    }
    const offsets = await app.kafka.groupOffsets(groupId);
    // Assigned partitions without a committed offset yet: committed and lag null.
    const seen = new Set(offsets.map(tpKey));
    const uncommitted: TP[] = [];
    for (const a of d!.members.flatMap((m) => m.assignment)) {
      if (seen.has(tpKey(a))) continue;
      seen.add(tpKey(a));
      uncommitted.push(a);
    }
    const ends = await app.kafka.endOffsets(uncommitted);
    const rows = [
      ...offsets,
      ...uncommitted.map((tp) => ({ ...tp, committed: null, end: ends.get(tpKey(tp)) ?? null, lag: null })),
    ].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    sendJson(res, 200, {
      groupId, state: d!.state, type: d!.type, protocol: d!.assignor, protocolType: d!.protocolType, coordinator: d!.coordinator,
      members: d!.members.map((m) => ({
        memberId: m.memberId, clientId: m.clientId, host: m.host,
        assignments: groupByTopic(m.assignment),
      })),
      offsets: rows.map((o) => ({ topic: o.topic, partition: o.partition, committed: o.committed, end: o.end, lag: o.lag })),
    });
  });

  router.add('GET', '/api/groups/:id/lag-history', async ({ app, res, params }) => {
    sendJson(res, 200, app.events.lagHistory(params.id!));
  });

  router.add('POST', '/api/groups/:id/reset', async ({ app, res, params, body }) => {
    const groupId = params.id!;
    const b = asObject(await body());
    const to = optStr(b, 'to');
    if (to !== 'earliest' && to !== 'latest' && to !== 'timestamp' && to !== 'offset') throw new HttpError(400, '"to" must be earliest, latest, timestamp or offset');
    const timestamp = optInt(b, 'timestamp', 0);
    const offset = optInt(b, 'offset', 0);
    if (to === 'timestamp' && timestamp === undefined) throw new HttpError(400, 'to=timestamp needs "timestamp" (milliseconds since the epoch)');
    if (to === 'offset' && offset === undefined) throw new HttpError(400, 'to=offset needs "offset"');
    const topic = optStr(b, 'topic');
    const dryRun = b.dryRun === true;
    const { admin } = app.kafka;
    const [d] = await admin.describeGroups([groupId]);
    if (d && d.state !== 'Empty' && d.state !== 'Dead') {
      // kafka-consumer-groups.sh's refusal: offsets of a group with active members cannot be changed.
      throw new HttpError(409, `Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${d.state}.`, 'NON_EMPTY_GROUP');
    }
    let tps: TP[];
    if (topic !== undefined) {
      const [t] = await admin.describeTopics([topic]);
      tps = t!.partitions.map((p) => ({ topic, partition: p.partition }));
    } else {
      tps = (await admin.listGroupOffsets(groupId)).map(({ topic: t, partition }) => ({ topic: t, partition }));
      if (tps.length === 0) throw new HttpError(400, `group '${groupId}' has no committed offsets: name the topic to reset`);
    }
    const range = await app.kafka.offsets(tps);
    let targets: Array<TP & { offset: number }>;
    if (to === 'timestamp') {
      const found = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: timestamp! })));
      targets = found.map((f) => ({ topic: f.topic, partition: f.partition, offset: f.offset >= 0 ? f.offset : range.get(tpKey(f))!.end }));
    } else {
      targets = tps.map((tp) => {
        const r = range.get(tpKey(tp))!;
        const want = to === 'earliest' ? r.start : to === 'latest' ? r.end : offset!;
        return { ...tp, offset: Math.min(Math.max(want, r.start), r.end) };
      });
    }
    targets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    if (!dryRun) await admin.alterGroupOffsets(groupId, targets);
    sendJson(res, 200, { offsets: targets.map((t) => ({ topic: t.topic, partition: t.partition, offset: t.offset })) });
  });

  router.add('DELETE', '/api/groups/:id', async ({ app, res, params }) => {
    await app.kafka.admin.deleteGroups([params.id!]);
    sendNoContent(res);
  });
}

function groupByTopic(tps: TP[]): Array<{ topic: string; partitions: number[] }> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (!l) m.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  return [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}
