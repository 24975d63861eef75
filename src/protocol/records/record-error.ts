import { TributaryError } from '../../errors.js';

/** The Kafka error names a record-level failure can map to (the network edge turns names into codes). */
export type RecordKafkaError =
  | 'CORRUPT_MESSAGE'
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_FOR_MESSAGE_FORMAT'
  | 'INVALID_TIMESTAMP'
  | 'MESSAGE_TOO_LARGE'
  | 'UNSUPPORTED_COMPRESSION_TYPE';

/**
 * A record batch (or its compressed payload) is unacceptable. `code` is the precise, stable reason
 * (e.g. 'BATCH_CRC_MISMATCH'); `kafkaError` is the coarser Kafka error it is reported as.
 */
export class RecordError extends TributaryError {
  readonly kafkaError: RecordKafkaError;
  constructor(kafkaError: RecordKafkaError, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.kafkaError = kafkaError;
  }
}
