/**
 * Live data for the console: while at least one browser listens on /api/events, a tick every second samples
 * the cluster over the protocol (end offsets → messages per second per topic; committed offsets → each group's
 * lag; the broker count) and, given a metrics URL, the broker's Prometheus endpoint (bytes and requests per
 * second, Produce/Fetch p99). Ticks are kept for ten minutes, sent as `history` to each new listener, and the
 * per-partition lags back /api/groups/:id/lag-history. Nobody listening: no sampling at all.
 */
import type { ServerResponse } from 'node:http';
import { mapLimit, tpKey, type ConsoleKafka, type TP } from './kafka.js';
import { p99Between, scrape, type Scrape } from './metrics-scrape.js';

export interface Tick {
  time: number;
  topics: Array<{ name: string; messagesPerSec: number; bytesInPerSec?: number }>;
  groups: Array<{ groupId: string; lag: number }>;
  brokers: number;
  metrics?: { bytesInPerSec: number; bytesOutPerSec: number; messagesInPerSec: number; requestsPerSec: number; produceP99Ms: number; fetchP99Ms: number };
}

export interface EventHubOptions {
  intervalMs?: number;
  historyMs?: number;
  metricsUrl?: string;
}

/** Topic and group lists are re-read this often (not every tick). */
const LIST_REFRESH_MS = 10_000;
/** Groups whose lag a tick computes (one OffsetFetch each). */
const MAX_GROUPS_PER_TICK = 50;
/** A listener this far behind (bytes buffered) skips ticks until it catches up. */
const MAX_BUFFERED = 1024 * 1024;

const round = (n: number): number => Math.round(n * 100) / 100;

export class EventHub {
  private readonly intervalMs: number;
  private readonly historyMs: number;
  private readonly listeners = new Set<ServerResponse>();
  private readonly history: Tick[] = [];
  private readonly lags: Array<{ time: number; groups: Map<string, Array<TP & { lag: number }>> }> = [];
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private partitions: { at: number; tps: TP[]; topics: string[]; brokers: number } | null = null;
  private groups: { at: number; ids: string[] } | null = null;
  private prev: { time: number; ends: Map<string, number> } | null = null;
  private prevScrape: Scrape | null = null;

  constructor(private readonly kafka: ConsoleKafka, private readonly options: EventHubOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.historyMs = options.historyMs ?? 600_000;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Starts the stream on `res`: `history` first, then a `tick` per interval until the client goes. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(`event: history\ndata: ${JSON.stringify(this.history)}\n\n`);
    this.listeners.add(res);
    res.on('close', () => this.unsubscribe(res));
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      void this.tick();
    }
  }

  private unsubscribe(res: ServerResponse): void {
    this.listeners.delete(res);
    if (this.listeners.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** What the server kept of one group's per-partition lag (the last ten minutes of ticks). */
  lagHistory(groupId: string): Array<{ time: number; lag: Array<TP & { lag: number }> }> {
    return this.lags.filter((l) => l.groups.has(groupId)).map((l) => ({ time: l.time, lag: l.groups.get(groupId)! }));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const res of this.listeners) res.end();
    this.listeners.clear();
  }

  /** One sample, sent to every listener; skipped while the previous one is still running. */
  async tick(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      const t = await this.sample();
      if (this.closed) return;
      this.history.push(t);
      const cutoff = t.time - this.historyMs;
      while (this.history.length > 0 && this.history[0]!.time < cutoff) this.history.shift();
      while (this.lags.length > 0 && this.lags[0]!.time < cutoff) this.lags.shift();
      const line = `event: tick\ndata: ${JSON.stringify(t)}\n\n`;
      for (const res of this.listeners) if (res.writableLength < MAX_BUFFERED) res.write(line);
    } catch {
      // The cluster unreachable for a moment: no tick this second.
    } finally {
      this.running = false;
    }
  }

  private async sample(): Promise<Tick> {
    const now = Date.now();
    const { admin } = this.kafka;
    if (!this.partitions || now - this.partitions.at > LIST_REFRESH_MS) {
      const [topics, cluster] = await Promise.all([this.kafka.topics(false), admin.describeCluster()]);
      this.partitions = {
        at: now, topics: topics.map((t) => t.name), brokers: cluster.brokers.length,
        tps: topics.flatMap((t) => t.partitions.filter((p) => p.leader >= 0).map((p) => ({ topic: t.name, partition: p.partition }))),
      };
    }
    if (!this.groups || now - this.groups.at > LIST_REFRESH_MS) {
      this.groups = { at: now, ids: (await admin.listGroups()).map((g) => g.groupId).slice(0, MAX_GROUPS_PER_TICK) };
    }
    const [ends, committed, metrics] = await Promise.all([
      this.kafka.endOffsets(this.partitions.tps),
      mapLimit(this.groups.ids, 8, (id) => admin.listGroupOffsets(id).catch(() => [])),
      this.options.metricsUrl ? scrape(this.options.metricsUrl) : Promise.resolve(null),
    ]);
    const time = Date.now();
    // Rates over the time since the previous sample; none after a gap (nobody was listening).
    const prev = this.prev && time - this.prev.time <= 3 * this.intervalMs ? this.prev : null;
    const secs = prev ? (time - prev.time) / 1000 : 0;
    const sums = new Map<string, { now: number; before: number }>();
    for (const tp of this.partitions.tps) {
      const s = sums.get(tp.topic) ?? { now: 0, before: 0 };
      const end = ends.get(tpKey(tp)) ?? 0;
      s.now += end;
      s.before += prev?.ends.get(tpKey(tp)) ?? end;
      sums.set(tp.topic, s);
    }
    this.prev = { time, ends };
    const prevScrape = this.prevScrape && metrics && metrics.time - this.prevScrape.time <= 3 * this.intervalMs ? this.prevScrape : null;
    this.prevScrape = metrics;
    const perSec = (cur: number, before: number | undefined): number =>
      prevScrape && metrics ? round(Math.max(0, cur - (before ?? cur)) / Math.max(0.001, (metrics.time - prevScrape.time) / 1000)) : 0;
    const topics = this.partitions.topics.map((name) => {
      const s = sums.get(name);
      const row: Tick['topics'][number] = { name, messagesPerSec: s && secs > 0 ? round(Math.max(0, s.now - s.before) / secs) : 0 };
      if (metrics) row.bytesInPerSec = perSec(metrics.bytesInByTopic.get(name) ?? 0, prevScrape?.bytesInByTopic.get(name));
      return row;
    });
    // Lags of the sampled groups; ends of partitions outside the topic list (internal topics) are looked up.
    const missing = committed.flat().filter((c) => c.offset >= 0 && !ends.has(tpKey(c)));
    const moreEnds = missing.length > 0 ? await this.kafka.endOffsets(missing).catch(() => new Map<string, number>()) : new Map<string, number>();
    const lagsNow = new Map<string, Array<TP & { lag: number }>>();
    const groups = this.groups.ids.map((groupId, i) => {
      const parts = committed[i]!.filter((c) => c.offset >= 0).map((c) => {
        const end = ends.get(tpKey(c)) ?? moreEnds.get(tpKey(c)) ?? c.offset;
        return { topic: c.topic, partition: c.partition, lag: Math.max(0, end - c.offset) };
      });
      lagsNow.set(groupId, parts);
      return { groupId, lag: parts.reduce((s, p) => s + p.lag, 0) };
    });
    this.lags.push({ time, groups: lagsNow });
    const tick: Tick = { time, topics, groups, brokers: this.partitions.brokers };
    if (metrics) {
      tick.metrics = {
        bytesInPerSec: perSec(metrics.bytesIn, prevScrape?.bytesIn),
        bytesOutPerSec: perSec(metrics.bytesOut, prevScrape?.bytesOut),
        messagesInPerSec: perSec(metrics.messagesIn, prevScrape?.messagesIn),
        requestsPerSec: perSec(metrics.requests, prevScrape?.requests),
        produceP99Ms: p99Between(prevScrape?.produceBuckets, metrics.produceBuckets),
        fetchP99Ms: p99Between(prevScrape?.fetchBuckets, metrics.fetchBuckets),
      };
    }
    return tick;
  }
}
