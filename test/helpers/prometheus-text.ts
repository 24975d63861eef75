/**
 * A small parser of the Prometheus text exposition (0.0.4) and OpenMetrics for tests: samples with their labels,
 * and the TYPE of each family. Enough for what tests assert; not a full implementation of either format.
 */
import { parsePrometheusText, type Sample } from '../../src/util/prometheus-text.js';
export type PromSample = Sample;

export interface Exposition {
  samples: PromSample[];
  /** Family name → counter | gauge | histogram | … */
  types: Map<string, string>;
}

/**
 * The samples as src/util/prometheus-text.ts reads them (what `top` and the console see), plus the TYPE lines; unlike
 * that reader, which skips a line it cannot read, a test fails on one.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const sampleLines: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    else if (!line.startsWith('#')) sampleLines.push(line);
  }
  const samples = parsePrometheusText(text);
  if (samples.length !== sampleLines.length) {
    const read = new Set(sampleLines.filter((l) => parsePrometheusText(l).length === 1));
    throw new Error(`not a sample line: ${sampleLines.find((l) => !read.has(l))}`);
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
