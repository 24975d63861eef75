/**
 * Topic → database (`npm run bench -- --only pipeline-sink`): an in-process broker, a topic of 3 partitions prefilled
 * with N JSON rows shaped like the experiment's (src/experiment/data.ts: id, name, age, city, event_time), and per
 * database, per round, interleaved:
 *
 *   direct         the experiment's direct batched loader (ExperimentDb.insertBatch: 500 rows per multi-row INSERT
 *                  and per transaction) writing the same rows, held in memory, into a fresh table — the baseline;
 *   at-least-once  runSinkPipeline (`once`) draining the topic from the beginning (a fresh group) into a fresh table;
 *   exactly-once   the same with the offsets stored in the database's transactions.
 *
 * Rows/s (sinks: from the first batch handed to the sink until the last row is written — the group join before and
 * the idle wait after are not counted; the start-up is reported apart), CPU µs per row (whole run) of this
 * process (which also runs the broker serving the fetches; the database servers' CPU is not counted), and the
 * ratio to the direct loader's median. MariaDB and PostgreSQL are started as the compat tests start them
 * (test/compat/support) when installed.
 *
 * Memory (`--pipeline-sink-backlog N`): N rows prefilled into another topic, drained into SQLite while RSS and
 * heapUsed are sampled every 250 ms: start, peak, end, and the slope over the second half of the drain.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../src/index.js';
import { Admin } from '../src/client/admin.js';
import { Producer } from '../src/client/producer.js';
import type { ClientOptions } from '../src/client/cluster.js';
import { runSinkPipeline } from '../src/connect/sink-runtime.js';
import { createSink } from '../src/connect/sinks/index.js';
import type { PipelineConfig, SinkConnector, SinkRecord, TopicPartitionOffset } from '../src/connect/types.js';
import { generateRows, type DataRow, type Dataset } from '../src/experiment/data.js';
import { openDb, type DbKind, type DbSpec } from '../src/experiment/db.js';
import { median } from './support.js';

export type SinkBenchDb = 'sqlite' | 'mariadb' | 'postgres';

export interface PipelineSinkBenchOptions {
  workDir: string;
  rows: number;
  rounds: number;
  dbs: SinkBenchDb[];
  /** Rows of the memory check (0: skipped). */
  backlog: number;
}

export interface SinkCase {
  name: 'direct' | 'at-least-once' | 'exactly-once';
  rates: number[];
  cpuUsPerRow: number[];
  median: number;
  medianCpuUsPerRow: number;
  /** Sink cases: median ms from the start to the first batch (group join, first fetch), not in the rate. */
  medianStartupMs?: number;
  /** Median rate ÷ the direct loader's median rate. */
  ratio: number;
}

export interface MemoryResult {
  rows: number;
  seconds: number;
  rowsPerSec: number;
  rssMb: { start: number; peak: number; end: number; slopeMbPerMillionRows: number };
  heapMb: { start: number; peak: number; end: number; slopeMbPerMillionRows: number };
}

export interface PipelineSinkBenchResult {
  date: string;
  rows: number;
  rounds: number;
  databases: Array<{ db: SinkBenchDb; cases: SinkCase[] }>;
  memory: MemoryResult | null;
  notes: string[];
}

const QUIET = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
const TOPIC_PARTITIONS = 3;

/** Produces the rows as JSON values (key: the id) into `topic`, 4 batches of 5,000 in flight. */
export async function prefill(client: ClientOptions, topic: string, count: number, row: (i: number) => DataRow): Promise<void> {
  const admin = new Admin(client);
  await admin.connect();
  try {
    await admin.createTopics([{ name: topic, numPartitions: TOPIC_PARTITIONS, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  const producer = new Producer({ ...client, acks: 1, lingerMs: 5 });
  await producer.connect();
  try {
    const BATCH = 5000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const batch = [];
        for (let i = from; i < next; i++) {
          const r = row(i);
          batch.push({ topic, key: String(r.id), value: JSON.stringify(r) });
        }
        await producer.sendBatch(batch);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    await producer.close();
  }
}

/** Counts what the sink wrote and when the `target`-th row was written (the runtime's idle wait is not the sink's). */
class TimedSink implements SinkConnector {
  rows = 0;
  doneAt = 0;
  /** When the first batch reached the sink (group joined, first fetch in). */
  firstAt = 0;
  constructor(private readonly inner: SinkConnector, private readonly target: number, private readonly onDone: () => void) {}
  get name(): string {
    return this.inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  storedOffsets(pipeline: string, tps: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]> {
    return this.inner.storedOffsets(pipeline, tps);
  }
  prepare(records: SinkRecord[]): void {
    this.inner.prepare?.(records);
  }
  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]) {
    if (this.firstAt === 0) this.firstAt = performance.now();
    const failures = await this.inner.write(records, offsets);
    this.rows += records.length - failures.length;
    if (this.rows >= this.target && this.doneAt === 0) {
      this.doneAt = performance.now();
      this.onDone();
    }
    return failures;
  }
}

/** Drops a bench table (SQLite's statement API refuses DDL through query(), so better-sqlite3 directly). */
async function dropTable(spec: DbSpec, table: string): Promise<void> {
  if (spec.kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(spec.url);
    try {
      db.exec(`DROP TABLE IF EXISTS "${table}"`);
    } finally {
      db.close();
    }
    return;
  }
  const db = await openDb(spec);
  try {
    await db.query(`DROP TABLE IF EXISTS ${db.dialect.quote(table)}`);
  } finally {
    await db.close();
  }
}

interface Measured {
  rate: number;
  cpuUsPerRow: number;
  /** Sink cases: from the start to the first batch handed to the sink (group join, first fetch). */
  startupMs?: number;
}

let pipelines = 0;

/** runSinkPipeline from the beginning of `topic` into a fresh `table` until `rows` rows are in. */
async function drain(spec: DbSpec, dataset: Dataset, client: ClientOptions, topic: string, rows: number, guarantee: 'at-least-once' | 'exactly-once', sample?: () => void): Promise<Measured> {
  const name = `bench-sink-${++pipelines}`;
  const table = `sink_${pipelines}`;
  const db = await openDb(spec);
  try {
    await db.recreate(table, dataset.columns);
  } finally {
    await db.close();
  }
  const type = spec.kind;
  const config: PipelineConfig = {
    name,
    topic,
    group: `connect-${name}`,
    tasks: 1,
    sink: { type, url: spec.url, table, mode: 'insert', autoCreate: false, batchSize: 500, guarantee, deadLetterTopic: `${topic}-dlq` },
  };
  const controller = new AbortController();
  const sink = new TimedSink(await createSink(config.sink!, name), rows, () => controller.abort());
  const timer = sample ? setInterval(sample, 250) : undefined;
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const result = await runSinkPipeline(config, client, {
      signal: controller.signal, sink, stream: QUIET, log: () => undefined, progressIntervalMs: 1000,
      consumer: { fetchMaxWaitMs: 100 },
    });
    if (sink.rows < rows) throw new Error(`${guarantee} sink stopped (${result.stopped}) after ${sink.rows} of ${rows} rows`);
  } finally {
    if (timer) clearInterval(timer);
  }
  const used = process.cpuUsage(cpu);
  // From the first batch on, as the direct loader's clock starts at its first row: the start-up is reported apart.
  const seconds = (sink.doneAt - sink.firstAt) / 1000;
  const check = await openDb(spec);
  try {
    const n = await check.count(table);
    if (n !== rows) throw new Error(`${guarantee}: ${n} rows in ${table}, expected ${rows}`);
  } finally {
    await check.close();
  }
  await dropTable(spec, table);
  return { rate: rows / seconds, cpuUsPerRow: (used.user + used.system) / rows, startupMs: sink.firstAt - started };
}

/** The experiment's direct batched loader: insertBatch per 500 rows into a fresh table. */
async function direct(spec: DbSpec, dataset: Dataset): Promise<Measured> {
  const table = `direct_${++pipelines}`;
  const db = await openDb(spec);
  try {
    await db.recreate(table, dataset.columns);
    const columns = dataset.columns.map((c) => c.name);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < dataset.rows.length; i += 500) await db.insertBatch(table, columns, dataset.rows.slice(i, i + 500));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if ((await db.count(table)) !== dataset.rows.length) throw new Error('direct loader: row count differs');
    await dropTable(spec, table);
    return { rate: dataset.rows.length / seconds, cpuUsPerRow: (used.user + used.system) / dataset.rows.length };
  } finally {
    await db.close();
  }
}

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Drains a backlog of `rows` rows into SQLite while sampling memory. */
export async function memoryCheck(workDir: string, client: ClientOptions, rows: number, log: (m: string) => void = () => undefined): Promise<MemoryResult> {
  const topic = 'sink-backlog';
  const data = generateRows(Math.min(rows, 100_000));
  const n = data.rows.length;
  log(`prefilling ${rows.toLocaleString('en-US')} rows for the memory check`);
  await prefill(client, topic, rows, (i) => ({ ...data.rows[i % n], id: i + 1 }));
  global.gc?.();
  const samples: Array<{ t: number; rss: number; heap: number; rows: number }> = [];
  let sink: TimedSink | null = null;
  const take = (): void => {
    const m = process.memoryUsage();
    samples.push({ t: performance.now(), rss: m.rss, heap: m.heapUsed, rows: sink?.rows ?? 0 });
  };
  take();
  const spec: DbSpec = { kind: 'sqlite', url: join(workDir, 'backlog.db') };
  const started = performance.now();
  const name = `bench-sink-backlog-${++pipelines}`;
  const db = await openDb(spec);
  await db.recreate('backlog', data.columns);
  await db.close();
  const config: PipelineConfig = {
    name, topic, group: `connect-${name}`, tasks: 1,
    sink: { type: 'sqlite', url: spec.url, table: 'backlog', mode: 'insert', autoCreate: false, batchSize: 500, guarantee: 'at-least-once', deadLetterTopic: `${topic}-dlq` },
  };
  const controller = new AbortController();
  sink = new TimedSink(await createSink(config.sink!, name), rows, () => controller.abort());
  const timer = setInterval(take, 250);
  try {
    await runSinkPipeline(config, client, { signal: controller.signal, sink, stream: QUIET, log: () => undefined });
  } finally {
    clearInterval(timer);
  }
  take();
  await rm(spec.url, { force: true });
  await rm(`${spec.url}-wal`, { force: true });
  await rm(`${spec.url}-shm`, { force: true });
  const seconds = (sink.doneAt - started) / 1000;
  const second = samples.filter((s) => s.rows >= rows / 2);
  const perMillion = (pick: (s: (typeof samples)[number]) => number): number =>
    Math.round(slope(second.map((s) => s.rows / 1e6), second.map((s) => pick(s) / 1048576)) * 10) / 10;
  return {
    rows,
    seconds,
    rowsPerSec: rows / seconds,
    rssMb: { start: mb(samples[0].rss), peak: mb(Math.max(...samples.map((s) => s.rss))), end: mb(samples[samples.length - 1].rss), slopeMbPerMillionRows: perMillion((s) => s.rss) },
    heapMb: { start: mb(samples[0].heap), peak: mb(Math.max(...samples.map((s) => s.heap))), end: mb(samples[samples.length - 1].heap), slopeMbPerMillionRows: perMillion((s) => s.heap) },
  };
}

async function startDb(db: SinkBenchDb, workDir: string, cleanups: Array<() => Promise<unknown>>): Promise<DbSpec | string> {
  if (db === 'sqlite') return { kind: 'sqlite', url: join(workDir, 'sink-bench.db') };
  try {
    if (db === 'mariadb') {
      const { startMariadb } = await import('../test/compat/support/mariadb.js');
      const m = await startMariadb();
      cleanups.push(() => m.stop());
      return { kind: 'mysql' as DbKind, url: m.url };
    }
    const { startPostgres } = await import('../test/compat/support/postgres.js');
    const p = await startPostgres();
    cleanups.push(() => p.stop());
    return { kind: 'postgres' as DbKind, url: p.url };
  } catch (err) {
    return `${db} skipped: ${(err as Error).message}`;
  }
}

export async function runPipelineSinkBench(options: PipelineSinkBenchOptions, log: (m: string) => void = (m) => console.log(m)): Promise<PipelineSinkBenchResult> {
  const dir = await mkdtemp(join(options.workDir, 'pipeline-sink-'));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const notes: string[] = [];
  let broker: RunningBroker | undefined;
  try {
    broker = await startBroker({
      host: '127.0.0.1', port: 0, dataDir: join(dir, 'broker'), logLevel: 'silent',
      config: { 'num.partitions': String(TOPIC_PARTITIONS), 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '1' },
    });
    const client: ClientOptions = { bootstrapServers: broker.address };
    const dataset = generateRows(options.rows);
    log(`pipeline-sink: prefilling ${options.rows.toLocaleString('en-US')} rows`);
    await prefill(client, 'sink-rows', options.rows, (i) => dataset.rows[i]);
    const databases: PipelineSinkBenchResult['databases'] = [];
    for (const which of options.dbs) {
      const spec = await startDb(which, dir, cleanups);
      if (typeof spec === 'string') {
        notes.push(spec);
        log(spec);
        continue;
      }
      const got: Record<SinkCase['name'], Measured[]> = { direct: [], 'at-least-once': [], 'exactly-once': [] };
      for (let round = 0; round < options.rounds; round++) {
        got.direct.push(await direct(spec, dataset));
        got['at-least-once'].push(await drain(spec, dataset, client, 'sink-rows', options.rows, 'at-least-once'));
        got['exactly-once'].push(await drain(spec, dataset, client, 'sink-rows', options.rows, 'exactly-once'));
        log(`  ${which} round ${round + 1}: ${Object.entries(got).map(([k, v]) => `${k} ${Math.round(v[round].rate).toLocaleString('en-US')}/s`).join(', ')}`);
      }
      const base = median(got.direct.map((m) => m.rate));
      databases.push({
        db: which,
        cases: (Object.keys(got) as Array<SinkCase['name']>).map((name) => {
          const rates = got[name].map((m) => m.rate);
          const cpu = got[name].map((m) => m.cpuUsPerRow);
          const startup = got[name].flatMap((m) => (m.startupMs === undefined ? [] : [m.startupMs]));
          return {
            name, rates, cpuUsPerRow: cpu, median: median(rates), medianCpuUsPerRow: median(cpu), ratio: median(rates) / base,
            ...(startup.length > 0 ? { medianStartupMs: Math.round(median(startup)) } : {}),
          };
        }),
      });
    }
    const memory = options.backlog > 0 ? await memoryCheck(dir, client, options.backlog, log) : null;
    return { date: new Date().toISOString(), rows: options.rows, rounds: options.rounds, databases, memory, notes };
  } finally {
    await broker?.close();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

export function formatPipelineSinkTable(r: PipelineSinkBenchResult): string {
  const lines = [`\nTopic → database: ${r.rows.toLocaleString('en-US')} rows, ${r.rounds} rounds interleaved (medians; ratio to the direct batched loader)`];
  lines.push(`${'database'.padEnd(10)} ${'case'.padEnd(14)} ${'rows/s'.padStart(10)} ${'CPU µs/row'.padStart(11)} ${'ratio'.padStart(6)} ${'start-up ms'.padStart(12)}`);
  for (const d of r.databases) {
    for (const c of d.cases) {
      lines.push(`${d.db.padEnd(10)} ${c.name.padEnd(14)} ${Math.round(c.median).toLocaleString('en-US').padStart(10)} ${c.medianCpuUsPerRow.toFixed(2).padStart(11)} ${c.ratio.toFixed(2).padStart(6)} ${c.medianStartupMs === undefined ? '' : String(c.medianStartupMs).padStart(12)}`);
    }
  }
  if (r.memory) {
    const m = r.memory;
    lines.push(`memory: ${m.rows.toLocaleString('en-US')}-row backlog drained into SQLite at ${Math.round(m.rowsPerSec).toLocaleString('en-US')} rows/s; `
      + `RSS ${m.rssMb.start} → peak ${m.rssMb.peak} → ${m.rssMb.end} MiB (second half ${m.rssMb.slopeMbPerMillionRows} MiB per 1M rows), `
      + `heap ${m.heapMb.start} → peak ${m.heapMb.peak} → ${m.heapMb.end} MiB (${m.heapMb.slopeMbPerMillionRows} MiB per 1M rows)`);
  }
  for (const n of r.notes) lines.push(n);
  return lines.join('\n');
}
