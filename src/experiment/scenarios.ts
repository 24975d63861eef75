/**
 * The experiment's scenarios, each measured on the same rows: high-speed ingest (direct row-by-row, direct
 * batched, via the broker; then with the database locked mid-load), real-time analytics (a streaming
 * consumer versus polling SQL) and many consumers (extra consumer groups versus extra polling readers).
 * Nothing here is a constant pretending to be a result: every number in the report is measured below.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Consumer } from '../client/consumer.js';
import { Producer } from '../client/producer.js';
import { HdrHistogram } from '../util/hdr-histogram.js';
import { Consumed, Grouped, KafkaStreams, Materialized, Serdes, StreamsBuilder, TimeWindows, type Serde } from '../streams/index.js';
import type { DataRow, Dataset } from './data.js';
import { openDb, secondOf, type DbSpec, type ExperimentDb, type LockHandle } from './db.js';
import { produceRows, startSink, until, type SinkThread } from './pipeline.js';

export interface ScenarioContext {
  data: Dataset;
  db: DbSpec;
  client: ClientOptions;
  /** Prefix for topics, groups and tables of this run. */
  runId: string;
  /** Where the archive consumer writes its JSON lines. */
  workDir: string;
  lockMs: number;
  /** Analytics stream: records per second and for how many seconds at most. */
  rate: number;
  durationSec: number;
  pollMs: number;
  /**
   * The row-by-row loader's bounds: it stops after this many ms (0: none) or rows (0: all), whichever comes
   * first, and the time for all rows is projected from its measured rate.
   */
  rowByRowMs: number;
  rowByRowRows: number;
  /** Where the via-broker path's sink runs: this thread, or a worker thread of its own. */
  sinkThread: SinkThread;
  /** Rows the many-consumers scenario uses (the first ones; 0: all). */
  consumersRows: number;
  /** Upper bound on any single wait (sink catch-up, a consumer draining). */
  timeoutMs: number;
  log: (line: string) => void;
  /** Topics this run created (an external broker gets them deleted at the end). */
  topics: string[];
}

/** Every table the experiment (re)creates has this prefix, so it never touches a table of yours. */
export const TABLE_PREFIX = 'tributary_experiment_';
const T = (name: string): string => `${TABLE_PREFIX}${name}`;

const now = (): number => performance.now();
const ms = (v: number): number => Math.round(v * 10) / 10;
const perSec = (count: number, elapsedMs: number): number => Math.round((count * 1000) / Math.max(elapsedMs, 0.001));
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

async function withDb<T>(spec: DbSpec, fn: (db: ExperimentDb) => Promise<T>): Promise<T> {
  const db = await openDb(spec);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function createTopic(ctx: ScenarioContext, name: string, partitions: number): Promise<void> {
  const admin = new Admin(ctx.client);
  try {
    await admin.connect();
    await admin.createTopics([{ name, numPartitions: partitions, replicationFactor: 1 }]);
    ctx.topics.push(name);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** A sink creates its dead-letter topic when it starts: it is the run's too, deleted with the others. */
function trackDeadLetterTopic(ctx: ScenarioContext, topic: string): void {
  const dlq = `${topic}-dlq`;
  if (!ctx.topics.includes(dlq)) ctx.topics.push(dlq);
}

// ------------------------------------------------------------------------------------------ ingest

export interface DirectIngestResult {
  variant: 'direct-row-by-row' | 'direct-batched';
  /** The rows of the data set, the rows the loader was to load. */
  rows: number;
  /** Rows in the database afterwards: the rows loaded (fewer than `rows` when a bound cut the loader short). */
  dbRows: number;
  /** Every number below is measured on the rows loaded. */
  statements: number;
  elapsedMs: number;
  rowsPerSec: number;
  /** The source (file, app) is held until the last row is committed: measured only when every row was loaded. */
  sourceReleaseMs: number;
  /** The longest a single statement (row mode) or transaction (batched) took. */
  longestWaitMs: number;
  /** Writes retried because the database answered busy at once (their wait is in the timings). */
  busyRetries: number;
  /**
   * Row-by-row only, when its time budget or row bound cut it short: what loading all `rows` would take at the
   * measured rate. A projection, never a measurement; null when every row was loaded.
   */
  projected: null | { budgetMs: number; maxRows: number; elapsedMs: number; sourceReleaseMs: number; statements: number };
}

export interface BrokerIngestResult {
  variant: 'via-broker';
  rows: number;
  dbRows: number;
  /** Statements the sink sent to the database. */
  statements: number;
  /** Until the producer had every record acknowledged by the broker. */
  sourceReleaseMs: number;
  producerRowsPerSec: number;
  /** Until the sink had written every row. */
  caughtUpMs: number;
  /** Rows per second into the database, end to end. */
  rowsPerSec: number;
}

export interface LockedIngest {
  /** How long the lock was actually held. */
  lockHeldMs: number;
  direct: DirectIngestResult & { lockAtMs: number; stallMs: number; baselineSourceReleaseMs: number };
  broker: BrokerIngestResult & { lockAtMs: number; releasedAtMs: number; catchUpAfterUnlockMs: number; baselineSourceReleaseMs: number; sinkRetries: number };
}

export interface IngestResult {
  variants: [DirectIngestResult, DirectIngestResult, BrokerIngestResult];
  locked: LockedIngest;
}

export async function directIngest(
  ctx: ScenarioContext,
  table: string,
  mode: 'row' | 'batch',
  lock?: { ms: number; onLocked: (released: Promise<number>) => void },
): Promise<DirectIngestResult & { lockSetupMs: number; lockAtMs: number }> {
  const { rows, columns } = ctx.data;
  const cols = columns.map((c) => c.name);
  return withDb(ctx.db, async (db) => {
    await db.recreate(table, columns);
    const handle = lock ? await db.prepareLock(table, lock.ms) : null;
    try {
      db.statements = 0;
      const batch = 500;
      let longest = 0;
      let lockSetupMs = 0;
      let lockAtMs = -1;
      let nextReport = 0.1;
      const half = Math.floor(rows.length / 2);
      // The row-by-row loader's bounds (the batched loader loads every row): at least one row, for a rate.
      const budgetMs = mode === 'row' ? ctx.rowByRowMs : 0;
      const maxRows = mode === 'row' && ctx.rowByRowRows > 0 ? Math.min(ctx.rowByRowRows, rows.length) : rows.length;
      const t0 = now();
      let i = 0;
      while (i < rows.length) {
        if (i > 0 && (i >= maxRows || (budgetMs > 0 && now() - t0 >= budgetMs))) break;
        if (lock && handle && lockAtMs < 0 && i >= half) {
          const s = now();
          await handle.take();
          // The hand-shake with the lock holder is not the loader's time.
          lockSetupMs = now() - s;
          lockAtMs = now() - t0 - lockSetupMs;
          lock.onLocked(handle.released);
        }
        const s = now();
        if (mode === 'row') {
          await db.insertRow(table, cols, rows[i]);
          i++;
        } else {
          const end = Math.min(i + batch, rows.length, lock && lockAtMs < 0 && i < half ? half : Infinity);
          await db.insertBatch(table, cols, rows.slice(i, end));
          i = end;
        }
        longest = Math.max(longest, now() - s);
        if (i / rows.length >= nextReport) {
          ctx.log(`  ${table}: ${i.toLocaleString('en-US')}/${rows.length.toLocaleString('en-US')} rows (${perSec(i, now() - t0 - lockSetupMs).toLocaleString('en-US')} rows/s)`);
          nextReport += 0.1;
          await new Promise((r) => setImmediate(r));
        }
      }
      const elapsed = now() - t0 - lockSetupMs;
      const statements = db.statements;
      const dbRows = await db.count(table);
      const scale = rows.length / i;
      if (i < rows.length) {
        ctx.log(`  ${table}: stopped after ${i.toLocaleString('en-US')} rows in ${(elapsed / 1000).toFixed(2)} s (${budgetMs > 0 ? `budget ${budgetMs} ms` : 'no time budget'}, ${maxRows.toLocaleString('en-US')} rows at most); all ${rows.length.toLocaleString('en-US')} rows projected at ${(elapsed * scale / 1000).toFixed(1)} s`);
      }
      return {
        variant: mode === 'row' ? 'direct-row-by-row' : 'direct-batched',
        rows: rows.length,
        dbRows,
        statements,
        elapsedMs: ms(elapsed),
        rowsPerSec: perSec(i, elapsed),
        sourceReleaseMs: ms(elapsed),
        longestWaitMs: ms(longest),
        busyRetries: db.busyRetries,
        projected: i < rows.length ? { budgetMs, maxRows, elapsedMs: ms(elapsed * scale), sourceReleaseMs: ms(elapsed * scale), statements: Math.round(statements * scale) } : null,
        lockSetupMs,
        lockAtMs,
      };
    } finally {
      // A lock never taken (the loader failed first) must not keep its thread or connection.
      handle?.dispose();
    }
  });
}

export async function brokerIngest(
  ctx: ScenarioContext,
  name: string,
  lock?: { ms: number },
): Promise<BrokerIngestResult & { lockAtMs: number; releasedAtMs: number; retries: number }> {
  const { rows, columns } = ctx.data;
  const topic = `${ctx.runId}-${name}`;
  const table = T(name);
  await withDb(ctx.db, (db) => db.recreate(table, columns));
  await createTopic(ctx, topic, 3);
  let retries = 0;
  const running = await startSink(ctx.db, ctx.client, { pipeline: `${ctx.runId}-${name}`, topic, group: `${ctx.runId}-${name}`, table }, rows.length, (m) => {
    if (/retrying/.test(m)) retries++;
    if (retries <= 3 || !/retrying/.test(m)) ctx.log(m);
  }, ctx.sinkThread);
  trackDeadLetterTopic(ctx, topic);
  let lockDb: ExperimentDb | null = null;
  let handle: LockHandle | null = null;
  try {
    if (!(await until(running.joined, ctx.timeoutMs))) throw new Error(`the sink of ${name} did not join its group within ${ctx.timeoutMs} ms`);
    const half = Math.floor(rows.length / 2);
    let lockAtMs = -1;
    const pending: { released: Promise<number> | null } = { released: null };
    let releasedAt = -1;
    if (lock) {
      lockDb = await openDb(ctx.db);
      handle = await lockDb.prepareLock(table, lock.ms);
    }
    const t0 = now();
    let lastLogged = 0;
    const produced = await produceRows(ctx.client, `${ctx.runId}-${name}-source`, topic, rows, (acked) => {
      if (lock && handle && lockAtMs < 0 && acked >= half) {
        lockAtMs = now() - t0;
        const h = handle;
        pending.released = h.take().then(() => {
          // When the lock is known to be held (a little after it was taken, when this thread got to hear of it).
          lockAtMs = now() - t0;
          ctx.log(`  ${name}: database locked for ${lock.ms} ms once ${acked.toLocaleString('en-US')} records were acknowledged (${running.sink.rows.toLocaleString('en-US')} rows in the database)`);
          return h.released.then((held) => {
            releasedAt = now() - t0;
            return held;
          });
        });
      }
      if (acked - lastLogged >= rows.length / 10) {
        lastLogged = acked;
        ctx.log(`  ${name}: ${acked.toLocaleString('en-US')}/${rows.length.toLocaleString('en-US')} records acknowledged by the broker, ${running.sink.rows.toLocaleString('en-US')} rows in the database`);
      }
    });
    const sourceRelease = now() - t0;
    ctx.log(`  ${name}: source released after ${(sourceRelease / 1000).toFixed(2)} s (${produced.records.toLocaleString('en-US')} records acknowledged); sink has ${running.sink.rows.toLocaleString('en-US')} rows, catching up`);
    if (pending.released !== null) await pending.released;
    await running.sink.waitForTarget(ctx.timeoutMs);
    if (running.sink.reachedAt === null) throw new Error(`the sink of ${name} wrote ${running.sink.rows} of ${rows.length} rows within ${ctx.timeoutMs} ms`);
    const caughtUp = running.sink.reachedAt - t0;
    await running.stop();
    const dbRows = await withDb(ctx.db, (db) => db.count(table));
    return {
      variant: 'via-broker',
      rows: rows.length,
      dbRows,
      statements: running.driver.statements,
      sourceReleaseMs: ms(sourceRelease),
      producerRowsPerSec: perSec(produced.records, sourceRelease),
      caughtUpMs: ms(caughtUp),
      rowsPerSec: perSec(rows.length, caughtUp),
      lockAtMs: ms(lockAtMs),
      releasedAtMs: ms(releasedAt),
      retries,
    };
  } finally {
    await running.stop().catch(() => undefined);
    handle?.dispose();
    await lockDb?.close();
  }
}

export async function runIngest(ctx: ScenarioContext): Promise<IngestResult> {
  const n = ctx.data.rows.length.toLocaleString('en-US');
  ctx.log(`ingest 1/5: direct row-by-row INSERT, autocommit (${n} rows)`);
  const row = await directIngest(ctx, T('ingest_direct_row'), 'row');
  ctx.log(`ingest 2/5: direct batched INSERT, 500 rows per transaction`);
  const batch = await directIngest(ctx, T('ingest_direct_batch'), 'batch');
  ctx.log(`ingest 3/5: via the broker (producer → topic → sink)`);
  const broker = await brokerIngest(ctx, 'ingest_broker');

  ctx.log(`ingest 4/5: direct batched INSERT with the database locked for ${ctx.lockMs} ms mid-load`);
  let released: Promise<number> = Promise.resolve(0);
  const lockedDirect = await directIngest(ctx, T('locked_direct_batch'), 'batch', {
    ms: ctx.lockMs,
    onLocked: (r) => {
      released = r;
    },
  });
  const directHeld = await released;
  ctx.log(`ingest 5/5: via the broker with the database locked for ${ctx.lockMs} ms mid-load`);
  const lockedBroker = await brokerIngest(ctx, 'locked_broker', { ms: ctx.lockMs });
  const { lockSetupMs: _a, lockAtMs: directLockAt, ...direct } = lockedDirect;
  const { lockSetupMs: _b, lockAtMs: _c, ...rowResult } = row;
  const { lockSetupMs: _d, lockAtMs: _e, ...batchResult } = batch;
  const { lockAtMs: _f, releasedAtMs: _g, retries: _h, ...brokerResult } = broker;
  return {
    variants: [rowResult, batchResult, brokerResult],
    locked: {
      lockHeldMs: ms(directHeld),
      direct: {
        ...direct,
        lockAtMs: ms(directLockAt),
        // The loader waited on the lock: its longest transaction, less what a transaction took unlocked.
        stallMs: ms(Math.max(0, direct.longestWaitMs - batch.longestWaitMs)),
        baselineSourceReleaseMs: batch.sourceReleaseMs,
      },
      broker: {
        ...brokerResult,
        variant: 'via-broker',
        lockAtMs: lockedBroker.lockAtMs,
        releasedAtMs: lockedBroker.releasedAtMs,
        statements: lockedBroker.statements,
        rows: lockedBroker.rows,
        dbRows: lockedBroker.dbRows,
        sourceReleaseMs: lockedBroker.sourceReleaseMs,
        producerRowsPerSec: lockedBroker.producerRowsPerSec,
        caughtUpMs: lockedBroker.caughtUpMs,
        rowsPerSec: lockedBroker.rowsPerSec,
        catchUpAfterUnlockMs: ms(Math.max(0, lockedBroker.caughtUpMs - lockedBroker.releasedAtMs)),
        baselineSourceReleaseMs: broker.sourceReleaseMs,
        sinkRetries: lockedBroker.retries,
      },
    },
  };
}

// ------------------------------------------------------------------------------------------ analytics

export interface LatencySummary {
  /** Records whose time-to-insight was measured. */
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface AnalyticsResult {
  records: number;
  targetRatePerSec: number;
  actualRatePerSec: number;
  streamMs: number;
  windows: number;
  consumer: LatencySummary & { dbQueries: number };
  poller: LatencySummary & { dbQueries: number; intervalMs: number; sinkStatements: number };
}

function summary(h: HdrHistogram): LatencySummary {
  const m = (micros: number): number => Math.round(micros / 10) / 100;
  return { count: h.count, p50Ms: m(h.percentile(50)), p99Ms: m(h.percentile(99)), maxMs: m(h.max), meanMs: m(h.mean) };
}

interface AnalyticsEvent { age: unknown; seq: number }
interface WindowAggregate { count: number; sumAge: number; lastSeq: number }
const jsonSerde = <T>(): Serde<T> => ({
  serialize: (_t, v) => (v === null ? null : Buffer.from(JSON.stringify(v))),
  deserialize: (_t, b) => (b === null ? null : JSON.parse(b.toString('utf8')) as T),
});
const AnalyticsEventSerde = jsonSerde<AnalyticsEvent>();
const WindowAggregateSerde = jsonSerde<WindowAggregate>();

export async function runAnalytics(ctx: ScenarioContext): Promise<AnalyticsResult> {
  const n = Math.max(1, Math.min(ctx.data.rows.length, Math.round(ctx.rate * ctx.durationSec)));
  const rows = ctx.data.rows.slice(0, n);
  const table = T('analytics_events');
  const topic = `${ctx.runId}-analytics`;
  const columns = [...ctx.data.columns.filter((c) => c.name !== 'created_ms'), { name: 'created_ms', kind: 'integer' as const }];
  ctx.log(`analytics: ${n.toLocaleString('en-US')} records at ${ctx.rate}/s; a KafkaStreams application keeps 1-second windowed aggregates while the sink feeds the database polled every ${ctx.pollMs} ms`);
  await withDb(ctx.db, (db) => db.recreate(table, columns));
  // One partition: records reach the database in creation order, so a poll that counts k rows includes the first k.
  await createTopic(ctx, topic, 1);
  const created = new Float64Array(n);
  const wall = (): number => performance.timeOrigin + performance.now();

  const sink = await startSink(ctx.db, ctx.client, { pipeline: `${ctx.runId}-analytics-sink`, topic, group: `${ctx.runId}-analytics-sink`, table }, n, (m) => ctx.log(m), ctx.sinkThread);
  trackDeadLetterTopic(ctx, topic);
  // (a) the streaming side: a KafkaStreams application keeping count and the age sum per 1-second window of
  // creation time (the record timestamp); each update it emits marks the record that made it as seen.
  const windows = new Set<number>();
  let processed = 0;
  const builder = new StreamsBuilder();
  builder.stream(topic, Consumed.with(Serdes.String(), AnalyticsEventSerde))
    .groupBy(() => 'all', Grouped.with(Serdes.String(), AnalyticsEventSerde))
    .windowedBy(TimeWindows.ofSizeAndGrace(1000, 60_000))
    .aggregate<WindowAggregate>(() => ({ count: 0, sumAge: 0, lastSeq: -1 }), (_k, v, agg) => ({ count: agg.count + 1, sumAge: agg.sumAge + Number(v.age), lastSeq: v.seq }),
      // Uncached: each record's update is emitted at once, as the latency probe counts it (a record cache would
      // write the latest aggregate once per commit interval).
      Materialized.with(Serdes.String(), WindowAggregateSerde).withCachingDisabled())
    .toStream()
    .foreach((w, agg) => {
      if (agg === null) return;
      windows.add(w.window.start);
      liveHist.record((wall() - created[agg.lastSeq]) * 1000);
      processed++;
    });
  const app = new KafkaStreams(builder.build(), {
    'application.id': `${ctx.runId}-analytics-live`,
    'bootstrap.servers': ctx.client.bootstrapServers,
    'commit.interval.ms': 1000,
    'tributary.topology.publish': false,
  });
  const poller = await openDb(ctx.db);
  const producer = new Producer({ ...ctx.client, acks: 'all', idempotent: true, lingerMs: 5 });
  const liveHist = new HdrHistogram();
  const pollHist = new HdrHistogram();
  let seenByPoll = 0;
  let polls = 0;
  try {
    await app.start();
    const joinDeadline = now() + ctx.timeoutMs;
    while (app.state() !== 'RUNNING' && now() < joinDeadline) await sleep(20);
    if (app.state() !== 'RUNNING') throw new Error(`the analytics KafkaStreams application is ${app.state()}, not RUNNING`);
    if (!(await until(sink.joined, ctx.timeoutMs))) throw new Error('the analytics sink did not join its group');
    await producer.connect();

    let streaming = true;
    const deadline = now() + ctx.durationSec * 1000 + ctx.timeoutMs;
    const live = (async () => {
      while (processed < n && now() < deadline && app.state() !== 'ERROR') await sleep(20);
    })();
    // (b) the poller: the same aggregate in SQL, every pollMs.
    const q = ctx.db.kind === 'mysql' ? '`' : '"';
    const sql = `SELECT ${secondOf(ctx.db.kind, `${q}created_ms${q}`)} AS w, COUNT(*) AS n, AVG(${q}age${q}) AS avg_age FROM ${q}${table}${q} GROUP BY 1`;
    const polling = (async () => {
      let next = now();
      while (seenByPoll < n && now() < deadline) {
        const result = await poller.query(sql);
        polls++;
        const at = wall();
        const total = result.reduce((s, r) => s + Number(r.n), 0);
        for (let i = seenByPoll; i < Math.min(total, n); i++) pollHist.record((at - created[i]) * 1000);
        seenByPoll = Math.max(seenByPoll, Math.min(total, n));
        next += ctx.pollMs;
        await sleep(Math.max(0, next - now()));
        if (!streaming && seenByPoll >= n) break;
      }
    })();
    // The stream: `rate` records per second, each stamped with its creation time.
    const t0 = now();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; ) {
      const due = Math.min(n, Math.floor(((now() - t0) * ctx.rate) / 1000) + 1);
      for (; i < due; i++) {
        created[i] = wall();
        const value = { ...rows[i], created_ms: Math.floor(created[i]), seq: i };
        sends.push(producer.send({ topic, key: String(rows[i].id), value: JSON.stringify(value), timestamp: Math.floor(created[i]) }));
      }
      if (i < n) await sleep(10);
    }
    await producer.flush();
    await Promise.all(sends);
    const streamMs = now() - t0;
    streaming = false;
    ctx.log(`  analytics: streamed ${n.toLocaleString('en-US')} records in ${(streamMs / 1000).toFixed(2)} s; waiting for the consumer and the poller to see them all`);
    await live;
    await polling;
    if (processed < n || seenByPoll < n) throw new Error(`analytics: the consumer saw ${processed} and the poller ${seenByPoll} of ${n} records before the deadline`);
    return {
      records: n,
      targetRatePerSec: ctx.rate,
      actualRatePerSec: perSec(n, streamMs),
      streamMs: ms(streamMs),
      windows: windows.size,
      consumer: { ...summary(liveHist), dbQueries: 0 },
      poller: { ...summary(pollHist), dbQueries: polls, intervalMs: ctx.pollMs, sinkStatements: sink.driver.statements },
    };
  } finally {
    await producer.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await sink.stop().catch(() => undefined);
    await poller.close();
  }
}

// ------------------------------------------------------------------------------------------ many consumers

export interface GroupResult {
  name: 'alerting' | 'archive' | 'analytics';
  records: number;
  /** From the first record produced until the group had read all. */
  doneMs: number;
  /** alerting: ages over 80; archive: lines written; analytics: cities aggregated. */
  result: number;
}

export interface BrokerFanout {
  extraGroups: number;
  producerRowsPerSec: number;
  sourceReleaseMs: number;
  /** Statements the database served: only the sink's writes; the groups put none on it. */
  dbQueries: number;
  readerQueries: number;
  dbRows: number;
  groups: GroupResult[];
}

export interface DirectFanout {
  readers: number;
  loaderRowsPerSec: number;
  loadMs: number;
  /** Until every reader had seen every row. */
  elapsedMs: number;
  dbQueries: number;
  readerQueries: number;
  queriesPerSec: number;
  dbRows: number;
}

export interface ConsumersResult {
  rows: number;
  broker: [BrokerFanout, BrokerFanout];
  direct: [DirectFanout, DirectFanout];
}

async function consumeGroup(ctx: ScenarioContext, topic: string, name: GroupResult['name'], n: number, t0: () => number): Promise<GroupResult> {
  const c = new Consumer({ ...ctx.client, groupId: `${topic}-${name}`, autoOffsetReset: 'earliest', enableAutoCommit: true, fetchMaxWaitMs: 100 });
  const archive = join(ctx.workDir, `archive-${topic}.jsonl`);
  let count = 0;
  let alerts = 0;
  const cities = new Map<string, { count: number; sumAge: number }>();
  try {
    await c.connect();
    await c.subscribe([topic]);
    const deadline = now() + ctx.timeoutMs;
    if (name === 'archive') await writeFile(archive, '');
    while (count < n && now() < deadline) {
      const records = await c.poll(100);
      if (records.length === 0) continue;
      const values = records.map((r) => JSON.parse(r.value!.toString('utf8')) as DataRow);
      if (name === 'alerting') alerts += values.filter((v) => Number(v.age) > 80).length;
      if (name === 'archive') await appendFile(archive, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
      if (name === 'analytics') {
        for (const v of values) {
          const a = cities.get(String(v.city)) ?? { count: 0, sumAge: 0 };
          a.count++;
          a.sumAge += Number(v.age);
          cities.set(String(v.city), a);
        }
      }
      count += records.length;
    }
    return { name, records: count, doneMs: ms(now() - t0()), result: name === 'alerting' ? alerts : name === 'archive' ? count : cities.size };
  } finally {
    await c.close().catch(() => undefined);
  }
}

async function brokerFanout(ctx: ScenarioContext, extra: number): Promise<BrokerFanout> {
  const { rows, columns } = ctx.data;
  const name = `fanout_broker_${extra}`;
  const topic = `${ctx.runId}-${name}`;
  const table = T(name);
  await withDb(ctx.db, (db) => db.recreate(table, columns));
  await createTopic(ctx, topic, 3);
  const sink = await startSink(ctx.db, ctx.client, { pipeline: topic, topic, group: `${topic}-sink`, table }, rows.length, (m) => ctx.log(m), ctx.sinkThread);
  trackDeadLetterTopic(ctx, topic);
  try {
    if (!(await until(sink.joined, ctx.timeoutMs))) throw new Error(`the sink of ${name} did not join its group`);
    let t0 = now();
    const groups = (['alerting', 'archive', 'analytics'] as const).slice(0, extra).map((g) => consumeGroup(ctx, topic, g, rows.length, () => t0));
    t0 = now();
    const produced = await produceRows(ctx.client, `${topic}-source`, topic, rows);
    const sourceRelease = now() - t0;
    const results = await Promise.all(groups);
    await sink.sink.waitForTarget(ctx.timeoutMs);
    await sink.stop();
    const dbRows = await withDb(ctx.db, (db) => db.count(table));
    ctx.log(`  ${extra} extra group(s): producer ${perSec(produced.records, sourceRelease).toLocaleString('en-US')} rows/s; the database served ${sink.driver.statements} statements (all from the sink)`);
    return {
      extraGroups: extra,
      producerRowsPerSec: perSec(produced.records, sourceRelease),
      sourceReleaseMs: ms(sourceRelease),
      dbQueries: sink.driver.statements,
      readerQueries: 0,
      dbRows,
      groups: results,
    };
  } finally {
    await sink.stop().catch(() => undefined);
  }
}

async function directFanout(ctx: ScenarioContext, readers: number): Promise<DirectFanout> {
  const { rows, columns } = ctx.data;
  const table = T(`fanout_direct_${readers}`);
  const cols = columns.map((c) => c.name);
  const q = (s: string): string => (ctx.db.kind === 'mysql' ? `\`${s}\`` : `"${s}"`);
  const n = rows.length;
  return withDb(ctx.db, async (loader) => {
    await loader.recreate(table, columns);
    loader.statements = 0;
    const dbs = await Promise.all(Array.from({ length: readers }, () => openDb(ctx.db)));
    try {
      const deadline = now() + ctx.timeoutMs;
      const archive = join(ctx.workDir, `archive-direct-${readers}.jsonl`);
      await writeFile(archive, '');
      // Each reader polls every pollMs until it has seen every row, as a separate program querying the database would.
      const kinds = ['alerting', 'archive', 'analytics'] as const;
      const t0 = now();
      const readersDone = dbs.map(async (db, k) => {
        let lastId = 0;
        let seen = 0;
        let next = now();
        while (seen < n && now() < deadline) {
          if (kinds[k] === 'alerting') {
            const r = await db.query(`SELECT COUNT(*) AS total, SUM(CASE WHEN ${q('age')} > 80 THEN 1 ELSE 0 END) AS alerts FROM ${q(table)}`);
            seen = Number(r[0].total);
          } else if (kinds[k] === 'archive') {
            const r = await db.query(`SELECT * FROM ${q(table)} WHERE ${q('id')} > ${ctx.db.kind === 'postgres' ? '$1' : '?'} ORDER BY ${q('id')}`, [lastId]);
            if (r.length > 0) {
              await appendFile(archive, r.map((v) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))).join('\n') + '\n');
              lastId = Number(r[r.length - 1].id);
              seen += r.length;
            }
          } else {
            const r = await db.query(`SELECT ${q('city')} AS city, COUNT(*) AS n, AVG(${q('age')}) AS avg_age FROM ${q(table)} GROUP BY ${q('city')}`);
            seen = r.reduce((s, x) => s + Number(x.n), 0);
          }
          next += ctx.pollMs;
          await sleep(Math.max(0, next - now()));
        }
      });
      const batch = 500;
      for (let i = 0; i < n; i += batch) {
        await loader.insertBatch(table, cols, rows.slice(i, i + batch));
        // A loader that shares the database with readers gives them a turn between transactions.
        if (readers > 0) await new Promise((r) => setImmediate(r));
      }
      const loadMs = now() - t0;
      await Promise.all(readersDone);
      const elapsed = now() - t0;
      const readerQueries = dbs.reduce((s, db) => s + db.statements, 0);
      const total = loader.statements + readerQueries;
      const dbRows = await loader.count(table);
      ctx.log(`  ${readers} polling reader(s): loader ${perSec(n, loadMs).toLocaleString('en-US')} rows/s; the database served ${total} statements, ${readerQueries} of them from readers (${(readerQueries / (elapsed / 1000)).toFixed(1)}/s)`);
      return {
        readers,
        loaderRowsPerSec: perSec(n, loadMs),
        loadMs: ms(loadMs),
        elapsedMs: ms(elapsed),
        dbQueries: total,
        readerQueries,
        queriesPerSec: Math.round((total * 10000) / elapsed) / 10,
        dbRows,
      };
    } finally {
      for (const db of dbs) await db.close();
    }
  });
}

export async function runConsumers(full: ScenarioContext): Promise<ConsumersResult> {
  // The scenario compares load with and without extra readers: the first consumersRows rows show it (the
  // report says how many), four loads of every row of a large run would only make it longer.
  const n = full.consumersRows > 0 ? Math.min(full.consumersRows, full.data.rows.length) : full.data.rows.length;
  const ctx: ScenarioContext = n === full.data.rows.length ? full : { ...full, data: { ...full.data, rows: full.data.rows.slice(0, n) } };
  ctx.log(`many consumers 1/4: via the broker, sink only (${n.toLocaleString('en-US')} rows${n < full.data.rows.length ? `, the first of ${full.data.rows.length.toLocaleString('en-US')}: --consumers-rows` : ''})`);
  const b0 = await brokerFanout(ctx, 0);
  ctx.log(`many consumers 2/4: via the broker, sink + 3 consumer groups (alerting, archive, analytics)`);
  const b3 = await brokerFanout(ctx, 3);
  ctx.log(`many consumers 3/4: direct, loader only`);
  const d0 = await directFanout(ctx, 0);
  ctx.log(`many consumers 4/4: direct, loader + 3 readers polling the database every ${ctx.pollMs} ms`);
  const d3 = await directFanout(ctx, 3);
  return { rows: ctx.data.rows.length, broker: [b0, b3], direct: [d0, d3] };
}
