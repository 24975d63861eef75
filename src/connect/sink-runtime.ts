/**
 * Runs a topic into a sink connector with a consumer group (Kafka Connect's sink task loop):
 * poll → sink.write (one database transaction) → refused records to the dead-letter topic → commit.
 *
 * - at-least-once: the group's offsets are committed only after the transaction committed and the
 *   dead-letter records were acknowledged. A crash in between redelivers the batch (duplicates, no loss).
 *   The OffsetCommit runs in the background while the next batch is written (one at a time, at most every
 *   COMMIT_INTERVAL_MS, later offsets coalesced); a revocation and the stop commit what is written and wait for
 *   it, so a crash can redeliver up to ~200 ms of batches, never lose one.
 * - the next batch is polled (from what the consumer has fetched) and prepared by the sink while the database
 *   writes the current one; it is written only after it. A rebalance in between puts it back (seek).
 * - exactly-once: the sink stores the next offsets in the same transaction as the rows; when partitions
 *   are assigned they are paused, sought to the stored offsets (the beginning when none), then resumed.
 *   The group's offsets are still committed afterwards, for lag tools only; they are never read.
 *   Known window: dead-letter records are produced after the transaction, so a crash between the two
 *   loses those dead-letter records (not the good rows) in this mode.
 * - retriable sink errors (database down, locked, busy): the same batch is retried with exponential
 *   backoff (100 ms doubling to 10 s) until it succeeds or the signal aborts; then the runtime stops
 *   without committing, so the batch is read again by whoever runs next.
 *
 * Scale-out: several runtimes (processes) with the same pipeline share the group, so the topic's
 * partitions are split among them. A partition being revoked waits for the batch in progress.
 */
import type { ClientOptions } from '../client/cluster.js';
import { Admin } from '../client/admin.js';
import { Consumer, type ConsumerOptions, type ConsumerRecord, type TopicPartition } from '../client/consumer.js';
import { Producer, type ProducerRecord } from '../client/producer.js';
import { PipelineError } from './source-runtime.js';
import { createSink } from './sinks/index.js';
import { isRetriable } from './sinks/sql.js';
import { sinkValueDecoder } from './value-format.js';
import type { PipelineConfig, RecordFailure, SinkConnector, SinkRecord, TopicPartitionOffset } from './types.js';

export const BACKOFF_INITIAL_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
/**
 * At-least-once: the group's offsets of written batches are committed at most this often (as the source runtime
 * stores its offsets every 200 ms; Kafka Connect's offset.flush.interval.ms), and at once on revocation and stop.
 */
export const COMMIT_INTERVAL_MS = 200;

/** Kafka Connect's dead-letter headers (errors.deadletterqueue.context.headers.enable), plus the pipeline. */
export const DLQ_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  message: '__connect.errors.exception.message',
  className: '__connect.errors.exception.class.name',
  pipeline: '__connect.errors.pipeline',
} as const;

export interface SinkProgress {
  pipeline: string;
  /** Records written to the sink since start (dead-lettered ones not counted). */
  rows: number;
  /** Rows per second over the last progress interval. */
  rowsPerSec: number;
  /** Records in the assigned partitions not yet written: high watermark − next offset to write; -1 until known. */
  lag: number;
  /** Records sent to the dead-letter topic since start. */
  dlq: number;
  /** Partitions assigned to this runtime now. */
  partitions: number;
  /** True while a retriable sink error is being retried. */
  retrying: boolean;
  /** The last retriable error, while retrying. */
  lastError?: string;
}

export interface SinkRunOptions {
  signal: AbortSignal;
  onProgress?: (p: SinkProgress) => void;
  /** Stop once caught up: lag 0 for `idleMs`. */
  once?: boolean;
  /** Default 2000. */
  idleMs?: number;
  /** A sink to use instead of the one the config describes (tests, embedding). */
  sink?: SinkConnector;
  /** Retry and rebalance messages; default: a line on stderr. */
  log?: (message: string) => void;
  /** How often lag is measured and progress reported; default 1000 ms. */
  progressIntervalMs?: number;
  /** Where the progress line goes when it is a terminal; default stderr. */
  stream?: NodeJS.WriteStream;
  /** Consumer settings (session timeout, heartbeats) for tests and tuning; group, commit and reset stay as above. */
  consumer?: Pick<ConsumerOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxPollIntervalMs' | 'fetchMaxWaitMs' | 'partitionAssignors' | 'groupProtocol'>;
}

export interface SinkRunResult {
  pipeline: string;
  rows: number;
  dlq: number;
  /** 'idle': `once` and caught up; 'aborted': the signal. */
  stopped: 'idle' | 'aborted';
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Waits ms, or less when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The next offset of every partition in the batch (last offset + 1). */
function nextOffsets(records: SinkRecord[]): TopicPartitionOffset[] {
  const next = new Map<string, TopicPartitionOffset>();
  // Records come in runs of one partition: its entry is looked up once per run, not per record.
  let cur: TopicPartitionOffset | undefined;
  for (const r of records) {
    if (cur === undefined || r.partition !== cur.partition || r.topic !== cur.topic) {
      const k = tpKey(r.topic, r.partition);
      cur = next.get(k);
      if (cur === undefined) {
        cur = { topic: r.topic, partition: r.partition, offset: r.offset + 1 };
        next.set(k, cur);
      }
    }
    if (r.offset + 1 > cur.offset) cur.offset = r.offset + 1;
  }
  return [...next.values()];
}


export async function runSinkPipeline(p: PipelineConfig, clientOptions: ClientOptions, opts: SinkRunOptions): Promise<SinkRunResult> {
  const cfg = p.sink;
  if (cfg === undefined) throw new PipelineError(p.name, 'has no sink section');
  const { signal } = opts;
  const eos = cfg.guarantee === 'exactly-once';
  const idleMs = opts.idleMs ?? 2000;
  const intervalMs = opts.progressIntervalMs ?? 1000;
  const stream = opts.stream ?? process.stderr;
  const log = opts.log ?? ((m: string) => void stream.write(`${m}\n`));
  let sink: SinkConnector;
  try {
    sink = opts.sink ?? (await createSink(cfg, p.name));
  } catch (err) {
    throw new PipelineError(p.name, errorMessage(err), { cause: err });
  }

  /** valueFormat avro/json-schema: values (and wire-format keys) decoded to JSON first; undecodable ones go to the DLQ. */
  const decoder = sinkValueDecoder(p);
  const write = async (records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> => {
    if (decoder === undefined) return sink.write(records, offsets);
    const decoded = await decoder.decode(records);
    return [...decoded.failures, ...(await sink.write(decoded.records, offsets))];
  };

  let rows = 0;
  let dlq = 0;
  let retrying = false;
  let lastError: string | undefined;
  let joined = false;
  /** Next offset to write per partition (after the last batch written). */
  const done = new Map<string, number>();
  /** Partitions being revoked or lost: records of theirs still in hand are dropped, the next owner reads them. */
  const revoked = new Set<string>();
  /** Exactly-once: partitions sought to their stored offsets (records of others are not written). */
  const ready = new Set<string>();
  /** The batch in progress, awaited by a revocation so a partition never has two writers. */
  let inflight: Promise<void> = Promise.resolve();
  /** The next batch, polled and prepared while the one before was written (a ConsumerRecord is a SinkRecord). */
  let held: SinkRecord[] | null = null;
  /** Partitions revoked, lost or assigned while `held` was taken: a rebalance puts the held records back. */
  const moved = new Set<string>();
  let rebalanced = false;
  /**
   * Group offsets of written batches, not yet committed (only ever offsets whose transaction committed), and
   * the OffsetCommit in flight. The commit round trip overlaps the next poll and write instead of stalling
   * them; a revocation and the stop wait for it (flushCommits), so a partition moves on with its offsets.
   */
  const toCommit = new Map<string, TopicPartitionOffset>();
  let committing: Promise<void> | null = null;
  let lastCommitAt = 0;
  let commitTimer: NodeJS.Timeout | null = null;
  /** flushCommits() calls in progress: commits go at once meanwhile. */
  let flushing = 0;
  let producer: Producer | null = null;

  /**
   * Waits out a backoff while keeping the group membership: the assigned partitions are paused and poll() is
   * called every second (as Kafka Connect does), so a database down for longer than max.poll.interval.ms does
   * not cost the partitions. Records a poll returns anyway (a partition assigned meanwhile) are sought back.
   */
  async function waitPolling(ms: number): Promise<void> {
    const wasPaused = new Set(consumer.paused().map((tp) => tpKey(tp.topic, tp.partition)));
    const paused = consumer.assignment().filter((tp) => !wasPaused.has(tpKey(tp.topic, tp.partition)));
    consumer.pause(paused);
    try {
      const end = Date.now() + ms;
      while (!signal.aborted && Date.now() < end) {
        await sleep(Math.min(1000, end - Date.now()), signal);
        const got = await consumer.poll(0);
        const first = new Map<string, ConsumerRecord>();
        for (const r of got) if (!first.has(tpKey(r.topic, r.partition))) first.set(tpKey(r.topic, r.partition), r);
        for (const r of first.values()) consumer.seek(r, r.offset);
      }
    } finally {
      // Only partitions still assigned, and (exactly-once) only those already sought to their stored offsets.
      const still = new Set(consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)));
      consumer.resume(paused.filter((tp) => still.has(tpKey(tp.topic, tp.partition)) && (!eos || ready.has(tpKey(tp.topic, tp.partition)))));
    }
  }

  /** Runs fn until it succeeds; retriable errors back off 100 ms × 2 up to 10 s. Null when the signal aborted. */
  async function retry<T>(what: string, fn: () => Promise<T>, keepMembership = false): Promise<{ value: T } | null> {
    let backoff = BACKOFF_INITIAL_MS;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return null;
      try {
        const value = await fn();
        if (retrying) log(`pipeline "${p.name}": ${what} succeeded after ${attempt} attempts`);
        retrying = false;
        lastError = undefined;
        return { value };
      } catch (err) {
        if (!isRetriable(err)) throw err;
        retrying = true;
        lastError = errorMessage(err);
        log(`pipeline "${p.name}": ${what} failed (${lastError}); retrying in ${backoff} ms (attempt ${attempt})`);
        await (keepMembership ? waitPolling(backoff) : sleep(backoff, signal));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }

  // open() is retried too: the database may simply not be up yet.
  try {
    if ((await retry('open', () => sink.open())) === null) {
      await sink.close().catch(() => undefined);
      return { pipeline: p.name, rows, dlq, stopped: 'aborted' };
    }
  } catch (err) {
    await sink.close().catch(() => undefined);
    throw new PipelineError(p.name, errorMessage(err), { cause: err });
  }

  const consumer: Consumer = new Consumer({
    ...clientOptions,
    ...opts.consumer,
    clientId: clientOptions.clientId ?? `connect-${p.name}`,
    groupId: p.group,
    enableAutoCommit: false,
    autoOffsetReset: 'earliest',
    // Records of aborted transactions (an exactly-once source that was killed) never reach the database.
    isolationLevel: 'read_committed',
    maxPollRecords: cfg.batchSize,
    rebalanceListener: {
      onPartitionsAssigned: async (tps) => {
        joined = true;
        rebalanced = true;
        for (const tp of tps) moved.add(tpKey(tp.topic, tp.partition));
        for (const tp of tps) revoked.delete(tpKey(tp.topic, tp.partition));
        if (!eos || tps.length === 0) return;
        // Paused before anything can be fetched (this part runs before the group's next step), so nothing
        // is read from the group's committed offsets while the stored ones are looked up.
        consumer.pause(tps);
        const stored = await retry('read stored offsets', () => sink.storedOffsets(p.name, tps));
        if (stored === null) return;
        const mine = new Set(consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)));
        const still = tps.filter((tp) => mine.has(tpKey(tp.topic, tp.partition)));
        const missing: TopicPartition[] = [];
        for (const tp of still) {
          const s = stored.value.find((o) => o.topic === tp.topic && o.partition === tp.partition);
          if (s) consumer.seek(tp, s.offset);
          else missing.push(tp);
        }
        if (missing.length > 0) await consumer.seekToBeginning(missing);
        for (const tp of still) ready.add(tpKey(tp.topic, tp.partition));
        consumer.resume(still);
      },
      onPartitionsRevoked: async (tps) => {
        rebalanced = true;
        for (const tp of tps) moved.add(tpKey(tp.topic, tp.partition));
        for (const tp of tps) {
          const k = tpKey(tp.topic, tp.partition);
          revoked.add(k);
          ready.delete(k);
        }
        await inflight;
        await flushCommits();
        for (const tp of tps) done.delete(tpKey(tp.topic, tp.partition));
      },
      onPartitionsLost: async (tps) => {
        rebalanced = true;
        for (const tp of tps) moved.add(tpKey(tp.topic, tp.partition));
        for (const tp of tps) {
          const k = tpKey(tp.topic, tp.partition);
          revoked.add(k);
          ready.delete(k);
          done.delete(k);
          // Lost, not revoked: the generation is gone, so these offsets could not be committed any more.
          toCommit.delete(k);
        }
      },
    },
  });
  const admin = new Admin(clientOptions);

  async function deadLetter(failures: RecordFailure[]): Promise<void> {
    if (!producer) {
      producer = new Producer({ ...clientOptions, clientId: clientOptions.clientId ?? `connect-${p.name}-dlq`, acks: 'all' });
      await producer.connect();
    }
    const out: ProducerRecord[] = failures.map(({ record, error }) => ({
      topic: cfg!.deadLetterTopic,
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      headers: [
        ...record.headers,
        { key: DLQ_HEADERS.topic, value: record.topic },
        { key: DLQ_HEADERS.partition, value: String(record.partition) },
        { key: DLQ_HEADERS.offset, value: String(record.offset) },
        { key: DLQ_HEADERS.message, value: error.message },
        { key: DLQ_HEADERS.className, value: error.name },
        { key: DLQ_HEADERS.pipeline, value: p.name },
      ],
    }));
    await producer.sendBatch(out);
  }

  /**
   * The records still to be written by this runtime: not of a partition revoked meanwhile, and (exactly-once) of
   * one sought to its stored offsets. The very same array when all are, so what prepare() did for it is used.
   */
  function liveRecords(batch: SinkRecord[]): SinkRecord[] {
    const keep = (r: SinkRecord): boolean => !revoked.has(tpKey(r.topic, r.partition)) && (!eos || ready.has(tpKey(r.topic, r.partition)));
    // Checked once per run of one partition's records (the usual case: every record is kept).
    let last: SinkRecord | null = null;
    for (const r of batch) {
      if (last !== null && r.partition === last.partition && r.topic === last.topic) continue;
      last = r;
      if (!keep(r)) return batch.filter(keep);
    }
    return batch;
  }

  /**
   * Puts held records back after a rebalance: a partition that stayed assigned throughout is sought to its first
   * held record, to be read again; one revoked, lost or assigned meanwhile was positioned by that (committed or
   * stored offsets), or belongs to another member now.
   */
  function unpoll(records: SinkRecord[]): void {
    const mine = new Set(consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)));
    const first = new Map<string, SinkRecord>();
    for (const r of records) if (!first.has(tpKey(r.topic, r.partition))) first.set(tpKey(r.topic, r.partition), r);
    for (const [k, r] of first) if (mine.has(k) && !moved.has(k)) consumer.seek(r, r.offset);
  }

  /** Writes one batch; false when the signal aborted it (nothing committed). */
  async function processBatch(batch: SinkRecord[]): Promise<void> {
    const live = liveRecords(batch);
    if (live.length === 0) return;
    const offsets = nextOffsets(live);
    const written = await retry('write', () => write(live, eos ? offsets : undefined), true);
    if (written === null) return;
    const failures = written.value;
    // The transaction committed: finish the batch even when stopping, so it is not written twice.
    if (failures.length > 0) await deadLetter(failures);
    rows += live.length - failures.length;
    dlq += failures.length;
    for (const o of offsets) {
      done.set(tpKey(o.topic, o.partition), o.offset);
      toCommit.set(tpKey(o.topic, o.partition), o);
    }
    // The group commit runs while the next batch is written (one at a time, later offsets coalesced).
    commitWritten();
  }

  function commitWritten(force = false): void {
    if (committing !== null || toCommit.size === 0) return;
    // At most one OffsetCommit per COMMIT_INTERVAL_MS (each is a log append and fsync on the broker), except when
    // flushed: a revocation or the stop.
    const wait = lastCommitAt + COMMIT_INTERVAL_MS - Date.now();
    if (!force && wait > 0) {
      commitTimer ??= setTimeout(() => {
        commitTimer = null;
        commitWritten();
      }, wait);
      return;
    }
    if (commitTimer !== null) {
      clearTimeout(commitTimer);
      commitTimer = null;
    }
    lastCommitAt = Date.now();
    const offsets = [...toCommit.values()];
    toCommit.clear();
    committing = consumer
      .commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })))
      .catch((err: unknown) => {
        // A rebalance moved the partitions on: their next owner reads these batches again (at-least-once allows
        // it; exactly-once does not read group offsets at all).
        if (!eos) log(`pipeline "${p.name}": commit failed (${errorMessage(err)}); the batch may be written again`);
      })
      .finally(() => {
        committing = null;
        commitWritten(flushing > 0);
      });
  }
  /** Resolves once every written batch's offsets were committed (or the commit failed). */
  async function flushCommits(): Promise<void> {
    flushing++;
    try {
      commitWritten(true);
      while (committing !== null) {
        await committing;
        commitWritten(true);
      }
    } finally {
      flushing--;
    }
  }

  // Lag and progress, measured every interval from the high watermarks (ListOffsets) of the assigned partitions.
  let lag = -1;
  let idleSince: number | null = null;
  /** A polled batch is being written. */
  let busy = false;
  let lastRows = 0;
  let lastAt = Date.now();
  let measuring = false;
  const tty = stream.isTTY === true;
  const report = (): SinkProgress => {
    const now = Date.now();
    const rate = ((rows - lastRows) * 1000) / Math.max(now - lastAt, 1);
    lastRows = rows;
    lastAt = now;
    const s: SinkProgress = { pipeline: p.name, rows, rowsPerSec: Math.round(rate), lag, dlq, partitions: consumer.assignment().length, retrying, lastError };
    opts.onProgress?.(s);
    if (tty) stream.write(`\r${p.name} ← ${p.topic}: ${rows.toLocaleString('en-US')} rows (${s.rowsPerSec.toLocaleString('en-US')}/s), lag ${lag < 0 ? '?' : lag.toLocaleString('en-US')}, dlq ${dlq}${retrying ? ', retrying' : ''}  `);
    return s;
  };
  async function measure(): Promise<void> {
    if (measuring) return;
    measuring = true;
    try {
      const tps = consumer.assignment();
      let total = 0;
      let known = joined;
      if (tps.length > 0) {
        const ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })));
        for (const e of ends) {
          const k = tpKey(e.topic, e.partition);
          let at = done.get(k) ?? (eos && !ready.has(k) ? null : consumer.position(e) ?? null);
          // Between batches everything polled is written: the position also counts what holds no rows for the
          // sink (transaction markers, aborted records), which the written offsets never pass.
          const pos = consumer.position(e);
          if (!busy && at !== null && pos !== undefined && (!eos || ready.has(k))) at = Math.max(at, pos);
          if (at === null || revoked.has(k)) known = false;
          else total += Math.max(0, e.offset - at);
        }
      }
      lag = known ? total : -1;
      idleSince = lag === 0 ? (idleSince ?? Date.now()) : null;
    } catch {
      // Lag is informational: try again next interval.
    } finally {
      measuring = false;
    }
    report();
  }
  const timer = setInterval(() => void measure(), intervalMs);
  timer.unref();

  let stopped: SinkRunResult['stopped'] = 'aborted';
  try {
    await consumer.connect();
    await admin.connect();
    // As Kafka Connect's dead-letter reporter does, the topic exists from the start, so reading it shows "nothing
    // refused" rather than an unknown topic (with the broker's default partitions, as auto-creation would give).
    await admin.createTopics([{ name: cfg.deadLetterTopic }]).catch((err: unknown) => {
      if ((err as { kafkaError?: string }).kafkaError !== 'TOPIC_ALREADY_EXISTS') throw err;
    });
    await consumer.subscribe([p.topic]);
    while (!signal.aborted) {
      if (opts.once && held === null && idleSince !== null && Date.now() - idleSince >= idleMs) {
        stopped = 'idle';
        break;
      }
      const records = held ?? (await consumer.poll(Math.min(200, intervalMs)));
      held = null;
      // Records polled after the stop are not written: they were not committed, so they are read again.
      if (signal.aborted || records.length === 0) continue;
      busy = true;
      inflight = processBatch(records);
      // While the database works on this batch, the next one is taken from what the consumer has already fetched
      // and prepared (parsed, mapped to rows); it is written only after this one, in order. A rebalance meanwhile
      // puts it back. (Not with valueFormat avro/json-schema: those records are decoded first.)
      rebalanced = false;
      moved.clear();
      if (sink.prepare !== undefined && decoder === undefined) {
        const next = await consumer.poll(0);
        if (next.length > 0) {
          held = liveRecords(next);
          sink.prepare(held);
        }
      }
      await inflight.finally(() => (busy = held !== null));
      if (held !== null && rebalanced) {
        unpoll(held);
        held = null;
        busy = false;
      }
    }
  } catch (err) {
    throw new PipelineError(p.name, errorMessage(err), { cause: err });
  } finally {
    clearInterval(timer);
    await inflight.catch(() => undefined);
    await flushCommits();
    if (commitTimer !== null) clearTimeout(commitTimer);
    await consumer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await (producer as Producer | null)?.close().catch(() => undefined);
    await sink.close().catch(() => undefined);
    report();
    if (tty) stream.write('\n');
  }
  return { pipeline: p.name, rows, dlq, stopped };
}
