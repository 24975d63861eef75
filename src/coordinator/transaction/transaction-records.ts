/**
 * The transaction coordinator's records in `__transaction_state`, in Kafka's layout
 * (internal-records/TransactionLogKey.json, TransactionLogValue.json): key = int16 version 0 +
 * TransactionLogKey, value = int16 version + TransactionLogValue (written at version 0), or null (a
 * tombstone: the transactional id expired). The partition is chosen by the transactional id.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { TransactionLogKey } from '../../protocol/generated/internal/transaction-log-key.js';
import { TransactionLogValue } from '../../protocol/generated/internal/transaction-log-value.js';
import type { CoordinatorRecord, RecordSerde } from '../runtime.js';
import { TRANSACTION_LOG_KEY_VERSION, TRANSACTION_LOG_VALUE_VERSION, type TxnRecord } from './transaction-metadata.js';

export const txnRecordSerde: RecordSerde<TxnRecord> = {
  partitionKey: (rec) => rec.key.transactionalId,

  encode(rec): CoordinatorRecord {
    const k = new Writer(64);
    k.writeInt16(TRANSACTION_LOG_KEY_VERSION);
    TransactionLogKey.encode(k, TRANSACTION_LOG_KEY_VERSION, rec.key);
    if (rec.value === null) return { key: k.toBuffer(), value: null };
    const v = new Writer(128);
    v.writeInt16(TRANSACTION_LOG_VALUE_VERSION);
    TransactionLogValue.encode(v, TRANSACTION_LOG_VALUE_VERSION, rec.value);
    return { key: k.toBuffer(), value: v.toBuffer() };
  },

  decode(raw): TxnRecord | null {
    const kr = new Reader(raw.key);
    const keyVersion = kr.readInt16();
    if (keyVersion !== TRANSACTION_LOG_KEY_VERSION) return null;
    const key = TransactionLogKey.decode(kr, keyVersion);
    if (raw.value === null) return { key, value: null };
    const vr = new Reader(raw.value);
    return { key, value: TransactionLogValue.decode(vr, vr.readInt16()) };
  },
};
