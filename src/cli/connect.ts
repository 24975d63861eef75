/**
 * `tributary connect`: runs data pipelines (Kafka Connect's job) — files, directories and HTTP into topics,
 * topics into SQLite, MySQL/MariaDB, PostgreSQL or JSON-lines files — from a pipeline file or, for one
 * pipeline, from flags.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, pipelineFromFlags, type PipelineFlags } from '../connect/config.js';
import { runPipelines, runsUntilStopped, type RuntimeOptions } from '../connect/runtime.js';
import type { ConnectConfig } from '../connect/types.js';
import { DEFAULT_BOOTSTRAP } from '../client/cluster.js';
import { action, addClientFlags, clientOptions, clientProperties, UsageError, type ClientFlags } from './common.js';
import { stopOnSignals } from './data-options.js';

interface ConnectFlags extends ClientFlags, PipelineFlags {
  once?: boolean;
  resetSourceOffsets?: boolean;
}

export function registerConnect(program: Command): void {
  const cmd = program
    .command('connect')
    .argument('[pipeline-file]', 'pipeline file (.yaml, .yml or .json) with one or more pipelines')
    .description('Run data pipelines: CSV/JSON-lines files, directories and HTTP into topics; topics into SQLite, MySQL/MariaDB, PostgreSQL or JSON-lines files')
    .option('--once', 'sinks stop once caught up (no lag for 2 s) instead of running until stopped')
    .option('--reset-source-offsets', 'file sources forget how far earlier runs got (connect-offsets) and produce every file again from its beginning')
    // One pipeline from flags (the same keys as a pipeline file).
    .option('--name <name>', 'pipeline name (default source-<topic> or sink-<topic>); the sink consumer group is connect-<name>')
    .option('-t, --topic <topic>', 'the topic the source produces to or the sink reads')
    .option('--group <group>', 'consumer group of the sink (default connect-<name>)')
    .option('--source-type <type>', 'csv, jsonl, directory or http')
    .option('--source-path <path>', 'csv/jsonl: the file; directory: the directory')
    .option('--key-column <name>', 'source: the column/field whose value becomes the record key')
    .option('--columns <name:type,...>', 'csv/directory: declared column types (int, float, bool, string, timestamp); others are inferred')
    .option('--delimiter <char>', 'csv/directory: field delimiter (default ","; "\\t" for tab)')
    .option('--skip-bad-lines', 'jsonl/directory: skip (and count) lines that are not a JSON object instead of failing')
    .option('--pattern <glob>', 'directory: file names to take (default *.csv)')
    .option('--format <format>', 'directory: csv or jsonl when the pattern does not tell')
    .option('--poll-ms <ms>', 'directory: how often to look for new files (default 1000)')
    .option('--port <port>', 'http: port to listen on (0 = any free port)')
    .option('--host <host>', 'http: address to listen on (default 127.0.0.1)')
    .option('--http-path <path>', 'http: URL path that takes POSTs (default /events)')
    .option('--max-body-bytes <n>', 'http: larger request bodies get 413 (default 1048576)')
    .option('--sink-type <type>', 'sqlite, mysql, postgres or jsonl')
    .option('--sink-url <url>', 'sqlite: database file; mysql://user:pw@host:3306/db; postgres://user:pw@host:5432/db; jsonl: output file')
    .option('--table <table>', 'SQL sinks: the table to write')
    .option('--mode <mode>', 'insert (default) or upsert')
    .option('--key-columns <a,b>', 'upsert: the columns that identify a row')
    .option('--auto-create', 'create the table from the first records when it does not exist')
    .option('--sink-columns <col=field,...>', 'table column ← record field mapping (default: same names)')
    .option('--batch-size <n>', 'rows per transaction (default 500)')
    .option('--guarantee <g>', 'at-least-once (default) or exactly-once; sink: offsets stored in the database (table tributary_offsets); file source: records and offsets produced in one transaction')
    .option('--dead-letter-topic <topic>', 'where records the database refuses go (default <topic>-dlq)')
    .option('--value-format <format>', 'json (default), avro or json-schema: values through the schema registry (Confluent wire format)')
    .option('--schema-registry <url>', 'avro/json-schema: the schema registry, e.g. http://127.0.0.1:8081')
    .option('--value-schema-file <file>', 'avro/json-schema source: the value schema (a csv source without one: from its header)');
  addClientFlags(cmd)
    .addHelpText('after', `
A pipeline file (YAML or JSON) lists pipelines; each has a name, a topic and a source, a sink, or both:

  bootstrapServers: 127.0.0.1:9092          # -b overrides it
  pipelines:
    - name: users-in
      topic: users
      source: { type: csv, path: users.csv.gz, keyColumn: id, columns: { age: int } }
    - name: events-in
      topic: events
      source: { type: http, port: 8080, path: /events }      # POST a JSON object or array; 202 once stored
    - name: drops
      topic: drops
      source: { type: directory, path: ./incoming, pattern: '*.jsonl' }
    - name: users-to-db
      topic: users
      sink: { type: sqlite, url: ./users.db, table: users, mode: upsert, keyColumns: [id], autoCreate: true }

Sources:
  csv        header row; RFC 4180 quoting (newlines inside quotes too), CRLF or LF; gzip by .gz or content.
             Column types (int, float, bool, timestamp = ISO-8601, string) are inferred from the first 100 rows
             unless declared; a cell that does not parse as its type stays a string; empty cells are null.
  jsonl      one JSON object per line; a bad line stops the pipeline (naming the line) unless skipBadLines: true.
  directory  existing files in name order, then new ones (polled every second, taken once their size is stable
             for 1 s).
  http       POST JSON to http://host:port/path (printed when listening); 202 {"accepted": n} only after the brokers
             acknowledged the records; 400 bad JSON, 413 over maxBodyBytes, 404 other paths, 405 other methods.
  mysql      change data capture (pipeline file only): {url, tables: [db.table], prefix, serverId} — a snapshot,
             then the binlog; Debezium envelopes on <prefix>.<db>.<table>; a sink with cdc: true applies them.
File sources remember how far they got in the topic connect-offsets (as Kafka Connect does), per pipeline and
file: a rerun resumes after the last record produced, skips an unchanged finished file and produces only the new
records of a grown one; a different file at the same path is read from the start. guarantee (source key, or
--guarantee): at-least-once stores offsets as records are acknowledged (a killed run repeats at most those
acknowledged since); exactly-once commits records and offsets in one transaction (read_committed consumers, and
the sinks, see each record once). A file source is exactly-once by default when a sink of the same file reads its
topic exactly-once. --reset-source-offsets produces every file again from its beginning.
Sinks: sqlite, mysql (MariaDB too), postgres, jsonl; mode insert or upsert; guarantee at-least-once or
exactly-once; refused records go to the dead-letter topic with __connect.errors.* headers.

Relative paths in a pipeline file are relative to the file; in flags, to the current directory.
Records are produced with an idempotent producer (acks all); keys from keyColumn, values as JSON. Sinks read
read_committed.
File sources finish at the end of their input; the command exits when every pipeline has finished, unless a
sink (without --once) or a directory or http source keeps it running. SIGINT/SIGTERM stop every pipeline
cleanly (sources stop, producers flush, sinks commit) and exit 0.
The sinks' consumers take -X session.timeout.ms, heartbeat.interval.ms and max.poll.interval.ms (Kafka's
defaults 45000, 3000, 300000): a sink process that dies is replaced by another in its group after the session timeout.

Examples:
  $ tributary connect pipelines.yaml
  $ tributary connect --topic users --source-type csv --source-path users.csv --key-column id
  $ tributary connect --topic users --sink-type sqlite --sink-url users.db --table users --auto-create --once
  $ tributary connect --topic events --source-type http --port 8080
    then: curl -d '[{"id":1},{"id":2}]' http://127.0.0.1:8080/events   → 202 {"accepted":2}`)
    .action(action(connect));
}

async function connect(file: string | undefined, flags: ConnectFlags, cmd: Command): Promise<void> {
  let config: ConnectConfig;
  let fromFlags;
  try {
    fromFlags = pipelineFromFlags(pipelineFlagsOf(flags));
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (file !== undefined) {
    if (fromFlags !== null) throw new UsageError('give either a pipeline file or pipeline flags (--topic, --source-type, --sink-type, …), not both');
    config = await loadConfigFile(file);
  } else {
    if (fromFlags === null) throw new UsageError('give a pipeline file, or --topic with --source-type and/or --sink-type for one pipeline');
    config = { bootstrapServers: DEFAULT_BOOTSTRAP, pipelines: [fromFlags] };
  }
  // -b (or TRIBUTARY_BOOTSTRAP_SERVER) wins over the file; otherwise the file's bootstrapServers.
  const bootstrapSource = cmd.getOptionValueSource('bootstrapServer');
  const bootstrap = bootstrapSource === 'default' || bootstrapSource === undefined ? config.bootstrapServers : flags.bootstrapServer;
  const client = clientOptions({ ...flags, bootstrapServer: bootstrap });
  const once = flags.once === true;
  const stop = stopOnSignals();
  const untilStopped = runsUntilStopped(config, once);
  process.stderr.write(
    `connect: ${config.pipelines.length} pipeline${config.pipelines.length === 1 ? '' : 's'} (${config.pipelines.map((p) => p.name).join(', ')}) against ${bootstrap}${untilStopped ? '; Ctrl-C to stop' : ''}\n`,
  );
  try {
    await runPipelines(config, client, { signal: stop.signal, once, resetSourceOffsets: flags.resetSourceOffsets === true, consumer: sinkConsumerOptions(clientProperties(flags)) });
  } finally {
    stop.dispose();
  }
  if (stop.signal.aborted) process.stderr.write('connect: stopped\n');
}

/** The sinks' consumer settings from -X, by Kafka's names (a sink killed with -9 is replaced after session.timeout.ms). */
function sinkConsumerOptions(p: Record<string, string>): RuntimeOptions['consumer'] {
  const ms = (key: string): number | undefined => {
    if (p[key] === undefined) return undefined;
    const n = Number(p[key]);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`-X ${key} must be a positive whole number of milliseconds, got "${p[key]}"`);
    return n;
  };
  return { sessionTimeoutMs: ms('session.timeout.ms'), heartbeatIntervalMs: ms('heartbeat.interval.ms'), maxPollIntervalMs: ms('max.poll.interval.ms') };
}

function pipelineFlagsOf(f: ConnectFlags): PipelineFlags {
  return {
    name: f.name,
    topic: f.topic,
    group: f.group,
    sourceType: f.sourceType,
    sourcePath: f.sourcePath,
    keyColumn: f.keyColumn,
    columns: f.columns,
    delimiter: f.delimiter,
    skipBadLines: f.skipBadLines,
    pattern: f.pattern,
    format: f.format,
    pollMs: f.pollMs,
    port: f.port,
    host: f.host,
    httpPath: f.httpPath,
    maxBodyBytes: f.maxBodyBytes,
    sinkType: f.sinkType,
    sinkUrl: f.sinkUrl,
    table: f.table,
    mode: f.mode,
    keyColumns: f.keyColumns,
    autoCreate: f.autoCreate,
    sinkColumns: f.sinkColumns,
    batchSize: f.batchSize,
    guarantee: f.guarantee,
    deadLetterTopic: f.deadLetterTopic,
    valueFormat: f.valueFormat,
    schemaRegistry: f.schemaRegistry,
    valueSchemaFile: f.valueSchemaFile,
  };
}
