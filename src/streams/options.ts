// The DSL's parameter objects, named as Kafka Streams names them: each carries serdes and optional names.
import type { TimestampExtractor } from './config.js';
import type { Serde } from './serdes.js';
import type { BytesStoreSupplier } from './state/stores.js';
import type { StreamPartitioner, TopicNameExtractor } from './topology.js';

export class Named {
  private constructor(readonly name: string | undefined) {}

  static as(name: string): Named {
    return new Named(name);
  }
}

export class Consumed<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly timestampExtractor: TimestampExtractor | undefined,
    readonly processorName: string | undefined,
  ) {}

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Consumed<K, V> {
    return new Consumed(keySerde, valueSerde, undefined, undefined);
  }

  static as<K, V>(processorName: string): Consumed<K, V> {
    return new Consumed<K, V>(undefined, undefined, undefined, processorName);
  }

  withTimestampExtractor(extractor: TimestampExtractor): Consumed<K, V> {
    return new Consumed(this.keySerde, this.valueSerde, extractor, this.processorName);
  }

  withName(processorName: string): Consumed<K, V> {
    return new Consumed(this.keySerde, this.valueSerde, this.timestampExtractor, processorName);
  }
}

export class Produced<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly partitioner: StreamPartitioner<K, V> | undefined,
    readonly processorName: string | undefined,
  ) {}

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>, partitioner?: StreamPartitioner<K, V>): Produced<K, V> {
    return new Produced(keySerde, valueSerde, partitioner, undefined);
  }

  static as<K, V>(processorName: string): Produced<K, V> {
    return new Produced<K, V>(undefined, undefined, undefined, processorName);
  }

  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): Produced<K, V> {
    return new Produced(this.keySerde, this.valueSerde, partitioner, this.processorName);
  }

  withName(processorName: string): Produced<K, V> {
    return new Produced(this.keySerde, this.valueSerde, this.partitioner, processorName);
  }
}

/** How to group: serdes of the repartition topic, and its name (<application.id>-<name>-repartition). */
export class Grouped<K, V> {
  private constructor(readonly keySerde: Serde<K> | undefined, readonly valueSerde: Serde<V> | undefined, readonly name: string | undefined) {}

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Grouped<K, V> {
    return new Grouped(keySerde, valueSerde, undefined);
  }

  static as<K = any, V = any>(name: string): Grouped<K, V> {
    return new Grouped<K, V>(undefined, undefined, name);
  }

  withName(name: string): Grouped<K, V> {
    return new Grouped(this.keySerde, this.valueSerde, name);
  }
}

/** An explicit repartition: topic name, serdes, partition count (used by the runtime that creates topics). */
export class Repartitioned<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly name: string | undefined,
    readonly numberOfPartitions: number | undefined,
    readonly partitioner: StreamPartitioner<K, V> | undefined,
  ) {}

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Repartitioned<K, V> {
    return new Repartitioned(keySerde, valueSerde, undefined, undefined, undefined);
  }

  static as<K = any, V = any>(name: string): Repartitioned<K, V> {
    return new Repartitioned<K, V>(undefined, undefined, name, undefined, undefined);
  }

  withNumberOfPartitions(n: number): Repartitioned<K, V> {
    return new Repartitioned(this.keySerde, this.valueSerde, this.name, n, this.partitioner);
  }

  withStreamPartitioner(partitioner: StreamPartitioner<K, V>): Repartitioned<K, V> {
    return new Repartitioned(this.keySerde, this.valueSerde, this.name, this.numberOfPartitions, partitioner);
  }
}

/** A store's name (queryable, and its changelog <application.id>-<name>-changelog), serdes and retention. */
export class Materialized<K, V> {
  private constructor(
    readonly storeName: string | undefined,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly retentionMs: number | undefined,
    readonly loggingEnabled: boolean,
    /** The store to build (Stores.persistentKeyValueStore(...), ...); undefined: the DSL's default (in memory). */
    readonly storeSupplier: BytesStoreSupplier | undefined = undefined,
    /** A record cache in front of the store (key-value and window stores; on by default, as in Kafka). */
    readonly cachingEnabled = true,
  ) {}

  /** A store name, or a store supplier (whose name the store takes). */
  static as<K = any, V = any>(storeNameOrSupplier: string | BytesStoreSupplier): Materialized<K, V> {
    if (typeof storeNameOrSupplier === 'string') return new Materialized<K, V>(storeNameOrSupplier, undefined, undefined, undefined, true);
    return new Materialized<K, V>(storeNameOrSupplier.name, undefined, undefined, undefined, true, storeNameOrSupplier);
  }

  static with<K, V>(keySerde?: Serde<K>, valueSerde?: Serde<V>): Materialized<K, V> {
    return new Materialized(undefined, keySerde, valueSerde, undefined, true);
  }

  private copy(changes: { keySerde?: Serde<K>; valueSerde?: Serde<V>; retentionMs?: number; loggingEnabled?: boolean; cachingEnabled?: boolean }): Materialized<K, V> {
    return new Materialized(
      this.storeName, changes.keySerde ?? this.keySerde, changes.valueSerde ?? this.valueSerde, changes.retentionMs ?? this.retentionMs,
      changes.loggingEnabled ?? this.loggingEnabled, this.storeSupplier, changes.cachingEnabled ?? this.cachingEnabled,
    );
  }

  withKeySerde(keySerde: Serde<K>): Materialized<K, V> {
    return this.copy({ keySerde });
  }

  withValueSerde(valueSerde: Serde<V>): Materialized<K, V> {
    return this.copy({ valueSerde });
  }

  /** For window and session stores: how long windows are kept (at least the window size plus grace). */
  withRetention(retentionMs: number): Materialized<K, V> {
    return this.copy({ retentionMs });
  }

  withLoggingDisabled(): Materialized<K, V> {
    return this.copy({ loggingEnabled: false });
  }

  /** Updates reach the store, its changelog and downstream on commit (or eviction), the latest per key (the default). */
  withCachingEnabled(): Materialized<K, V> {
    return this.copy({ cachingEnabled: true });
  }

  /** Every update reaches the store, its changelog and downstream at once. */
  withCachingDisabled(): Materialized<K, V> {
    return this.copy({ cachingEnabled: false });
  }
}

/** Serdes for a stream-table join (the stream's key and value, the table's value). */
export class Joined<K, V, VO> {
  private constructor(readonly keySerde: Serde<K> | undefined, readonly valueSerde: Serde<V> | undefined, readonly otherValueSerde: Serde<VO> | undefined, readonly name: string | undefined) {}

  static with<K, V, VO>(keySerde?: Serde<K>, valueSerde?: Serde<V>, otherValueSerde?: Serde<VO>): Joined<K, V, VO> {
    return new Joined(keySerde, valueSerde, otherValueSerde, undefined);
  }

  static as<K = any, V = any, VO = any>(name: string): Joined<K, V, VO> {
    return new Joined<K, V, VO>(undefined, undefined, undefined, name);
  }

  withName(name: string): Joined<K, V, VO> {
    return new Joined(this.keySerde, this.valueSerde, this.otherValueSerde, name);
  }
}

/** Serdes and store names for a stream-stream join's two window stores. */
export class StreamJoined<K, V, VO> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly otherValueSerde: Serde<VO> | undefined,
    readonly name: string | undefined,
    readonly storeName: string | undefined,
    readonly loggingEnabled: boolean,
  ) {}

  static with<K, V, VO>(keySerde?: Serde<K>, valueSerde?: Serde<V>, otherValueSerde?: Serde<VO>): StreamJoined<K, V, VO> {
    return new StreamJoined(keySerde, valueSerde, otherValueSerde, undefined, undefined, true);
  }

  static as<K = any, V = any, VO = any>(storeName: string): StreamJoined<K, V, VO> {
    return new StreamJoined<K, V, VO>(undefined, undefined, undefined, undefined, storeName, true);
  }

  withName(name: string): StreamJoined<K, V, VO> {
    return new StreamJoined(this.keySerde, this.valueSerde, this.otherValueSerde, name, this.storeName, this.loggingEnabled);
  }

  withStoreName(storeName: string): StreamJoined<K, V, VO> {
    return new StreamJoined(this.keySerde, this.valueSerde, this.otherValueSerde, this.name, storeName, this.loggingEnabled);
  }

  withLoggingDisabled(): StreamJoined<K, V, VO> {
    return new StreamJoined(this.keySerde, this.valueSerde, this.otherValueSerde, this.name, this.storeName, false);
  }
}

export type { TopicNameExtractor, StreamPartitioner };
