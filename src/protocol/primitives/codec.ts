/**
 * MessageCodec: the shape of every generated message codec (requests,
 * responses, headers and data/internal records), plus shared constants the
 * generated code uses.
 */
import { TributaryError } from '../../errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export type MessageType = 'request' | 'response' | 'header' | 'data';

/**
 * T is the decoded value (every field filled); I is what encode accepts
 * (every field optional, a missing field is written as its default).
 */
export interface MessageCodec<T, I = Partial<T>> {
  /** Kafka's API name for requests/responses ('Produce'), else the spec name ('RequestHeader'). */
  readonly name: string;
  /** -1 for headers and data messages. */
  readonly apiKey: number;
  readonly type: MessageType;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version, -1 if the message is never flexible. */
  readonly flexibleMinVersion: number;
  /** Kafka marks the newest version as still under development. */
  readonly latestVersionUnstable: boolean;
  /** Throws UnsupportedVersionError outside [minVersion, maxVersion]. */
  encode(w: Writer, version: number, value: I): void;
  /** Throws UnsupportedVersionError outside [minVersion, maxVersion], DecodeError on malformed bytes. */
  decode(r: Reader, version: number): T;
}

export class UnsupportedVersionError extends TributaryError {
  readonly kafkaError = 'UNSUPPORTED_VERSION';
  constructor(message: string) {
    super('ERR_UNSUPPORTED_VERSION', message);
  }
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Shared default for bytes fields; zero-length, so sharing it is harmless. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

export function checkVersion(codec: { name: string; minVersion: number; maxVersion: number }, version: number): void {
  if (!(version >= codec.minVersion && version <= codec.maxVersion) || !Number.isInteger(version)) {
    throw new UnsupportedVersionError(
      `${codec.name} version ${version} is outside the supported range ${codec.minVersion}-${codec.maxVersion}`,
    );
  }
}

/** Encode input for a struct field left out: every field takes its default. */
export const NO_FIELDS: Readonly<Record<string, never>> = Object.freeze({});

/**
 * Copies a decoded bytes field out of the request buffer, so values kept long
 * term (group metadata, assignments) do not pin whole frames in memory.
 * Kafka's zeroCopy fields and records skip this.
 */
export function copyBytes(b: Buffer): Buffer;
export function copyBytes(b: Buffer | null): Buffer | null;
export function copyBytes(b: Buffer | null): Buffer | null {
  if (b === null) return null;
  return b.length === 0 ? EMPTY_BUFFER : Buffer.from(b);
}
