/**
 * One base error class with stable string codes. Internal code throws these;
 * only the network edge (src/server/error-mapping.ts) turns them into Kafka error codes.
 */
export class TributaryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An error that corresponds to a Kafka protocol error. `kafkaError` holds the Kafka error NAME
 * (e.g. 'UNKNOWN_TOPIC_OR_PARTITION'); src/server/error-mapping.ts turns names into wire codes.
 */
export class KafkaError extends TributaryError {
  readonly kafkaError: string;
  constructor(kafkaError: string, message: string, options?: { cause?: unknown }) {
    super(`ERR_KAFKA_${kafkaError}`, message, options);
    this.kafkaError = kafkaError;
  }
}
