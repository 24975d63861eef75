/**
 * What `tributary top` shows, apart from the terminal: a sampler that reads the cluster over the Kafka protocol
 * (Metadata, ListOffsets, ListGroups, DescribeGroups, OffsetFetch — so it works against Apache Kafka too) and,
 * when given, the brokers' Prometheus endpoints; the figures computed from two consecutive samples (messages/s
 * from end-offset deltas, lag trend, request rates and latency quantiles from counter and bucket deltas); and the
 * rendering of one frame as lines fitted to a width and height.
 */
import type { Admin, TopicDescription } from '../client/admin.js';
import { bucketDelta, histogramQuantile, MetricSet, type Bucket } from '../util/prometheus-text.js';
import { logEndOffsets } from './groups-describe.js';

export interface TopOptions {
  /** Topics whose name starts with __ (and those the broker marks internal) are left out unless asked for. */
  includeInternal?: boolean;
  /** Prometheus endpoints of the brokers (their scrapes are added together). */
  metricsUrls?: string[];
  /** The clock, injectable so tests compute exact rates. */
  now?: () => number;
  /** How long one metrics scrape may take. */
  scrapeTimeoutMs?: number;
  /** How many samples the lag trend spans (the first and last of them). */
  trendSamples?: number;
}

export interface TopicRow {
  name: string;
  partitions: number;
  /** Messages per second over the last interval (end-offset deltas); undefined on the first sample. */
  messagesPerSec: number | undefined;
  /** The sum of the partitions' log-end offsets: the messages ever written (control records included). */
  endOffsets: number;
}

export interface GroupRow {
  groupId: string;
  type: string;
  state: string;
  members: number;
  /** Σ (log-end offset − committed offset) over the committed partitions; null when nothing is committed. */
  lag: number | null;
  /** Lag change per second over the last samples (positive: the group falls behind). */
  lagPerSec: number | undefined;
}

export interface BrokerRow {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  isController: boolean;
  leaders: number;
  replicas: number;
}

export interface PartitionProblem {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  status: 'offline' | 'under-replicated';
}

export interface ApiRow {
  request: string;
  perSec: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

export interface MetricsFigures {
  /** Endpoints that failed this time, with why. */
  errors: string[];
  requestsPerSec?: number;
  errorsPerSec?: number;
  messagesInPerSec?: number;
  bytesInPerSec?: number;
  bytesOutPerSec?: number;
  connections?: number;
  eventLoopLagMs?: number;
  eventLoopLagP99Ms?: number;
  fsyncP99Ms?: number;
  apis: ApiRow[];
}

export interface TopView {
  time: number;
  /** Milliseconds since the previous sample; undefined on the first. */
  elapsedMs: number | undefined;
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerRow[];
  topicCount: number;
  partitionCount: number;
  underReplicated: number;
  offline: number;
  problems: PartitionProblem[];
  topics: TopicRow[];
  groups: GroupRow[];
  metrics?: MetricsFigures;
  /** Set when this sample failed: the figures are then the previous ones. */
  error?: string;
}

interface ClusterSample {
  time: number;
  endOffsets: Map<string, number | null>;
  metrics?: MetricSet;
}

const tpKey = (topic: string, partition: number): string => `${topic}-${partition}`;

/** How much a counter grew: a counter that went down was reset (a restarted broker) and counts from 0, as PromQL's increase(). */
function counterDelta(now: number | undefined, before: number | undefined): number | undefined {
  if (now === undefined) return undefined;
  if (before === undefined) return undefined;
  return now >= before ? now - before : now;
}

/** Scrapes the endpoints; each failure is reported and leaves that endpoint out of this scrape. */
async function scrape(urls: string[], timeoutMs: number): Promise<{ set: MetricSet; errors: string[] }> {
  const results = await Promise.all(urls.map(async (url): Promise<MetricSet | string> => {
    try {
      const res = await fetch(url, { headers: { accept: 'text/plain;version=0.0.4' }, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return MetricSet.parse(await res.text());
    } catch (err) {
      const e = err as Error & { cause?: Error };
      return `${url}: ${e.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : e.cause?.message ?? e.message}`;
    }
  }));
  return {
    set: MetricSet.merge(results.filter((r): r is MetricSet => typeof r !== 'string')),
    errors: results.filter((r): r is string => typeof r === 'string'),
  };
}

/** Figures from two scrapes `dtSec` apart (gauges from the latest alone; rates need both). */
export function metricsFigures(now: MetricSet, before: MetricSet | undefined, dtSec: number | undefined, errors: string[] = []): MetricsFigures {
  const rate = (name: string): number | undefined => {
    if (!before || !dtSec) return undefined;
    const d = counterDelta(now.sum(name), before.sum(name));
    return d === undefined ? undefined : d / dtSec;
  };
  const ms = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : seconds * 1000);
  const out: MetricsFigures = { errors, apis: [] };
  out.requestsPerSec = rate('kafka_network_requestmetrics_requests_total');
  if (before && dtSec && now.has('kafka_network_requestmetrics_errors_total')) {
    const errNow = [...now.sumBy('kafka_network_requestmetrics_errors_total', 'error')].filter(([e]) => e !== 'NONE');
    const errBefore = before.sumBy('kafka_network_requestmetrics_errors_total', 'error');
    out.errorsPerSec = errNow.reduce((a, [e, v]) => a + (counterDelta(v, errBefore.get(e) ?? 0) ?? 0), 0) / dtSec;
  }
  out.messagesInPerSec = rate('kafka_server_brokertopicmetrics_messagesin_total');
  // BytesInPerSec/BytesOutPerSec are the records' bytes; without them, the sockets' bytes.
  out.bytesInPerSec = now.has('kafka_server_brokertopicmetrics_bytesin_total')
    ? rate('kafka_server_brokertopicmetrics_bytesin_total') : rate('kafka_server_socket_server_metrics_incoming_byte_total');
  out.bytesOutPerSec = now.has('kafka_server_brokertopicmetrics_bytesout_total')
    ? rate('kafka_server_brokertopicmetrics_bytesout_total') : rate('kafka_server_socket_server_metrics_outgoing_byte_total');
  out.connections = now.sum('kafka_server_socket_server_metrics_connection_count');
  out.eventLoopLagMs = ms(now.max('nodejs_eventloop_lag_seconds'));
  out.eventLoopLagP99Ms = ms(now.max('nodejs_eventloop_lag_p99_seconds'));
  if (before && dtSec) {
    const quantiles = (buckets: Bucket[], prev: Bucket[] | undefined): { p50: number | undefined; p99: number | undefined } => {
      const d = bucketDelta(buckets, prev);
      return { p50: histogramQuantile(0.5, d), p99: histogramQuantile(0.99, d) };
    };
    const flush = now.bucketsBy('kafka_log_logflushstats_logflushtimems', '__none__').get('');
    if (flush) out.fsyncP99Ms = quantiles(flush, before.bucketsBy('kafka_log_logflushstats_logflushtimems', '__none__').get('')).p99;
    const countsNow = now.sumBy('kafka_network_requestmetrics_requests_total', 'request');
    const countsBefore = before.sumBy('kafka_network_requestmetrics_requests_total', 'request');
    const timesNow = now.bucketsBy('kafka_network_requestmetrics_totaltimems', 'request');
    const timesBefore = before.bucketsBy('kafka_network_requestmetrics_totaltimems', 'request');
    for (const request of new Set([...countsNow.keys(), ...timesNow.keys()])) {
      const perSec = (counterDelta(countsNow.get(request), countsBefore.get(request) ?? 0) ?? 0) / dtSec;
      const times = timesNow.get(request);
      const q = times ? quantiles(times, timesBefore.get(request)) : { p50: undefined, p99: undefined };
      if (perSec === 0 && q.p99 === undefined) continue;
      out.apis.push({ request, perSec, p50Ms: q.p50, p99Ms: q.p99 });
    }
    out.apis.sort((a, b) => b.perSec - a.perSec || (a.request < b.request ? -1 : 1));
  }
  return out;
}

/**
 * Samples the cluster once per call and turns consecutive samples into a view. Keeps the previous sample and
 * each group's recent lag for the trend; nothing else, so it runs for days at a constant size.
 */
export class TopSampler {
  private previous: ClusterSample | undefined;
  private lastView: TopView | undefined;
  private readonly lagHistory = new Map<string, Array<{ time: number; lag: number }>>();
  private readonly now: () => number;

  constructor(private readonly admin: Admin, private readonly options: TopOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** One sample and the view it gives; a failure is thrown (the caller decides whether to carry on). */
  async sample(): Promise<TopView> {
    const { admin } = this;
    const metricsUrls = this.options.metricsUrls ?? [];
    const scraping = metricsUrls.length > 0 ? scrape(metricsUrls, this.options.scrapeTimeoutMs ?? 2000) : undefined;
    const [cluster, described, listed] = await Promise.all([
      admin.describeCluster(),
      admin.describeTopics(),
      admin.listGroups(),
    ]);
    const topics = described.filter((t) => this.options.includeInternal === true || !(t.isInternal || t.name.startsWith('__')));
    const groupIds = listed.map((g) => g.groupId);
    const [groups, committed] = await Promise.all([
      groupIds.length > 0 ? admin.describeGroups(groupIds) : Promise.resolve([]),
      Promise.all(groupIds.map(async (g) => {
        try {
          return await admin.listGroupOffsets(g);
        } catch {
          return []; // a group deleted since it was listed
        }
      })),
    ]);
    // End offsets of the shown topics' partitions with a leader, and of whatever partition a group committed.
    const leaders = new Map(described.flatMap((t) => t.partitions.map((p) => [tpKey(t.name, p.partition), p.leader] as const)));
    const wanted = new Map<string, { topic: string; partition: number }>();
    for (const t of topics) for (const p of t.partitions) if (p.leader >= 0) wanted.set(tpKey(t.name, p.partition), { topic: t.name, partition: p.partition });
    for (const list of committed) {
      for (const c of list) {
        const key = tpKey(c.topic, c.partition);
        if ((leaders.get(key) ?? -1) >= 0) wanted.set(key, { topic: c.topic, partition: c.partition });
      }
    }
    const endOffsets = await logEndOffsets(admin, [...wanted.values()]);
    const scraped = scraping ? await scraping : undefined;
    const time = this.now();
    const sample: ClusterSample = { time, endOffsets, metrics: scraped?.set };
    const prev = this.previous;
    const elapsedMs = prev ? time - prev.time : undefined;
    const dtSec = elapsedMs !== undefined && elapsedMs > 0 ? elapsedMs / 1000 : undefined;

    const topicRows = topics.map((t) => this.topicRow(t, endOffsets, prev?.endOffsets, dtSec));
    topicRows.sort((a, b) => (b.messagesPerSec ?? 0) - (a.messagesPerSec ?? 0) || b.endOffsets - a.endOffsets || (a.name < b.name ? -1 : 1));

    const groupRows: GroupRow[] = groups.map((d, i) => {
      let lag: number | null = null;
      for (const c of committed[i] ?? []) {
        const end = endOffsets.get(tpKey(c.topic, c.partition));
        if (c.offset < 0 || end === undefined || end === null) continue;
        lag = (lag ?? 0) + (end - c.offset);
      }
      return { groupId: d.groupId, type: d.type, state: d.state, members: d.members.length, lag, lagPerSec: this.lagTrend(d.groupId, time, lag) };
    }).filter((g) => g.state !== 'Dead');
    for (const id of this.lagHistory.keys()) if (!groupIds.includes(id)) this.lagHistory.delete(id);
    groupRows.sort((a, b) => (b.lag ?? -1) - (a.lag ?? -1) || (a.groupId < b.groupId ? -1 : 1));

    const brokers: BrokerRow[] = cluster.brokers.map((b) => ({ ...b, isController: b.nodeId === cluster.controllerId, leaders: 0, replicas: 0 }));
    const byId = new Map(brokers.map((b) => [b.nodeId, b]));
    const live = new Set(brokers.map((b) => b.nodeId));
    const problems: PartitionProblem[] = [];
    let partitionCount = 0;
    for (const t of described) {
      for (const p of t.partitions) {
        partitionCount++;
        const leader = byId.get(p.leader);
        if (leader) leader.leaders++;
        for (const r of p.replicas) {
          const b = byId.get(r);
          if (b) b.replicas++;
        }
        // Offline: no leader, or a leader that is not a live broker (Kafka's OfflinePartitionsCount).
        if (p.leader < 0 || !live.has(p.leader)) problems.push({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, status: 'offline' });
        else if (p.isr.length < p.replicas.length) problems.push({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, status: 'under-replicated' });
      }
    }
    problems.sort((a, b) => (a.status === b.status ? 0 : a.status === 'offline' ? -1 : 1) || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));

    const view: TopView = {
      time,
      elapsedMs,
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      brokers,
      topicCount: described.length,
      partitionCount,
      underReplicated: problems.filter((p) => p.status === 'under-replicated').length,
      offline: problems.filter((p) => p.status === 'offline').length,
      problems,
      topics: topicRows,
      groups: groupRows,
      ...(scraped ? { metrics: metricsFigures(scraped.set, prev?.metrics, dtSec, scraped.errors) } : {}),
    };
    this.previous = sample;
    this.lastView = view;
    return view;
  }

  /** The last good view marked with the error (or a bare one when there was none yet), for a live screen to keep showing. */
  failed(err: unknown): TopView {
    const error = err instanceof Error ? err.message : String(err);
    const base: TopView = this.lastView ?? {
      time: this.now(), elapsedMs: undefined, clusterId: null, controllerId: -1, brokers: [], topicCount: 0, partitionCount: 0,
      underReplicated: 0, offline: 0, problems: [], topics: [], groups: [],
    };
    return { ...base, time: this.now(), error };
  }

  private topicRow(t: TopicDescription, now: Map<string, number | null>, before: Map<string, number | null> | undefined, dtSec: number | undefined): TopicRow {
    let endOffsets = 0;
    let written = 0;
    for (const p of t.partitions) {
      const key = tpKey(t.name, p.partition);
      const end = now.get(key);
      if (end === undefined || end === null) continue;
      endOffsets += end;
      const prev = before?.get(key);
      // A partition new since the last sample, or a topic re-created (offsets went down), adds nothing this time.
      if (prev !== undefined && prev !== null && end >= prev) written += end - prev;
    }
    return { name: t.name, partitions: t.partitions.length, messagesPerSec: before && dtSec ? written / dtSec : undefined, endOffsets };
  }

  private lagTrend(groupId: string, time: number, lag: number | null): number | undefined {
    if (lag === null) {
      this.lagHistory.delete(groupId);
      return undefined;
    }
    const history = this.lagHistory.get(groupId) ?? [];
    history.push({ time, lag });
    const keep = Math.max(2, this.options.trendSamples ?? 10);
    if (history.length > keep) history.splice(0, history.length - keep);
    this.lagHistory.set(groupId, history);
    if (history.length < 2) return undefined;
    const first = history[0]!;
    const dt = (time - first.time) / 1000;
    return dt > 0 ? (lag - first.lag) / dt : undefined;
  }
}

// ---------- rendering ----------

/** Messages (or requests) per second: one decimal under 100, whole numbers above. */
export function formatRate(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

export function formatBytesRate(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} ${units[0]}` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v));
}

function formatTrend(v: number | undefined): string {
  if (v === undefined) return '-';
  const s = formatRate(v);
  return `${v > 0 ? '+' : ''}${s === '-0.0' ? '0.0' : s}/s`;
}

/** Columns separated by two spaces; numeric columns (right = true) aligned right. */
function columns(header: string[], rows: string[][], right: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

interface Section {
  header: string[];
  right: boolean[];
  rows: string[][];
  /** Rows this section gets (all when undefined). */
  budget?: number;
}

/**
 * Shares `available` rows among sections (one more row each is "… N more"): the smaller sections take what they
 * need, the rest is split evenly among the larger ones.
 */
function shareRows(sections: Section[], available: number): void {
  const order = [...sections].sort((a, b) => a.rows.length - b.rows.length);
  let left = Math.max(available, sections.length);
  order.forEach((s, i) => {
    const share = Math.max(1, Math.floor(left / (order.length - i)));
    s.budget = Math.min(s.rows.length, share);
    left -= s.budget;
  });
}

export interface RenderOptions {
  /** The terminal's width: longer lines are cut. */
  width?: number;
  /** The terminal's height: each table shows its top rows so that the frame fits. */
  height?: number;
  /** At most this many rows per table. */
  limit?: number;
  /** What the header names as the source (the bootstrap servers). */
  source?: string;
  /** A hint at the bottom (how to quit), on a live screen. */
  footer?: string;
}

/** One frame as lines (no trailing newline), fitted to the width and height when given. */
export function renderFrame(view: TopView, options: RenderOptions = {}): string[] {
  const head: string[] = [];
  const clock = new Date(view.time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const over = view.elapsedMs !== undefined ? `  over ${(view.elapsedMs / 1000).toFixed(3)} s` : '';
  // What changes first, so that a narrow terminal still shows it.
  head.push(`tributary top  ${clock}${over}  ${options.source ?? ''}  cluster ${view.clusterId ?? '-'}  controller ${view.controllerId}`.replace(/ {3,}/g, '  '));
  head.push(`brokers: ${view.brokers.length}  topics: ${view.topicCount}  partitions: ${view.partitionCount}  under-replicated: ${view.underReplicated}  offline: ${view.offline}  groups: ${view.groups.length}`);
  const m = view.metrics;
  if (m) {
    const parts = [
      `requests: ${formatRate(m.requestsPerSec)}/s`,
      `errors: ${formatRate(m.errorsPerSec)}/s`,
      `messages in: ${formatRate(m.messagesInPerSec)}/s`,
      `bytes in: ${formatBytesRate(m.bytesInPerSec)}`,
      `bytes out: ${formatBytesRate(m.bytesOutPerSec)}`,
      `connections: ${m.connections ?? '-'}`,
      `event-loop lag: ${formatMs(m.eventLoopLagMs)} ms (p99 ${formatMs(m.eventLoopLagP99Ms)} ms)`,
      `fsync p99: ${formatMs(m.fsyncP99Ms)} ms`,
    ];
    head.push(`metrics  ${parts.join('  ')}`);
    for (const e of m.errors) head.push(`metrics error: ${e}`);
  }
  if (view.error) head.push(`error: ${view.error} (showing the last figures)`);
  if (view.elapsedMs === undefined && !view.error) head.push('rates appear from the second sample on');

  const sections: Section[] = [];
  sections.push({
    header: ['TOPIC', 'PARTITIONS', 'MSG/S', 'END-OFFSETS'],
    right: [false, true, true, true],
    rows: view.topics.map((t) => [t.name, String(t.partitions), formatRate(t.messagesPerSec), String(t.endOffsets)]),
  });
  sections.push({
    header: ['GROUP', 'TYPE', 'STATE', 'MEMBERS', 'LAG', 'LAG-TREND'],
    right: [false, false, false, true, true, true],
    rows: view.groups.map((g) => [g.groupId, g.type, g.state, String(g.members), g.lag === null ? '-' : String(g.lag), formatTrend(g.lagPerSec)]),
  });
  if (m) {
    sections.push({
      header: ['API', 'REQ/S', 'P50-MS', 'P99-MS'],
      right: [false, true, true, true],
      rows: m.apis.map((a) => [a.request, formatRate(a.perSec), formatMs(a.p50Ms), formatMs(a.p99Ms)]),
    });
  }
  sections.push({
    header: ['BROKER', 'HOST:PORT', 'RACK', 'LEADERS', 'REPLICAS', 'CONTROLLER'],
    right: [true, false, false, true, true, false],
    rows: view.brokers.map((b) => [String(b.nodeId), `${b.host}:${b.port}`, b.rack ?? '-', String(b.leaders), String(b.replicas), b.isController ? 'yes' : '']),
  });
  if (view.problems.length > 0) {
    sections.push({
      header: ['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'STATUS'],
      right: [false, true, true, false, false, false],
      rows: view.problems.map((p) => [p.topic, String(p.partition), String(p.leader), p.replicas.join(','), p.isr.join(',') || '-', p.status]),
    });
  }
  const shown = sections.filter((s) => s.rows.length > 0 || s === sections[0]);
  if (options.height !== undefined) {
    // Each section takes a blank line and its header; the footer one line.
    const fixed = head.length + shown.length * 2 + (options.footer ? 1 : 0);
    shareRows(shown, options.height - fixed);
  }
  const lines = [...head];
  for (const s of shown) {
    // --limit counts rows; the terminal's share also holds the "… N more" line.
    let n = Math.min(s.rows.length, options.limit ?? s.rows.length);
    if (s.budget !== undefined && n > s.budget) n = s.budget;
    if (s.budget !== undefined && n < s.rows.length && n + 1 > s.budget) n = Math.max(s.budget - 1, 0);
    lines.push('', ...columns(s.header, s.rows.slice(0, n), s.right));
    if (n < s.rows.length) lines.push(`… ${s.rows.length - n} more`);
  }
  if (options.footer) lines.push(options.footer);
  const fitted = options.height !== undefined ? lines.slice(0, Math.max(options.height, 1)) : lines;
  return options.width !== undefined ? fitted.map((l) => (l.length > options.width! ? l.slice(0, options.width) : l)) : fitted;
}
