/**
 * The broker path of the experiment, built from the real pieces: records go to a topic through
 * runSourcePipeline (the Producer, acks=all, idempotent, with back-pressure) and from the topic into the
 * database through runSinkPipeline and SqlSink. Wrappers only count what happens (rows written, statements
 * sent), they change nothing.
 */
import type { ClientOptions } from '../client/cluster.js';
import { DEFAULTS } from '../connect/config.js';
import { runSinkPipeline, type SinkRunResult } from '../connect/sink-runtime.js';
import { runSourcePipeline, type SourceRunResult } from '../connect/source-runtime.js';
import { SqlSink } from '../connect/sinks/sql.js';
import type { PipelineConfig, RecordFailure, SinkConnector, SinkRecord, SqlDriver, SqlExecutor, TopicPartitionOffset } from '../connect/types.js';
import type { DataRow } from './data.js';
import type { DbSpec } from './db.js';

/** A stream that swallows what the runtimes would draw on a terminal: the experiment prints its own progress lines. */
export const QUIET_STREAM = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;

/** Counts the statements a SqlDriver is sent (BEGIN and COMMIT included). */
export class CountingDriver implements SqlDriver {
  readonly dialect: SqlDriver['dialect'];
  statements = 0;
  constructor(private readonly inner: SqlDriver) {
    this.dialect = inner.dialect;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.statements += 2;
    return this.inner.transaction((tx) =>
      fn({
        execute: (sql, params) => {
          this.statements++;
          return tx.execute(sql, params);
        },
        query: <R = Record<string, unknown>>(sql: string, params: unknown[]) => {
          this.statements++;
          return tx.query<R>(sql, params);
        },
      }),
    );
  }
  describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    this.statements++;
    return this.inner.describeTable(table);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Counts the rows a sink wrote and notes when the count first reached `target`. */
export class CountingSink implements SinkConnector {
  readonly name: string;
  rows = 0;
  writes = 0;
  reachedAt: number | null = null;
  private waiters: Array<() => void> = [];
  constructor(
    private readonly inner: SinkConnector,
    private readonly target: number,
  ) {
    this.name = inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    const failures = await this.inner.write(records, offsets);
    this.writes++;
    this.rows += records.length - failures.length;
    if (this.rows >= this.target && this.reachedAt === null) {
      this.reachedAt = performance.now();
      for (const w of this.waiters.splice(0)) w();
    }
    return failures;
  }
  storedOffsets(pipeline: string, partitions: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]> {
    return this.inner.storedOffsets(pipeline, partitions);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  /** Resolves once `target` rows were written, or after `timeoutMs` (then reachedAt stays null). */
  waitForTarget(timeoutMs: number): Promise<void> {
    if (this.reachedAt !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface RunningSink {
  sink: CountingSink;
  driver: CountingDriver;
  /** True once the sink's consumer has partitions assigned. */
  joined(): boolean;
  /** Stops the sink and waits for it to close. */
  stop(): Promise<SinkRunResult>;
}

/** Starts runSinkPipeline from `topic` into `table` (which must exist), counting rows and statements. */
export async function startSink(
  spec: DbSpec,
  client: ClientOptions,
  names: { pipeline: string; topic: string; group: string; table: string },
  target: number,
  log: (m: string) => void,
): Promise<RunningSink> {
  let inner: SqlDriver;
  if (spec.kind === 'sqlite') {
    const { SqliteDriver } = await import('../connect/sinks/sqlite.js');
    // A short busy timeout, so a locked database is retried with the runtime's backoff rather than by
    // blocking the event loop (the broker and the producer share it in this one process).
    inner = new SqliteDriver(spec.url, { busyTimeoutMs: 20 });
  } else if (spec.kind === 'mysql') {
    const { MysqlDriver } = await import('../connect/sinks/mysql.js');
    inner = new MysqlDriver(spec.url);
  } else {
    const { PostgresDriver } = await import('../connect/sinks/postgres.js');
    inner = new PostgresDriver(spec.url);
  }
  const driver = new CountingDriver(inner);
  const config: PipelineConfig = {
    name: names.pipeline,
    topic: names.topic,
    group: names.group,
    tasks: 1,
    sink: {
      type: spec.kind,
      url: spec.url,
      table: names.table,
      mode: 'insert',
      autoCreate: false,
      // The sink's own default, as `tributary connect` runs it.
      batchSize: DEFAULTS.batchSize,
      guarantee: 'at-least-once',
      deadLetterTopic: `${names.topic}-dlq`,
    },
  };
  const sink = new CountingSink(new SqlSink(driver, { ...config.sink!, table: names.table }, names.pipeline), target);
  const controller = new AbortController();
  let partitions = 0;
  const run = runSinkPipeline(config, client, {
    signal: controller.signal,
    sink,
    stream: QUIET_STREAM,
    progressIntervalMs: 100,
    onProgress: (p) => {
      partitions = p.partitions;
    },
    log: (m) => log(`  sink: ${m}`),
    consumer: { fetchMaxWaitMs: 100 },
  });
  run.catch(() => undefined);
  return {
    sink,
    driver,
    joined: () => partitions > 0,
    async stop() {
      controller.abort();
      return run;
    },
  };
}

/** Produces `rows` to `topic` with runSourcePipeline; `onAcked` sees the acknowledged count. */
export function produceRows(
  client: ClientOptions,
  pipeline: string,
  topic: string,
  rows: DataRow[],
  onAcked?: (acked: number) => void,
): Promise<SourceRunResult> {
  const connector = {
    name: pipeline,
    async *records() {
      for (const r of rows) yield { key: String(r.id), value: r };
    },
    async stop() {},
  };
  return runSourcePipeline({ name: pipeline, topic, group: `connect-${pipeline}`, tasks: 1 }, client, {
    connector,
    stream: QUIET_STREAM,
    onProgress: onAcked ? (p) => onAcked(p.records) : undefined,
  });
}

/** Waits until `cond` holds, checking every 20 ms, for at most `timeoutMs`; false on timeout. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
