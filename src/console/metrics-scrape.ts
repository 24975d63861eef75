/**
 * Reads a Prometheus text endpoint (the broker's /metrics) for the console's live charts: counter totals summed
 * over their labels, per-topic bytes in, and the request-latency histograms of Produce and Fetch, from which the
 * tick derives rates and p99s by differencing two scrapes. The text is read by util/prometheus-text.ts (as `top` reads it).
 */
import { MetricSet, type Bucket } from '../util/prometheus-text.js';

export interface Scrape {
  time: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  requests: number;
  bytesInByTopic: Map<string, number>;
  /** Cumulative bucket counts by upper bound (ms), summed over versions. */
  produceBuckets: Map<number, number>;
  fetchBuckets: Map<number, number>;
}

const REQUEST_TIME = 'kafka_network_requestmetrics_totaltimems';

/** A histogram's cumulative buckets as upper bound (ms) → count. */
function bucketMap(buckets: Bucket[] | undefined): Map<number, number> {
  return new Map((buckets ?? []).map((b) => [b.le, b.count]));
}

export function parseScrape(text: string, time: number): Scrape {
  const m = MetricSet.parse(text);
  const byRequest = m.bucketsBy(REQUEST_TIME, 'request');
  return {
    time,
    bytesIn: m.sum('kafka_server_brokertopicmetrics_bytesin_total') ?? 0,
    bytesOut: m.sum('kafka_server_brokertopicmetrics_bytesout_total') ?? 0,
    messagesIn: m.sum('kafka_server_brokertopicmetrics_messagesin_total') ?? 0,
    requests: m.sum('kafka_network_requestmetrics_requests_total') ?? 0,
    bytesInByTopic: m.sumBy('kafka_server_brokertopicmetrics_bytesin_total', 'topic'),
    produceBuckets: bucketMap(byRequest.get('Produce')),
    fetchBuckets: bucketMap(byRequest.get('Fetch')),
  };
}

/** The 99th percentile (a bucket's upper bound, ms) of the observations between two cumulative histograms; 0 when none. */
export function p99Between(prev: Map<number, number> | undefined, cur: Map<number, number>): number {
  const bounds = [...cur.keys()].sort((a, b) => a - b);
  const delta = bounds.map((b) => Math.max(0, (cur.get(b) ?? 0) - (prev?.get(b) ?? 0)));
  const total = delta[delta.length - 1] ?? 0;
  if (total <= 0) return 0;
  const want = total * 0.99;
  for (let i = 0; i < bounds.length; i++) {
    if (delta[i]! >= want) return Number.isFinite(bounds[i]!) ? bounds[i]! : (bounds[i - 1] ?? 0);
  }
  return 0;
}

/** GET the endpoint's text; null on any failure (the tick then has no `metrics`). */
export async function scrape(url: string, timeoutMs = 800): Promise<Scrape | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'text/plain' } });
    if (!res.ok) return null;
    const text = await res.text();
    return parseScrape(text, Date.now());
  } catch {
    return null;
  }
}
