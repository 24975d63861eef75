/**
 * The client's errors. Every failure a caller can see is one of these, with a stable `code`:
 * a broker's error code becomes a ProtocolError carrying Kafka's name and whether a retry can help.
 */
import { KafkaError, TributaryError } from '../errors.js';
import { errorCodeName, retriableErrors } from '../protocol/generated/error-codes.js';

/** A broker answered with a Kafka error code. */
export class ProtocolError extends KafkaError {
  readonly errorCode: number;
  readonly retriable: boolean;
  constructor(errorCode: number, context: string, errorMessage?: string | null) {
    const name = errorCodeName(errorCode) ?? `UNKNOWN_ERROR_CODE_${errorCode}`;
    super(name, `${context}: ${name}${errorMessage ? ` (${errorMessage})` : ''}`);
    this.errorCode = errorCode;
    this.retriable = retriableErrors.has(errorCode);
  }
}

/** A broker could not be reached, or the connection broke while a request was in flight. */
export class ConnectionError extends TributaryError {
  readonly retriable = true;
  /** Why, without the address ("ECONNREFUSED", "no answer within 10000 ms"), for messages that list several. */
  readonly reason: string | undefined;
  constructor(readonly address: string, message: string, options?: { cause?: unknown; reason?: string }) {
    super('ERR_CONNECTION', message, options);
    this.reason = options?.reason;
  }
}

/** A request got no answer within request.timeout.ms; the connection it was on is closed. */
export class RequestTimeoutError extends TributaryError {
  readonly retriable = true;
  constructor(message: string) {
    super('ERR_REQUEST_TIMEOUT', message);
  }
}

/** The broker does not offer a version of an API that this client can speak. */
export class UnsupportedApiError extends TributaryError {
  readonly retriable = false;
  constructor(message: string) {
    super('ERR_UNSUPPORTED_API', message);
  }
}

/** The caller used the client wrongly (bad option, closed client, call out of order). */
export class ClientStateError extends TributaryError {
  readonly retriable = false;
  constructor(message: string) {
    super('ERR_CLIENT_STATE', message);
  }
}

/** Throws a ProtocolError when `errorCode` is not NONE. */
export function throwIfError(errorCode: number, context: string, errorMessage?: string | null): void {
  if (errorCode !== 0) throw new ProtocolError(errorCode, context, errorMessage);
}

/** Whether retrying the operation that threw `err` can succeed. */
export function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}
