/** Typed storage errors. `kafkaError` names the Kafka error the network edge reports. */
import { KafkaError } from '../errors.js';

/** A fetch/delete offset outside [logStartOffset, logEndOffset]. */
export class OffsetOutOfRangeError extends KafkaError {
  constructor(topicPartition: string, offset: number, logStartOffset: number, logEndOffset: number) {
    super('OFFSET_OUT_OF_RANGE', `Offset ${offset} is out of range for ${topicPartition}: valid offsets are ${logStartOffset}..${logEndOffset}`);
  }
}

/** Bytes handed to the log are not a sequence of whole v2 batches (validation should have caught it). */
export class CorruptRecordError extends KafkaError {
  constructor(message: string) {
    super('CORRUPT_MESSAGE', message);
  }
}

/** A disk operation failed (ENOSPC, EIO, a closed log, ...). */
export class StorageError extends KafkaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KAFKA_STORAGE_ERROR', message, options);
  }
}
