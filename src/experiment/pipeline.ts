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
    private readonly onWrite?: () => void,
  ) {
    this.name = inner.name;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  /** Passed through, so the sink parses the next batch while the database writes this one (as without the count). */
  prepare(records: SinkRecord[]): void {
    this.inner.prepare?.(records);
  }
  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    const failures = await this.inner.write(records, offsets);
    this.writes++;
    this.rows += records.length - failures.length;
    if (this.rows >= this.target && this.reachedAt === null) {
      this.reachedAt = performance.now();
      for (const w of this.waiters.splice(0)) w();
    }
    this.onWrite?.();
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

/** What the scenarios read of a running sink, wherever it runs. */
export interface RunningSink {
  sink: { readonly rows: number; readonly reachedAt: number | null; waitForTarget(timeoutMs: number): Promise<void> };
  driver: { readonly statements: number };
  /** True once the sink's consumer has partitions assigned. */
  joined(): boolean;
  /** Stops the sink and waits for it to close. */
  stop(): Promise<SinkRunResult>;
}

/** Where the experiment's sink runs: on this thread, or on a worker thread of its own (as `tributary connect` would run apart). */
export type SinkThread = 'main' | 'worker';
export const SINK_THREADS: readonly SinkThread[] = ['main', 'worker'];

export interface SinkNames {
  pipeline: string;
  topic: string;
  group: string;
  table: string;
}

/** Messages from the sink's worker thread (sink-worker.ts) to startSink. */
export type SinkWorkerMessage =
  | { type: 'joined' }
  | { type: 'progress'; rows: number; statements: number; reachedAtWall: number | null }
  | { type: 'log'; message: string }
  | { type: 'stopped'; result: SinkRunResult; rows: number; statements: number }
  | { type: 'failed'; message: string };

/**
 * Starts runSinkPipeline from `topic` into `table` (which must exist), counting rows and statements, on this
 * thread or (thread 'worker') on a worker thread: then its synchronous database writes (SQLite's commits
 * wait for the disk) do not hold up the producer and the broker on this one.
 */
export async function startSink(
  spec: DbSpec,
  client: ClientOptions,
  names: SinkNames,
  target: number,
  log: (m: string) => void,
  thread: SinkThread = 'main',
): Promise<RunningSink> {
  if (thread === 'worker') return startSinkWorker(spec, client, names, target, log);
  return startSinkHere(spec, client, names, target, log);
}

/** The sink on this thread; `onWrite` sees each write (the worker thread reports them with it). */
export async function startSinkHere(
  spec: DbSpec,
  client: ClientOptions,
  names: SinkNames,
  target: number,
  log: (m: string) => void,
  onWrite?: (sink: CountingSink, driver: CountingDriver) => void,
): Promise<RunningSink & { sink: CountingSink; driver: CountingDriver }> {
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
  const sink = new CountingSink(new SqlSink(driver, { ...config.sink!, table: names.table }, names.pipeline), target, onWrite && (() => onWrite(sink, driver)));
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

/** Rows per batch the experiment's source hands to the runtime (a file source's read chunk holds about as many). */
const PRODUCE_BATCH_ROWS = 1024;

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
    // As a file source hands on a read chunk: the runtime awaits once per batch, not once per row.
    async *batches() {
      for (let i = 0; i < rows.length; i += PRODUCE_BATCH_ROWS) {
        const end = Math.min(rows.length, i + PRODUCE_BATCH_ROWS);
        const batch = new Array<{ key: string; value: DataRow }>(end - i);
        for (let j = i; j < end; j++) batch[j - i] = { key: String(rows[j].id), value: rows[j] };
        yield batch;
      }
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

/**
 * The sink on a worker thread (sink-worker.ts runs startSinkHere there): its counts come back as messages, and
 * the time it reached the target as a wall-clock time turned into this thread's performance.now().
 */
async function startSinkWorker(spec: DbSpec, client: ClientOptions, names: SinkNames, target: number, log: (m: string) => void): Promise<RunningSink> {
  const { Worker } = await import('node:worker_threads');
  // Written from dist/src/<dir>/ so that the CLI bundle (dist/src/bundle/) finds the same file.
  const worker = new Worker(new URL('../experiment/sink-worker.js', import.meta.url), { workerData: { spec, client, names, target } });
  let rows = 0;
  let statements = 0;
  let reachedAt: number | null = null;
  let joined = false;
  let waiters: Array<() => void> = [];
  let settle: { resolve: (r: SinkRunResult) => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  const done = new Promise<SinkRunResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined);
  const fail = (err: Error): void => {
    failure ??= err;
    settle?.reject(err);
  };
  worker.on('message', (m: SinkWorkerMessage) => {
    if (m.type === 'joined') joined = true;
    else if (m.type === 'log') log(m.message);
    else if (m.type === 'failed') fail(new Error(`the sink's worker thread failed: ${m.message}`));
    else {
      rows = m.rows;
      statements = m.statements;
      if (m.type === 'stopped') settle?.resolve(m.result);
      else if (m.reachedAtWall !== null && reachedAt === null) {
        reachedAt = m.reachedAtWall - performance.timeOrigin;
        for (const w of waiters.splice(0)) w();
      }
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the sink's worker thread exited with code ${code}`)));
  let stopping: Promise<SinkRunResult> | null = null;
  return {
    sink: {
      get rows() {
        return rows;
      },
      get reachedAt() {
        return reachedAt;
      },
      waitForTarget(timeoutMs: number): Promise<void> {
        if (reachedAt !== null || failure !== null) return Promise.resolve();
        return new Promise((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          const w = (): void => {
            clearTimeout(timer);
            resolve();
          };
          waiters.push(w);
          done.catch(() => w());
        });
      },
    },
    driver: {
      get statements() {
        return statements;
      },
    },
    joined: () => {
      if (failure !== null) throw failure;
      return joined;
    },
    stop() {
      stopping ??= (async () => {
        worker.postMessage({ type: 'stop' });
        try {
          return await done;
        } finally {
          waiters = [];
          await worker.terminate();
        }
      })();
      return stopping;
    },
  };
}
