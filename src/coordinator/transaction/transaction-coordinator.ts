/**
 * The transaction coordinator as a pure state machine: no I/O, time from the injected `now()`.
 *
 * Every operation applies its transition to the in-memory state at once and returns
 * `{ response, records, markers? }`. Contract with the runtime (which owns I/O):
 * - Operations run one at a time. `records` must be appended to `__transaction_state` (the partition owning
 *   the transactional id) before `response` is sent. If an append fails, the in-memory state is ahead of
 *   the log: the runtime must reload this coordinator from the log (new instance + `replay`).
 * - `markers`: control batches to write — to every listed partition, one COMMIT (`transactionResult: true`)
 *   or ABORT control batch for `producerId`/`producerEpoch` carrying `coordinatorEpoch`. Markers on
 *   `__consumer_offsets` partitions also complete the group coordinator's pending transactional offsets.
 *   Partitions that no longer exist count as written (Kafka drops them too); other failures are retried.
 *   When all are written the runtime calls `markersWritten(...)` and appends the records it returns (the
 *   Complete* state). Until then the id answers CONCURRENT_TRANSACTIONS, which clients retry; Kafka answers
 *   EndTxn after the Prepare* append, a single node may as well answer after the markers.
 * - On load: `replay(key, value)` for every record in log order, then write `pendingMarkers()` (transactions
 *   caught in Prepare*), each followed by `markersWritten`.
 * - Periodically: `abortTimedOutTransactions()` (Kafka: every
 *   transaction.abort.timed.out.transaction.cleanup.interval.ms = 10 s) and `expireTransactionalIds()`
 *   (every transaction.remove.expired.transaction.cleanup.interval.ms = 1 h); append their records, write
 *   their markers.
 *
 * Injected interfaces:
 * - `now(): number` — wall-clock ms.
 * - `allocateProducerId(): bigint` — a producer id never handed out before (the broker's persisted
 *   allocator, shared with idempotent producers).
 * - `partitionForGroup(groupId): number` — the `__consumer_offsets` partition of a group (AddOffsetsToTxn).
 * - `partitionExists?(topic, partition): boolean` — AddPartitionsToTxn answers UNKNOWN_TOPIC_OR_PARTITION
 *   for unknown partitions (and OPERATION_NOT_ATTEMPTED for the others) without changing state.
 * - `TxnMarkerWriter` (below) — what the runtime implements to perform `markers`.
 *
 * Version notes: responses are built for the request version given. PRODUCER_FENCED becomes
 * INVALID_PRODUCER_EPOCH for clients that predate it (InitProducerId < 4; AddPartitionsToTxn, AddOffsetsToTxn,
 * EndTxn < 2). AddPartitionsToTxn v4+ (the broker-to-broker batched form) is handled too, `verifyOnly`
 * included. Transaction version 2 (KIP-890 part 2: an epoch bump per transaction, EndTxn v5) is not
 * implemented: EndTxn v5 answers the current producer id and epoch without bumping, so its handler should
 * declare 0-4. TRANSACTION_ABORTABLE is never returned.
 */
import { TributaryError } from '../../errors.js';
import type { AddOffsetsToTxnRequest } from '../../protocol/generated/add-offsets-to-txn-request.js';
import type { AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn-response.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnTopic } from '../../protocol/generated/add-partitions-to-txn-request.js';
import type { AddPartitionsToTxnResponse, AddPartitionsToTxnTopicResult } from '../../protocol/generated/add-partitions-to-txn-response.js';
import type { DescribeTransactionsRequest } from '../../protocol/generated/describe-transactions-request.js';
import type { DescribeTransactionsResponse, TransactionState as DescribedTransaction } from '../../protocol/generated/describe-transactions-response.js';
import type { EndTxnRequest } from '../../protocol/generated/end-txn-request.js';
import type { EndTxnResponse } from '../../protocol/generated/end-txn-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { InitProducerIdRequest } from '../../protocol/generated/init-producer-id-request.js';
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id-response.js';
import type { TransactionLogKey } from '../../protocol/generated/internal/transaction-log-key.js';
import type { TransactionLogValue } from '../../protocol/generated/internal/transaction-log-value.js';
import type { ListTransactionsRequest } from '../../protocol/generated/list-transactions-request.js';
import type { ListTransactionsResponse, TransactionState as ListedTransaction } from '../../protocol/generated/list-transactions-response.js';
import type { WritableTxnMarker } from '../../protocol/generated/write-txn-markers-request.js';
import {
  NO_PRODUCER_EPOCH, NO_PRODUCER_ID, fromRecord, isEpochExhausted, toRecord, tombstone, topicPartitionsOf,
  type TransactionMetadata, type TxnRecord,
} from './transaction-metadata.js';
import { canTransition, isExpirationAllowed, isTransactionStateName, type TransactionStateName } from './transaction-state.js';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

export interface TransactionCoordinatorConfig {
  /** transaction.max.timeout.ms (Kafka default 900000): longer InitProducerId timeouts are rejected. */
  transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms (Kafka default 604800000): idle ids older than this are removed. */
  transactionalIdExpirationMs: number;
}

export const DEFAULT_TRANSACTION_COORDINATOR_CONFIG: TransactionCoordinatorConfig = {
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 604_800_000,
};

export interface TransactionCoordinatorDeps {
  now(): number;
  allocateProducerId(): bigint;
  partitionForGroup(groupId: string): number;
  partitionExists?(topic: string, partition: number): boolean;
  /**
   * The coordinator epoch markers carry: the leader epoch of the `__transaction_state` partition of the
   * transactional id, as this coordinator was elected for it (a number: the same for every id).
   */
  coordinatorEpoch: number | ((transactionalId: string) => number);
  config?: Partial<TransactionCoordinatorConfig>;
}

/** Control markers to write before a transaction completes (WriteTxnMarkers' shape, plus the id). */
export interface TxnMarkers extends WritableTxnMarker {
  transactionalId: string;
}

/** Performs `markers`; resolves when every partition has its control batch (or no longer exists). */
export type TxnMarkerWriter = (markers: TxnMarkers) => Promise<void>;

export interface TxnResult<R> {
  response: R;
  records: TxnRecord[];
  markers?: TxnMarkers;
}

/** Records and markers of a background operation (timeouts, expiry, marker completion). */
export interface TxnBackgroundResult {
  records: TxnRecord[];
  markers: TxnMarkers[];
}

/** Outcome of one step: an error code (no state change) or the records of a transition. */
type Step = { error: number; records: TxnRecord[]; markers?: TxnMarkers };

function fail(error: number): Step {
  return { error, records: [] };
}

function fencedFor(error: number, oldClient: boolean): number {
  return oldClient && error === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : error;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TransactionMetadata>();
  private readonly config: TransactionCoordinatorConfig;
  private readonly now: () => number;
  /** Transactions completed here since start (Complete* written), by outcome; read by the metrics at scrape time. */
  committed = 0;
  aborted = 0;

  constructor(private readonly deps: TransactionCoordinatorDeps) {
    this.config = { ...DEFAULT_TRANSACTION_COORDINATOR_CONFIG, ...deps.config };
    this.now = deps.now;
  }

  /** The metadata of a transactional id (read-only view for the runtime and tests). */
  get(transactionalId: string): Readonly<TransactionMetadata> | undefined {
    return this.txns.get(transactionalId);
  }

  /** Transactions in flight here: Ongoing, Prepare* (and the transient PrepareEpochFence). */
  openTransactionCount(): number {
    let n = 0;
    for (const m of this.txns.values()) {
      if (m.state === 'Ongoing' || m.state === 'PrepareCommit' || m.state === 'PrepareAbort' || m.state === 'PrepareEpochFence') n++;
    }
    return n;
  }

  transactionalIds(): string[] {
    return [...this.txns.keys()];
  }

  // ---- InitProducerId -------------------------------------------------------------------------------

  /** InitProducerId with a transactional id (null ids belong to the idempotent-producer allocator). */
  initProducerId(req: InitProducerIdRequest, version: number): TxnResult<InitProducerIdResponse> {
    const step = this.initStep(req);
    const m = req.transactionalId === null ? undefined : this.txns.get(req.transactionalId);
    const ok = step.error === ErrorCode.NONE && m !== undefined;
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: fencedFor(step.error, version < 4),
        producerId: ok ? m.producerId : NO_PRODUCER_ID,
        producerEpoch: ok ? m.producerEpoch : NO_PRODUCER_EPOCH,
      },
      records: step.records,
      markers: step.markers,
    };
  }

  private initStep(req: InitProducerIdRequest): Step {
    const id = req.transactionalId;
    if (id === null || id === '') return fail(ErrorCode.INVALID_REQUEST);
    if (!(req.transactionTimeoutMs > 0 && req.transactionTimeoutMs <= this.config.transactionMaxTimeoutMs)) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    // v3+ (KIP-360): a producer that already has an id and epoch may ask to resume with a bumped epoch.
    let expected: { producerId: bigint; producerEpoch: number } | undefined;
    if (req.producerId !== NO_PRODUCER_ID || req.producerEpoch !== NO_PRODUCER_EPOCH) {
      if (req.producerId === NO_PRODUCER_ID || req.producerEpoch === NO_PRODUCER_EPOCH) return fail(ErrorCode.INVALID_REQUEST);
      expected = { producerId: req.producerId, producerEpoch: req.producerEpoch };
    }
    const now = this.now();
    const existing = this.txns.get(id);
    const m: TransactionMetadata = existing ?? {
      transactionalId: id,
      producerId: this.deps.allocateProducerId(),
      lastProducerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      timeoutMs: req.transactionTimeoutMs,
      state: 'Empty',
      partitions: new Map(),
      startTimestamp: -1,
      lastUpdateTimestamp: now,
    };
    // A stated producer id must be ours, unless the id is brand new (a producer migrating to this
    // transactional id), or it is the id we rotated away from at epoch exhaustion (a retried rotation).
    if (expected && !(m.producerEpoch === NO_PRODUCER_EPOCH || expected.producerId === m.producerId
      || (expected.producerId === m.lastProducerId && isEpochExhausted(expected.producerEpoch)))) {
      return fail(ErrorCode.PRODUCER_FENCED);
    }
    switch (m.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing': {
        // Fence the current producer and abort its transaction; this epoch is never returned. The client
        // retries on CONCURRENT_TRANSACTIONS and gets a second bump (or a new id if the fence exhausted it).
        const abort = this.fenceAndAbort(m, now);
        return { error: ErrorCode.CONCURRENT_TRANSACTIONS, records: abort.records, markers: abort.markers };
      }
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort':
        break;
      default:
        // Dead and PrepareEpochFence never outlive an operation.
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    let producerId = m.producerId;
    let lastProducerId = m.lastProducerId;
    let epoch: number;
    let lastEpoch: number;
    if (isEpochExhausted(m.producerEpoch) && (!expected || expected.producerEpoch === m.producerEpoch)) {
      lastProducerId = m.producerId;
      producerId = this.deps.allocateProducerId();
      epoch = 0;
      lastEpoch = expected ? m.producerEpoch : NO_PRODUCER_EPOCH;
    } else if (!expected) {
      epoch = m.producerEpoch + 1;
      lastEpoch = NO_PRODUCER_EPOCH;
    } else if (m.producerEpoch === NO_PRODUCER_EPOCH || expected.producerEpoch === m.producerEpoch) {
      epoch = m.producerEpoch + 1;
      lastEpoch = m.producerEpoch;
    } else if (expected.producerEpoch === m.lastProducerEpoch) {
      // A retry of a call that succeeded: answer the current epoch without bumping again.
      epoch = m.producerEpoch;
      lastEpoch = m.lastProducerEpoch;
    } else {
      return fail(ErrorCode.PRODUCER_FENCED);
    }
    this.transition(m, 'Empty', now);
    m.producerId = producerId;
    m.lastProducerId = lastProducerId;
    m.producerEpoch = epoch;
    m.lastProducerEpoch = lastEpoch;
    m.timeoutMs = req.transactionTimeoutMs;
    m.partitions = new Map();
    m.startTimestamp = -1;
    if (!existing) this.txns.set(id, m);
    return { error: ErrorCode.NONE, records: [toRecord(m)] };
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ---------------------------------------------------------

  addPartitionsToTxn(req: AddPartitionsToTxnRequest, version: number): TxnResult<AddPartitionsToTxnResponse> {
    const records: TxnRecord[] = [];
    if (version <= 3) {
      const results = this.addPartitionsResults(
        req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch,
        req.v3AndBelowTopics, false, version < 2, records,
      );
      return {
        response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results },
        records,
      };
    }
    const resultsByTransaction = req.transactions.map((t) => ({
      transactionalId: t.transactionalId,
      topicResults: this.addPartitionsResults(t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly, false, records),
    }));
    return {
      response: { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] },
      records,
    };
  }

  private addPartitionsResults(
    id: string, producerId: bigint, producerEpoch: number, topics: AddPartitionsToTxnTopic[],
    verifyOnly: boolean, oldClient: boolean, records: TxnRecord[],
  ): AddPartitionsToTxnTopicResult[] {
    const exists = this.deps.partitionExists;
    let codeOf: (topic: string, partition: number) => number;
    if (exists && topics.some((t) => t.partitions.some((p) => !exists(t.name, p)))) {
      codeOf = (topic, p) => exists(topic, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    } else if (verifyOnly) {
      const m = this.txns.get(id);
      const step = this.checkProducer(m, id, producerId, producerEpoch);
      codeOf = (topic, p) => step.error !== ErrorCode.NONE ? step.error
        : m!.state === 'Ongoing' && m!.partitions.get(topic)?.has(p) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
    } else {
      const step = this.addPartitionsStep(id, producerId, producerEpoch, topics.map((t) => ({ topic: t.name, partitions: t.partitions })));
      records.push(...step.records);
      const code = fencedFor(step.error, oldClient);
      codeOf = () => code;
    }
    return topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) })),
    }));
  }

  addOffsetsToTxn(req: AddOffsetsToTxnRequest, version: number): TxnResult<AddOffsetsToTxnResponse> {
    const partition = this.deps.partitionForGroup(req.groupId);
    const step = this.addPartitionsStep(req.transactionalId, req.producerId, req.producerEpoch, [
      { topic: CONSUMER_OFFSETS_TOPIC, partitions: [partition] },
    ]);
    return { response: { throttleTimeMs: 0, errorCode: fencedFor(step.error, version < 2) }, records: step.records };
  }

  /** Checks shared by AddPartitions, AddOffsets and EndTxn: the id exists and the producer is its current one. */
  private checkProducer(m: TransactionMetadata | undefined, id: string, producerId: bigint, producerEpoch: number): Step {
    if (id === '') return fail(ErrorCode.INVALID_REQUEST);
    if (!m || m.producerId !== producerId) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (m.producerEpoch !== producerEpoch) return fail(ErrorCode.PRODUCER_FENCED);
    return fail(ErrorCode.NONE);
  }

  private addPartitionsStep(
    id: string, producerId: bigint, producerEpoch: number, add: Array<{ topic: string; partitions: number[] }>,
  ): Step {
    const m = this.txns.get(id);
    const check = this.checkProducer(m, id, producerId, producerEpoch);
    if (check.error !== ErrorCode.NONE || !m) return check;
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (m.state === 'Ongoing' && add.every((t) => t.partitions.every((p) => m.partitions.get(t.topic)?.has(p)))) {
      return fail(ErrorCode.NONE); // already in the transaction: nothing to write
    }
    if (!canTransition(m.state, 'Ongoing')) return fail(ErrorCode.INVALID_TXN_STATE);
    const now = this.now();
    if (m.state !== 'Ongoing') m.startTimestamp = now;
    this.transition(m, 'Ongoing', now);
    for (const { topic, partitions } of add) {
      let set = m.partitions.get(topic);
      if (!set) m.partitions.set(topic, (set = new Set()));
      for (const p of partitions) set.add(p);
    }
    return { error: ErrorCode.NONE, records: [toRecord(m)] };
  }

  // ---- EndTxn ---------------------------------------------------------------------------------------

  endTxn(req: EndTxnRequest, version: number): TxnResult<EndTxnResponse> {
    const m = this.txns.get(req.transactionalId);
    const step = this.endTxnStep(m, req);
    return {
      response: {
        throttleTimeMs: 0,
        errorCode: fencedFor(step.error, version < 2),
        producerId: m ? m.producerId : NO_PRODUCER_ID,
        producerEpoch: m ? m.producerEpoch : NO_PRODUCER_EPOCH,
      },
      records: step.records,
      markers: step.markers,
    };
  }

  private endTxnStep(m: TransactionMetadata | undefined, req: EndTxnRequest): Step {
    const check = this.checkProducer(m, req.transactionalId, req.producerId, req.producerEpoch);
    if (check.error !== ErrorCode.NONE || !m) return check;
    const commit = req.committed;
    switch (m.state) {
      case 'Ongoing':
        return this.prepareEnd(m, commit, this.now());
      // A retry of an EndTxn that already completed succeeds again; one still writing markers is retried.
      case 'CompleteCommit':
        return fail(commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
      case 'CompleteAbort':
        return fail(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE);
      case 'PrepareCommit':
        return fail(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'PrepareAbort':
        return fail(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        return fail(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /** Ongoing (or PrepareEpochFence) → Prepare*; completes at once when there is no partition to mark. */
  private prepareEnd(m: TransactionMetadata, commit: boolean, now: number): Step {
    this.transition(m, commit ? 'PrepareCommit' : 'PrepareAbort', now);
    const records = [toRecord(m)];
    if (m.partitions.size === 0) {
      records.push(this.complete(m, now));
      return { error: ErrorCode.NONE, records };
    }
    return { error: ErrorCode.NONE, records, markers: this.markersOf(m) };
  }

  /** Bumps the epoch so the current producer is fenced, then aborts its transaction (Kafka's epoch fence). */
  private fenceAndAbort(m: TransactionMetadata, now: number): Step {
    this.transition(m, 'PrepareEpochFence', now);
    // Epochs handed to clients stay below the exhaustion mark, so the bump cannot overflow; guard anyway.
    if (m.producerEpoch < 32767) m.producerEpoch++;
    m.lastProducerEpoch = NO_PRODUCER_EPOCH;
    return this.prepareEnd(m, false, now);
  }

  private complete(m: TransactionMetadata, now: number): TxnRecord {
    const commit = m.state === 'PrepareCommit';
    this.transition(m, commit ? 'CompleteCommit' : 'CompleteAbort', now);
    if (commit) this.committed++;
    else this.aborted++;
    m.partitions = new Map();
    return toRecord(m);
  }

  private markersOf(m: TransactionMetadata): TxnMarkers {
    return {
      transactionalId: m.transactionalId,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      transactionResult: m.state === 'PrepareCommit',
      topics: topicPartitionsOf(m).map(({ topic, partitions }) => ({ name: topic, partitionIndexes: partitions })),
      coordinatorEpoch: typeof this.deps.coordinatorEpoch === 'number' ? this.deps.coordinatorEpoch : this.deps.coordinatorEpoch(m.transactionalId),
    };
  }

  /**
   * The runtime wrote every marker of `markers`: the transaction completes. Stale calls (the transaction
   * is no longer preparing with that producer id and epoch) change nothing.
   */
  markersWritten(markers: Pick<TxnMarkers, 'transactionalId' | 'producerId' | 'producerEpoch'>): TxnBackgroundResult {
    const m = this.txns.get(markers.transactionalId);
    if (!m || (m.state !== 'PrepareCommit' && m.state !== 'PrepareAbort')
      || m.producerId !== markers.producerId || m.producerEpoch !== markers.producerEpoch) {
      return { records: [], markers: [] };
    }
    return { records: [this.complete(m, this.now())], markers: [] };
  }

  /** Markers of every transaction (of the ids `loaded` selects) caught between Prepare* and Complete* (after a load). */
  pendingMarkers(loaded?: (transactionalId: string) => boolean): TxnMarkers[] {
    const out: TxnMarkers[] = [];
    for (const m of this.txns.values()) {
      if (loaded && !loaded(m.transactionalId)) continue;
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') out.push(this.markersOf(m));
    }
    return out;
  }

  // ---- Background: timeouts and expiry --------------------------------------------------------------

  /** Aborts, with an epoch bump that fences the producer, every Ongoing transaction older than its timeout. */
  abortTimedOutTransactions(): TxnBackgroundResult {
    const now = this.now();
    const out: TxnBackgroundResult = { records: [], markers: [] };
    for (const m of this.txns.values()) {
      if (m.state !== 'Ongoing' || m.startTimestamp + m.timeoutMs >= now) continue;
      const step = this.fenceAndAbort(m, now);
      out.records.push(...step.records);
      if (step.markers) out.markers.push(step.markers);
    }
    return out;
  }

  /** Removes ids idle (no transaction in flight) for transactional.id.expiration.ms: tombstones. */
  expireTransactionalIds(): TxnBackgroundResult {
    const deadline = this.now() - this.config.transactionalIdExpirationMs;
    const out: TxnBackgroundResult = { records: [], markers: [] };
    for (const m of this.txns.values()) {
      if (!isExpirationAllowed(m.state) || m.lastUpdateTimestamp > deadline) continue;
      this.transition(m, 'Dead', this.now());
      this.txns.delete(m.transactionalId);
      out.records.push(tombstone(m.transactionalId));
    }
    return out;
  }

  // ---- Describe / List ------------------------------------------------------------------------------

  describeTransactions(req: DescribeTransactionsRequest): DescribeTransactionsResponse {
    const transactionStates = req.transactionalIds.map((id): DescribedTransaction => {
      const m = this.txns.get(id);
      if (!m || m.state === 'Dead') {
        return {
          errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: id, transactionState: '',
          transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [],
        };
      }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId: id,
        transactionState: m.state,
        transactionTimeoutMs: m.timeoutMs,
        transactionStartTimeMs: BigInt(m.startTimestamp),
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        topics: topicPartitionsOf(m),
      };
    });
    return { throttleTimeMs: 0, transactionStates };
  }

  listTransactions(req: ListTransactionsRequest): ListTransactionsResponse {
    const states = new Set<TransactionStateName>();
    const unknownStateFilters: string[] = [];
    for (const name of req.stateFilters) {
      if (isTransactionStateName(name)) states.add(name);
      else unknownStateFilters.push(name);
    }
    const producerIds = new Set(req.producerIdFilters);
    const now = BigInt(this.now());
    const transactionStates: ListedTransaction[] = [];
    for (const m of [...this.txns.values()].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1))) {
      if (m.state === 'Dead') continue;
      if (producerIds.size > 0 && !producerIds.has(m.producerId)) continue;
      if (req.stateFilters.length > 0 && !states.has(m.state)) continue;
      if (req.durationFilter >= 0n && now - BigInt(m.startTimestamp) <= req.durationFilter) continue;
      transactionStates.push({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
  }

  // ---- Load -----------------------------------------------------------------------------------------

  /** Applies one `__transaction_state` record (log order); a null value or a Dead status removes the id. */
  replay(key: TransactionLogKey, value: TransactionLogValue | null): void {
    const id = key.transactionalId;
    if (value === null) {
      this.txns.delete(id);
      return;
    }
    const m = fromRecord(id, value, this.txns.get(id));
    if (m.state === 'Dead') this.txns.delete(id);
    else this.txns.set(id, m);
  }

  /** Forgets every transactional id, before the runtime reloads `__transaction_state` after a failed append. */
  reset(): void {
    this.txns.clear();
  }

  /**
   * This broker no longer coordinates the ids `owned` selects (their `__transaction_state` partition was
   * resigned): they are forgotten; the new coordinator loads them and completes what was in Prepare*.
   */
  unload(owned: (transactionalId: string) => boolean): void {
    for (const id of [...this.txns.keys()]) if (owned(id)) this.txns.delete(id);
  }

  /** `replay` in the shape of the coordinator runtime's StateMachine<TxnRecord>. */
  replayRecord(rec: TxnRecord): void {
    this.replay(rec.key, rec.value);
  }

  private transition(m: TransactionMetadata, to: TransactionStateName, now: number): void {
    if (!canTransition(m.state, to)) {
      // A bug, not a client error: every caller checks the state first.
      throw new TributaryError('ERR_ILLEGAL_TXN_TRANSITION', `transactional id ${m.transactionalId}: illegal transition ${m.state} -> ${to}`);
    }
    m.state = to;
    m.lastUpdateTimestamp = now;
  }
}
