// Application properties (Kafka Streams' StreamsConfig names) and the timestamp extractor.
import type { Headers } from './record.js';
import type { Serde } from './serdes.js';

/** What a timestamp extractor sees of a consumed record (key and value already deserialized). */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: unknown;
  readonly value: unknown;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** Event time of a record; partitionTime is the largest timestamp seen on its partition so far (-1 at first). */
export type TimestampExtractor = (record: ConsumedRecord, partitionTime: number) => number;

/** The record's own timestamp (the producer's CreateTime or the broker's LogAppendTime). */
export const recordTimestampExtractor: TimestampExtractor = (record) => record.timestamp;

export interface StreamsProps {
  'application.id': string;
  'default.key.serde'?: Serde<any>;
  'default.value.serde'?: Serde<any>;
  'default.timestamp.extractor'?: TimestampExtractor;
  /**
   * The record caches' budget in bytes, one for the whole instance (Kafka's default 10485760); 0 turns caching off
   * (every update reaches its store, changelog and downstream at once). Also read under its deprecated name
   * cache.max.bytes.buffering.
   */
  'statestore.cache.max.bytes'?: number;
  [key: string]: unknown;
}

export const StreamsConfig = {
  APPLICATION_ID_CONFIG: 'application.id',
  BOOTSTRAP_SERVERS_CONFIG: 'bootstrap.servers',
  DEFAULT_KEY_SERDE_CLASS_CONFIG: 'default.key.serde',
  DEFAULT_VALUE_SERDE_CLASS_CONFIG: 'default.value.serde',
  DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG: 'default.timestamp.extractor',
  PROCESSING_GUARANTEE_CONFIG: 'processing.guarantee',
  STATESTORE_CACHE_MAX_BYTES_CONFIG: 'statestore.cache.max.bytes',
  AT_LEAST_ONCE: 'at_least_once',
  EXACTLY_ONCE_V2: 'exactly_once_v2',
} as const;

export class StreamsException extends Error {
  override readonly name: string = 'StreamsException';
}

export class TopologyException extends StreamsException {
  override readonly name = 'TopologyException';
}

/** The serde given, else the application's default, else an error naming what needed it. */
export function resolveSerde<T>(given: Serde<T> | undefined, props: StreamsProps, which: 'key' | 'value', what: string): Serde<T> {
  if (given) return given;
  const def = props[which === 'key' ? 'default.key.serde' : 'default.value.serde'] as Serde<T> | undefined;
  if (def) return def;
  throw new StreamsException(`${what} has no ${which} serde: pass one (Consumed/Produced/Grouped/Materialized) or set default.${which}.serde`);
}

export function validateProps(props: StreamsProps): void {
  const id = props['application.id'];
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(id)) {
    throw new StreamsException(`application.id must be a non-empty string of [A-Za-z0-9._-] (it prefixes internal topic names), got ${JSON.stringify(id)}`);
  }
}
