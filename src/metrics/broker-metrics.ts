/**
 * One broker's Prometheus metrics: a prom-client Registry of its own (never the global one: several brokers may
 * share a process), created by startBroker only when metrics.port is set.
 *
 * The request path does not call prom-client. It increments plain number fields of the objects handed out here
 * (TopicStats, ListenerStats: server/metrics-hooks.ts) and records each finished request into an ApiSeries
 * (array-indexed histogram buckets, no label hashing); the metrics below read them when scraped. Names and labels
 * are those of Kafka's JMX exporter configuration (kafka_server_brokertopicmetrics_…, kafka_network_requestmetrics_…),
 * times in milliseconds. The broker's state at scrape time (logs, replicas, groups, lag) is state-metrics.ts's.
 */
import { Registry, collectDefaultMetrics, type Metric, type RegistryContentType } from 'prom-client';
import { errorCodeName } from '../protocol/generated/error-codes.js';
import type { BrokerContext } from '../server/broker-context.js';
import type { ApiStats, BrokerMetricsHooks, ListenerStats, QuotaType, TopicStats } from '../server/metrics-hooks.js';
import { registerStateMetrics } from './state-metrics.js';
import { packageVersion } from '../util/package-version.js';

/** Request time buckets (ms): from a produce answered from the page cache to a long poll or a slow fsync. */
export const REQUEST_TIME_BUCKETS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
/** Log flush (fdatasync) buckets (ms). */
export const FLUSH_TIME_BUCKETS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** One sample as prom-client's registry formats it. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Bucket counts kept in an array (the bucket found by a scan of ~18 bounds), exported as a Prometheus histogram. */
export class HistogramData {
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
  }

  samples(name: string, labels: Record<string, string | number>, out: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}

/** The request times Kafka's RequestMetrics has, in the order ApiStats.record takes them. */
const TIME_METRICS = ['totaltimems', 'requestqueuetimems', 'localtimems', 'remotetimems', 'responsesendtimems', 'throttletimems'] as const;

class ApiSeries implements ApiStats {
  requests = 0;
  readonly times = TIME_METRICS.map(() => new HistogramData(REQUEST_TIME_BUCKETS_MS));
  /** Error code → how many times responses carried it. */
  readonly errors = new Map<number, number>();

  constructor(readonly request: string, readonly version: number) {}

  record(totalMs: number, queueMs: number, localMs: number, remoteMs: number, sendMs: number, throttleMs: number): void {
    this.requests++;
    const t = this.times;
    t[0]!.observe(totalMs);
    t[1]!.observe(queueMs);
    t[2]!.observe(localMs);
    t[3]!.observe(remoteMs);
    t[4]!.observe(sendMs);
    t[5]!.observe(throttleMs);
  }

  countErrors(response: unknown): void {
    if (typeof response === 'object' && response !== null) countErrorCodes(response, this.errors);
  }
}

/**
 * Counts every non-zero error code of a decoded response, as Kafka's per-API errorCounts do (top level, per topic,
 * per partition): fields named errorCode or …ErrorCode, at any depth. Record bytes (Buffers) are not entered.
 */
export function countErrorCodes(value: object, into: Map<number, number>): void {
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null) countErrorCodes(v as object, into);
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (typeof v === 'number') {
      if (v !== 0 && (key === 'errorCode' || key.endsWith('ErrorCode'))) into.set(v, (into.get(v) ?? 0) + 1);
    } else if (typeof v === 'object' && v !== null) {
      countErrorCodes(v, into);
    }
  }
}

function newTopicStats(): TopicStats {
  return { messagesIn: 0, bytesIn: 0, bytesOut: 0, totalProduce: 0, failedProduce: 0, totalFetch: 0, failedFetch: 0 };
}

/** A metric whose samples are computed when scraped, registered in prom-client's Registry like its own metrics. */
class ScrapedMetric {
  readonly aggregator = 'sum';

  constructor(
    /** Mutable: prom-client's registry drops a counter's _total while writing OpenMetrics (BrokerMetrics puts it back). */
    public name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly sample: () => Sample[],
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.sample(), aggregator: this.aggregator };
  }

  reset(): void {}
}

export interface BrokerMetricsOptions {
  nodeId: number;
  clusterId: string;
}

export interface Exposition {
  contentType: string;
  body: string;
}

const TOPIC_COUNTERS: ReadonlyArray<[keyof TopicStats, string, string]> = [
  ['messagesIn', 'messagesin', 'Records appended by producers'],
  ['bytesIn', 'bytesin', 'Record batch bytes appended by producers'],
  ['bytesOut', 'bytesout', 'Record bytes sent to consumers'],
  ['failedProduce', 'failedproducerequests', 'Produce request partitions answered with an error'],
  ['failedFetch', 'failedfetchrequests', 'Fetch request partitions answered with an error'],
  ['totalProduce', 'totalproducerequests', 'Produce request partitions'],
  ['totalFetch', 'totalfetchrequests', 'Fetch request partitions'],
];

const LISTENER_COUNTERS: ReadonlyArray<[keyof ListenerStats, string, string]> = [
  ['created', 'connection_creation_total', 'Connections accepted'],
  ['closed', 'connection_close_total', 'Connections closed'],
  ['bytesIn', 'incoming_byte_total', 'Bytes received'],
  ['bytesOut', 'outgoing_byte_total', 'Bytes sent'],
];

const QUOTA_TYPES: readonly QuotaType[] = ['produce', 'fetch', 'request'];

export class BrokerMetrics implements BrokerMetricsHooks {
  readonly registry = new Registry();
  private readonly topics = new Map<string, TopicStats>();
  private readonly listeners = new Map<string, ListenerStats>();
  /** By apiKey << 8 | version. */
  private readonly apis = new Map<number, ApiSeries>();
  private readonly throttleMs = new Map<QuotaType, number>(QUOTA_TYPES.map((q) => [q, 0]));
  private readonly throttledRequests = new Map<QuotaType, number>(QUOTA_TYPES.map((q) => [q, 0]));
  readonly logFlush = new HistogramData(FLUSH_TIME_BUCKETS_MS);
  /** For storage (LogManager's onFlush): one log flush's duration in ms. */
  readonly onLogFlush = (ms: number): void => this.logFlush.observe(ms);
  private ctx: BrokerContext | undefined;
  /** Scrapes run one at a time: the registry's content type (and counter names) are per scrape. */
  private scraping: Promise<unknown> = Promise.resolve();
  private readonly strippedCounters = new Set<{ name: string }>();

  constructor(private readonly opts: BrokerMetricsOptions) {
    collectDefaultMetrics({ register: this.registry });
    this.registerHotPathMetrics();
  }

  /** Once the broker's services exist: the metrics computed from its state when scraped. */
  attach(ctx: BrokerContext): void {
    this.ctx = ctx;
    registerStateMetrics(this.registry, ctx);
  }

  topic(name: string): TopicStats {
    let s = this.topics.get(name);
    if (!s) this.topics.set(name, (s = newTopicStats()));
    return s;
  }

  listener(name: string): ListenerStats {
    let s = this.listeners.get(name);
    if (!s) this.listeners.set(name, (s = { connections: 0, created: 0, closed: 0, bytesIn: 0, bytesOut: 0 }));
    return s;
  }

  api(apiKey: number, apiVersion: number, name: string): ApiStats {
    const key = (apiKey << 8) | apiVersion;
    let s = this.apis.get(key);
    if (!s) this.apis.set(key, (s = new ApiSeries(name, apiVersion)));
    return s;
  }

  throttled(quotaType: QuotaType, ms: number): void {
    this.throttleMs.set(quotaType, this.throttleMs.get(quotaType)! + ms);
    this.throttledRequests.set(quotaType, this.throttledRequests.get(quotaType)! + 1);
  }

  /** The exposition: Prometheus text 0.0.4, or OpenMetrics 1.0 when asked. */
  scrape(openMetrics: boolean): Promise<Exposition> {
    const run = async (): Promise<Exposition> => {
      // One registry serves both formats (the type parameter only fixes one at compile time).
      const reg = this.registry as unknown as Registry<RegistryContentType>;
      reg.setContentType(openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
      // prom-client writes OpenMetrics by renaming counters (foo_total → foo, samples foo_total); text 0.0.4 needs
      // the names back.
      for (const m of reg.getMetricsAsArray() as unknown as Array<{ name: string; type: string }>) {
        if (m.type !== 'counter') continue;
        if (openMetrics && m.name.endsWith('_total')) this.strippedCounters.add(m);
        else if (!openMetrics && this.strippedCounters.has(m) && !m.name.endsWith('_total')) m.name += '_total';
      }
      return { contentType: reg.contentType, body: await reg.metrics() };
    };
    const p = this.scraping.then(run, run);
    this.scraping = p.catch(() => undefined);
    return p;
  }

  private register(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', sample: () => Sample[]): void {
    this.registry.registerMetric(new ScrapedMetric(name, help, type, sample) as unknown as Metric);
  }

  private registerHotPathMetrics(): void {
    for (const [field, metric, help] of TOPIC_COUNTERS) {
      this.register(`kafka_server_brokertopicmetrics_${metric}_total`, `${help}, per topic`, 'counter', () => {
        this.dropDeletedTopics();
        const out: Sample[] = [];
        for (const [topic, s] of this.topics) out.push({ labels: { topic }, value: s[field] });
        return out;
      });
    }

    this.register('kafka_network_requestmetrics_requests_total', 'Requests answered, per API and version', 'counter', () =>
      this.sortedApis().map((a) => ({ labels: { request: a.request, version: a.version }, value: a.requests })));
    this.register('kafka_network_requestmetrics_errors_total', 'Error codes in responses (top level and per partition; NONE not counted), per API', 'counter', () => {
      const byRequest = new Map<string, Map<number, number>>();
      for (const a of this.sortedApis()) {
        let m = byRequest.get(a.request);
        if (!m) byRequest.set(a.request, (m = new Map()));
        for (const [code, n] of a.errors) m.set(code, (m.get(code) ?? 0) + n);
      }
      const out: Sample[] = [];
      for (const [request, m] of byRequest) {
        for (const [code, n] of m) out.push({ labels: { request, error: errorCodeName(code) ?? `UNKNOWN_${code}` }, value: n });
      }
      return out;
    });
    const timeHelp: Record<(typeof TIME_METRICS)[number], string> = {
      totaltimems: 'Request time from arrival to the response written to the socket (ms)',
      requestqueuetimems: 'Time a request waited before its handler started: decoding, and requests ahead of it on its connection (ms)',
      localtimems: 'Time in the handler\'s synchronous work and encoding the response (ms)',
      remotetimems: 'Time the handler waited: fsync or replication for acks=all, fetch long polls, coordinator appends (ms)',
      responsesendtimems: 'Time from the response being ready to the socket taking it, including responses ahead of it (ms)',
      throttletimems: 'Throttle time given to the response by client quotas (ms)',
    };
    TIME_METRICS.forEach((metric, i) => {
      const name = `kafka_network_requestmetrics_${metric}`;
      this.register(name, timeHelp[metric], 'histogram', () => {
        const out: Sample[] = [];
        for (const a of this.sortedApis()) a.times[i]!.samples(name, { request: a.request, version: a.version }, out);
        return out;
      });
    });

    this.register('kafka_server_socket_server_metrics_connection_count', 'Open connections, per listener', 'gauge', () =>
      [...this.listeners].map(([listener, s]) => ({ labels: { listener }, value: s.connections })));
    for (const [field, metric, help] of LISTENER_COUNTERS) {
      this.register(`kafka_server_socket_server_metrics_${metric}`, `${help}, per listener`, 'counter', () =>
        [...this.listeners].map(([listener, s]) => ({ labels: { listener }, value: s[field] })));
    }

    this.register('kafka_log_logflushstats_logflushtimems', 'Log flush (fdatasync of a partition\'s segment, indexes and directory) time (ms)', 'histogram', () => {
      const out: Sample[] = [];
      this.logFlush.samples('kafka_log_logflushstats_logflushtimems', {}, out);
      return out;
    });

    this.register('kafka_server_clientquota_throttle_time_ms_total', 'Throttle time given by client quotas (ms), per quota type', 'counter', () =>
      QUOTA_TYPES.map((q) => ({ labels: { quota_type: q }, value: this.throttleMs.get(q)! })));
    this.register('kafka_server_clientquota_throttled_requests_total', 'Responses throttled by client quotas, per quota type', 'counter', () =>
      QUOTA_TYPES.map((q) => ({ labels: { quota_type: q }, value: this.throttledRequests.get(q)! })));

    const version = packageVersion();
    this.register('tributary_build_info', 'Tributary version, node id and cluster id (always 1)', 'gauge', () =>
      [{ labels: { version, node_id: this.opts.nodeId, cluster_id: this.opts.clusterId }, value: 1 }]);
  }

  private sortedApis(): ApiSeries[] {
    return [...this.apis.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  }

  /** As Kafka removes a deleted topic's metrics: label values stay those of existing topics. */
  private dropDeletedTopics(): void {
    const topics = this.ctx?.topics;
    if (!topics) return;
    for (const name of this.topics.keys()) if (!topics.get(name)) this.topics.delete(name);
  }
}

