/**
 * Reads a Prometheus text endpoint (the broker's /metrics) for the console's live charts: counter totals summed
 * over their labels, per-topic bytes in, and the request-latency histograms of Produce and Fetch, from which the
 * tick derives rates and p99s by differencing two scrapes.
 */

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

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const m of s.matchAll(LABEL)) out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

export function parseScrape(text: string, time: number): Scrape {
  const s: Scrape = { time, bytesIn: 0, bytesOut: 0, messagesIn: 0, requests: 0, bytesInByTopic: new Map(), produceBuckets: new Map(), fetchBuckets: new Map() };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const value = Number(m[3]);
    if (!Number.isFinite(value) && name !== 'kafka_network_requestmetrics_totaltimems_bucket') continue;
    switch (name) {
      case 'kafka_server_brokertopicmetrics_bytesin_total': {
        s.bytesIn += value;
        const topic = labels(m[2]).topic;
        if (topic !== undefined) s.bytesInByTopic.set(topic, (s.bytesInByTopic.get(topic) ?? 0) + value);
        break;
      }
      case 'kafka_server_brokertopicmetrics_bytesout_total': s.bytesOut += value; break;
      case 'kafka_server_brokertopicmetrics_messagesin_total': s.messagesIn += value; break;
      case 'kafka_network_requestmetrics_requests_total': s.requests += value; break;
      case 'kafka_network_requestmetrics_totaltimems_bucket': {
        const l = labels(m[2]);
        const target = l.request === 'Produce' ? s.produceBuckets : l.request === 'Fetch' ? s.fetchBuckets : null;
        if (!target || l.le === undefined) break;
        const le = l.le === '+Inf' ? Infinity : Number(l.le);
        target.set(le, (target.get(le) ?? 0) + (Number.isFinite(value) ? value : 0));
        break;
      }
    }
  }
  return s;
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
