/**
 * Throughput of Tributary against librdkafka's in-memory mock broker, both driven by kcat:
 * produce N records of S bytes from a file, then fetch them all back. Also Tributary's start-up
 * time (spawn → "listening on" log line, median of 5) and idle RSS.
 *
 *   npm run bench                     1,000,000 × 100-byte records: kcat produce acks=1, produce acks=all into topics
 *                                     with flush.messages=1 (fsync before every acknowledgement), fetch all
 *                                     read_committed and read_uncommitted, fetch the tail
 *   npm run bench -- --records 100000 a quick run
 *   npm run bench -- --runs 5          median of 5 runs per target (default 3)
 *
 *   npm run bench -- --only broker     just this part; --only clients: just the client comparison
 *                                       (bench/clients.ts: ours vs kafkajs vs @platformatic/kafka)
 *   npm run bench -- --client-records 20000,5000   records for the client runs at 100 B and 1 KiB
 *                                       (default 200000,100000; one number sets both); --client-rounds N rounds
 *                                       of the whole comparison (default 5): medians, and the lowest round's ratio
 *   npm run bench -- --only cluster    just the cluster part (bench/cluster.ts: acks=all RF 3 on three brokers vs
 *                                       one broker, failover after kill -9, catch-up of a restarted follower);
 *                                       --cluster-records N (default 100000), --cluster-failovers N (default 3),
 *                                       --cluster-catchup-bytes N (default CLUSTER_BENCH_CATCHUP_BYTES or 1 GB)
 *   npm run bench -- --only security   just the security part (bench/security.ts: produce/consume over PLAINTEXT,
 *                                       SSL and SASL_SSL with SCRAM-SHA-512, and connection set-up times);
 *                                       --security-records N (default 1000000), --security-rounds N (default 3),
 *                                       --security-connections N (default 200)
 *   npm run bench -- --only metrics    just the metrics part (bench/metrics.ts: produce with metrics off vs on,
 *                                       own client and kcat, alternating rounds); --metrics-records N (default
 *                                       1000000), --metrics-rounds N (default 3), --metrics-kcat false to skip kcat
 *   npm run bench -- --only console    just the console part (bench/console.ts: page weight as served, first load of
 *                                       the overview in chromium, idle RSS without/with --console-port and
 *                                       --metrics-port, /metrics scrape time by partition count); --console-loads N
 *                                       (default 5), --console-settle-ms N (default 5000), --console-open-ms N
 *                                       (default 3000), --console-partitions 1000,5000, --console-scrapes N (default 5)
 *   npm run bench -- --only compare    just the comparison with NATS JetStream and RabbitMQ streams (bench/compare.ts:
 *                                       durable publish with acknowledgement, then read back, each with its own Node
 *                                       client; servers from bench/install-competitors.sh); --compare-records N
 *                                       (default 1000000), --compare-runs N (default 3)
 *   npm run bench -- --only latency    just the latency part (bench/latency.ts: send → consume latency at a paced rate,
 *                                       acks=all, own client and kcat, HdrHistogram percentiles, broker GC pauses from
 *                                       --trace-gc); --latency-seconds N measured per case (default 10),
 *                                       --latency-rates 10000,100000 (msg/s), --latency-clients own,kcat (also
 *                                       own>kcat, kcat>own: mixed pairs, to tell the producer's share from the consumer's),
 *                                       --latency-event-loop true (the broker's event-loop delay; turns its metrics on)
 *   npm run bench -- --only scale      just the scale part (bench/scale.ts: 4 vs N partitions and 8 vs N connections,
 *                                       own client; idle RSS and fds with N partitions; start-up on a big data dir
 *                                       after a clean shutdown and after kill -9); --scale-partitions N (default 10000),
 *                                       --scale-connections N (default 1000), --scale-records N (default 1000000),
 *                                       --scale-data-gb N (default 10), --scale-segments N (default 10000)
 *   npm run bench -- --only streams    just the streams part (bench/streams.ts: KafkaStreams vs the same work in a
 *                                       hand-written consumer → producer loop — stateless filter/mapValues, a 1 min
 *                                       windowed count vs a Map — and the restore rate of a store from its changelog;
 *                                       at_least_once, exactly_once_v2 once KafkaStreams takes it); --streams-records N
 *                                       (default 200000), --streams-rounds N (default 2), --streams-cache-bytes N
 *                                       (the applications' statestore.cache.max.bytes, default 10485760; 0: no cache)
 *   npm run bench -- --only cdc-postgres  just change data capture from PostgreSQL (bench/cdc-postgres.ts: snapshot
 *                                       rows/s; changes/s from pgoutput to the broker, at-least-once and exactly-once,
 *                                       vs pgoutput read alone; lag commit → record at 1,000 changes/s); 50,000 rows,
 *                                       3 rounds; needs PostgreSQL installed (apt-get install postgresql)
 *   npm run bench -- --only cdc        just change data capture from MariaDB (bench/cdc.ts: changes/s from the binlog
 *                                       to the broker, at-least-once and exactly-once, vs the binlog read alone; lag
 *                                       commit → record at a steady rate); --cdc-changes N (default 100000),
 *                                       --cdc-rounds N (default 3), --cdc-rate N changes/s (default 1000), --cdc-seconds N (default 10)
 *   npm run bench -- --only pipeline-source  CSV → topic (bench/pipeline-source.ts: the csv source at-least-once and
 *                                       exactly-once, `produce --format csv`, an in-memory object source, each against
 *                                       the own Producer's batched send of the same bytes); --pipeline-source-rows N
 *                                       (default 1000000), --pipeline-source-rounds N (default 3),
 *                                       --pipeline-source-cases 'csv alo,objects' (default all)
 *   npm run bench -- --only pipeline-sink  just topic → database (bench/pipeline-sink.ts: each SQL sink at-least-once and
 *                                       exactly-once vs the experiment's direct batched loader, and memory under a backlog);
 *                                       --pipeline-sink-rows N (default 1000000), --pipeline-sink-rounds N (default 3),
 *                                       --pipeline-sink-db sqlite|mariadb|postgres|all, --pipeline-sink-backlog N (default 300000)
 *
 * Tributary runs through its CLI in a child process; the mock lives inside a long-running kcat
 * (consumer mode on a keep-alive topic), whose address librdkafka logs on stderr at start-up.
 * Results are printed as a table and written to bench/results/latest.json.
 *
 * Caveat: the mock keeps at most 5 MiB (and 100,000 batches) per partition and drops older
 * batches, so it serves back only the newest ~20 MiB of the 100 MB produced; its fetch rate is
 * measured over what it still has (the table says how many records that was).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnBroker } from '../test/compat/support/broker-process.js';
import { run } from '../test/compat/support/processes.js';
import { Admin } from '../src/client/admin.js';
import { formatClientTable, runClientBench } from './clients.js';
import { formatClusterTable, runClusterBench } from './cluster.js';
import { formatSecurityTable, runSecurityBench } from './security.js';
import { formatMetricsTable, runMetricsBench } from './metrics.js';
import { formatConsoleTable, runConsoleBench } from './console.js';
import { formatSoakTable, runSoakBench } from './soak.js';
import { formatCompareTable, runCompareBench } from './compare.js';
import { countLines, medianBy } from './support.js';
import { formatLatencyTable, LATENCY_CLIENTS, runLatencyBench, type LatencyClient } from './latency.js';
import { formatScaleTable, runScaleBench } from './scale.js';
import { formatStreamsTable, runStreamsBench } from './streams.js';
import { formatPipelineSourceTable, runPipelineSourceBench } from './pipeline-source.js';
import { formatCdcPostgresTable, runCdcPostgresBench } from './cdc-postgres.js';
import { formatCdcTable, runCdcBench } from './cdc.js';
import { formatPipelineSinkTable, runPipelineSinkBench, type SinkBenchDb } from './pipeline-sink.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));
const SOAK_REPORT = fileURLToPath(new URL('../../bench/results/soak.html', import.meta.url));
/** The mock auto-creates topics with 4 partitions; Tributary gets the same. */
const PARTITIONS = 4;
/** Same librdkafka producer settings for both targets: large queue, batches of up to 10k. */
const PRODUCER_SETTINGS = [
  '-X', 'queue.buffering.max.messages=2000000',
  '-X', 'queue.buffering.max.kbytes=2097151',
  '-X', 'batch.num.messages=10000',
  '-X', 'linger.ms=5',
];
/**
 * The consumer reports end-of-partition only on an empty fetch, which the broker holds for
 * fetch.wait.max.ms (500 ms by default): a fixed cost that would swamp small runs.
 */
const CONSUMER_SETTINGS = [
  '-X', 'fetch.wait.max.ms=10',
  // A consumer queue large enough that kcat's own printing never pauses fetching: otherwise librdkafka
  // stops fetching at 100k queued messages and resumes up to a second later, on both targets alike.
  '-X', 'queued.min.messages=2000000',
  '-X', 'queued.max.messages.kbytes=2097151',
];
/**
 * Records per partition read back from the end of the log for the like-for-like fetch comparison: few
 * enough that the mock, which keeps only 5 MiB per partition, still holds all of them.
 */
const TAIL_PER_PARTITION = 30_000;
const TAIL_REPEATS = 5;
const STEP_TIMEOUT_MS = 10 * 60_000;

interface Throughput { seconds: number; records: number; msgsPerSec: number; mbPerSec: number }
/** fetch: kcat's default isolation.level, read_committed; fetchUncommitted: the same read with read_uncommitted. */
interface TargetResult { produce: Throughput; fetch: Throughput; fetchUncommitted: Throughput; fetchTail: Throughput }
/** The median run of each operation, and every run. */
interface TargetResults extends TargetResult { runs: TargetResult[] }

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      size: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      'client-records': { type: 'string', default: '200000,100000' },
      'client-rounds': { type: 'string', default: '5' },
      'cluster-records': { type: 'string', default: '100000' },
      'cluster-failovers': { type: 'string', default: '3' },
      'cluster-catchup-bytes': { type: 'string', default: process.env.CLUSTER_BENCH_CATCHUP_BYTES ?? String(1_000_000_000) },
      'security-records': { type: 'string', default: '1000000' },
      'security-rounds': { type: 'string', default: '3' },
      'security-connections': { type: 'string', default: '200' },
      'metrics-records': { type: 'string', default: '1000000' },
      'streams-records': { type: 'string', default: '200000' },
      'streams-rounds': { type: 'string', default: '2' },
      'cdc-changes': { type: 'string', default: '100000' },
      'cdc-rounds': { type: 'string', default: '3' },
      'cdc-rate': { type: 'string', default: '1000' },
      'cdc-seconds': { type: 'string', default: '10' },
      'pipeline-sink-rows': { type: 'string', default: '1000000' },
      'pipeline-sink-rounds': { type: 'string', default: '3' },
      'pipeline-sink-db': { type: 'string', default: 'all' },
      'pipeline-sink-backlog': { type: 'string', default: '300000' },
      'streams-cache-bytes': { type: 'string', default: '10485760' },
      'metrics-rounds': { type: 'string', default: '3' },
      'metrics-kcat': { type: 'string', default: 'true' },
      'console-loads': { type: 'string', default: '5' },
      'console-settle-ms': { type: 'string', default: '5000' },
      'console-open-ms': { type: 'string', default: '3000' },
      'console-partitions': { type: 'string', default: '1000,5000' },
      'console-scrapes': { type: 'string', default: '5' },
      soak: { type: 'boolean', default: false },
      'soak-minutes': { type: 'string', default: '60' },
      // Not in the doc comment: for short trial runs (the unit test calls runSoakBench directly).
      'soak-seconds': { type: 'string' },
      'soak-rate': { type: 'string', default: '20000' },
      'soak-sample-seconds': { type: 'string', default: '5' },
      'soak-report': { type: 'string', default: SOAK_REPORT },
      'compare-records': { type: 'string', default: '1000000' },
      'compare-runs': { type: 'string', default: '3' },
      'latency-seconds': { type: 'string', default: '10' },
      'latency-rates': { type: 'string', default: '10000,100000' },
      'latency-clients': { type: 'string', default: 'own,kcat' },
      'latency-event-loop': { type: 'string', default: 'false' },
      'scale-partitions': { type: 'string', default: '10000' },
      'scale-connections': { type: 'string', default: '1000' },
      'scale-records': { type: 'string', default: '1000000' },
      'scale-data-gb': { type: 'string', default: '10' },
      'scale-segments': { type: 'string', default: '10000' },
      'pipeline-source-rows': { type: 'string', default: '1000000' },
      'pipeline-source-rounds': { type: 'string', default: '3' },
      'pipeline-source-cases': { type: 'string' },
    },
  });
  const records = Number(values.records);
  const size = Number(values.size);
  const runs = Number(values.runs);
  if (!Number.isInteger(records) || records <= 0 || !Number.isInteger(size) || size < 12 || !Number.isInteger(runs) || runs < 1) {
    throw new Error('--records and --runs must be positive integers and --size an integer >= 12');
  }
  if (values.only !== undefined && !['broker', 'clients', 'cluster', 'security', 'metrics', 'console', 'compare', 'latency', 'scale', 'streams', 'cdc', 'cdc-postgres', 'pipeline-source', 'pipeline-sink'].includes(values.only)) throw new Error('--only must be broker, clients, cluster, security, metrics, console, compare, latency, scale, streams, cdc, cdc-postgres, pipeline-source or pipeline-sink');
  const pipelineSource = { rows: Number(values['pipeline-source-rows']), rounds: Number(values['pipeline-source-rounds']), cases: values['pipeline-source-cases']?.split(',') };
  if (!Number.isInteger(pipelineSource.rows) || pipelineSource.rows <= 0 || !Number.isInteger(pipelineSource.rounds) || pipelineSource.rounds <= 0) throw new Error('--pipeline-source-rows and --pipeline-source-rounds must be positive integers');
  const pipelineSinkBench = {
    rows: Number(values['pipeline-sink-rows']), rounds: Number(values['pipeline-sink-rounds']), backlog: Number(values['pipeline-sink-backlog']),
    dbs: (values['pipeline-sink-db'] === 'all' ? ['sqlite', 'mariadb', 'postgres'] : values['pipeline-sink-db'].split(',')) as SinkBenchDb[],
  };
  if (![pipelineSinkBench.rows, pipelineSinkBench.rounds].every((n) => Number.isInteger(n) && n > 0) || !(Number.isInteger(pipelineSinkBench.backlog) && pipelineSinkBench.backlog >= 0)
    || !pipelineSinkBench.dbs.every((d) => ['sqlite', 'mariadb', 'postgres'].includes(d))) {
    throw new Error('--pipeline-sink-rows and --pipeline-sink-rounds must be positive integers, --pipeline-sink-backlog an integer >= 0, --pipeline-sink-db sqlite, mariadb, postgres (comma-separated) or all');
  }
  const cdcBench = { changes: Number(values['cdc-changes']), rounds: Number(values['cdc-rounds']), lagRate: Number(values['cdc-rate']), lagSeconds: Number(values['cdc-seconds']) };
  if (!Object.values(cdcBench).every((n) => Number.isInteger(n) && n > 0)) throw new Error('--cdc-changes, --cdc-rounds, --cdc-rate and --cdc-seconds must be positive integers');
  const streamsBench = { records: Number(values['streams-records']), rounds: Number(values['streams-rounds']), cacheBytes: Number(values['streams-cache-bytes']) };
  if (!Number.isInteger(streamsBench.cacheBytes) || streamsBench.cacheBytes < 0) throw new Error('--streams-cache-bytes must be an integer >= 0');
  if (!Number.isInteger(streamsBench.records) || streamsBench.records <= 0 || !Number.isInteger(streamsBench.rounds) || streamsBench.rounds <= 0) throw new Error('--streams-records and --streams-rounds must be positive integers');
  const compare = { records: Number(values['compare-records']), runs: Number(values['compare-runs']) };
  if (!Number.isInteger(compare.records) || compare.records <= 0 || !Number.isInteger(compare.runs) || compare.runs <= 0) throw new Error('--compare-records and --compare-runs must be positive integers');
  const latencyBench = {
    seconds: Number(values['latency-seconds']), warmupSeconds: 2,
    rates: values['latency-rates'].split(',').map(Number), clients: values['latency-clients'].split(',') as LatencyClient[],
    eventLoop: values['latency-event-loop'] === 'true',
  };
  if (!(latencyBench.seconds > 0) || !latencyBench.rates.every((n) => Number.isInteger(n) && n > 0) || !latencyBench.clients.every((c) => LATENCY_CLIENTS.includes(c))) {
    throw new Error(`--latency-seconds must be positive, --latency-rates positive integers (comma-separated), --latency-clients among ${LATENCY_CLIENTS.join(', ')}`);
  }
  const scaleBench = {
    partitions: Number(values['scale-partitions']), connections: Number(values['scale-connections']), records: Number(values['scale-records']),
    dataGb: Number(values['scale-data-gb']), segments: Number(values['scale-segments']),
  };
  if (!Object.values(scaleBench).every((n) => Number.isFinite(n) && n > 0) || ![scaleBench.partitions, scaleBench.connections, scaleBench.records, scaleBench.segments].every(Number.isInteger)) {
    throw new Error('--scale-partitions, --scale-connections, --scale-records and --scale-segments must be positive integers, --scale-data-gb a positive number');
  }
  const consoleBench = {
    loads: Number(values['console-loads']), settleMs: Number(values['console-settle-ms']), openMs: Number(values['console-open-ms']),
    partitions: values['console-partitions'].split(',').filter((x) => x !== '').map(Number), scrapes: Number(values['console-scrapes']), caseBudgetMs: 30_000,
  };
  if (![consoleBench.loads, consoleBench.settleMs, consoleBench.openMs, consoleBench.scrapes, ...consoleBench.partitions].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--console-loads, --console-settle-ms, --console-open-ms, --console-scrapes and --console-partitions (comma-separated) must be positive integers');
  }
  const metricsBench = { records: Number(values['metrics-records']), rounds: Number(values['metrics-rounds']), kcat: values['metrics-kcat'] !== 'false' };
  if (!Number.isInteger(metricsBench.records) || metricsBench.records <= 0 || !Number.isInteger(metricsBench.rounds) || metricsBench.rounds <= 0) throw new Error('--metrics-records and --metrics-rounds must be positive integers');
  const security = { records: Number(values['security-records']), rounds: Number(values['security-rounds']), connections: Number(values['security-connections']) };
  if (!Object.values(security).every((n) => Number.isInteger(n) && n > 0)) throw new Error('--security-records, --security-rounds and --security-connections must be positive integers');
  const clusterRecords = Number(values['cluster-records']);
  const clusterFailovers = Number(values['cluster-failovers']);
  const catchupBytes = Number(values['cluster-catchup-bytes']);
  if (![clusterRecords, clusterFailovers, catchupBytes].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--cluster-records, --cluster-failovers and --cluster-catchup-bytes must be positive integers');
  }
  const clientRounds = Number(values['client-rounds']);
  if (!Number.isInteger(clientRounds) || clientRounds <= 0) throw new Error('--client-rounds must be a positive integer');
  const soak = {
    durationMs: values['soak-seconds'] !== undefined ? Number(values['soak-seconds']) * 1000 : Number(values['soak-minutes']) * 60_000,
    ratePerSec: Number(values['soak-rate']), sampleMs: Number(values['soak-sample-seconds']) * 1000, reportPath: values['soak-report'],
  };
  if (![soak.durationMs, soak.ratePerSec, soak.sampleMs].every((n) => Number.isFinite(n) && n > 0)) throw new Error('--soak-minutes, --soak-rate and --soak-sample-seconds must be positive numbers');
  const clientRecords = values['client-records'].split(',').map(Number);
  if (clientRecords.length > 2 || !clientRecords.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error('--client-records must be N (both sizes) or N100,N1024, positive integers');
  }

  // Each part replaces only its own results, so `--only` keeps the other part's last numbers.
  const output: Record<string, unknown> = await readFile(RESULTS, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}));
  const work = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const cleanups: Array<() => Promise<unknown>> = [async () => rm(work, { recursive: true, force: true })];
  try {
    const part = (name: string): boolean => !values.soak && (values.only === undefined || values.only === name);
    if (values.soak) {
      const result = await runSoakBench({ workDir: work, ...soak });
      console.log(formatSoakTable(result));
      // The samples are in the report's JSON; latest.json keeps the summary.
      output.soak = { ...result, samples: undefined };
      if (result.summary.lost > 0) process.exitCode = 1;
    }
    if (part('broker')) Object.assign(output, await brokerBench(work, cleanups, records, size, runs));
    if (part('clients')) {
      const clients = await runClientBench({
        workDir: work,
        sizes: [
          { recordBytes: 100, records: clientRecords[0] },
          { recordBytes: 1024, records: clientRecords[1] ?? clientRecords[0] },
        ],
        rounds: clientRounds,
      });
      console.log(formatClientTable(clients));
      output.clients = clients;
    }
    if (part('cluster')) {
      const cluster = await runClusterBench({
        workDir: work, records: clusterRecords, recordBytes: 100, window: 1000, latencyRecords: 2000, failoverRuns: clusterFailovers, catchupBytes,
      });
      console.log(formatClusterTable(cluster));
      output.cluster = cluster;
    }
    if (part('security')) {
      const result = await runSecurityBench({ workDir: work, ...security });
      console.log(formatSecurityTable(result));
      output.security = result;
    }
    if (part('metrics')) {
      const result = await runMetricsBench({ workDir: work, ...metricsBench });
      console.log(formatMetricsTable(result));
      output.metrics = result;
    }
    if (part('console')) {
      const result = await runConsoleBench({ workDir: work, ...consoleBench });
      console.log(formatConsoleTable(result));
      output.console = result;
    }
    if (part('compare')) {
      const result = await runCompareBench({ workDir: work, ...compare });
      console.log(formatCompareTable(result));
      output.compare = result;
    }
    if (part('latency')) {
      const result = await runLatencyBench({ workDir: work, ...latencyBench });
      console.log(formatLatencyTable(result));
      output.latency = result;
    }
    if (part('scale')) {
      const result = await runScaleBench({ workDir: work, ...scaleBench });
      console.log(formatScaleTable(result));
      output.scale = result;
    }
    if (part('streams')) {
      const result = await runStreamsBench({ workDir: work, ...streamsBench });
      console.log(formatStreamsTable(result));
      output.streams = result;
    }
    if (part('pipeline-source')) {
      const result = await runPipelineSourceBench({ workDir: work, ...pipelineSource });
      console.log(formatPipelineSourceTable(result));
      output.pipelineSource = result;
    }
    if (part('cdc-postgres')) {
      const result = await runCdcPostgresBench({ rows: 50_000, rounds: 3, rate: 1000, seconds: 10 }).catch((error: Error) => {
        if (!/is installed/.test(error.message)) throw error;
        console.log(`cdc-postgres skipped: ${error.message}`);
        return null;
      });
      if (result) {
        console.log(formatCdcPostgresTable(result));
        output.cdcPostgres = result;
      }
    }
    if (part('pipeline-sink')) {
      const result = await runPipelineSinkBench({ workDir: work, ...pipelineSinkBench });
      console.log(formatPipelineSinkTable(result));
      output.pipelineSink = result;
    }
    if (part('cdc')) {
      const result = await runCdcBench({ workDir: work, ...cdcBench });
      console.log(formatCdcTable(result));
      output.cdc = result;
    }
    await mkdir(dirname(RESULTS), { recursive: true });
    await writeFile(RESULTS, JSON.stringify(output, null, 2) + '\n');
    console.log(`\nwritten to ${RESULTS}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  }
}

/** Tributary vs librdkafka's mock broker, both driven by kcat; the broker part of latest.json. */
async function brokerBench(work: string, cleanups: Array<() => Promise<unknown>>, records: number, size: number, runs: number): Promise<Record<string, unknown>> {
  const input = join(work, 'records.txt');
  await writeRecords(input, records, size);
  console.log(`${records} records of ${size} bytes in ${input}`);

  const startup = await measureStartup(work, 5);
  console.log(`start-up median ${startup.medianMs.toFixed(0)} ms, idle RSS ${(startup.idleRssKb / 1024).toFixed(1)} MiB`);

  const broker = await spawnBroker(join(work, 'data'), { settings: { 'num.partitions': String(PARTITIONS) } });
  cleanups.push(() => broker.stop());
  console.log(`Tributary (pid ${broker.pid}) at ${broker.address}`);
  const tributary = await measureRuns(runs, broker.address, input, records, size, true);
  const afterLoadRss = await memory(broker.pid);

  // acks=all with an fsync before every acknowledgement: topics with flush.messages=1 (the broker's group commit
  // shares one fdatasync per partition among the requests of a tick). The mock keeps everything in memory.
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-admin' });
  let durable: Throughput;
  try {
    await admin.connect();
    durable = await measureAcksAll(runs, broker.address, input, records, size, async (topic) => {
      await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, configs: { 'flush.messages': '1' } }]);
    });
  } finally {
    await admin.close();
  }

  const mock = await startMock();
  cleanups.push(mock.stop);
  console.log(`librdkafka mock at ${mock.address}`);
  const mockResult = await measureRuns(runs, mock.address, input, records, size, false);
  const mockDurable = await measureAcksAll(runs, mock.address, input, records, size, async () => undefined);

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    kcat: (await run('kcat', ['-V'])).stdout.split('\n').find((l) => l.startsWith('Version')) ?? 'unknown',
    records,
    recordBytes: size,
    partitions: PARTITIONS,
    runs,
    tributary: { ...tributary, produceAcksAllFsync: durable, rssAfterLoadKb: afterLoadRss.rssKb, peakRssKb: afterLoadRss.peakKb },
    mock: { ...mockResult, produceAcksAll: mockDurable },
    ratio: {
      produce: tributary.produce.msgsPerSec / mockResult.produce.msgsPerSec,
      produceAcksAllFsync: durable.msgsPerSec / mockDurable.msgsPerSec,
      fetch: tributary.fetchTail.msgsPerSec / mockResult.fetchTail.msgsPerSec,
      fetchAll: tributary.fetch.msgsPerSec / mockResult.fetch.msgsPerSec,
      readCommittedOverUncommitted: tributary.fetch.msgsPerSec / tributary.fetchUncommitted.msgsPerSec,
    },
    startup,
  };
  printTable(result);
  return result;
}

/** N lines of exactly `size` bytes (plus the newline): a zero-padded sequence number, then filler. */
async function writeRecords(path: string, count: number, size: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    const filler = 'x'.repeat(size);
    const CHUNK = 10_000;
    for (let start = 0; start < count; start += CHUNK) {
      let text = '';
      for (let i = start; i < Math.min(count, start + CHUNK); i++) {
        const head = String(i).padStart(10, '0') + '-';
        text += head + filler.slice(head.length) + '\n';
      }
      await file.write(text);
    }
  } finally {
    await file.close();
  }
}

/**
 * Each run produces the file into a new topic and fetches that topic back; the machine is shared
 * and librdkafka has coarse timers, so single runs are noisy and the median is reported.
 */
async function measureRuns(runs: number, address: string, input: string, records: number, size: number, keepsAll: boolean): Promise<TargetResults> {
  const results: TargetResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await measure(address, `bench-${i}`, input, records, size, keepsAll));
  const median = (pick: (r: TargetResult) => Throughput): Throughput => medianBy(results.map(pick), (t) => t.seconds);
  return { produce: median((r) => r.produce), fetch: median((r) => r.fetch), fetchUncommitted: median((r) => r.fetchUncommitted), fetchTail: median((r) => r.fetchTail), runs: results };
}

/** kcat produce with acks=all into a new topic per run (made by `prepare`); the median run. */
async function measureAcksAll(runs: number, address: string, input: string, records: number, size: number, prepare: (topic: string) => Promise<void>): Promise<Throughput> {
  const results: Throughput[] = [];
  for (let i = 0; i < runs; i++) {
    const topic = `bench-acks-all-${i}`;
    await prepare(topic);
    results.push(await kcatProduce(address, topic, input, records, size, 'all'));
  }
  return medianBy(results, (t) => t.seconds);
}

/** kcat produces the file into `topic` with `acks`. */
async function kcatProduce(address: string, topic: string, input: string, records: number, size: number, acks: '1' | 'all'): Promise<Throughput> {
  const started = performance.now();
  await run('kcat', ['-P', '-b', address, '-t', topic, ...PRODUCER_SETTINGS, '-X', `acks=${acks}`, '-l', input], { timeoutMs: STEP_TIMEOUT_MS });
  const t = throughput(performance.now() - started, records, size);
  console.log(`  produce acks=${acks} ${t.seconds.toFixed(2)} s, ${Math.round(t.msgsPerSec)} msg/s`);
  return t;
}

/** kcat reads `topic` from the beginning to its end with `isolation`; the records read and the rate. */
async function kcatFetchAll(address: string, topic: string, size: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<Throughput> {
  const started = performance.now();
  const fetched = await countLines('kcat', ['-C', '-b', address, '-t', topic, ...CONSUMER_SETTINGS, '-X', `isolation.level=${isolation}`, '-o', 'beginning', '-e', '-q'], STEP_TIMEOUT_MS);
  const t = throughput(performance.now() - started, fetched, size);
  console.log(`  fetch   ${t.seconds.toFixed(2)} s, ${Math.round(t.msgsPerSec)} msg/s (${isolation})`);
  return t;
}

/** `keepsAll`: the target must serve back every record it acknowledged (the mock does not). */
async function measure(address: string, topic: string, input: string, records: number, size: number, keepsAll: boolean): Promise<TargetResult> {
  const produce = await kcatProduce(address, topic, input, records, size, '1');
  const fetch = await kcatFetchAll(address, topic, size, 'read_committed');
  const fetched = fetch.records;
  if (keepsAll ? fetched !== records : fetched === 0 || fetched > records) {
    throw new Error(`fetched ${fetched} records from ${address}, produced ${records}`);
  }
  // The same read with read_uncommitted: the read_committed path (last stable offset, aborted transactions) should cost
  // nothing when there are no transactions.
  const fetchUncommitted = await kcatFetchAll(address, topic, size, 'read_uncommitted');
  if (fetchUncommitted.records !== fetched) throw new Error(`read ${fetched} records read_committed but ${fetchUncommitted.records} read_uncommitted from ${address}`);

  // The same number of newest records from both targets, best of a few reads (the read is short).
  const tailArgs = ['-C', '-b', address, '-t', topic, ...CONSUMER_SETTINGS, '-o', `-${TAIL_PER_PARTITION}`, '-e', '-q'];
  let fetchTail: Throughput | undefined;
  for (let i = 0; i < TAIL_REPEATS; i++) {
    const started = performance.now();
    const n = await countLines('kcat', tailArgs, STEP_TIMEOUT_MS);
    const t = throughput(performance.now() - started, n, size);
    if (!fetchTail || t.seconds < fetchTail.seconds) fetchTail = t;
  }
  console.log(`  fetch tail ${fetchTail!.records} records, ${fetchTail!.seconds.toFixed(3)} s, ${Math.round(fetchTail!.msgsPerSec)} msg/s`);
  return { produce, fetch, fetchUncommitted, fetchTail: fetchTail! };
}

function throughput(ms: number, records: number, size: number): Throughput {
  const seconds = ms / 1000;
  return { seconds, records, msgsPerSec: records / seconds, mbPerSec: (records * size) / 1e6 / seconds };
}

async function measureStartup(work: string, runs: number): Promise<{ runsMs: number[]; medianMs: number; idleRssKb: number }> {
  const runsMs: number[] = [];
  let idleRssKb = 0;
  for (let i = 0; i < runs; i++) {
    const broker = await spawnBroker(join(work, `startup-${i}`));
    try {
      runsMs.push(broker.startupMs);
      if (i === runs - 1) {
        // A short idle so start-up garbage can be collected and timers settle; then sample.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        idleRssKb = (await memory(broker.pid)).rssKb;
      }
    } finally {
      await broker.stop();
    }
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { runsMs, medianMs: sorted[Math.floor(sorted.length / 2)], idleRssKb };
}

async function memory(pid: number): Promise<{ rssKb: number; peakKb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/**
 * librdkafka's mock cluster lives as long as the client that created it, so one kcat consumes a
 * keep-alive topic (from its end, so it prints nothing) while the measured kcats connect to the
 * address it logs: "Mock cluster enabled: … replaced with 127.0.0.1:PORT".
 */
async function startMock(): Promise<{ address: string; stop: () => Promise<void> }> {
  const child = spawn('kcat', ['-b', '127.0.0.1:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', 'bench-keepalive', '-o', 'end', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the mock did not log its address: ${stderr}`));
    }, 10_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /replaced with (\S+:\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the mock kcat exited (${code}): ${stderr}`));
    });
  });
  return {
    address,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function printTable(result: {
  records: number; recordBytes: number; runs: number;
  tributary: TargetResult & { produceAcksAllFsync: Throughput }; mock: TargetResult & { produceAcksAll: Throughput };
  ratio: { produce: number; produceAcksAllFsync: number; fetch: number; fetchAll: number; readCommittedOverUncommitted: number };
  startup: { medianMs: number; idleRssKb: number };
}): void {
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(14))).join(' ');
  const cells = (name: string, records: number, seconds: number, ratio?: number): string[] => [
    name, records.toLocaleString('en-US'), seconds.toFixed(2), Math.round(records / seconds).toLocaleString('en-US'),
    ((records * result.recordBytes) / 1e6 / seconds).toFixed(1), ratio === undefined ? '' : ratio.toFixed(2),
  ];
  console.log(`\n${result.records.toLocaleString('en-US')} records × ${result.recordBytes} B, kcat, ${PARTITIONS} partitions, median of ${result.runs} runs (MB = 10^6 B of record values)`);
  console.log(row(['', 'records', 'seconds', 'msgs/s', 'MB/s', 'Tributary/mock']));
  console.log(row(cells('produce T', result.tributary.produce.records, result.tributary.produce.seconds)));
  console.log(row(cells('produce mock', result.mock.produce.records, result.mock.produce.seconds, result.ratio.produce)));
  console.log(row(cells('acks=all+fsync T', result.tributary.produceAcksAllFsync.records, result.tributary.produceAcksAllFsync.seconds)));
  console.log(row(cells('acks=all mock', result.mock.produceAcksAll.records, result.mock.produceAcksAll.seconds, result.ratio.produceAcksAllFsync)));
  console.log(row(cells('fetch all T', result.tributary.fetch.records, result.tributary.fetch.seconds)));
  console.log(row(cells('fetch all mock', result.mock.fetch.records, result.mock.fetch.seconds, result.ratio.fetchAll)));
  console.log(row(cells('fetch all T r_u', result.tributary.fetchUncommitted.records, result.tributary.fetchUncommitted.seconds)));
  console.log(row(cells('fetch tail T', result.tributary.fetchTail.records, result.tributary.fetchTail.seconds)));
  console.log(row(cells('fetch tail mock', result.mock.fetchTail.records, result.mock.fetchTail.seconds, result.ratio.fetch)));
  console.log(`the mock keeps only 5 MiB per partition, so "fetch all" reads back fewer records from it; the fetch ratio`);
  console.log(`compares "fetch tail": the newest ${TAIL_PER_PARTITION.toLocaleString('en-US')} records of each partition from both, best of ${TAIL_REPEATS}`);
  console.log(`"produce" is acks=1; "acks=all+fsync T": acks=all on topics with flush.messages=1 (an fdatasync before each acknowledgement)`);
  console.log(`"fetch all" is read_committed (kcat's default); "T r_u" the same read with read_uncommitted: committed/uncommitted rate ${result.ratio.readCommittedOverUncommitted.toFixed(2)}`);
  console.log(`Tributary start-up (median of 5): ${result.startup.medianMs.toFixed(0)} ms; idle RSS ${(result.startup.idleRssKb / 1024).toFixed(1)} MiB`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
