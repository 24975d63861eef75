/**
 * The transaction coordinator's records in `__transaction_state`, in Kafka's layout
 * (internal-records/TransactionLogKey.json, TransactionLogValue.json): key = int16 version 0 +
 * TransactionLogKey, value = int16 version + TransactionLogValue (written at version 0), or null (a
 * tombstone: the transactional id expired). The partition is chosen by the transactional id.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { TransactionLogKey } from '../../protocol/generated/internal/transaction-log-key.js';
import { TransactionLogValue } from '../../protocol/generated/internal/transaction-log-value.js';
import { decodeVersioned, encodeVersioned, type CoordinatorRecord, type RecordSerde } from '../runtime.js';
import { TRANSACTION_LOG_KEY_VERSION, TRANSACTION_LOG_VALUE_VERSION, type TxnRecord } from './transaction-metadata.js';

export const txnRecordSerde: RecordSerde<TxnRecord> = {
  partitionKey: (rec) => rec.key.transactionalId,

  encode(rec): CoordinatorRecord {
    const key = encodeVersioned(TransactionLogKey, TRANSACTION_LOG_KEY_VERSION, rec.key);
    return { key, value: rec.value === null ? null : encodeVersioned(TransactionLogValue, TRANSACTION_LOG_VALUE_VERSION, rec.value) };
  },

  decode(raw): TxnRecord | null {
    const kr = new Reader(raw.key);
    const keyVersion = kr.readInt16();
    if (keyVersion !== TRANSACTION_LOG_KEY_VERSION) return null;
    const key = TransactionLogKey.decode(kr, keyVersion);
    if (raw.value === null) return { key, value: null };
    return { key, value: decodeVersioned(TransactionLogValue, raw.value) };
  },
};
