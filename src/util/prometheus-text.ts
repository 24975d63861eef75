/**
 * A small reader of the Prometheus text exposition format (0.0.4; OpenMetrics' text is close enough for what is
 * read here): samples with their labels, and what `tributary top` computes from two scrapes — sums of counters by
 * a label, and quantiles of a histogram's `_bucket` deltas, as PromQL's histogram_quantile does. Comments (# HELP,
 * # TYPE, # EOF) are skipped, a sample's timestamp and OpenMetrics exemplars are ignored; a line that cannot be read
 * is skipped rather than failing the scrape (one odd line must not blank a live view).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parses one sample value: a float, or Inf / Infinity / NaN in any case with an optional sign (Go's ParseFloat spellings). */
function parseValue(text: string): number | undefined {
  switch (text.toLowerCase()) {
    case '+inf': case 'inf': case '+infinity': case 'infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
    case 'nan': return NaN;
  }
  if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** One line's sample, or undefined for a comment, a blank or an unreadable line. */
function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let i = name.length;
  let j = i;
  while (line[j] === ' ' || line[j] === '\t') j++;
  if (line[j] === '{') i = j;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const label = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!label) return undefined;
      i += label.length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e ?? '';
        } else {
          value += c;
        }
      }
      labels[label] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  if (value === undefined) return undefined;
  return { name, labels, value };
}

/** Every sample of an exposition, in order. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = parseLine(line);
    if (s) out.push(s);
  }
  return out;
}

/** The samples of one scrape, looked up by name. */
export class MetricSet {
  private readonly byName = new Map<string, Sample[]>();

  constructor(samples: Sample[]) {
    for (const s of samples) {
      let list = this.byName.get(s.name);
      if (!list) this.byName.set(s.name, (list = []));
      list.push(s);
    }
  }

  static parse(text: string): MetricSet {
    return new MetricSet(parsePrometheusText(text));
  }

  /** Merges scrapes of several endpoints (several brokers) into one set: their samples side by side. */
  static merge(sets: MetricSet[]): MetricSet {
    return new MetricSet(sets.flatMap((s) => [...s.byName.values()].flat()));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  samples(name: string): Sample[] {
    return this.byName.get(name) ?? [];
  }

  /** The sum of every sample of `name` (undefined when there is none), as PromQL's sum(). */
  sum(name: string): number | undefined {
    const list = this.byName.get(name);
    if (!list) return undefined;
    return list.reduce((a, s) => a + s.value, 0);
  }

  /** The largest sample of `name` (undefined when there is none), as PromQL's max(). */
  max(name: string): number | undefined {
    const list = this.byName.get(name);
    if (!list || list.length === 0) return undefined;
    return Math.max(...list.map((s) => s.value));
  }

  /** sum by (label) (name): one total per value of the label. */
  sumBy(name: string, label: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.samples(name)) {
      const key = s.labels[label] ?? '';
      out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
  }

  /**
   * A histogram's cumulative buckets summed by (label, le): for each value of `label`, the buckets' upper bounds
   * (sorted) with their counts. `name` is the histogram's base name (without `_bucket`).
   */
  bucketsBy(name: string, label: string): Map<string, Bucket[]> {
    const acc = new Map<string, Map<number, number>>();
    for (const s of this.samples(`${name}_bucket`)) {
      const le = parseValue(s.labels['le'] ?? '');
      if (le === undefined || Number.isNaN(le)) continue;
      const key = s.labels[label] ?? '';
      let m = acc.get(key);
      if (!m) acc.set(key, (m = new Map()));
      m.set(le, (m.get(le) ?? 0) + s.value);
    }
    const out = new Map<string, Bucket[]>();
    for (const [key, m] of acc) out.set(key, [...m].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le));
    return out;
  }
}

/** One cumulative histogram bucket: how many observations were ≤ le. */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * Bucket counts of `now` minus those of `before` (the observations between two scrapes), by upper bound. A bound
 * missing from `before` counts from 0; a counter that went down (the broker restarted) yields `now` as it is,
 * as PromQL's increase() treats a reset.
 */
export function bucketDelta(now: Bucket[], before: Bucket[] | undefined): Bucket[] {
  if (!before) return now;
  const prev = new Map(before.map((b) => [b.le, b.count]));
  const reset = now.some((b) => b.count < (prev.get(b.le) ?? 0));
  return now.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (prev.get(b.le) ?? 0) }));
}

/**
 * The φ-quantile (0 ≤ φ ≤ 1) of cumulative buckets, as PromQL's histogram_quantile: linear interpolation inside
 * the bucket holding the rank, the lowest bucket starting at 0 (for a positive bound); a rank in the +Inf bucket
 * answers the highest finite bound. Undefined when there are no observations or no +Inf bucket.
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number | undefined {
  if (buckets.length < 2 || buckets[buckets.length - 1]!.le !== Infinity) return undefined;
  const total = buckets[buckets.length - 1]!.count;
  if (!(total > 0)) return undefined;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * total;
  // Counts are cumulative; the first bucket whose count reaches the rank holds it.
  let b = buckets.findIndex((x) => x.count >= rank);
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let start = 0;
  let countBefore = 0;
  if (b > 0) {
    start = buckets[b - 1]!.le;
    countBefore = buckets[b - 1]!.count;
  } else {
    b = 0;
  }
  const end = buckets[b]!.le;
  const inBucket = buckets[b]!.count - countBefore;
  if (inBucket <= 0) return end;
  return start + (end - start) * ((rank - countBefore) / inBucket);
}
