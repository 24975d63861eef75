/**
 * Interfaces of the connector runtime (`tributary connect`): sources produce records into a topic,
 * sinks write a topic's records into a database or file. Names follow Kafka Connect where it has them.
 */
import { TributaryError } from '../errors.js';
import type { ConsumerRecord } from '../client/consumer.js';

/** One record a source hands to the runtime; the runtime produces it (value as JSON unless a Buffer/string). */
export interface SourceRecord {
  /** The topic to produce to, when not the pipeline's (CDC: one topic per table, created on first use). */
  topic?: string;
  key: string | Buffer | null;
  /** An object → JSON; a string or Buffer is sent as is. */
  value: unknown;
  headers?: Record<string, string>;
  timestamp?: number;
  /** Which input the record comes from (Kafka Connect's sourcePartition), e.g. {path}; none for HTTP. */
  sourcePartition?: SourcePartition;
  /** Where that input stands once this record is produced (Kafka Connect's sourceOffset); CDC: the source's position. */
  sourceOffset?: SourceOffset | ConnectorOffset;
}

/** A source's own offset layout (CDC: GTID set / binlog file+pos, LSN), stored as JSON in connect-offsets. */
export type ConnectorOffset = Record<string, string | number | boolean>;

/** How a source wants the topics it names per record created (Kafka Connect's topic.creation.default.*). */
export interface TopicCreation {
  /** -1: the broker's num.partitions. */
  partitions: number;
  /** -1: the broker's default.replication.factor. */
  replicationFactor: number;
  /** Topic configs, e.g. {'cleanup.policy': 'compact'}; the broker's defaults for the rest. */
  configs: Record<string, string>;
}

/** A source's input, as a key of the offsets topic: {path: '/abs/file.csv'}. */
export type SourcePartition = Record<string, string | number>;

/** A position in a file: records produced so far, and what identifies the file (see src/connect/source-offsets.ts). */
export interface SourceOffset {
  /** Records of the input produced, counting from its first record. */
  position: number;
  /** Fingerprint of the record at position − 1 (filled in by the runtime when it stores the offset). */
  last?: string;
  /** The input was read to its end (the file had this size, mtime and inode). */
  eof?: boolean;
  size?: number;
  mtimeMs?: number;
  ino?: number;
}

/** What the runtime gives a source: its stored offsets, and a place for one-line notes to the user. */
export interface SourceContext {
  /** The offset stored for a partition by an earlier run, or null (Kafka Connect's OffsetStorageReader). */
  offset(partition: SourcePartition): SourceOffset | null;
  /** A note for the user (resuming, skipping), printed as `<pipeline>: <message>`. */
  log(message: string): void;
}

export interface SourceConnector {
  readonly name: string;
  /**
   * Yields records until the input is exhausted (files) or stop() is called (directory watch, HTTP). Bounded
   * memory. File sources start after the position `context` holds for each file.
   */
  records(context?: SourceContext): AsyncIterable<SourceRecord>;
  /**
   * The same records in arrays (file sources: the rows of one read chunk), which the runtime prefers to
   * records(): one await per batch instead of per record. Optional; a batch is never empty.
   */
  batches?(context?: SourceContext): AsyncIterable<SourceRecord[]>;
  stop(): Promise<void>;
  /**
   * Called once per yielded record when the producer acknowledged it (error null) or gave up on it (Kafka
   * Connect's SourceTask.commitRecord); with exactly-once, once the transaction holding it committed. The HTTP
   * source answers 202 from here.
   */
  commitRecord?(record: SourceRecord, error: Error | null): void;
  /** Input skipped as bad so far (jsonl with skipBadLines), for the summary. */
  readonly skipped?: number;
  /**
   * Called after the offsets of these partitions are stored in connect-offsets (acknowledged; exactly-once: with
   * the transaction that committed them): Kafka Connect's SourceTask.commit(). CDC sources let the database
   * forget what is stored (PostgreSQL confirms the slot's LSN).
   */
  offsetsStored?(offsets: Array<{ partition: SourcePartition; offset: SourceOffset | ConnectorOffset }>): void;
  /** Records with their own `topic`: the topics are created on first use with these settings. */
  readonly topicCreation?: TopicCreation;
}

export type SinkRecord = Pick<ConsumerRecord, 'topic' | 'partition' | 'offset' | 'timestamp' | 'key' | 'value' | 'headers'>;

export interface Row {
  [column: string]: string | number | bigint | boolean | null | Date | Buffer;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
}

export interface RecordFailure {
  record: SinkRecord;
  error: Error;
}

export interface SinkConnector {
  readonly name: string;
  /** Connects, creates the table if asked. */
  open(): Promise<void>;
  /**
   * Writes records in ONE database transaction. With `offsets` (exactly-once mode) the same transaction stores
   * them in the sink's offsets table. Resolves with the records the database refused (bad values): those are
   * not written, the rest are. Rejects (retriable) when the database is unreachable/locked: nothing was written.
   */
  write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]>;
  /**
   * Optional: the CPU work for the batch write() gets next (parsing, mapping fields to columns), done while the
   * database still works on the batch before. Only a write() of this very array uses it; it writes nothing.
   */
  prepare?(records: SinkRecord[]): void;
  /** Exactly-once: the next offsets stored by write(), for these partitions (missing ones omitted). */
  storedOffsets(pipeline: string, partitions: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]>;
  close(): Promise<void>;
}

/** What a SQL database must provide for SqlSink. */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'mysql' | 'postgres';
  connect(): Promise<void>;
  /** Runs fn inside BEGIN … COMMIT (ROLLBACK on throw). Retriable connection errors are thrown with `retriable: true`. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Column names and types of a table, or null when it does not exist. */
  describeTable(table: string): Promise<Array<{ name: string; type: string }> | null>;
  close(): Promise<void>;
  /**
   * Optional: one transaction of these statements, all or nothing, with fewer round trips than a statement at a
   * time (MySQL: BEGIN, then the statements and COMMIT as one request). Rejects with a retriable SinkError when
   * the database is the problem, or with a StatementError when a statement was refused (rolled back).
   */
  writeAll?(statements: Array<{ sql: string; params: unknown[] }>): Promise<void>;
}

/** writeAll's rejection when a statement was refused and the transaction rolled back: `error` is the driver's. */
export class StatementError extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

export interface SqlExecutor {
  /** Executes one statement with positional parameters (the dialect's placeholders already in `sql`). */
  execute(sql: string, params: unknown[]): Promise<{ affectedRows: number }>;
  query<R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]>;
}

/** Error from a driver: `retriable` true when the database is down/locked/busy (retry the whole batch later), false for a bad row. */
export class SinkError extends TributaryError {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable: boolean; cause?: unknown; code?: string }) {
    super(options.code ?? (options.retriable ? 'ERR_SINK_RETRIABLE' : 'ERR_SINK_RECORD'), message, { cause: options.cause });
    this.retriable = options.retriable;
  }
}

// ---------------------------------------------------------------------------------------------
// Pipeline configuration (src/connect/config.ts parses files and `tributary connect` flags into these).

export type ColumnType = 'int' | 'float' | 'bool' | 'string' | 'timestamp';

/**
 * File sources: at-least-once stores offsets as the producer acknowledges records (a crash re-sends what was
 * produced after the last stored offset); exactly-once (Kafka's KIP-618) produces records and their offsets in
 * one transaction, so read_committed consumers see every record once. Default: exactly-once when a sink of the
 * same config reads the topic exactly-once, otherwise at-least-once.
 */
export type SourceGuarantee = 'at-least-once' | 'exactly-once';

export interface CsvSourceConfig {
  type: 'csv';
  path: string;
  /** Column whose value becomes the record key; none → null keys. */
  keyColumn?: string;
  /** Declared column types; undeclared columns are inferred from the first 100 rows. */
  columns?: Record<string, ColumnType>;
  /** Single character; default ','. */
  delimiter: string;
  guarantee: SourceGuarantee;
}

export interface JsonlSourceConfig {
  type: 'jsonl';
  path: string;
  /** Field whose value becomes the record key. */
  keyColumn?: string;
  /** Skip (and count) lines that are not a JSON object instead of failing; default false. */
  skipBadLines: boolean;
  guarantee: SourceGuarantee;
}

export interface DirectorySourceConfig {
  type: 'directory';
  path: string;
  /** Glob on file names ('*' and '?'); default '*.csv'. Files ending .gz match with or without it. */
  pattern: string;
  /** How matching files are read: by extension (.csv/.jsonl, optionally .gz) unless set. */
  format?: 'csv' | 'jsonl';
  keyColumn?: string;
  columns?: Record<string, ColumnType>;
  delimiter: string;
  skipBadLines: boolean;
  /** Poll interval for new files; default 1000. */
  pollMs: number;
  guarantee: SourceGuarantee;
}

export interface HttpSourceConfig {
  type: 'http';
  port: number;
  /** Default 127.0.0.1. */
  host: string;
  /** Default /events. */
  path: string;
  keyColumn?: string;
  /** Request bodies over this are answered 413; default 1 MiB. */
  maxBodyBytes: number;
}

/** What both change-data-capture sources share (src/connect/cdc/). */
interface CdcSourceCommon {
  /** Connection URL: mysql://user:password@host:port/ or postgres://user:password@host:port/db. */
  url: string;
  /** Captured tables, `db.table` (MySQL) or `schema.table` (PostgreSQL). */
  tables: string[];
  /** Debezium's topic.prefix: topics are `<prefix>.<db>.<table>`; default the pipeline's name. */
  prefix: string;
  /** 'initial' (default): a consistent snapshot of the tables first, when no offset is stored; 'never': changes only. */
  snapshot: 'initial' | 'never';
  /** A tombstone after each delete (Debezium's tombstones.on.delete); default true. */
  tombstones: boolean;
  /** cleanup.policy of the topics created per table: Kafka Connect's default (the broker's, delete) or compact. */
  cleanupPolicy: 'delete' | 'compact';
  /** A `transaction` block {id, total_order, data_collection_order} in each envelope (Debezium's provide.transaction.metadata); default false. */
  transactions: boolean;
  guarantee: SourceGuarantee;
}

/** MySQL/MariaDB binlog capture (src/connect/cdc/mysql.ts). */
export interface MysqlCdcSourceConfig extends CdcSourceCommon {
  type: 'mysql';
  /** This client's replica server id (unique among the server's replicas); default derived from the pipeline name. */
  serverId: number;
}

/** PostgreSQL logical replication with pgoutput (src/connect/cdc/postgres.ts). */
export interface PostgresCdcSourceConfig extends CdcSourceCommon {
  type: 'postgres';
  /** Replication slot; default `tributary_<pipeline>`. */
  slot: string;
  /** Publication; default `tributary_<pipeline>`. */
  publication: string;
}

export type CdcSourceConfig = MysqlCdcSourceConfig | PostgresCdcSourceConfig;

export type SourceConfig = CsvSourceConfig | JsonlSourceConfig | DirectorySourceConfig | HttpSourceConfig | CdcSourceConfig;

export interface SinkConfig {
  type: 'sqlite' | 'mysql' | 'postgres' | 'jsonl';
  /** sqlite: file path; mysql/postgres: connection URL; jsonl: output file path. */
  url: string;
  /** Required for SQL sinks; ignored by jsonl. */
  table?: string;
  mode: 'insert' | 'upsert';
  keyColumns?: string[];
  autoCreate: boolean;
  /** table column ← record field; default: same names. */
  columns?: Record<string, string>;
  batchSize: number;
  guarantee: 'at-least-once' | 'exactly-once';
  deadLetterTopic: string;
  /** jsonl: add _topic, _partition and _offset to each line. */
  metadata?: boolean;
  /**
   * SQL sinks: the records are change events in Debezium's envelope (a CDC source's topic): c/u/r upsert the
   * `after` row by the key columns (default: the record key's fields), d deletes it, tombstones are skipped.
   */
  cdc?: boolean;
}

export interface PipelineConfig {
  name: string;
  topic: string;
  source?: SourceConfig;
  sink?: SinkConfig;
  /** Consumer group of a sink pipeline; default `connect-<name>`. */
  group: string;
  /** Always 1: scale out by running more processes with the same pipeline file. */
  tasks: number;
  /**
   * How values (and CDC keys) are written and read: 'json' (default, no registry), or 'avro' / 'json-schema'
   * through the schema registry at `schemaRegistry`, in Confluent's wire format (src/connect/value-format.ts).
   */
  valueFormat?: 'json' | 'avro' | 'json-schema';
  schemaRegistry?: string;
  /** A file/http source's value schema text (valueSchema or valueSchemaFile); csv without one: from the header. */
  valueSchema?: string;
}

export interface ConnectConfig {
  /** Default '127.0.0.1:9092'. */
  bootstrapServers: string;
  pipelines: PipelineConfig[];
}
