/** /api/topics…: list, create, delete, describe, edit configs, add partitions. */
import { asObject, HttpError, optInt, sendJson, sendNoContent, str, stringList, stringRecord } from './http.js';
import { configView, mapLimit, partitionSize, tpKey } from './kafka.js';
import type { Router } from './router.js';

/** Consumers of a topic are looked up in at most this many groups (one OffsetFetch each). */
const MAX_GROUPS_SCANNED = 200;

export function registerTopicRoutes(router: Router): void {
  router.add('GET', '/api/topics', async ({ app, res, query }) => {
    const topics = await app.kafka.topics(query.get('internal') === 'true');
    const tps = topics.flatMap((t) => t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, partition: p.partition })));
    const [offsets, sizes] = await Promise.all([app.kafka.offsets(tps), app.kafka.logSizes()]);
    sendJson(res, 200, topics.map((t) => {
      let sizeBytes = 0;
      let messages = 0;
      for (const p of t.partitions) {
        const tp = { topic: t.name, partition: p.partition };
        sizeBytes += partitionSize(sizes.byReplica, p.leader, tp);
        const o = offsets.get(tpKey(tp));
        if (o) messages += Math.max(0, o.end - o.start);
      }
      return {
        name: t.name, internal: t.isInternal, partitions: t.partitions.length,
        replicationFactor: t.partitions[0]?.replicas.length ?? 0, sizeBytes, messages,
        underReplicated: t.partitions.filter((p) => p.isr.length < p.replicas.length).length,
      };
    }));
  });

  router.add('POST', '/api/topics', async ({ app, res, body }) => {
    const b = asObject(await body());
    const name = str(b, 'name');
    await app.kafka.admin.createTopics([{
      name,
      numPartitions: optInt(b, 'partitions', 1, 1_000_000) ?? -1,
      replicationFactor: optInt(b, 'replicationFactor', 1, 32767) ?? -1,
      configs: stringRecord(b.configs, 'configs'),
    }]);
    sendJson(res, 201, { name });
  });

  router.add('DELETE', '/api/topics/:name', async ({ app, res, params }) => {
    await app.kafka.admin.deleteTopics([params.name!]);
    sendNoContent(res);
  });

  router.add('GET', '/api/topics/:name', async ({ app, res, params }) => {
    const name = params.name!;
    const [t] = await app.kafka.topics(true, [name]);
    if (!t) throw new HttpError(404, `topic '${name}' does not exist`, 'UNKNOWN_TOPIC_OR_PARTITION');
    const tps = t.partitions.map((p) => ({ topic: name, partition: p.partition }));
    const [offsets, sizes, [configs], groups] = await Promise.all([
      app.kafka.offsets(tps.filter((_, i) => t.partitions[i]!.leader >= 0)),
      app.kafka.logSizes(),
      app.kafka.admin.describeConfigs([{ type: 'topic', name }]),
      app.kafka.admin.listGroups(),
    ]);
    // Groups with committed offsets on this topic, and their lag on it.
    const consumers = (await mapLimit(groups.slice(0, MAX_GROUPS_SCANNED), 8, async (g) => {
      const committed = (await app.kafka.admin.listGroupOffsets(g.groupId).catch(() => [])).filter((c) => c.topic === name && c.offset >= 0);
      if (committed.length === 0) return null;
      let lag = 0;
      for (const c of committed) lag += Math.max(0, (offsets.get(tpKey(c))?.end ?? c.offset) - c.offset);
      return { groupId: g.groupId, state: g.state, lag };
    })).filter((c) => c !== null);
    sendJson(res, 200, {
      name,
      internal: t.isInternal,
      partitions: t.partitions.map((p) => {
        const o = offsets.get(tpKey({ topic: name, partition: p.partition }));
        return {
          partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr,
          startOffset: o?.start ?? null, endOffset: o?.end ?? null, sizeBytes: partitionSize(sizes.byReplica, p.leader, { topic: name, partition: p.partition }),
        };
      }),
      configs: (configs?.configs ?? []).map(configView).sort((a, b) => (a.name < b.name ? -1 : 1)),
      consumers,
    });
  });

  router.add('PUT', '/api/topics/:name/configs', async ({ app, res, params, body }) => {
    const b = asObject(await body());
    const set = stringRecord(b.set, 'set');
    const del = stringList(b.delete, 'delete');
    if (Object.keys(set).length === 0 && del.length === 0) throw new HttpError(400, 'nothing to change: give "set" and/or "delete"');
    await app.kafka.admin.alterConfigs([{ type: 'topic', name: params.name!, set, delete: del }]);
    sendNoContent(res);
  });

  router.add('POST', '/api/topics/:name/partitions', async ({ app, res, params, body }) => {
    const b = asObject(await body());
    const count = optInt(b, 'count', 1, 1_000_000);
    if (count === undefined) throw new HttpError(400, '"count" (the new total number of partitions) is required');
    await app.kafka.admin.createPartitions([{ topic: params.name!, count }]);
    sendNoContent(res);
  });
}
