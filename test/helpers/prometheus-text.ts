/**
 * A small parser of the Prometheus text exposition (0.0.4) and OpenMetrics for tests: samples with their labels,
 * and the TYPE of each family. Enough for what tests assert; not a full implementation of either format.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: PromSample[];
  /** Family name → counter | gauge | histogram | … */
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const raw = m[3]!;
    // prom-client writes NaN as "Nan" (Prometheus reads any case).
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : /^nan$/i.test(raw) ? NaN : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value in: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

/** The samples named `name` whose labels include every one of `labels`. */
export function find(exp: Exposition, name: string, labels: Record<string, string> = {}): PromSample[] {
  return exp.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the matching samples' values (0 when none match). */
export function sum(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  return find(exp, name, labels).reduce((a, s) => a + s.value, 0);
}

/** Fetches and parses an endpoint. */
export async function scrape(url: string, accept?: string): Promise<Exposition & { contentType: string; text: string }> {
  const res = await fetch(url, accept ? { headers: { accept } } : undefined);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await res.text();
  return { ...parseExposition(text), contentType: res.headers.get('content-type') ?? '', text };
}
