/**
 * `tributary experiment`: the measured comparison "with and without a broker" on the same rows — high-speed
 * ingest (also with the database locked mid-load), real-time analytics and many consumers — written as
 * report.json, report.md and report.html, with the summary table on stdout and progress on stderr.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Admin } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { BROKER_PLACEMENTS, startExperimentBroker, type BrokerPlacement, type ExperimentBroker } from './experiment-broker.js';
import { generateRows, readCsvRows } from '../experiment/data.js';
import { parseDbSpec, redact } from '../experiment/db.js';
import { DEFAULTS as SINK_DEFAULTS } from '../connect/config.js';
import { conclusions, renderHtml, renderMarkdown, renderText, type ExperimentReport } from '../experiment/report.js';
import { runAnalytics, runConsumers, runIngest, type ScenarioContext } from '../experiment/scenarios.js';
import { SINK_THREADS, type SinkThread } from '../experiment/pipeline.js';
import { action, UsageError } from './common.js';
import { intArg } from './data-options.js';
import { packageVersion } from '../util/package-version.js';

interface ExperimentFlags {
  rows: number;
  db: string;
  csv?: string;
  bootstrapServer?: string;
  out?: string;
  lockMs: number;
  rate: number;
  duration: number;
  pollMs: number;
  rowByRowMs: number;
  rowByRowRows: number;
  consumersRows: number;
  sinkThread: SinkThread;
  broker: BrokerPlacement;
  timeout: number;
}

export function registerExperiment(program: Command): void {
  program
    .command('experiment')
    .description('Measure ingest, real-time analytics and many consumers with and without a broker; writes report.html/.md/.json')
    .option('--rows <n>', 'rows to generate (or the first N rows of --csv)', intArg(1), 100_000)
    .option('--db <db>', 'database: sqlite (a file in the work dir), sqlite:PATH, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db', 'sqlite')
    .option('--csv <file>', 'use this CSV (header row; needs an "age" column; an "id" column is added when missing) instead of generated rows')
    .option('-b, --bootstrap-server <host:port>', 'use this broker instead of starting an embedded one in this process')
    .option('--out <dir>', 'directory for the reports and the SQLite database, both kept (default ./tributary-experiment); with --out the archive files are kept there too, otherwise they go to a temp dir removed at the end')
    .option('--lock-ms <ms>', 'how long the database is locked mid-load in the locked-ingest runs', intArg(1), 3000)
    .option('--rate <n>', 'records per second of the real-time analytics stream', intArg(1), 1000)
    .option('--duration <s>', 'seconds the analytics stream lasts at most (it also ends after --rows records)', intArg(1), 5)
    .option('--poll-ms <ms>', 'how often the SQL poller and the polling readers query the database', intArg(1), 500)
    .option('--row-by-row-ms <ms>', 'time budget of the direct row-by-row insert: it stops after this long and its time for all rows is projected from its measured rate (0: no budget, it loads every row)', intArg(0), 8000)
    .option('--row-by-row-rows <n>', 'the direct row-by-row insert loads at most this many rows, the rest projected (0: all)', intArg(0), 0)
    .option('--consumers-rows <n>', 'rows the many-consumers scenario loads four times (the first N; 0: all)', intArg(0), 100_000)
    .addOption(new Option('--sink-thread <thread>', 'where the via-broker path\'s sink runs: a worker thread of its own (its database commits do not hold up the producer and the broker) or the main thread').choices(SINK_THREADS).default('worker'))
    .addOption(new Option('--broker <where>', 'where the embedded broker runs: in this process, or as its own process (`tributary start`, as deployed; on 2 cores it measured slower)').choices(BROKER_PLACEMENTS).default('in-process'))
    .option('--timeout <ms>', 'the longest any one wait may take (a sink catching up, a consumer draining) before the run fails', intArg(1000), 300_000)
    .addHelpText('after', `
What it does, on the same rows (generated: id, name, age, city, event_time; deterministic), one scenario at a time:

  1. High-speed ingest
     a. direct row-by-row INSERT, one statement per row in autocommit (what a simple loader does); it stops
        after --row-by-row-ms (8 s) or --row-by-row-rows, and its time for all rows is then projected from
        its measured rate (labelled "projected" wherever it appears)
     b. direct batched INSERT, 500 rows per multi-row statement and transaction
     c. via the broker: the rows are produced to a topic (acks=all, idempotent); the source is released
        once the broker acknowledged them all; a sink (tributary connect's SQL sink) writes the topic into
        the database, and "all rows in db" is when it has caught up
     Then b and c again while another connection locks the database for --lock-ms once half the rows left
     the source (SQLite: BEGIN EXCLUSIVE; MySQL: LOCK TABLES … WRITE; PostgreSQL: LOCK TABLE … IN
     EXCLUSIVE MODE): the stall of the direct loader, the source release time via the broker and the sink's
     catch-up after the lock are measured.
  2. Real-time analytics: records stream at --rate for up to --duration seconds; a KafkaStreams app keeps count and
     age sum per 1-second window (TimeWindows + aggregate), while the sink feeds the database and a poller runs the same
     aggregate in SQL every --poll-ms. Time-to-insight (creation → included in the aggregate) p50/p99 and
     the queries each approach put on the database.
  3. Many consumers (the first --consumers-rows rows, 100,000 by default): the producer's rate and the
     database's statements with 0 and 3 extra consumer groups (alerting: age > 80, archive: JSON lines to
     a file, analytics: per-city aggregates), versus a direct loader with 0 and 3 readers polling the
     database for the same three jobs.

Tables named tributary_experiment_* are (re)created in the database and left there for inspection (SQLite:
experiment.db next to the reports); with --bootstrap-server the run's topics (exp-…) are deleted at the end.

Every number is measured during the run (the row-by-row insert's time for all rows is projected when its
budget cut it short, and labelled so); the conclusions compare them and say whatever they show. The embedded
broker, producer and consumers share this one Node process and its CPU, the sink runs on a worker thread of
its own (--sink-thread; --broker process runs the broker as its own process); separate machines would do
better than measured here.

Output: report.json (all numbers and the setup), report.md, report.html (tables and charts, no external
resources) in --out; the summary table on stdout; progress lines on stderr.

Examples:
  $ tributary experiment --rows 100000
  $ tributary experiment --rows 1000000 --db mysql://app:secret@127.0.0.1:3306/shop --out ./report
  $ tributary experiment --csv users.csv --bootstrap-server 127.0.0.1:9092`)
    .action(action(experiment));
}

async function deleteTopics(client: ClientOptions, topics: string[], log: (line: string) => void): Promise<void> {
  const admin = new Admin(client);
  try {
    await admin.connect();
    await admin.deleteTopics(topics);
    log(`deleted the run's ${topics.length} topics from the broker`);
  } catch (err) {
    log(`could not delete the run's topics (${topics.join(', ')}): ${(err as Error).message}`);
  } finally {
    await admin.close().catch(() => undefined);
  }
}


async function experiment(flags: ExperimentFlags): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const log = (line: string): void => void process.stderr.write(`[experiment] ${line}\n`);
  const outDir = resolve(flags.out ?? 'tributary-experiment');
  const tmp = await mkdtemp(join(tmpdir(), 'tributary-experiment-'));
  const workDir = flags.out !== undefined ? outDir : tmp;
  let broker: ExperimentBroker | null = null;
  let topics: string[] = [];
  let client: ClientOptions | null = null;
  try {
    await mkdir(outDir, { recursive: true });
    let db;
    try {
      // The SQLite database stays with the reports, which name it (its tributary_experiment_* tables are for inspection).
      db = parseDbSpec(flags.db, join(outDir, 'experiment.db'));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (db.kind === 'sqlite') await rm(db.url, { force: true }).catch(() => undefined);
    log(`data: ${flags.csv !== undefined ? `the first ${flags.rows.toLocaleString('en-US')} rows of ${flags.csv}` : `${flags.rows.toLocaleString('en-US')} generated rows`}`);
    const data = flags.csv !== undefined ? await readCsvRows(flags.csv, flags.rows) : generateRows(flags.rows);
    let bootstrap = flags.bootstrapServer;
    if (bootstrap === undefined) {
      // A separate process runs the CLI this process runs (bin/tributary.js or the bundle).
      broker = await startExperimentBroker(flags.broker, join(tmp, 'broker'), process.argv[1]);
      bootstrap = broker.address;
      log(`embedded broker on ${bootstrap} (${broker.placement === 'process' ? `its own process, pid ${broker.pid}` : 'in this process'}; data in a temp dir)`);
    }
    client = { bootstrapServers: bootstrap, clientId: 'tributary-experiment' };
    const ctx: ScenarioContext = {
      data,
      db,
      client,
      runId: `exp-${Date.now().toString(36)}`,
      workDir,
      lockMs: flags.lockMs,
      rate: flags.rate,
      durationSec: flags.duration,
      pollMs: flags.pollMs,
      rowByRowMs: flags.rowByRowMs,
      rowByRowRows: flags.rowByRowRows,
      consumersRows: flags.consumersRows,
      sinkThread: flags.sinkThread,
      timeoutMs: flags.timeout,
      log,
      topics: [],
    };
    topics = ctx.topics;
    log(`database: ${redact(db)}`);
    const ingest = await runIngest(ctx);
    const analytics = await runAnalytics(ctx);
    const consumers = await runConsumers(ctx);
    const finished = new Date();
    const base: Omit<ExperimentReport, 'conclusions'> = {
      setup: {
        rows: data.rows.length,
        data: data.source,
        db: redact(db),
        dbKind: db.kind,
        broker: broker !== null ? `embedded (${broker.placement === 'process' ? 'its own process' : 'in this process'}, ${broker.address})` : `external (${bootstrap})`,
        brokerPlacement: broker !== null ? broker.placement : 'external',
        rowByRowMs: flags.rowByRowMs,
        rowByRowRows: flags.rowByRowRows,
        consumersRows: flags.consumersRows,
        sinkThread: flags.sinkThread,
        lockMs: flags.lockMs,
        analyticsRatePerSec: flags.rate,
        analyticsDurationSec: flags.duration,
        pollMs: flags.pollMs,
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        tributary: packageVersion(),
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: Math.round(performance.now() - t0),
        notes: [
          `${broker === null ? 'The broker is external' : broker.placement === 'in-process' ? 'The embedded broker runs in this Node process' : 'The embedded broker runs as its own process (tributary start)'}; `
            + `the producer and the consumers run in this process${flags.sinkThread === 'worker' ? ', the sink on a worker thread of its own' : ', and so does the sink, on the same thread'}; they share the machine's CPU. The direct loaders run alone.`,
          `SQLite runs with WAL and synchronous=FULL for both paths; the sink writes batches of up to ${SINK_DEFAULTS.batchSize} rows per transaction (its default), the direct batched loader 500.`,
          'Statements count every statement sent, BEGIN/COMMIT and savepoints included.',
        ],
      },
      ingest,
      analytics,
      consumers,
    };
    const report: ExperimentReport = { ...base, conclusions: conclusions(base) };
    await writeFile(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(outDir, 'report.md'), renderMarkdown(report));
    await writeFile(join(outDir, 'report.html'), renderHtml(report));
    process.stdout.write(renderText(report));
    log(`reports written to ${outDir} (report.html, report.md, report.json) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    // An external broker keeps nothing of the run: its topics are deleted (the embedded one goes with its temp dir).
    if (broker === null && client !== null && topics.length > 0) await deleteTopics(client, topics, log);
    await broker?.close().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}
