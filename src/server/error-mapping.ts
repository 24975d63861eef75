/** The one place where internal errors become Kafka error codes. */
import { ErrorCode } from '../protocol/generated/error-codes.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

/** Maps any thrown value to a Kafka error code; anything unexpected is UNKNOWN_SERVER_ERROR (-1). */
export function errorCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'kafkaError' in err) {
    const name = (err as { kafkaError: unknown }).kafkaError;
    if (typeof name === 'string' && name in codes) return codes[name]!;
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The message Kafka clients show next to the code, where a response has an errorMessage field. */
export function errorMessageOf(err: unknown): string | null {
  return err instanceof Error ? err.message : null;
}
