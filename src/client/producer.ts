/**
 * The Producer: Kafka's producer design over the protocol only (so it works against Apache Kafka too).
 *
 * send() partitions a record and encodes it straight into its partition's open batch (the record
 * accumulator); a sender drains ready batches — full, older than lingerMs, or flushed — into one
 * Produce request per leader broker, with at most maxInFlightRequestsPerConnection per broker.
 * Idempotence (on by default) stamps each batch with the producer id and per-partition sequence
 * numbers; retries re-send the same bytes, so the broker drops duplicates and keeps order even with
 * several requests in flight. Transactions add AddPartitionsToTxn / AddOffsetsToTxn / TxnOffsetCommit /
 * EndTxn on the transaction coordinator.
 */
import { ProduceRequest, type ProduceRequestInit } from '../protocol/generated/produce-request.js';
import { ProduceResponse } from '../protocol/generated/produce-response.js';
import { InitProducerIdRequest } from '../protocol/generated/init-producer-id-request.js';
import { InitProducerIdResponse } from '../protocol/generated/init-producer-id-response.js';
import { AddPartitionsToTxnRequest } from '../protocol/generated/add-partitions-to-txn-request.js';
import { AddPartitionsToTxnResponse } from '../protocol/generated/add-partitions-to-txn-response.js';
import { AddOffsetsToTxnRequest } from '../protocol/generated/add-offsets-to-txn-request.js';
import { AddOffsetsToTxnResponse } from '../protocol/generated/add-offsets-to-txn-response.js';
import { TxnOffsetCommitRequest } from '../protocol/generated/txn-offset-commit-request.js';
import { TxnOffsetCommitResponse } from '../protocol/generated/txn-offset-commit-response.js';
import { EndTxnRequest } from '../protocol/generated/end-txn-request.js';
import { EndTxnResponse } from '../protocol/generated/end-txn-response.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { compressionTypeFromName, type CompressionType } from '../protocol/records/compression.js';
import { Cluster, CoordinatorType, isMetadataError, type ClientOptions } from './cluster.js';
import type { Connection } from './connection.js';
import { ClientStateError, ProtocolError, RequestTimeoutError, UnsupportedApiError, isRetriable } from './errors.js';
import { partitionForKey } from './partitioner.js';
import { Fifo } from './producer/fifo.js';
import { ProducerBatch, byteLength, type BatchResult, type EncodedHeader, type SendListener } from './producer/batch.js';
export type { SendListener } from './producer/batch.js';
import { BufferPool } from '../util/buffer-pool.js';

export type Acks = 0 | 1 | -1 | 'all';
export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerOptions extends ClientOptions {
  /** Default 'all' (-1). */
  acks?: Acks;
  /** Default 5. */
  lingerMs?: number;
  /** Bytes per partition batch, default 16384. */
  batchSize?: number;
  /** Default 32 MiB: beyond it send() waits (back-pressure) up to maxBlockMs. */
  bufferMemory?: number;
  /** Default 60000. */
  maxBlockMs?: number;
  /** Default 'none'. */
  compression?: CompressionCodec;
  /** Default true (forced true with transactionalId); off by default when acks is not 'all'. */
  idempotent?: boolean;
  transactionalId?: string;
  /** Default 60000. */
  transactionTimeoutMs?: number;
  /** Default 5. */
  maxInFlightRequestsPerConnection?: number;
  /** Default 120000. */
  deliveryTimeoutMs?: number;
  /** Default 1048576. */
  maxRequestSize?: number;
  partitioner?: (record: ProducerRecord, numPartitions: number) => number;
}

export type HeadersInput = Record<string, string | Buffer> | Array<{ key: string; value: string | Buffer | null }>;

export interface ProducerRecord {
  topic: string;
  partition?: number;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: HeadersInput;
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
  leaderEpoch?: number;
}

export interface GroupMetadata {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** One partition's queue of batches and its idempotence state. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  /** Unsent batches, oldest first; retried batches go back in sequence order at the front. */
  batches: ProducerBatch[];
  /** Sent and unanswered, in send (= sequence) order. */
  inflight: ProducerBatch[];
  nextSequence: number;
}

interface Slot {
  batch: ProducerBatch;
  index: number;
}

/** A send() that could not append at once: waiting for metadata, buffer space or connect(). */
interface Blocked {
  record: ProducerRecord;
  /** Batch size limit for this record (see sendBatchLimit). */
  limit: number;
  deadline: number;
  resolve(slot: Slot): void;
  reject(err: Error): void;
}

type TxnState = 'READY' | 'IN_TRANSACTION' | 'COMMITTING' | 'ABORTING';

const APPENDED = 0;
const NEED_METADATA = 1;
const NEED_MEMORY = 2;
const NEED_INIT = 3;
type AppendResult = typeof APPENDED | typeof NEED_METADATA | typeof NEED_MEMORY | typeof NEED_INIT;

const FENCED_CODES = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
/** Topic errors in metadata after which waiting cannot help. */
const FATAL_TOPIC_CODES = new Set<number>([ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.TOPIC_AUTHORIZATION_FAILED]);
/** Backoff between AddPartitionsToTxn / EndTxn attempts while the coordinator finishes a previous transaction. */
const CONCURRENT_TXN_BACKOFF_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function normalizeHeaders(h: HeadersInput | undefined): EncodedHeader[] | null {
  if (h === undefined || h === null) return null;
  if (Array.isArray(h)) return h.length === 0 ? null : h;
  const out: EncodedHeader[] = [];
  for (const key of Object.keys(h)) out.push({ key, value: h[key] });
  return out.length === 0 ? null : out;
}

export class Producer {
  private readonly cluster: Cluster;
  private readonly acks: number;
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly bufferMemory: number;
  /** Buffers of acknowledged batches, for new batches; free + buffered stay within bufferMemory. */
  private readonly pool: BufferPool = new BufferPool((): number => this.bufferMemory - this.buffered - this.pool.pooledBytes);
  private readonly maxBlockMs: number;
  private readonly compression: CompressionType;
  private readonly idempotent: boolean;
  private readonly transactionalId: string | null;
  private readonly transactionTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxRequestSize: number;
  private readonly requestTimeoutMs: number;
  private readonly partitioner: ProducerOptions['partitioner'];
  /**
   * How far a batch may grow beyond batchSize (about one request): for sendBatch() records, which
   * the caller sends and awaits together (kafkajs and @platformatic/kafka likewise make one batch
   * per partition of a send()), and for a batch queued behind another (see batchLimit). One large
   * batch costs the broker far less than many 16 KiB ones.
   */
  private readonly sendBatchLimit: number;

  private producerId = -1n;
  private producerEpoch = -1;
  private initialized = false;
  private connecting: Promise<void> | null = null;
  private closed = false;
  /** Fencing and other unrecoverable errors: every later call fails with it. */
  private fatalError: Error | null = null;

  private readonly queues = new Map<string, PartitionQueue[]>();
  private readonly incomplete = new Set<ProducerBatch>();
  private readonly nodeInflight = new Map<number, number>();
  /** Topic → the partition null-key records stick to; stickyDone: its batch is done, move on. */
  private readonly sticky = new Map<string, number>();
  private readonly stickyDone = new Set<string>();
  private readonly blocked = new Fifo<Blocked>();
  private blockedTimer: NodeJS.Timeout | null = null;
  private readonly spaceWaiters: Array<() => void> = [];
  private buffered = 0;
  private lastBatch: ProducerBatch | null = null;
  private lastIndex = 0;
  /** Records of the current sendBatch() call from this one on for the same topic and partition (a capacity hint for new batches). */
  private recordsToCome = 1;

  private senderScheduled = false;
  private senderTimer: NodeJS.Timeout | null = null;
  private senderTimerAt = Infinity;
  private flushing = 0;
  /** A batch failed after getting a sequence: new producer id (non-transactional) before sending more. */
  private needsProducerIdReset = false;
  private resettingProducerId = false;

  private readonly metadataWanted = new Set<string>();
  private metadataRefreshing = false;
  private metadataRefreshedAt = Date.now();
  private metadataLastRequested = new Set<string>();
  private metadataBackoffWake: (() => void) | null = null;
  private readonly topicErrors = new Map<string, string>();

  // Transactions
  private txnState: TxnState = 'READY';
  /** A failure inside the current transaction: only abortTransaction() is allowed. */
  private txnAbortableError: Error | null = null;
  private readonly txnPartitions = new Set<string>();
  private readonly txnPartitionsPending = new Set<string>();
  private txnAdding = false;
  /** Whether the coordinator knows of this transaction (partitions or offsets added). */
  private txnStarted = false;

  constructor(options: ProducerOptions) {
    this.cluster = new Cluster(options);
    const acks = options.acks ?? 'all';
    this.acks = acks === 'all' ? -1 : acks;
    if (this.acks !== 0 && this.acks !== 1 && this.acks !== -1) throw new ClientStateError(`acks must be 0, 1, -1 or 'all', not ${String(acks)}`);
    this.lingerMs = options.lingerMs ?? 5;
    this.batchSize = options.batchSize ?? 16384;
    this.bufferMemory = options.bufferMemory ?? 32 * 1024 * 1024;
    this.maxBlockMs = options.maxBlockMs ?? 60_000;
    const compression = compressionTypeFromName(options.compression ?? 'none');
    if (compression === undefined) throw new ClientStateError(`unknown compression '${options.compression}': use none, gzip, snappy, lz4 or zstd`);
    this.compression = compression;
    this.transactionalId = options.transactionalId ?? null;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
    this.maxInFlight = options.maxInFlightRequestsPerConnection ?? 5;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    this.maxRequestSize = options.maxRequestSize ?? 1_048_576;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.partitioner = options.partitioner;
    this.sendBatchLimit = Math.max(this.batchSize, this.maxRequestSize - 1024);
    // As in Kafka: idempotence is on by default but quietly off when acks is not 'all'; asking for
    // it explicitly with acks 0/1, or for a transactional id without it, is a configuration error.
    if (this.transactionalId !== null) {
      if (options.idempotent === false) throw new ClientStateError('a transactional producer must be idempotent: drop idempotent: false');
      if (this.acks !== -1) throw new ClientStateError("a transactional producer needs acks: 'all'");
      this.idempotent = true;
    } else if (options.idempotent === true) {
      if (this.acks !== -1) throw new ClientStateError("idempotence needs acks: 'all' (or set idempotent: false)");
      this.idempotent = true;
    } else {
      this.idempotent = options.idempotent === undefined && this.acks === -1;
    }
    if (this.idempotent && this.maxInFlight > 5) {
      throw new ClientStateError('an idempotent producer allows at most 5 maxInFlightRequestsPerConnection (Kafka keeps the last 5 batches per producer)');
    }
    if (!(this.maxInFlight >= 1)) throw new ClientStateError('maxInFlightRequestsPerConnection must be at least 1');
  }

  // ---------------------------------------------------------------- lifecycle

  /** Bootstrap, then InitProducerId when idempotent or transactional. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientStateError('the producer is closed'));
    if (!this.connecting) {
      this.connecting = this.doConnect().then(
        () => {
          this.initialized = true;
          this.drainBlocked();
        },
        (err: unknown) => {
          this.connecting = null;
          // Sends waiting for connect() fail with its error rather than waiting out maxBlockMs.
          for (const b of this.blocked.takeAll()) b.reject(err as Error);
          throw err;
        },
      );
    }
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    await this.cluster.connect();
    if (this.idempotent) await this.initProducerId();
  }

  private async initProducerId(): Promise<void> {
    if (this.transactionalId !== null) {
      const res = await this.coordinatorRequest('InitProducerId', (conn) => conn.send(InitProducerIdRequest, InitProducerIdResponse, {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.transactionTimeoutMs,
        producerId: -1n,
        producerEpoch: -1,
      }), (r) => r.errorCode);
      this.producerId = res.producerId;
      this.producerEpoch = res.producerEpoch;
      return;
    }
    const deadline = Date.now() + this.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const conn = await this.cluster.anyConnection();
        if (!conn.supports(InitProducerIdRequest)) {
          throw new UnsupportedApiError(`the broker at ${conn.address} does not offer InitProducerId, so it cannot give this producer an id for idempotence: set idempotent: false`);
        }
        const res = await conn.send(InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: this.transactionTimeoutMs, producerId: -1n, producerEpoch: -1 });
        if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, 'InitProducerId');
        this.producerId = res.producerId;
        this.producerEpoch = res.producerEpoch;
        return;
      } catch (err) {
        if (!isRetriable(err) || Date.now() >= deadline) throw err;
        await sleep(this.backoff(attempt));
      }
    }
  }

  private backoff(attempt: number): number {
    const o = this.cluster.options;
    return Math.min(o.retryBackoffMs * 2 ** attempt, o.retryBackoffMaxMs) * (0.8 + Math.random() * 0.4);
  }

  /** Flushes, then closes the connections. Sends after close() reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.connecting) await this.connecting.catch(() => {});
      await this.flush();
    } finally {
      for (const b of this.blocked.takeAll()) b.reject(new ClientStateError('the producer was closed before this record could be sent'));
      this.metadataBackoffWake?.();
      if (this.senderTimer) clearTimeout(this.senderTimer);
      if (this.blockedTimer) clearTimeout(this.blockedTimer);
      for (const b of this.incomplete) this.failBatch(b, new ClientStateError('the producer was closed before this record was acknowledged'), false);
      this.pool.clear();
      await this.cluster.close();
    }
  }

  // ---------------------------------------------------------------- sending

  get bufferedBytes(): number {
    return this.buffered;
  }

  get bufferFull(): boolean {
    return this.buffered >= this.bufferMemory;
  }

  /** Resolves when bufferedBytes < bufferMemory (for pacing loops). */
  waitForSpace(): Promise<void> {
    if (!this.bufferFull) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Resolves when the record is acknowledged (acks=0: offset -1 once written). */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    let r: true | Promise<Slot>;
    try {
      r = this.enqueue(record, this.batchSize);
    } catch (err) {
      return Promise.reject(err);
    }
    if (r === true) {
      const batch = this.lastBatch!;
      const index = this.lastIndex;
      return batch.promise.then((res) => metadataOf(batch, index, res));
    }
    return r.then((s) => s.batch.promise.then((res) => metadataOf(s.batch, s.index, res)));
  }

  /**
   * Java's send(record, callback) for callers that send many records and track them together: no promise per
   * record — `listener` hears once per batch (the offset of its last record there, and how many of its records the
   * batch held) or of the batch's failure.
   * Throws at once what send() would reject at once (a closed producer, a bad record, no transaction).
   */
  sendTo(record: ProducerRecord, listener: SendListener): void {
    const r = this.enqueue(record, this.batchSize);
    if (r === true) this.listen(this.lastBatch!, this.lastIndex, listener);
    else r.then((s) => this.listen(s.batch, s.index, listener), (err: unknown) => listener.onFailed(record.topic, record.partition ?? -1, err instanceof Error ? err : new Error(String(err)), 1));
  }

  private listen(batch: ProducerBatch, index: number, listener: SendListener): void {
    let entries = batch.listeners;
    if (entries === null) {
      entries = batch.listeners = [];
      const list = entries;
      batch.promise.then(
        (res) => {
          for (const e of list) e.listener.onAcknowledged(batch.topic, batch.partition, res.baseOffset < 0 ? -1 : res.baseOffset + e.last, e.count);
        },
        (err: Error) => {
          for (const e of list) e.listener.onFailed(batch.topic, batch.partition, err, e.count);
        },
      );
    }
    // Most often the record's listener is the batch's latest one.
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.listener === listener) {
        if (index > e.last) e.last = index;
        e.count++;
        return;
      }
    }
    entries.push({ listener, last: index, count: 1 });
  }

  /** Sends records in order; resolves with their metadata once all are acknowledged. */
  sendBatch(records: ProducerRecord[]): Promise<RecordMetadata[]> {
    const results = new Array<RecordMetadata>(records.length);
    const waits: Array<Promise<unknown>> = [];
    // Consecutive records in one batch share one continuation.
    let runBatch: ProducerBatch | null = null;
    let runStart = 0;
    let runFirstIndex = 0;
    const closeRun = (end: number): void => {
      if (runBatch === null) return;
      const batch = runBatch;
      const start = runStart;
      const first = runFirstIndex;
      // The caller grouped these records and awaits them together: lingering would only delay it.
      batch.sendNow = true;
      waits.push(batch.promise.then((res) => {
        for (let i = start; i < end; i++) results[i] = metadataOf(batch, first + i - start, res);
      }));
      runBatch = null;
    };
    let i = 0;
    // Records i..sameTarget-1 name the same topic and partition (or none): the capacity hint counts only those, so
    // a call spread over many partitions does not size each partition's batch for the whole call (1,000 records over
    // 33 partitions allocated 33 buffers of ~130 KB for ~4 KB each: the garbage collector's work at 10,000 partitions).
    let sameTarget = 0;
    try {
      for (; i < records.length; i++) {
        if (i >= sameTarget) {
          const { topic, partition } = records[i]!;
          const explicit = partition !== undefined && partition !== null;
          sameTarget = i + 1;
          while (sameTarget < records.length && records[sameTarget]!.topic === topic &&
            (explicit ? records[sameTarget]!.partition === partition : records[sameTarget]!.partition === undefined || records[sameTarget]!.partition === null)) sameTarget++;
        }
        this.recordsToCome = sameTarget - i;
        const r = this.enqueue(records[i], this.sendBatchLimit);
        if (r === true) {
          const batch = this.lastBatch!;
          if (batch !== runBatch || this.lastIndex !== runFirstIndex + i - runStart) {
            closeRun(i);
            runBatch = batch;
            runStart = i;
            runFirstIndex = this.lastIndex;
          }
        } else {
          closeRun(i);
          const at = i;
          waits.push(r.then((s) => {
            s.batch.sendNow = true;
            this.wake();
            return s.batch.promise.then((res) => {
              results[at] = metadataOf(s.batch, s.index, res);
            });
          }));
        }
      }
      closeRun(records.length);
      this.recordsToCome = 1;
    } catch (err) {
      this.recordsToCome = 1;
      closeRun(i);
      // Records appended before the bad one are still sent; the caller learns of the failure.
      return Promise.all(waits).then(() => Promise.reject(err), () => Promise.reject(err));
    }
    if (waits.length > 0) this.wake();
    return Promise.all(waits).then(() => results);
  }

  /** true: appended (see lastBatch / lastIndex); a promise: queued until it can be. */
  private enqueue(record: ProducerRecord, limit: number): true | Promise<Slot> {
    if (this.closed) throw new ClientStateError('send() after close(): the producer is closed');
    if (this.fatalError) throw this.fatalError;
    if (this.transactionalId !== null) {
      if (this.txnState !== 'IN_TRANSACTION') throw new ClientStateError('a transactional producer sends only inside a transaction: call beginTransaction() first');
      if (this.txnAbortableError) throw new ClientStateError(`the transaction failed and must be aborted: ${this.txnAbortableError.message}`);
    }
    if (this.blocked.length === 0 && this.tryAppend(record, Date.now(), limit) === APPENDED) return true;
    if (!this.initialized && !this.connecting) this.connect().catch(() => {});
    return new Promise<Slot>((resolve, reject) => {
      this.blocked.push({ record, limit, deadline: Date.now() + this.maxBlockMs, resolve, reject });
      // Only a new head can make progress now; later entries wait for the head's wake-up.
      if (this.blocked.length === 1) this.drainBlocked();
    });
  }

  /** Appends a record to its partition's open batch, if metadata and buffer space allow. Throws on bad records. */
  private tryAppend(record: ProducerRecord, now: number, limit: number): AppendResult {
    if (!this.initialized) return NEED_INIT;
    const topic = record.topic;
    const info = this.cluster.topics.get(topic);
    if (info === undefined) return NEED_METADATA;
    const numPartitions = info.partitions.length;
    let key = record.key ?? null;
    const value = record.value ?? null;
    const headers = normalizeHeaders(record.headers);
    let partition: number;
    if (record.partition !== undefined && record.partition !== null) {
      partition = record.partition;
      if (!Number.isInteger(partition) || partition < 0) throw new ClientStateError(`bad partition ${partition} for topic '${topic}'`);
      // Maybe partitions were added since our metadata: refresh and wait (up to maxBlockMs).
      if (partition >= numPartitions) return NEED_METADATA;
    } else if (this.partitioner) {
      partition = this.partitioner(record, numPartitions);
      if (!Number.isInteger(partition) || partition < 0 || partition >= numPartitions) {
        throw new ClientStateError(`the partitioner returned ${partition} for topic '${topic}', which has ${numPartitions} partitions`);
      }
    } else if (key !== null) {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      partition = partitionForKey(bytes, numPartitions);
      key = bytes;
    } else {
      partition = this.stickyPartition(topic, info.partitions);
    }

    const keyLen = byteLength(key);
    const valueLen = byteLength(value);
    // The record's size without varint overheads (headers estimated): enough for the buffer accounting.
    let estimate = 24 + (keyLen > 0 ? keyLen : 0) + (valueLen > 0 ? valueLen : 0);
    if (headers !== null) for (const h of headers) estimate += 10 + h.key.length * 3 + (h.value === null ? 0 : h.value.length * (typeof h.value === 'string' ? 3 : 1));
    if (estimate > this.maxRequestSize) {
      throw new ClientStateError(`a record of about ${estimate} bytes for topic '${topic}' exceeds maxRequestSize (${this.maxRequestSize})`);
    }
    if (estimate > this.bufferMemory) {
      throw new ClientStateError(`a record of about ${estimate} bytes for topic '${topic}' exceeds bufferMemory (${this.bufferMemory})`);
    }
    if (this.buffered > 0 && this.buffered + estimate > this.bufferMemory) return NEED_MEMORY;

    let queues = this.queues.get(topic);
    if (queues === undefined) {
      queues = [];
      this.queues.set(topic, queues);
    }
    let pq = queues[partition];
    if (pq === undefined) {
      pq = { topic, partition, batches: [], inflight: [], nextSequence: 0 };
      queues[partition] = pq;
    }
    const timestamp = record.timestamp ?? now;
    let batch = pq.batches.length > 0 ? pq.batches[pq.batches.length - 1] : null;
    let size = -1;
    if (batch !== null && !batch.closed) {
      size = batch.tryAppend(timestamp, key, keyLen, value, valueLen, headers, this.batchLimit(pq, limit));
      if (size < 0) this.closeBatch(batch);
    }
    if (size < 0) {
      // Size a sendBatch() batch for the records of the call still to come, so it does not grow by copying.
      const capacity = limit > this.batchSize ? Math.min(limit, Math.max(this.batchSize, (estimate + 8) * this.recordsToCome)) : this.batchSize;
      batch = this.newBatch(pq, now, capacity);
      size = batch.tryAppend(timestamp, key, keyLen, value, valueLen, headers, Infinity);
    }
    batch = batch!;
    this.buffered += size;
    batch.reserved += size;
    if (batch.pos >= this.batchLimit(pq, limit)) this.closeBatch(batch);
    this.lastBatch = batch;
    this.lastIndex = batch.count - 1;
    return APPENDED;
  }

  /**
   * How large the partition's open batch may grow. A batch queued behind another batch of its
   * partition cannot leave before that one, so it keeps filling (up to sendBatchLimit) instead of
   * closing at batchSize: when the sender is behind, that means fewer, larger Produce requests at
   * no cost in latency. Once first in line, a batch of batchSize or more is sent at once.
   */
  private batchLimit(pq: PartitionQueue, limit: number): number {
    return pq.batches.length > 1 ? Math.max(limit, this.sendBatchLimit) : limit;
  }

  private newBatch(pq: PartitionQueue, now: number, capacity: number): ProducerBatch {
    const batch = new ProducerBatch(pq.topic, pq.partition, capacity, now, this.pool);
    pq.batches.push(batch);
    this.incomplete.add(batch);
    if (this.lingerMs <= 0) this.wake();
    else this.wakeAt(now + this.lingerMs);
    return batch;
  }

  private closeBatch(batch: ProducerBatch): void {
    batch.closed = true;
    // KIP-480: a null-key record sticks to one partition until that partition's batch is done.
    if (this.sticky.get(batch.topic) === batch.partition) this.stickyDone.add(batch.topic);
    this.wake();
  }

  private stickyPartition(topic: string, partitions: Array<{ leader: number } | undefined>): number {
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitions.length && !this.stickyDone.has(topic)) return current;
    this.stickyDone.delete(topic);
    const available: number[] = [];
    for (let p = 0; p < partitions.length; p++) if ((partitions[p]?.leader ?? -1) >= 0) available.push(p);
    let choice: number;
    if (available.length === 0) choice = Math.floor(Math.random() * partitions.length);
    else if (available.length === 1) choice = available[0];
    else {
      // Another partition than the previous one, at random.
      do choice = available[Math.floor(Math.random() * available.length)]; while (choice === current);
    }
    this.sticky.set(topic, choice);
    return choice;
  }

  // ---------------------------------------------------------------- blocked sends

  /** Appends queued sends in order, as far as metadata and buffer space allow. */
  private drainBlocked(): void {
    const now = Date.now();
    while (this.blocked.length > 0) {
      const head = this.blocked.peek()!;
      let r: AppendResult;
      try {
        r = this.tryAppend(head.record, now, head.limit);
      } catch (err) {
        this.blocked.shift();
        head.reject(err as Error);
        continue;
      }
      if (r === APPENDED) {
        this.blocked.shift();
        head.resolve({ batch: this.lastBatch!, index: this.lastIndex });
        continue;
      }
      if (now >= head.deadline) {
        this.blocked.shift();
        head.reject(this.blockedTimeout(head.record, r));
        continue;
      }
      if (r === NEED_METADATA) this.wantMetadata(head.record.topic);
      this.scheduleBlockedCheck(head.deadline);
      return;
    }
    if (this.blockedTimer) {
      clearTimeout(this.blockedTimer);
      this.blockedTimer = null;
    }
  }

  private scheduleBlockedCheck(at: number): void {
    if (this.blockedTimer) clearTimeout(this.blockedTimer);
    this.blockedTimer = setTimeout(() => {
      this.blockedTimer = null;
      this.drainBlocked();
    }, Math.max(0, at - Date.now()) + 1);
  }

  private blockedTimeout(record: ProducerRecord, reason: AppendResult): Error {
    if (reason === NEED_MEMORY) {
      return new RequestTimeoutError(
        `send() waited maxBlockMs (${this.maxBlockMs} ms) for buffer space: ${this.buffered} of bufferMemory ${this.bufferMemory} bytes are waiting for the brokers — pace sends with waitForSpace(), or raise bufferMemory / maxBlockMs`,
      );
    }
    if (reason === NEED_INIT) return new RequestTimeoutError(`send() waited maxBlockMs (${this.maxBlockMs} ms) for the producer to connect`);
    const info = this.cluster.topics.get(record.topic);
    if (info && record.partition !== undefined && record.partition >= info.partitions.length) {
      return new RequestTimeoutError(`partition ${record.partition} of topic '${record.topic}' (which has ${info.partitions.length} partitions) is not present in metadata after ${this.maxBlockMs} ms`);
    }
    const last = this.topicErrors.get(record.topic);
    return new RequestTimeoutError(
      `topic '${record.topic}' not present in metadata after ${this.maxBlockMs} ms${last ? ` (${last})` : ''} — create it first, or enable auto.create.topics.enable on the broker`,
    );
  }

  /** Refreshes metadata for topics that sends or batches wait on; one request at a time. */
  private wantMetadata(topic: string): void {
    this.metadataWanted.add(topic);
    // A topic the last request did not cover is not made to wait out another topic's backoff.
    if (this.metadataBackoffWake && !this.metadataLastRequested.has(topic)) this.metadataBackoffWake();
    if (this.metadataRefreshing) return;
    this.metadataRefreshing = true;
    void this.refreshWantedMetadata();
  }

  private async refreshWantedMetadata(): Promise<void> {
    let attempt = 0;
    while (this.metadataWanted.size > 0 && !this.closedForGood()) {
      const topics = [...this.metadataWanted];
      this.metadataWanted.clear();
      this.metadataLastRequested = new Set(topics);
      let retry = false;
      try {
        // Like Java's producer, ask the broker to create missing topics (it decides whether it may).
        const res = await this.cluster.refreshMetadata(topics, true);
        this.metadataRefreshedAt = Date.now();
        for (const t of res.topics) {
          if (t.name === null) continue;
          if (t.errorCode === 0) {
            this.topicErrors.delete(t.name);
            if (t.partitions.some((p) => p.leaderId < 0)) retry = true;
            continue;
          }
          const err = new ProtocolError(t.errorCode, `topic '${t.name}'`);
          this.topicErrors.set(t.name, err.message);
          if (FATAL_TOPIC_CODES.has(t.errorCode)) this.failBlockedForTopic(t.name, err);
          else retry = true;
        }
      } catch (err) {
        for (const t of topics) this.topicErrors.set(t, (err as Error).message);
        retry = true;
      }
      // Whoever still waits asks again: the head of the blocked sends (drainBlocked), batches without a leader.
      this.drainBlocked();
      for (const [topic, qs] of this.queues) {
        const info = this.cluster.topics.get(topic);
        if (qs.some((q) => q && q.batches.length > 0 && !((info?.partitions[q.partition]?.leader ?? -1) >= 0))) this.metadataWanted.add(topic);
      }
      this.wake();
      if (this.metadataWanted.size > 0 || retry) {
        const woken = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), this.backoff(attempt++));
          this.metadataBackoffWake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        this.metadataBackoffWake = null;
        if (woken) attempt = 0;
      }
    }
    this.metadataRefreshing = false;
  }

  private closedForGood(): boolean {
    return this.closed && this.incomplete.size === 0 && this.blocked.length === 0;
  }

  private failBlockedForTopic(topic: string, err: Error): void {
    for (const b of this.blocked.removeWhere((x) => x.record.topic === topic)) b.reject(err);
  }

  // ---------------------------------------------------------------- the sender

  private wake(): void {
    if (this.senderScheduled) return;
    this.senderScheduled = true;
    setImmediate(() => {
      this.senderScheduled = false;
      this.runSender();
    });
  }

  private wakeAt(at: number): void {
    if (at >= this.senderTimerAt) return;
    if (this.senderTimer) clearTimeout(this.senderTimer);
    this.senderTimerAt = at;
    this.senderTimer = setTimeout(() => {
      this.senderTimer = null;
      this.senderTimerAt = Infinity;
      this.runSender();
    }, Math.max(0, at - Date.now()));
  }

  /** Drains ready batches into Produce requests, one per leader, within the in-flight limit. */
  private runSender(): void {
    if (this.fatalError && this.incomplete.size > 0) {
      for (const b of [...this.incomplete]) if (!this.isInflight(b)) this.dropQueued(b, this.fatalError);
    }
    // After a fatal error (e.g. the new producer id could not be had because close() closed the connections)
    // every batch fails above: asking again would spin, one InitProducerId failure per turn of the event loop.
    if (this.needsProducerIdReset && !this.fatalError) {
      this.maybeResetProducerId();
      return;
    }
    const now = Date.now();
    let next = Infinity;
    // Kafka's metadata.max.age.ms: pick up new partitions and moved leaders even without errors.
    if (now - this.metadataRefreshedAt >= this.cluster.options.metadataMaxAgeMs) {
      this.metadataRefreshedAt = now;
      for (const topic of this.queues.keys()) this.wantMetadata(topic);
    }
    const perNode = new Map<number, PartitionQueue[]>();
    for (const [topic, qs] of this.queues) {
      const info = this.cluster.topics.get(topic);
      for (const pq of qs) {
        if (pq === undefined || pq.batches.length === 0) continue;
        const first = pq.batches[0];
        if (now - first.createdAt >= this.deliveryTimeoutMs) {
          pq.batches.shift();
          this.failBatch(first, new RequestTimeoutError(`${pq.topic}-${pq.partition}: ${first.count} record(s) expired after deliveryTimeoutMs (${this.deliveryTimeoutMs} ms) without an acknowledgement`), true);
          next = now;
          continue;
        }
        const ready = first.closed || first.sendNow || first.pos >= this.batchSize || pq.batches.length > 1 || this.flushing > 0 || this.closed || first.baseSequence >= 0 ||
          now - first.createdAt >= this.lingerMs || this.txnState === 'COMMITTING';
        if (!ready) {
          next = Math.min(next, first.createdAt + this.lingerMs);
          continue;
        }
        if (first.retryAt > now) {
          next = Math.min(next, first.retryAt);
          continue;
        }
        // A retried batch (it has a sequence) goes alone, after everything before it was answered, so the broker sees sequences in order.
        if (first.baseSequence >= 0 && pq.inflight.length > 0) continue;
        if (this.idempotent && pq.inflight.length >= 5) continue;
        const leader = info?.partitions[pq.partition]?.leader ?? -1;
        if (leader < 0) {
          this.wantMetadata(topic);
          continue;
        }
        if (this.transactionalId !== null && !this.txnPartitions.has(`${topic}\0${pq.partition}`)) {
          this.addPartitionToTxn(topic, pq.partition);
          continue;
        }
        let list = perNode.get(leader);
        if (list === undefined) perNode.set(leader, (list = []));
        list.push(pq);
      }
    }
    for (const [node, pqs] of perNode) {
      if ((this.nodeInflight.get(node) ?? 0) >= this.maxInFlight) continue;
      const batches: Array<{ pq: PartitionQueue; batch: ProducerBatch }> = [];
      let bytes = 0;
      for (const pq of pqs) {
        const batch = pq.batches[0];
        if (batches.length > 0 && bytes + batch.sizeInBytes > this.maxRequestSize) {
          next = now;
          continue;
        }
        pq.batches.shift();
        if (batch.baseSequence < 0 && this.idempotent) {
          batch.baseSequence = pq.nextSequence;
          pq.nextSequence = (pq.nextSequence + batch.count) % 0x80000000; // sequences wrap at Int32 max, as in Kafka
        }
        if (!batch.closed) this.closeBatch(batch);
        batch.seal(this.compression, this.producerId, this.producerEpoch, this.transactionalId !== null);
        bytes += batch.wire!.length;
        pq.inflight.push(batch);
        batches.push({ pq, batch });
      }
      if (batches.length > 0) this.sendProduce(node, batches);
    }
    if (next < Infinity) this.wakeAt(next);
  }

  private isInflight(b: ProducerBatch): boolean {
    const pq = this.queues.get(b.topic)?.[b.partition];
    return pq !== undefined && pq.inflight.includes(b);
  }

  private sendProduce(node: number, batches: Array<{ pq: PartitionQueue; batch: ProducerBatch }>): void {
    this.nodeInflight.set(node, (this.nodeInflight.get(node) ?? 0) + 1);
    const topicData: NonNullable<ProduceRequestInit['topicData']> = [];
    const byTopic = new Map<string, Array<{ index: number; records: Buffer }>>();
    for (const { batch } of batches) {
      let parts = byTopic.get(batch.topic);
      if (parts === undefined) {
        parts = [];
        byTopic.set(batch.topic, parts);
        topicData.push({ name: batch.topic, partitionData: parts });
      }
      parts.push({ index: batch.partition, records: batch.wire! });
    }
    const body: ProduceRequestInit = { transactionalId: this.transactionalId, acks: this.acks, timeoutMs: this.requestTimeoutMs, topicData };
    const done = (): void => {
      this.nodeInflight.set(node, (this.nodeInflight.get(node) ?? 1) - 1);
      this.wake();
    };
    this.cluster.connection(node).then(async (conn) => {
      if (this.acks === 0) {
        await conn.sendNoResponse(ProduceRequest, body, { minVersion: 3 });
        for (const { pq, batch } of batches) this.onBatchSuccess(pq, batch, { baseOffset: -1, logAppendTime: -1 });
        return;
      }
      const res = await conn.send(ProduceRequest, ProduceResponse, body, { minVersion: 3, timeoutMs: this.requestTimeoutMs + 5000 });
      const answers = new Map<string, { errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint; errorMessage: string | null }>();
      for (const t of res.responses) for (const p of t.partitionResponses) answers.set(`${t.name}\0${p.index}`, p);
      for (const { pq, batch } of batches) {
        const a = answers.get(`${batch.topic}\0${batch.partition}`);
        if (a === undefined) {
          this.onBatchError(pq, batch, new ProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `${batch.topic}-${batch.partition}`, 'the Produce response did not mention this partition'));
        } else if (a.errorCode === 0) {
          this.onBatchSuccess(pq, batch, { baseOffset: Number(a.baseOffset), logAppendTime: Number(a.logAppendTimeMs) });
        } else if (a.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
          // The broker already has this batch (an earlier attempt was written): success, offset unknown.
          this.onBatchSuccess(pq, batch, { baseOffset: -1, logAppendTime: -1 });
        } else if (a.errorCode === ErrorCode.MESSAGE_TOO_LARGE || a.errorCode === ErrorCode.RECORD_LIST_TOO_LARGE) {
          // This producer does not split batches; batches grow up to about maxRequestSize, so that is the knob.
          this.onBatchError(pq, batch, new ProtocolError(a.errorCode,
            `Produce to ${batch.topic}-${batch.partition}: the broker refused a batch of ${batch.wire!.length} bytes (${batch.count} records) — the topic's max.message.bytes is smaller; lower maxRequestSize and batchSize below it`,
            a.errorMessage));
        } else {
          this.onBatchError(pq, batch, new ProtocolError(a.errorCode, `Produce to ${batch.topic}-${batch.partition}`, a.errorMessage));
        }
      }
    }).catch((err: unknown) => {
      // The whole request failed (connection lost, timeout, unsupported): each batch decides whether to retry.
      for (const { pq, batch } of batches) if (!batch.done && pq.inflight.includes(batch)) this.onBatchError(pq, batch, err as Error);
    }).finally(done);
  }

  private removeInflight(pq: PartitionQueue, batch: ProducerBatch): void {
    const i = pq.inflight.indexOf(batch);
    if (i >= 0) pq.inflight.splice(i, 1);
  }

  private onBatchSuccess(pq: PartitionQueue, batch: ProducerBatch, result: BatchResult): void {
    this.removeInflight(pq, batch);
    this.completeBatch(batch);
    // Acknowledged, so its request was written in full: the buffer can carry another batch.
    batch.recycle();
    batch.resolve(result);
  }

  private onBatchError(pq: PartitionQueue, batch: ProducerBatch, err: Error): void {
    this.removeInflight(pq, batch);
    const code = err instanceof ProtocolError ? err.errorCode : -1;
    if (FENCED_CODES.has(code)) {
      this.setFatal(this.fencedError(err as ProtocolError));
      this.failBatch(batch, this.fatalError!, false);
      return;
    }
    let retriable = isRetriable(err);
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
      // Out of order because an earlier batch of ours failed and will be retried: retry this one after it.
      // With nothing earlier outstanding the broker really lost track of us: not retriable.
      retriable = pq.inflight.some((b) => b.baseSequence < batch.baseSequence) ||
        pq.batches.some((b) => b.baseSequence >= 0 && b.baseSequence < batch.baseSequence) ||
        [...this.incomplete].some((b) => b !== batch && b.topic === batch.topic && b.partition === batch.partition && b.baseSequence >= 0 && b.baseSequence < batch.baseSequence && !b.done);
    }
    const now = Date.now();
    if (retriable && now - batch.createdAt < this.deliveryTimeoutMs && !this.fatalError) {
      if (isMetadataError(err)) {
        this.cluster.invalidateMetadata();
        this.wantMetadata(batch.topic);
      }
      batch.attempts++;
      batch.retryAt = now + this.backoff(batch.attempts - 1);
      // Back in the queue in sequence order, ahead of batches never sent.
      let i = 0;
      while (i < pq.batches.length && pq.batches[i].baseSequence >= 0 && pq.batches[i].baseSequence < batch.baseSequence) i++;
      pq.batches.splice(i, 0, batch);
      this.wakeAt(batch.retryAt);
      return;
    }
    this.failBatch(batch, err, true);
  }

  private completeBatch(batch: ProducerBatch): void {
    batch.done = true;
    this.incomplete.delete(batch);
    this.release(batch);
  }

  /** Fails a batch. `sent`: it may have had a sequence number, which the partition's state must reflect. */
  private failBatch(batch: ProducerBatch, err: Error, sent: boolean): void {
    if (batch.done) return;
    this.completeBatch(batch);
    batch.reject(err);
    if (this.transactionalId !== null) {
      if (!this.fatalError && this.txnState !== 'ABORTING') this.txnAbortableError ??= err;
    } else if (sent && this.idempotent && batch.baseSequence >= 0) {
      // Later sequences of this partition now have a gap: start over with a new producer id.
      this.needsProducerIdReset = true;
      this.wake();
    }
  }

  /** Drops a queued (never answered) batch without touching sequence state. */
  private dropQueued(batch: ProducerBatch, err: Error): void {
    const pq = this.queues.get(batch.topic)?.[batch.partition];
    if (pq) {
      const i = pq.batches.indexOf(batch);
      if (i >= 0) pq.batches.splice(i, 1);
    }
    if (batch.done) return;
    this.completeBatch(batch);
    batch.reject(err);
  }

  private release(batch: ProducerBatch): void {
    this.buffered -= batch.reserved;
    batch.reserved = 0;
    if (this.blocked.length > 0) this.drainBlocked();
    if (this.buffered < this.bufferMemory && this.spaceWaiters.length > 0) {
      for (const w of this.spaceWaiters.splice(0)) w();
    }
  }

  /** Non-transactional idempotence after a failed batch: once nothing is in flight, get a new producer id and restart sequences. */
  private maybeResetProducerId(): void {
    if (this.resettingProducerId) return;
    for (const qs of this.queues.values()) for (const pq of qs) if (pq && pq.inflight.length > 0) return;
    this.resettingProducerId = true;
    this.initProducerId().then(() => {
      for (const qs of this.queues.values()) {
        for (const pq of qs) {
          if (!pq) continue;
          pq.nextSequence = 0;
          for (const b of pq.batches) b.baseSequence = -1;
        }
      }
      this.needsProducerIdReset = false;
    }, (err: unknown) => this.setFatal(err as Error)).finally(() => {
      this.resettingProducerId = false;
      this.wake();
    });
  }

  private setFatal(err: Error): void {
    this.fatalError ??= err;
    this.wake();
  }

  private fencedError(err: ProtocolError): Error {
    if (err.errorCode === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) return err;
    const who = this.transactionalId !== null ? `transactionalId '${this.transactionalId}'` : `producer id ${this.producerId}`;
    const fenced = new ProtocolError(err.errorCode, `producer fenced: another producer with ${who} has started (a newer epoch than ${this.producerEpoch}); this producer can no longer be used — close it`);
    return fenced;
  }

  /** Waits for every record sent so far to be acknowledged (or to fail). */
  async flush(): Promise<void> {
    const waits: Array<Promise<unknown>> = [];
    for (const b of this.incomplete) waits.push(b.promise);
    for (const b of this.blocked) waits.push(new Promise<void>((resolve) => {
      const { resolve: res, reject: rej } = b;
      b.resolve = (slot) => {
        res(slot);
        slot.batch.promise.then(() => resolve(), () => resolve());
      };
      b.reject = (err) => {
        rej(err);
        resolve();
      };
    }));
    if (waits.length === 0) return;
    this.flushing++;
    this.wake();
    try {
      await Promise.allSettled(waits);
    } finally {
      this.flushing--;
    }
  }

  // ---------------------------------------------------------------- transactions

  private requireTransactional(op: string): string {
    if (this.transactionalId === null) throw new ClientStateError(`${op} needs a transactional producer: set transactionalId`);
    if (this.fatalError) throw this.fatalError;
    if (this.closed) throw new ClientStateError(`${op} after close(): the producer is closed`);
    if (!this.initialized) throw new ClientStateError(`${op} before connect(): call await producer.connect() first`);
    return this.transactionalId;
  }

  beginTransaction(): void {
    this.requireTransactional('beginTransaction()');
    if (this.txnState !== 'READY') throw new ClientStateError(`beginTransaction() while a transaction is ${this.txnState === 'IN_TRANSACTION' ? 'already open' : this.txnState.toLowerCase()}`);
    this.txnState = 'IN_TRANSACTION';
    this.txnAbortableError = null;
    this.txnStarted = false;
    this.txnPartitions.clear();
  }

  /** Adds consumed offsets to the transaction: AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator. */
  async sendOffsetsToTransaction(offsets: OffsetToCommit[], group: GroupMetadata | string): Promise<void> {
    const transactionalId = this.requireTransactional('sendOffsetsToTransaction()');
    if (this.txnState !== 'IN_TRANSACTION') throw new ClientStateError('sendOffsetsToTransaction() outside a transaction: call beginTransaction() first');
    if (this.txnAbortableError) throw new ClientStateError(`the transaction failed and must be aborted: ${this.txnAbortableError.message}`);
    const g: GroupMetadata = typeof group === 'string' ? { groupId: group, generationId: -1, memberId: '', groupInstanceId: null } : group;
    try {
      await this.coordinatorRequest('AddOffsetsToTxn', (conn) => conn.send(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, {
        transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId: g.groupId,
      }), (r) => r.errorCode);
      this.txnStarted = true;
      const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>();
      for (const o of offsets) {
        let list = topics.get(o.topic);
        if (!list) topics.set(o.topic, (list = []));
        list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: o.metadata ?? '' });
      }
      const deadline = Date.now() + this.maxBlockMs;
      let pending = [...topics].map(([name, partitions]) => ({ name, partitions }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        let res;
        try {
          const conn = await this.cluster.coordinatorConnection(g.groupId, CoordinatorType.GROUP);
          res = await conn.send(TxnOffsetCommitRequest, TxnOffsetCommitResponse, {
            transactionalId, groupId: g.groupId, producerId: this.producerId, producerEpoch: this.producerEpoch,
            generationId: g.generationId, memberId: g.memberId, groupInstanceId: g.groupInstanceId, topics: pending,
          });
        } catch (err) {
          if (!isRetriable(err) || Date.now() >= deadline) throw err;
          this.cluster.invalidateCoordinator(g.groupId, CoordinatorType.GROUP);
          await sleep(this.backoff(attempt));
          continue;
        }
        const retry = new Map<string, Set<number>>();
        let firstError: ProtocolError | null = null;
        let coordinatorMoved = false;
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === 0) continue;
            const err = new ProtocolError(p.errorCode, `TxnOffsetCommit for group '${g.groupId}' ${t.name}-${p.partitionIndex}`);
            if (FENCED_CODES.has(p.errorCode)) throw this.fail(this.fencedError(err));
            if (p.errorCode === ErrorCode.NOT_COORDINATOR || p.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) coordinatorMoved = true;
            if (err.retriable || p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
              let s = retry.get(t.name);
              if (!s) retry.set(t.name, (s = new Set()));
              s.add(p.partitionIndex);
            } else firstError ??= err;
          }
        }
        if (firstError) throw firstError;
        if (coordinatorMoved) this.cluster.invalidateCoordinator(g.groupId, CoordinatorType.GROUP);
        pending = pending.map((t) => ({ name: t.name, partitions: t.partitions.filter((p) => retry.get(t.name)?.has(p.partitionIndex)) })).filter((t) => t.partitions.length > 0);
        if (pending.length > 0) {
          if (Date.now() >= deadline) throw new RequestTimeoutError(`TxnOffsetCommit for group '${g.groupId}' did not succeed within maxBlockMs (${this.maxBlockMs} ms)`);
          await sleep(this.backoff(attempt));
        }
      }
    } catch (err) {
      if (!this.fatalError) this.txnAbortableError ??= err as Error;
      throw err;
    }
  }

  /** Flushes, then commits (EndTxn). */
  async commitTransaction(): Promise<void> {
    const transactionalId = this.requireTransactional('commitTransaction()');
    if (this.txnState !== 'IN_TRANSACTION') throw new ClientStateError('commitTransaction() without an open transaction: call beginTransaction() first');
    if (this.txnAbortableError) throw new ClientStateError(`cannot commit: the transaction failed and must be aborted (${this.txnAbortableError.message})`);
    this.txnState = 'COMMITTING';
    try {
      await this.flush();
      await this.waitTxnPartitionsAdded();
    } catch (err) {
      this.txnState = 'IN_TRANSACTION';
      throw err;
    }
    if (this.fatalError) throw this.fatalError;
    // flush() may have recorded a failure of one of the transaction's records.
    const failed = this.txnAbortableError as Error | null;
    if (failed) {
      this.txnState = 'IN_TRANSACTION';
      throw new ClientStateError(`cannot commit: a record of the transaction failed, abort it (${failed.message})`);
    }
    await this.endTxn(transactionalId, true);
  }

  /** Drops unsent records, waits for those in flight, then aborts (EndTxn). */
  async abortTransaction(): Promise<void> {
    const transactionalId = this.requireTransactional('abortTransaction()');
    if (this.txnState !== 'IN_TRANSACTION' && this.txnState !== 'COMMITTING') throw new ClientStateError('abortTransaction() without an open transaction');
    this.txnState = 'ABORTING';
    const aborted = new ClientStateError('the transaction was aborted before this record was sent');
    for (const b of this.blocked.takeAll()) b.reject(aborted);
    for (const qs of this.queues.values()) {
      for (const pq of qs) {
        if (!pq) continue;
        // Batches that already have a sequence number were sent once: they must finish, or the sequence breaks.
        for (const b of [...pq.batches]) if (b.baseSequence < 0) this.dropQueued(b, aborted);
      }
    }
    await this.flush();
    await this.waitTxnPartitionsAdded().catch(() => {});
    if (this.fatalError) throw this.fatalError;
    await this.endTxn(transactionalId, false);
  }

  private async endTxn(transactionalId: string, committed: boolean): Promise<void> {
    try {
      if (this.txnStarted) {
        await this.coordinatorRequest('EndTxn', (conn) => conn.send(EndTxnRequest, EndTxnResponse, {
          transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, committed,
        }, { maxVersion: 4 }), (r) => r.errorCode);
      }
    } catch (err) {
      if (!this.fatalError) {
        this.txnState = 'IN_TRANSACTION';
        if (committed) this.txnAbortableError ??= err as Error;
      }
      throw err;
    }
    this.txnState = 'READY';
    this.txnAbortableError = null;
    this.txnStarted = false;
    this.txnPartitions.clear();
    this.txnPartitionsPending.clear();
  }

  private addPartitionToTxn(topic: string, partition: number): void {
    const key = `${topic}\0${partition}`;
    if (this.txnPartitionsPending.has(key)) return;
    this.txnPartitionsPending.add(key);
    if (!this.txnAdding) void this.addPendingPartitions();
  }

  private txnAddWaiters: Array<() => void> = [];

  private waitTxnPartitionsAdded(): Promise<void> {
    if (!this.txnAdding && this.txnPartitionsPending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.txnAddWaiters.push(resolve));
  }

  /** AddPartitionsToTxn for every partition waiting, in one request at a time. */
  private async addPendingPartitions(): Promise<void> {
    this.txnAdding = true;
    const transactionalId = this.transactionalId!;
    try {
      while (this.txnPartitionsPending.size > 0 && !this.fatalError) {
        const keys = [...this.txnPartitionsPending];
        const topics = new Map<string, number[]>();
        for (const k of keys) {
          const [t, p] = k.split('\0');
          let list = topics.get(t);
          if (!list) topics.set(t, (list = []));
          list.push(Number(p));
        }
        const v3Topics = [...topics].map(([name, partitions]) => ({ name, partitions }));
        try {
          const res = await this.coordinatorRequest('AddPartitionsToTxn', (conn) => conn.send(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, {
            v3AndBelowTransactionalId: transactionalId,
            v3AndBelowProducerId: this.producerId,
            v3AndBelowProducerEpoch: this.producerEpoch,
            v3AndBelowTopics: v3Topics,
          }, { maxVersion: 3 }), (r) => {
            // The whole request is retried while any partition says CONCURRENT_TRANSACTIONS (the previous transaction is still completing).
            let worst = 0;
            for (const t of r.resultsByTopicV3AndBelow) {
              for (const p of t.resultsByPartition) {
                if (p.partitionErrorCode === ErrorCode.CONCURRENT_TRANSACTIONS || FENCED_CODES.has(p.partitionErrorCode) ||
                  p.partitionErrorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
                  p.partitionErrorCode === ErrorCode.NOT_COORDINATOR || p.partitionErrorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
                  p.partitionErrorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) worst = p.partitionErrorCode;
              }
            }
            return worst;
          });
          let failed: ProtocolError | null = null;
          for (const t of res.resultsByTopicV3AndBelow) {
            for (const p of t.resultsByPartition) {
              const key = `${t.name}\0${p.partitionIndex}`;
              this.txnPartitionsPending.delete(key);
              if (p.partitionErrorCode === 0) this.txnPartitions.add(key);
              else if (p.partitionErrorCode !== ErrorCode.OPERATION_NOT_ATTEMPTED) failed ??= new ProtocolError(p.partitionErrorCode, `AddPartitionsToTxn ${t.name}-${p.partitionIndex}`);
            }
          }
          for (const k of keys) this.txnPartitionsPending.delete(k);
          this.txnStarted = true;
          if (failed) this.failTxnBatches(failed);
        } catch (err) {
          for (const k of keys) this.txnPartitionsPending.delete(k);
          this.failTxnBatches(err as Error);
        }
        this.wake();
      }
    } finally {
      this.txnAdding = false;
      for (const w of this.txnAddWaiters.splice(0)) w();
    }
  }

  /** A failure adding partitions: the transaction can only be aborted; its unsent records fail. */
  private failTxnBatches(err: Error): void {
    if (!this.fatalError) this.txnAbortableError ??= err;
    const e = this.fatalError ?? err;
    for (const qs of this.queues.values()) {
      for (const pq of qs) {
        if (!pq || this.txnPartitions.has(`${pq.topic}\0${pq.partition}`)) continue;
        for (const b of [...pq.batches]) this.dropQueued(b, e);
      }
    }
  }

  private fail(err: Error): Error {
    this.setFatal(err);
    return err;
  }

  /**
   * A request to the transaction coordinator, retried on coordinator moves, CONCURRENT_TRANSACTIONS
   * and other retriable errors until maxBlockMs; fencing is fatal.
   */
  private async coordinatorRequest<T>(name: string, fn: (conn: Connection) => Promise<T>, errorOf: (res: T) => number): Promise<T> {
    const transactionalId = this.transactionalId!;
    const deadline = Date.now() + this.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      let err: Error;
      try {
        const conn = await this.cluster.coordinatorConnection(transactionalId, CoordinatorType.TRANSACTION);
        const res = await fn(conn);
        const code = errorOf(res);
        if (code === 0) return res;
        err = new ProtocolError(code, `${name} for transactionalId '${transactionalId}'`);
      } catch (e) {
        err = e as Error;
      }
      const code = err instanceof ProtocolError ? err.errorCode : -1;
      if (FENCED_CODES.has(code)) throw this.fail(this.fencedError(err as ProtocolError));
      if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || !(err instanceof ProtocolError)) {
        this.cluster.invalidateCoordinator(transactionalId, CoordinatorType.TRANSACTION);
      }
      if (!isRetriable(err) || Date.now() >= deadline) throw err;
      await sleep(code === ErrorCode.CONCURRENT_TRANSACTIONS ? CONCURRENT_TXN_BACKOFF_MS : this.backoff(attempt));
    }
  }
}

function metadataOf(batch: ProducerBatch, index: number, res: BatchResult): RecordMetadata {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: res.baseOffset < 0 ? -1 : res.baseOffset + index,
    timestamp: res.logAppendTime >= 0 ? res.logAppendTime : batch.timestamps[index],
  };
}
