/**
 * Runs a source connector into its topic with an idempotent Producer (acks all): pulls records only as fast as
 * the producer takes them (its buffer and a cap on unacknowledged sends), reports progress, and on stop or at the
 * end of the input flushes so every record it read is acknowledged or the run fails.
 *
 * File sources resume where an earlier run stopped: their offsets live in `connect-offsets`
 * (src/connect/source-offsets.ts). at-least-once stores the offset of the acknowledged prefix of the records
 * every OFFSET_FLUSH_INTERVAL_MS and at the end, so a killed run re-sends at most what was acknowledged since.
 * exactly-once (KIP-618) uses a transactional producer (transactional.id connect-<pipeline>-0, which also fences
 * a second process running the same pipeline) and commits the records with their offset record in one
 * transaction every TRANSACTION_INTERVAL_MS and at the end; a killed run's open transaction is aborted when the
 * next run starts, and read_committed consumers see each record once.
 */
import type { ClientOptions } from '../client/cluster.js';
import { Producer, type ProducerRecord, type SendListener } from '../client/producer.js';
import { progress } from '../util/progress.js';
import { TributaryError } from '../errors.js';
import { JsonBytesEncoder } from './json-bytes.js';
import { ensureOffsetsTopic, ensureRecordTopic, fingerprint, loadSourceOffsets, offsetKey, offsetRecord, type SourceOffsets } from './source-offsets.js';
import { createSource } from './sources/index.js';
import { encodeSourceValue, sourceValueEncoder } from './value-format.js';
import type { PipelineConfig, SourceConnector, SourceContext, SourceGuarantee, SourcePartition, SourceRecord } from './types.js';

/** at-least-once: how often the acknowledged positions are written to connect-offsets. */
export const OFFSET_FLUSH_INTERVAL_MS = 200;
/** exactly-once: how long a transaction stays open before it is committed (records become visible then). */
export const TRANSACTION_INTERVAL_MS = 500;

/** Sends not yet acknowledged, at most: bounds memory held by pending records for tiny values. */
const MAX_UNACKNOWLEDGED = 10_000;

export class PipelineError extends TributaryError {
  constructor(
    readonly pipeline: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_CONNECT_PIPELINE', `pipeline "${pipeline}": ${message}`, options);
  }
}

export interface SourceProgress {
  pipeline: string;
  records: number;
  bytes: number;
}

export interface SourceRunOptions {
  signal?: AbortSignal;
  /** A connector to run instead of the one the config describes (tests, embedding). */
  connector?: SourceConnector;
  onProgress?: (p: SourceProgress) => void;
  /** Where the progress line and summary go; default stderr. */
  stream?: NodeJS.WriteStream;
  /** Draw the progress line even when the stream is not a terminal. */
  forceProgress?: boolean;
  /** Forget the stored offsets first (tombstones in connect-offsets): every file is produced from its beginning. */
  resetOffsets?: boolean;
  /** Producer settings for tests and tuning (acks stays all, idempotence on). */
  producer?: { lingerMs?: number; bufferMemory?: number; batchSize?: number; compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' };
}

export interface SourceRunResult {
  pipeline: string;
  topic: string;
  /** Records produced and acknowledged (exactly-once: committed). */
  records: number;
  bytes: number;
  /** Input skipped as bad (jsonl skipBadLines). */
  skipped: number;
  elapsedMs: number;
  /** True when stopped by the signal rather than at the end of the input. */
  stopped: boolean;
  guarantee: SourceGuarantee;
}

/**
 * The producer's record: an object value as its JSON bytes, a short ASCII key as its bytes (json-bytes.ts: the bytes
 * serializeValue and the producer would make, without a string or Buffer.from per record).
 */
function toProducerRecord(topic: string, r: SourceRecord, values: JsonBytesEncoder): ProducerRecord {
  return { topic: r.topic ?? topic, key: values.key(r.key), value: values.encode(r.value), headers: r.headers, timestamp: r.timestamp };
}

const size = (v: string | Buffer | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

/** Records sent under one SendListener before a new chunk starts (a file source's read chunk ends one sooner). */
const CHUNK_RECORDS = 1024;

/** The offset record for a source partition's latest position: a file's offset plus the fingerprint of its last record. */
function positionRecord(key: string, record: SourceRecord): ProducerRecord {
  const offset = record.sourceOffset!;
  return offsetRecord(key, 'position' in offset ? { ...offset, last: fingerprint(record) } : offset);
}

/** Tells the connector which offsets are now stored (Kafka Connect's SourceTask.commit()). */
function reportStored(connector: SourceConnector, positions: Iterable<SourceRecord>): void {
  if (connector.offsetsStored === undefined) return;
  const list = [...positions].map((r) => ({ partition: r.sourcePartition!, offset: r.sourceOffset! }));
  if (list.length > 0) connector.offsetsStored(list);
}

/**
 * The latest record per source partition key among records noted in order: the position each partition got to.
 * Noting a record of the same partition as the one before costs two assignments (a file's records all are).
 */
class LatestPositions {
  private key: string | null = null;
  private record: SourceRecord | null = null;
  private others: Map<string, SourceRecord> | null = null;

  note(key: string, record: SourceRecord): void {
    if (key !== this.key) {
      if (this.key !== null) (this.others ??= new Map()).set(this.key, this.record!);
      this.key = key;
    }
    this.record = record;
  }

  get empty(): boolean {
    return this.key === null;
  }

  /** Sets each partition's latest record into `map` (later calls overwrite earlier ones). */
  into(map: Map<string, SourceRecord>): void {
    if (this.others !== null) for (const [k, r] of this.others) map.set(k, r);
    if (this.key !== null) map.set(this.key, this.record!);
  }

  clear(): void {
    this.key = null;
    this.record = null;
    this.others = null;
  }
}

interface ChunkOwner {
  acknowledged(chunk: Chunk, records: number): void;
  failed(chunk: Chunk, err: Error, records: number): void;
}

/**
 * Records sent in a row with one Producer.sendTo listener: no promise per record — the producer says per batch how
 * many of the chunk's records it held. A sealed chunk (no more records join it) whose records are all acknowledged
 * is complete. at-least-once: the positions its records reached are stored once every chunk before it is complete too.
 */
class Chunk implements SendListener {
  sent = 0;
  acked = 0;
  bytes = 0;
  sealed = false;
  failed = false;
  completed = false;
  /** at-least-once: the latest record per source partition among the chunk's. */
  readonly positions = new LatestPositions();
  /** The chunk's one record, for a connector that hears of each (commitRecord: such chunks hold one record). */
  record: SourceRecord | null = null;

  constructor(private readonly owner: ChunkOwner) {}

  onAcknowledged(_topic: string, _partition: number, _lastOffset: number, records: number): void {
    this.acked += records;
    this.owner.acknowledged(this, records);
  }

  onFailed(_topic: string, _partition: number, err: Error, records: number): void {
    this.failed = true;
    this.owner.failed(this, err, records);
  }

  get done(): boolean {
    return this.sealed && !this.failed && this.acked === this.sent;
  }
}

/**
 * at-least-once: the positions whose records, and every record sent before them, are acknowledged (records of
 * different partitions are acknowledged out of order; Kafka Connect's SubmittedRecords does the same), kept per
 * chunk of records rather than per record.
 */
class AcknowledgedPositions {
  private queue: Chunk[] = [];
  private head = 0;
  /** Advanced and not yet written: the latest record per partition key. */
  private readonly ready = new Map<string, SourceRecord>();

  submit(chunk: Chunk): void {
    this.queue.push(chunk);
  }

  /** After a chunk completed: the complete chunks at the head of the queue hand on their positions. */
  advance(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.completed) {
      this.queue[this.head]!.positions.into(this.ready);
      this.queue[this.head++] = undefined as unknown as Chunk;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  take(): Array<[string, SourceRecord]> {
    const out = [...this.ready];
    this.ready.clear();
    return out;
  }
}

/** Whether the pipeline's source keeps offsets (files do; HTTP requests cannot be read again). */
const tracksOffsets = (p: PipelineConfig): boolean => p.source !== undefined && p.source.type !== 'http';

export async function runSourcePipeline(p: PipelineConfig, client: ClientOptions, opts: SourceRunOptions = {}): Promise<SourceRunResult> {
  const stream = opts.stream ?? process.stderr;
  const connector = opts.connector ?? createSource(p);
  /** valueFormat avro/json-schema (file and http sources; CDC connectors encode their own records). */
  const encoder = sourceValueEncoder(p);
  const started = Date.now();
  const withOffsets = tracksOffsets(p);
  const guarantee: SourceGuarantee = p.source !== undefined && p.source.type !== 'http' ? p.source.guarantee : 'at-least-once';
  const eos = guarantee === 'exactly-once';
  const producer = new Producer({
    ...client,
    clientId: client.clientId ?? `connect-${p.name}`,
    acks: 'all',
    idempotent: true,
    transactionalId: eos ? `connect-${p.name}-0` : undefined,
    lingerMs: opts.producer?.lingerMs ?? 5,
    bufferMemory: opts.producer?.bufferMemory,
    batchSize: opts.producer?.batchSize,
    compression: opts.producer?.compression,
  });
  // A source that names a topic per record (CDC: <prefix>.<db>.<table>) produces to the topics under its prefix.
  const target = connector.topicCreation !== undefined ? `${p.topic}.* topics` : p.topic;
  const bar = progress(`${p.name} → ${target}`, undefined, { stream, force: opts.forceProgress });
  const note = (message: string): void => void stream.write(`${stream.isTTY === true ? '\r\x1b[2K' : ''}${p.name}: ${message}\n`);
  let produced = 0;
  let bytes = 0;
  let unacked = 0;
  let failure: Error | null = null;
  /** A record failed at the producer (as opposed to a bad input): an open transaction must be aborted. */
  let producerFailed = false;
  let spaceWaiter: (() => void) | null = null;
  const onAbort = (): void => void connector.stop().catch(() => {});
  const aborted = (): boolean => opts.signal?.aborted === true;
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const settled = (records: number): void => {
    unacked -= records;
    if (spaceWaiter !== null && (unacked < MAX_UNACKNOWLEDGED || failure !== null)) {
      const w = spaceWaiter;
      spaceWaiter = null;
      w();
    }
  };

  // at-least-once offsets
  const acknowledged = new AcknowledgedPositions();
  const writeAcknowledged = (): void => {
    const positions = acknowledged.take();
    if (positions.length === 0) return;
    const sends = positions.map(([key, record]) => producer.send(positionRecord(key, record)));
    Promise.all(sends).then(
      () => reportStored(connector, positions.map(([, r]) => r)),
      (err: Error) => (failure ??= err),
    );
  };

  // Chunks of records sent with one listener.
  const perRecord = connector.commitRecord !== undefined;
  let chunk: Chunk | null = null;
  const complete = (c: Chunk): void => {
    c.completed = true;
    bytes += c.bytes;
    bar.tick(c.sent, c.bytes);
    if (!eos) {
      produced += c.sent;
      opts.onProgress?.({ pipeline: p.name, records: produced, bytes });
      if (c.record !== null) connector.commitRecord?.(c.record, null);
      acknowledged.advance();
    }
  };
  const owner: ChunkOwner = {
    acknowledged: (c, records) => {
      if (c.done) complete(c);
      settled(records);
    },
    failed: (c, err, records) => {
      failure ??= err;
      producerFailed = true;
      if (c.record !== null) connector.commitRecord?.(c.record, err);
      settled(records);
      void connector.stop().catch(() => {});
    },
  };
  /** No more records join the current chunk. */
  const seal = (): void => {
    const c = chunk;
    if (c === null) return;
    chunk = null;
    c.sealed = true;
    if (c.done) complete(c);
  };

  // exactly-once transactions
  let inTxn = false;
  let txnStarted = 0;
  let txnCount = 0;
  const txnPositions = new LatestPositions();
  const txnRecords: SourceRecord[] = [];
  let committing: Promise<void> | null = null;
  /** The last record pulled ends a source position (exactly-once commits only there). */
  let atBoundary = true;
  const commit = (): Promise<void> => {
    committing ??= (async () => {
      try {
        if (!inTxn) return;
        seal();
        const positions = new Map<string, SourceRecord>();
        txnPositions.into(positions);
        for (const [key, record] of positions) void producer.send(positionRecord(key, record)).catch(() => {}); // commitTransaction reports a failure
        await producer.commitTransaction();
        reportStored(connector, positions.values());
        inTxn = false;
        produced += txnCount;
        txnCount = 0;
        opts.onProgress?.({ pipeline: p.name, records: produced, bytes });
        txnPositions.clear();
        for (const r of txnRecords.splice(0)) connector.commitRecord?.(r, null);
      } finally {
        committing = null;
      }
    })();
    return committing;
  };
  const timer = setInterval(() => {
    if (failure !== null) return;
    // A source that pauses leaves no records in an open chunk: what they reached is stored with the next write.
    seal();
    if (eos) {
      if (inTxn && committing === null && atBoundary && Date.now() - txnStarted >= TRANSACTION_INTERVAL_MS) commit().catch((err: Error) => (failure ??= err));
    } else writeAcknowledged();
  }, eos ? TRANSACTION_INTERVAL_MS / 5 : OFFSET_FLUSH_INTERVAL_MS);

  // The offsets-topic key of a record's source partition: a file source's records share one partition object.
  let lastPartition: SourcePartition | undefined;
  let lastPartitionKey = '';
  const partitionKey = (partition: SourcePartition): string => {
    if (partition !== lastPartition) {
      lastPartitionKey = offsetKey(p.name, partition);
      lastPartition = partition;
    }
    return lastPartitionKey;
  };
  const createdTopics = new Set<string>();
  const values = new JsonBytesEncoder();

  /** Sends one record; a promise when the loop must wait before the next (a commit, the producer's back-pressure). */
  const send = (record: SourceRecord, pr: ProducerRecord): Promise<void> | undefined => {
    if (eos && !inTxn) {
      producer.beginTransaction();
      inTxn = true;
      txnStarted = Date.now();
    }
    let c = chunk;
    if (c === null) {
      c = chunk = new Chunk(owner);
      if (!eos) acknowledged.submit(c);
    }
    try {
      producer.sendTo(pr, c);
    } catch (err) {
      // Refused at once (a bad record, a closed producer): as a failed send.
      failure ??= err as Error;
      producerFailed = true;
      connector.commitRecord?.(record, err as Error);
      void connector.stop().catch(() => {});
      return undefined;
    }
    unacked++;
    c.sent++;
    c.bytes += size(pr.key) + size(pr.value);
    const hasPosition = record.sourcePartition !== undefined && record.sourceOffset !== undefined;
    if (eos) {
      txnCount++;
      if (hasPosition) txnPositions.note(partitionKey(record.sourcePartition!), record);
      if (perRecord) txnRecords.push(record);
    } else if (hasPosition) c.positions.note(partitionKey(record.sourcePartition!), record);
    if (perRecord) {
      c.record = record;
      seal();
    } else if (c.sent >= CHUNK_RECORDS) seal();
    if (eos) {
      // A transaction ends only after a record that carries its offset: the records of one source position
      // (a CDC change and its tombstone) commit together.
      atBoundary = hasPosition || !withOffsets;
      if (atBoundary && Date.now() - txnStarted >= TRANSACTION_INTERVAL_MS) return commit().then(pace);
    }
    return pace();
  };
  /** Back-pressure: the next record is pulled only when the producer has room. */
  const pace = (): Promise<void> | undefined => {
    if (failure !== null) return undefined;
    if (producer.bufferFull) return producer.waitForSpace().then(pace);
    if (unacked >= MAX_UNACKNOWLEDGED) return new Promise<void>((resolve) => (spaceWaiter = resolve));
    return undefined;
  };
  /** A record that needs waiting first: an open commit, a topic to create, a value to encode through the registry. */
  const sendSlowly = async (record: SourceRecord): Promise<void> => {
    if (committing !== null) await committing;
    if (failure !== null) return;
    if (record.topic !== undefined && !createdTopics.has(record.topic)) {
      await ensureRecordTopic(client, record.topic, connector.topicCreation);
      createdTopics.add(record.topic);
    }
    const pr = toProducerRecord(p.topic, record, values);
    if (encoder !== undefined) {
      const value = await encodeSourceValue(encoder, pr.topic, record, connector, p.source?.type === 'http');
      if (value === undefined) return; // refused (http: answered with the reason)
      pr.value = value;
    }
    await send(record, pr);
  };
  const handle = (record: SourceRecord): Promise<void> | undefined => {
    if (committing !== null || encoder !== undefined || (record.topic !== undefined && !createdTopics.has(record.topic))) return sendSlowly(record);
    return send(record, toProducerRecord(p.topic, record, values));
  };

  try {
    if (opts.signal?.aborted !== true) {
      try {
        // Connect first: an unreachable broker fails here, before an HTTP source accepts anything. With a
        // transactional id this is InitProducerId, which fences an older run and aborts its open transaction.
        await producer.connect();
        let offsets: SourceOffsets | undefined;
        if (withOffsets) {
          await ensureOffsetsTopic(client);
          offsets = (await loadSourceOffsets(client, [p.name])).get(p.name);
          if (opts.resetOffsets === true && offsets !== undefined && offsets.size > 0) {
            const keys = offsets.keys();
            if (eos) producer.beginTransaction();
            for (const key of keys) void producer.send(offsetRecord(key, null)).catch((err: Error) => (failure ??= err));
            if (eos) await producer.commitTransaction();
            else await producer.flush();
            if (failure !== null) throw failure;
            offsets = undefined;
            note(`forgot the stored offsets of ${keys.length} file${keys.length === 1 ? '' : 's'}: producing from the beginning`);
          }
        }
        const context: SourceContext = { offset: (partition) => offsets?.offset(partition) ?? null, log: note };
        if (connector.batches !== undefined) {
          outer: for await (const batch of connector.batches(context)) {
            if (failure !== null) break;
            for (let i = 0; i < batch.length; i++) {
              // A stop ends the batch in hand too, as it ends a source that yields records one at a time.
              if (aborted()) break outer;
              const wait = handle(batch[i]!);
              if (wait !== undefined) await wait;
              if (failure !== null) break outer;
            }
            seal();
          }
        } else {
          for await (const record of connector.records(context)) {
            if (failure !== null) break;
            const wait = handle(record);
            if (wait !== undefined) await wait;
            if (failure !== null) break;
          }
        }
      } catch (err) {
        failure ??= err as Error;
      }
    }
    clearInterval(timer);
    seal();
    // What was produced is kept: flushed, and its offsets stored (a bad input line fails the run after the
    // records before it are safely in the topic, so the rerun resumes there).
    try {
      await producer.flush();
      if (eos) {
        if (committing !== null) await (committing as Promise<void>).catch(() => {});
        if (inTxn && !producerFailed) await commit().catch((err: Error) => (failure ??= err));
        if (inTxn) await producer.abortTransaction().catch(() => {});
      } else {
        writeAcknowledged();
        await producer.flush();
      }
    } catch (err) {
      failure ??= err as Error;
    }
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await producer.close().catch((err: Error) => (failure ??= err));
    await connector.stop().catch(() => {});
    bar.done();
  }
  const elapsedMs = Date.now() - started;
  const skipped = connector.skipped ?? 0;
  if (failure !== null) {
    const f = failure as Error;
    throw new PipelineError(p.name, `${f.message} (${produced} records were produced to ${target} before${withOffsets ? '; a rerun resumes after them' : ''})`, { cause: f });
  }
  const secs = Math.max(elapsedMs / 1000, 0.001);
  stream.write(
    `${p.name}: produced ${produced} records to ${target} in ${secs.toFixed(2)} s (${Math.round(produced / secs)} records/s)${skipped > 0 ? `, skipped ${skipped} bad lines` : ''}${eos ? ', exactly-once' : ''}${opts.signal?.aborted === true ? ', stopped' : ''}\n`,
  );
  return { pipeline: p.name, topic: p.topic, records: produced, bytes, skipped, elapsedMs, stopped: opts.signal?.aborted === true, guarantee };
}
