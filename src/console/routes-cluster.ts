/** /api/session, /api/overview, /api/brokers, /api/reports: the cluster as a whole. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError, sendJson } from './http.js';
import { configView, type TP } from './kafka.js';
import type { Ctx, Router } from './router.js';

export function registerClusterRoutes(router: Router): void {
  router.add('GET', '/api/session', async ({ app, res, user, authenticated }) => {
    sendJson(res, 200, {
      readOnly: app.readOnly, loginRequired: app.loginRequired, authenticated, ...(user !== null ? { user } : {}),
      bootstrap: app.bootstrap, metrics: app.metricsUrl !== undefined, version: app.version,
    });
  });

  router.add('GET', '/api/overview', async ({ app, res }) => {
    const { admin } = app.kafka;
    const [cluster, topics, groups, sizes] = await Promise.all([
      admin.describeCluster(), app.kafka.topics(true), admin.listGroups(), app.kafka.logSizes(),
    ]);
    const tps: Array<TP & { leader: number }> = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, leader: p.leader })));
    const offsets = await app.kafka.offsets(tps.filter((tp) => tp.leader >= 0));
    let totalMessages = 0;
    for (const o of offsets.values()) totalMessages += Math.max(0, o.end - o.start);
    let totalSizeBytes = 0;
    for (const s of sizes.byBroker.values()) totalSizeBytes += s;
    const parts = topics.flatMap((t) => t.partitions);
    sendJson(res, 200, {
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      topicCount: topics.length,
      partitionCount: parts.length,
      underReplicatedPartitions: parts.filter((p) => p.isr.length < p.replicas.length).length,
      offlinePartitions: parts.filter((p) => p.leader < 0).length,
      groupCount: groups.length,
      totalSizeBytes,
      totalMessages,
    });
  });

  router.add('GET', '/api/brokers', async ({ app, res }) => {
    const [cluster, sizes] = await Promise.all([app.kafka.admin.describeCluster(), app.kafka.logSizes()]);
    sendJson(res, 200, cluster.brokers.map((b) => ({
      nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isController: b.nodeId === cluster.controllerId, sizeBytes: sizes.byBroker.get(b.nodeId) ?? 0,
    })));
  });

  router.add('GET', '/api/brokers/:id/configs', async ({ app, res, params }) => {
    if (!/^\d+$/.test(params.id!)) throw new HttpError(400, `broker id must be a number, not "${params.id}"`);
    const [d] = await app.kafka.admin.describeConfigs([{ type: 'broker', name: params.id! }]);
    sendJson(res, 200, (d?.configs ?? []).map(configView).sort((a, b) => (a.name < b.name ? -1 : 1)));
  });

  router.add('GET', '/api/reports', async ({ app, res }) => sendJson(res, 200, (await listReports(app.reportsDir)).map(({ name, path }) => ({ name, path }))));

  router.add('GET', '/api/reports/:name', async (ctx: Ctx) => {
    const reports = await listReports(ctx.app.reportsDir);
    const found = reports.find((r) => r.name === ctx.params.name);
    if (!found) throw new HttpError(404, `no report named "${ctx.params.name}"`);
    const html = await readFile(found.file);
    // A report is self-contained HTML with inline styles and SVG: no scripts, nothing fetched, sandboxed.
    ctx.res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox");
    ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': html.length });
    ctx.res.end(html);
  });
}

/**
 * The experiment's HTML reports under --reports-dir: `<name>.html` files in it and `<name>/report.html` (an
 * experiment's output directory), named by file or directory. At most 500.
 */
export async function listReports(dir: string | undefined): Promise<Array<{ name: string; path: string; file: string }>> {
  if (!dir) return [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: Array<{ name: string; path: string; file: string }> = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (out.length >= 500) break;
    if (e.name.startsWith('.')) continue;
    let name: string | null = null;
    let file = '';
    if (e.isFile() && e.name.endsWith('.html')) {
      name = e.name.slice(0, -'.html'.length);
      file = join(dir, e.name);
    } else if (e.isDirectory()) {
      file = join(dir, e.name, 'report.html');
      if (await stat(file).then((s) => s.isFile(), () => false)) name = e.name;
    }
    if (name) out.push({ name, path: `/api/reports/${encodeURIComponent(name)}`, file });
  }
  return out;
}
