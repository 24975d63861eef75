// The units that flow through a topology: a Record (key, value, timestamp, headers), the KeyValue pair the DSL's
// mappers return, and the Change (new and old value) a KTable forwards so downstream aggregations can subtract
// the old before adding the new.

/** One record header: Kafka allows a null value and repeated keys. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export type Headers = readonly RecordHeader[];

/** An immutable record as processors see it; the with* methods return a copy. */
export class Record<K, V> {
  constructor(
    readonly key: K,
    readonly value: V,
    readonly timestamp: number,
    readonly headers: Headers = [],
  ) {
    if (!Number.isFinite(timestamp) || timestamp < 0) throw new RangeError(`a record's timestamp must be >= 0, got ${timestamp}`);
  }

  withKey<NK>(key: NK): Record<NK, V> {
    return new Record(key, this.value, this.timestamp, this.headers);
  }

  withValue<NV>(value: NV): Record<K, NV> {
    return new Record(this.key, value, this.timestamp, this.headers);
  }

  withTimestamp(timestamp: number): Record<K, V> {
    return new Record(this.key, this.value, timestamp, this.headers);
  }

  withHeaders(headers: Headers): Record<K, V> {
    return new Record(this.key, this.value, this.timestamp, headers);
  }
}

/** A key and a value, as map/flatMap/groupBy selectors return them and output topics are read. */
export interface KeyValue<K, V> {
  key: K;
  value: V;
}

export function keyValue<K, V>(key: K, value: V): KeyValue<K, V> {
  return { key, value };
}

/** What a KTable forwards: the new value and the value it replaced (null: absent, or not sent). */
export interface Change<V> {
  readonly newValue: V | null;
  readonly oldValue: V | null;
}

export function change<V>(newValue: V | null, oldValue: V | null): Change<V> {
  return { newValue, oldValue };
}

/** Where the record being processed came from; topic/partition/offset are null during a punctuation. */
export interface RecordMetadata {
  readonly topic: string | null;
  readonly partition: number | null;
  readonly offset: number | null;
  readonly headers: Headers;
}

/** A value with the timestamp of the record that made it: what the DSL's key-value and window stores hold. */
export interface ValueAndTimestamp<V> {
  readonly value: V;
  readonly timestamp: number;
}

export function valueAndTimestamp<V>(value: V, timestamp: number): ValueAndTimestamp<V> {
  return { value, timestamp };
}
