/**
 * What the request path reports to the broker's metrics, without knowing Prometheus: plain number fields in
 * objects the metrics layer owns and reads when scraped (metrics/broker-metrics.ts implements BrokerMetricsHooks),
 * and one call per finished request. `BrokerContext.metrics` is absent while metrics are off (no metrics.port),
 * so the request path then pays a null check and nothing else.
 */

/** Kafka's BrokerTopicMetrics for one topic (counts since start). */
export interface TopicStats {
  /** Records appended by producers (as Kafka, a retried idempotent batch counts again). */
  messagesIn: number;
  /** Record batch bytes appended by producers. */
  bytesIn: number;
  /** Record bytes returned to consumers (not to followers). */
  bytesOut: number;
  /** Partitions of Produce / Fetch requests for this topic, and those answered with an error. */
  totalProduce: number;
  failedProduce: number;
  totalFetch: number;
  failedFetch: number;
}

/** Kafka's socket-server-metrics of one listener. */
export interface ListenerStats {
  /** Open connections. */
  connections: number;
  created: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

/** One API version's request metrics (Kafka's RequestMetrics). */
export interface ApiStats {
  /** A finished request's times, in milliseconds (docs/ARCHITECTURE.md, "Metrics", says where each is taken). */
  record(totalMs: number, queueMs: number, localMs: number, remoteMs: number, sendMs: number, throttleMs: number): void;
  /** Counts the error codes a response carries (top level and per topic/partition; NONE is not counted). */
  countErrors(response: unknown): void;
}

export type QuotaType = 'produce' | 'fetch' | 'request';

export interface BrokerMetricsHooks {
  topic(name: string): TopicStats;
  listener(name: string): ListenerStats;
  api(apiKey: number, apiVersion: number, name: string): ApiStats;
  /** A client quota delayed a response by `ms` (one call per quota type that was exceeded). */
  throttled(quotaType: QuotaType, ms: number): void;
}
