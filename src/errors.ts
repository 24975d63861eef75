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
