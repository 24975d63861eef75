/**
 * The experiment's data: generated deterministically (id, name, age, city, event_time) or read from a CSV
 * file, held in memory as JSON objects so every scenario and variant works on exactly the same rows.
 */
import { csvFileRecords } from '../connect/sources/csv.js';
import { dominantKind, type ValueKind } from '../connect/sinks/dialects.js';
import { TributaryError } from '../errors.js';
import { prng } from '../util/prng.js';

export type DataRow = Record<string, string | number | boolean | null>;

export interface Dataset {
  /** Where the rows came from: 'generated' or the CSV path. */
  source: string;
  columns: Array<{ name: string; kind: ValueKind }>;
  rows: DataRow[];
}

const NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Yuki'];
const CITIES = ['Tokyo', 'Osaka', 'Paris', 'Berlin', 'London', 'New York', 'Sydney', 'Toronto', 'Madrid', 'Seoul', 'Lima', 'Cairo'];

/** `rows` rows: id 1…n, a name, an age 18–95, a city, and event_time one second apart from 2024-01-01 UTC. */
export function generateRows(rows: number, seed = 42): Dataset {
  const random = prng(seed);
  const start = Date.UTC(2024, 0, 1);
  const out: DataRow[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    out[i] = {
      id: i + 1,
      name: `${NAMES[Math.floor(random() * NAMES.length)]} ${String.fromCharCode(65 + Math.floor(random() * 26))}.`,
      age: 18 + Math.floor(random() * 78),
      city: CITIES[Math.floor(random() * CITIES.length)],
      event_time: new Date(start + i * 1000).toISOString(),
    };
  }
  return {
    source: 'generated',
    columns: [
      { name: 'id', kind: 'integer' },
      { name: 'name', kind: 'text' },
      { name: 'age', kind: 'integer' },
      { name: 'city', kind: 'text' },
      { name: 'event_time', kind: 'text' },
    ],
    rows: out,
  };
}

/**
 * The first `limit` rows of a CSV file (header row; types inferred as `tributary connect` does). It must have
 * an `age` column (the analytics scenarios aggregate it); without an `id` column one is added (1…n).
 */
export async function readCsvRows(path: string, limit: number | undefined): Promise<Dataset> {
  const rows: DataRow[] = [];
  for await (const r of csvFileRecords(path, { delimiter: ',' })) {
    if (limit !== undefined && rows.length >= limit) break;
    rows.push(r.value as DataRow);
  }
  if (rows.length === 0) throw new TributaryError('ERR_EXPERIMENT_CSV', `${path} has no data rows`);
  const names = Object.keys(rows[0]);
  if (!names.includes('age')) throw new TributaryError('ERR_EXPERIMENT_CSV', `${path} has no "age" column (the columns are ${names.join(', ')}); the analytics scenarios aggregate it`);
  if (!names.includes('id')) {
    rows.forEach((r, i) => {
      r.id = i + 1;
    });
    names.unshift('id');
  }
  const sample = rows.slice(0, 1000);
  const columns = names.map((name) => ({ name, kind: dominantKind(sample.map((r) => r[name])) ?? ('text' as const) }));
  return { source: path, columns, rows: rows.map((r) => Object.fromEntries(names.map((n) => [n, r[n] ?? null]))) };
}
