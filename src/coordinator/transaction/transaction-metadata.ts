/**
 * The coordinator's view of one transactional id, and its conversion to and from the
 * TransactionLogKey/TransactionLogValue records of `__transaction_state`.
 *
 * Record layout (Kafka's, so Kafka's tooling reads it): key = int16 version 0 + TransactionLogKey;
 * value = int16 version + TransactionLogValue, written at version 0 (what Kafka writes for clients below
 * transaction version 2); a null value (tombstone) removes the id. Partitions are null in an Empty record and
 * an empty list in a Complete* record, as Kafka writes them. `lastProducerId` and `lastProducerEpoch` are
 * not in the v0 record: replay infers `lastProducerId` from a change of producer id between records, and
 * `lastProducerEpoch` is in memory only (Kafka does the same; it only serves retried InitProducerId calls).
 */
import { TributaryError } from '../../errors.js';
import type { TransactionLogKey } from '../../protocol/generated/internal/transaction-log-key.js';
import type { TransactionLogValue } from '../../protocol/generated/internal/transaction-log-value.js';
import { TransactionState, stateFromStatus, type TransactionStateName } from './transaction-state.js';

export const TRANSACTION_LOG_KEY_VERSION = 0;
export const TRANSACTION_LOG_VALUE_VERSION = 0;

/** RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH. */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
/** Epochs at or above this are exhausted: the next InitProducerId moves to a new producer id. */
const MAX_EPOCH = 32767;

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_EPOCH - 1;
}

export interface TransactionMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  /** The producer id before the last rotation (epoch exhaustion), so a retried InitProducerId is recognised. */
  lastProducerId: bigint;
  producerEpoch: number;
  /** The epoch before the last InitProducerId bump; in memory only. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TransactionStateName;
  /** Partitions in the current transaction: topic → partition indexes. */
  partitions: Map<string, Set<number>>;
  /** When the current transaction started (first AddPartitions), -1 when none has. */
  startTimestamp: number;
  lastUpdateTimestamp: number;
}

/** A record to append to `__transaction_state`; `value: null` is a tombstone. */
export interface TxnRecord {
  key: TransactionLogKey;
  value: TransactionLogValue | null;
}

/** Partitions as sorted `{ topic, partitions }` lists (stable output for records, markers and responses). */
export function topicPartitionsOf(m: TransactionMetadata): Array<{ topic: string; partitions: number[] }> {
  return [...m.partitions.keys()].sort().map((topic) => ({
    topic,
    partitions: [...m.partitions.get(topic)!].sort((a, b) => a - b),
  }));
}

export function toRecord(m: TransactionMetadata): TxnRecord {
  return {
    key: { transactionalId: m.transactionalId },
    value: {
      producerId: m.producerId,
      previousProducerId: -1n,
      nextProducerId: -1n,
      producerEpoch: m.producerEpoch,
      transactionTimeoutMs: m.timeoutMs,
      transactionStatus: TransactionState[m.state],
      transactionPartitions: m.state === 'Empty'
        ? null
        : topicPartitionsOf(m).map(({ topic, partitions }) => ({ topic, partitionIds: partitions })),
      transactionLastUpdateTimestampMs: BigInt(m.lastUpdateTimestamp),
      transactionStartTimestampMs: BigInt(m.startTimestamp),
      clientTransactionVersion: 0,
    },
  };
}

export function tombstone(transactionalId: string): TxnRecord {
  return { key: { transactionalId }, value: null };
}

export class CorruptTransactionLogError extends TributaryError {
  constructor(message: string) {
    super('ERR_CORRUPT_TRANSACTION_LOG', message);
  }
}

/** The metadata a TransactionLogValue describes; `previous` is the id's metadata before this record. */
export function fromRecord(
  transactionalId: string,
  value: TransactionLogValue,
  previous: TransactionMetadata | undefined,
): TransactionMetadata {
  const state = stateFromStatus(value.transactionStatus);
  if (state === undefined) {
    throw new CorruptTransactionLogError(`transactional id ${transactionalId}: unknown status ${value.transactionStatus}`);
  }
  const partitions = new Map<string, Set<number>>();
  for (const t of value.transactionPartitions ?? []) {
    let set = partitions.get(t.topic);
    if (!set) partitions.set(t.topic, (set = new Set()));
    for (const p of t.partitionIds) set.add(p);
  }
  let lastProducerId = previous?.lastProducerId ?? NO_PRODUCER_ID;
  if (previous && previous.producerId !== value.producerId) lastProducerId = previous.producerId;
  return {
    transactionalId,
    producerId: value.producerId,
    lastProducerId,
    producerEpoch: value.producerEpoch,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    timeoutMs: value.transactionTimeoutMs,
    state,
    partitions,
    startTimestamp: Number(value.transactionStartTimestampMs),
    lastUpdateTimestamp: Number(value.transactionLastUpdateTimestampMs),
  };
}
