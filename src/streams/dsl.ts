// The DSL: StreamsBuilder, KStream, KTable, GlobalKTable and the grouped/windowed steps between them. Each
// operation adds nodes to a Topology under Kafka Streams' generated names (KSTREAM-FILTER-0000000001, ...), so
// describe() reads as a Kafka Streams user expects. A key-changing operation (map, selectKey, flatMap, process)
// marks the stream; the next grouping or join then repartitions through <application.id>-<name>-repartition.
// (One file: KStream and KTable refer to each other, and src/ allows no import cycles.)
import { resolveSerde, TopologyException } from './config.js';
import {
  changeSerde, joinedGetter, joinWindow, mappedGetter, newStreamJoinSpec, outerStoreSerdes, passThrough,
  reduceAsAggregator, sessionAggregate, sessionStoreGetter, slidingAggregate, storeGetter, streamAggregate,
  streamStreamJoin, streamTableJoin, suppress, tableAggregate, tableMapChange, tableReduce, tableRepartitionMap,
  tableSource, tableTableJoin, tableToStream, windowAggregate, windowStoreGetter,
  type Aggregator, type Initializer, type JoinKind, type Merger, type Reducer, type ValueGetterSupplier, type ValueJoiner,
} from './dsl-processors.js';
import { Consumed, Grouped, Joined, Materialized, Named, Produced, Repartitioned, StreamJoined } from './options.js';
import type { ProcessorContext, ProcessorSupplier } from './processor.js';
import type { Change, KeyValue, Record } from './record.js';
import { Serdes, type Serde } from './serdes.js';
import { InMemoryKeyValueStore, Stores, StoreBuilder, type BytesStoreSupplier, type StateStore } from './state/stores.js';
import { Topology, type StreamPartitioner, type TopicNameExtractor } from './topology.js';
import { JoinWindows, SessionWindows, SlidingWindows, Suppressed, TimeWindows, WindowedSerdes, type Windowed } from './windows.js';

/** Shared by every object of one StreamsBuilder: the topology being written and the name counter. */
class InternalBuilder {
  readonly topology = new Topology();
  private index = 0;

  newName(prefix: string): string {
    return `${prefix}${String(this.index++).padStart(10, '0')}`;
  }

  newStoreName(prefix: string): string {
    return `${prefix}STATE-STORE-${String(this.index++).padStart(10, '0')}`;
  }

  /** Adds a processor; its supplier forwards what the DSL expects. */
  addProcessor(name: string, supplier: ProcessorSupplier<any, any, any, any>, parents: string[], stores: readonly string[] = []): string {
    this.topology.addProcessor(name, supplier, ...parents);
    if (stores.length) this.topology.connectProcessorAndStateStores(name, ...stores);
    return name;
  }

  keyValueStore(name: string, keySerde: Serde<any> | undefined, valueSerde: Serde<any> | undefined, logging: boolean, processors: string[], supplier?: BytesStoreSupplier): void {
    const kv = supplier?.kind === 'keyValue' ? supplier : Stores.inMemoryKeyValueStore(name);
    let b: StoreBuilder<StateStore> = Stores.timestampedKeyValueStoreBuilder(kv, keySerde, valueSerde);
    if (!logging) b = b.withLoggingDisabled();
    this.topology.addStateStore(b, ...processors);
  }

  /** source → filter (drops null keys) → sink to <name>-repartition ... source of the new sub-topology. */
  repartition(parent: string, baseName: string, keySerde: Serde<any> | undefined, valueSerde: Serde<any> | undefined, valueSerdeWrap?: (s: Serde<any>) => Serde<any>, filterNullKeys = true, numberOfPartitions?: number, partitioner?: StreamPartitioner<any, any>): string {
    const topic = `${baseName}-repartition`;
    this.topology.markRepartitionTopic(topic, numberOfPartitions);
    let last = parent;
    if (filterNullKeys) {
      last = this.addProcessor(`${baseName}-repartition-filter`, () => {
        let ctx: ProcessorContext<any, any>;
        return { init(c) { ctx = c; }, process(r) { if (r.key !== null && r.key !== undefined) ctx.forward(r); } };
      }, [parent]);
    }
    this.topology.addSink(`${baseName}-repartition-sink`, topic, last, { keySerde, valueSerde, valueSerdeWrap, partitioner });
    const source = `${baseName}-repartition-source`;
    this.topology.addSource(source, topic, { keySerde, valueSerde, valueSerdeWrap });
    return source;
  }
}

function simple<KIn, VIn, KOut, VOut>(fn: (r: Record<KIn, VIn>, forward: (r: Record<KOut, VOut>) => void) => void): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let forward: (r: Record<KOut, VOut>) => void;
    return {
      init(c) { forward = (r) => c.forward(r); },
      process(r) { fn(r, forward); },
    };
  };
}

export class StreamsBuilder {
  private readonly b = new InternalBuilder();

  /** A stream of one topic or several. */
  stream<K = unknown, V = unknown>(topics: string | readonly string[], consumed: Consumed<K, V> = Consumed.with<K, V>()): KStream<K, V> {
    const name = consumed.processorName ?? this.b.newName('KSTREAM-SOURCE-');
    this.b.topology.addSource(name, topics, { keySerde: consumed.keySerde, valueSerde: consumed.valueSerde, timestampExtractor: consumed.timestampExtractor });
    return new KStream<K, V>(this.b, name, consumed.keySerde, consumed.valueSerde, false);
  }

  /** A changelog topic read as a table (latest value per key; a null value deletes), materialized in a store. */
  table<K = unknown, V = unknown>(topic: string, consumed: Consumed<K, V> = Consumed.with<K, V>(), materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<K, V> {
    const storeName = materialized.storeName ?? `${topic}-${this.b.newStoreName('')}`;
    const sourceName = consumed.processorName ?? this.b.newName('KSTREAM-SOURCE-');
    const keySerde = materialized.keySerde ?? consumed.keySerde;
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde;
    this.b.topology.addSource(sourceName, topic, { keySerde: consumed.keySerde, valueSerde: consumed.valueSerde, timestampExtractor: consumed.timestampExtractor });
    const name = this.b.addProcessor(this.b.newName('KTABLE-SOURCE-'), tableSource(storeName), [sourceName]);
    this.b.keyValueStore(storeName, keySerde, valueSerde, materialized.loggingEnabled, [name], materialized.storeSupplier);
    return new KTable<K, V>(this.b, name, keySerde, valueSerde, storeGetter(storeName), storeName, null);
  }

  /** A table every task holds in full (all partitions), read by stream joins through a key mapper. */
  globalTable<K = unknown, V = unknown>(topic: string, consumed: Consumed<K, V> = Consumed.with<K, V>(), materialized: Materialized<K, V> = Materialized.with<K, V>()): GlobalKTable<K, V> {
    const storeName = materialized.storeName ?? `${topic}-${this.b.newStoreName('')}`;
    const sourceName = consumed.processorName ?? this.b.newName('KSTREAM-SOURCE-');
    const processorName = this.b.newName('KTABLE-SOURCE-');
    const kv = materialized.storeSupplier?.kind === 'keyValue' ? materialized.storeSupplier : Stores.inMemoryKeyValueStore(storeName);
    const store = Stores.timestampedKeyValueStoreBuilder(kv, materialized.keySerde ?? consumed.keySerde, materialized.valueSerde ?? consumed.valueSerde).withLoggingDisabled();
    this.b.topology.addGlobalStore(store, sourceName, topic, { keySerde: consumed.keySerde, valueSerde: consumed.valueSerde, timestampExtractor: consumed.timestampExtractor }, processorName, tableSource(storeName) as ProcessorSupplier<K, V, never, never>);
    return new GlobalKTable<K, V>(storeName);
  }

  /** A store for process() to connect to by name. */
  addStateStore(builder: StoreBuilder<StateStore>): this {
    this.b.topology.addStateStore(builder);
    return this;
  }

  build(): Topology {
    return this.b.topology;
  }
}

export class GlobalKTable<K, V> {
  constructor(readonly storeName: string) {}

  /** @internal */
  getter(): ValueGetterSupplier<K, V> {
    const inner = storeGetter<K, V>(this.storeName);
    return { storeNames: [], get: inner.get };
  }

  queryableStoreName(): string {
    return this.storeName;
  }
}

export class KStream<K, V> {
  /** @internal */
  constructor(
    private readonly b: InternalBuilder,
    /** @internal the node whose output this stream is. */
    readonly nodeName: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** @internal set after a key-changing operation: the next grouping or join repartitions. */
    readonly repartitionRequired: boolean,
  ) {}

  private child<K2, V2>(prefix: string, named: Named | undefined, supplier: ProcessorSupplier<any, any, any, any>, keySerde: Serde<K2> | undefined, valueSerde: Serde<V2> | undefined, repartition: boolean): KStream<K2, V2> {
    const name = this.b.addProcessor(named?.name ?? this.b.newName(prefix), supplier, [this.nodeName]);
    return new KStream<K2, V2>(this.b, name, keySerde, valueSerde, repartition);
  }

  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', named, simple<K, V, K, V>((r, f) => { if (predicate(r.key, r.value)) f(r); }), this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-FILTER-', named, simple<K, V, K, V>((r, f) => { if (!predicate(r.key, r.value)) f(r); }), this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  map<KR, VR>(mapper: (key: K, value: V) => KeyValue<KR, VR>, named?: Named): KStream<KR, VR> {
    return this.child<KR, VR>('KSTREAM-MAP-', named, simple<K, V, KR, VR>((r, f) => { const kv = mapper(r.key, r.value); f(r.withKey(kv.key).withValue(kv.value)); }), undefined, undefined, true);
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR, named?: Named): KStream<K, VR> {
    return this.child<K, VR>('KSTREAM-MAPVALUES-', named, simple<K, V, K, VR>((r, f) => f(r.withValue(mapper(r.value, r.key)))), this.keySerde, undefined, this.repartitionRequired);
  }

  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValue<KR, VR>>, named?: Named): KStream<KR, VR> {
    return this.child<KR, VR>('KSTREAM-FLATMAP-', named, simple<K, V, KR, VR>((r, f) => { for (const kv of mapper(r.key, r.value)) f(r.withKey(kv.key).withValue(kv.value)); }), undefined, undefined, true);
  }

  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>, named?: Named): KStream<K, VR> {
    return this.child<K, VR>('KSTREAM-FLATMAPVALUES-', named, simple<K, V, K, VR>((r, f) => { for (const v of mapper(r.value, r.key)) f(r.withValue(v)); }), this.keySerde, undefined, this.repartitionRequired);
  }

  selectKey<KR>(mapper: (key: K, value: V) => KR, named?: Named): KStream<KR, V> {
    return this.child<KR, V>('KSTREAM-KEY-SELECT-', named, simple<K, V, KR, V>((r, f) => f(r.withKey(mapper(r.key, r.value)))), undefined, this.valueSerde, true);
  }

  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.child('KSTREAM-PEEK-', named, simple<K, V, K, V>((r, f) => { action(r.key, r.value); f(r); }), this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  foreach(action: (key: K, value: V) => void, named?: Named): void {
    this.child('KSTREAM-FOREACH-', named, simple<K, V, never, never>((r) => action(r.key, r.value)), undefined, undefined, false);
  }

  /** Routes each record to the first branch whose predicate it matches. */
  split(named?: Named): BranchedKStream<K, V> {
    const name = named?.name ?? this.b.newName('KSTREAM-BRANCH-');
    const branches: Array<{ predicate: (k: K, v: V) => boolean; child: string }> = [];
    this.b.addProcessor(name, () => {
      let ctx: ProcessorContext<K, V>;
      return {
        init(c) { ctx = c; },
        process(r) {
          const b = branches.find((x) => x.predicate(r.key, r.value));
          if (b) ctx.forward(r, b.child);
        },
      };
    }, [this.nodeName]);
    return new BranchedKStream<K, V>(this.b, this, name, branches);
  }

  /** @deprecated use split(): one stream per predicate, a record going to the first it matches. */
  branch(...predicates: Array<(key: K, value: V) => boolean>): KStream<K, V>[] {
    const split = this.split();
    predicates.forEach((p) => split.branch(p));
    return [...split.noDefaultBranch().values()];
  }

  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    const name = this.b.addProcessor(named?.name ?? this.b.newName('KSTREAM-MERGE-'), passThrough(), [this.nodeName, other.nodeName]);
    return new KStream<K, V>(this.b, name, this.keySerde, this.valueSerde, this.repartitionRequired || other.repartitionRequired);
  }

  /** Writes the stream through a repartition topic (re-distributes by key; starts a new sub-topology). */
  repartition(repartitioned: Repartitioned<K, V> = Repartitioned.with<K, V>()): KStream<K, V> {
    const base = repartitioned.name ?? this.b.newName('KSTREAM-REPARTITION-');
    const keySerde = repartitioned.keySerde ?? this.keySerde;
    const valueSerde = repartitioned.valueSerde ?? this.valueSerde;
    const source = this.b.repartition(this.nodeName, base, keySerde, valueSerde, undefined, false, repartitioned.numberOfPartitions, repartitioned.partitioner);
    return new KStream<K, V>(this.b, source, keySerde, valueSerde, false);
  }

  /** @deprecated use repartition(): writes to topic and reads it back. */
  through(topic: string, produced: Produced<K, V> = Produced.with<K, V>()): KStream<K, V> {
    this.to(topic, produced);
    const keySerde = produced.keySerde ?? this.keySerde;
    const valueSerde = produced.valueSerde ?? this.valueSerde;
    const source = this.b.newName('KSTREAM-SOURCE-');
    this.b.topology.addSource(source, topic, { keySerde, valueSerde });
    return new KStream<K, V>(this.b, source, keySerde, valueSerde, false);
  }

  /** Writes to a topic, or to the topic the extractor picks per record. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = Produced.with<K, V>()): void {
    const name = produced.processorName ?? this.b.newName('KSTREAM-SINK-');
    this.b.topology.addSink(name, topic, this.nodeName, {
      keySerde: produced.keySerde ?? this.keySerde,
      valueSerde: produced.valueSerde ?? this.valueSerde,
      partitioner: produced.partitioner,
    });
  }

  groupByKey(grouped: Grouped<K, V> = Grouped.with<K, V>()): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this.b, this.nodeName, grouped.keySerde ?? this.keySerde, grouped.valueSerde ?? this.valueSerde, grouped.name, this.repartitionRequired);
  }

  groupBy<KR>(selector: (key: K, value: V) => KR, grouped: Grouped<NoInfer<KR>, V> = Grouped.with<KR, V>()): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream<KR, V>(this.b, selected.nodeName, grouped.keySerde, grouped.valueSerde ?? this.valueSerde, grouped.name, true);
  }

  /** This stream as it will be read by a join: through a repartition topic when its key changed. */
  private forJoin(name: string | (() => string), keySerde: Serde<K> | undefined, valueSerde: Serde<V> | undefined): KStream<K, V> {
    if (!this.repartitionRequired) return this;
    const source = this.b.repartition(this.nodeName, typeof name === 'string' ? name : name(), keySerde ?? this.keySerde, valueSerde ?? this.valueSerde);
    return new KStream<K, V>(this.b, source, keySerde ?? this.keySerde, valueSerde ?? this.valueSerde, false);
  }

  /** Inner join: with a stream (windowed), a KTable (each record looks the table up) or a GlobalKTable (through a key mapper). */
  join<VO, VR>(other: KStream<K, VO>, joiner: ValueJoiner<V, VO, VR, K>, windows: JoinWindows, streamJoined?: StreamJoined<K, V, VO>): KStream<K, VR>;
  join<VT, VR>(table: KTable<K, VT>, joiner: ValueJoiner<V, VT, VR, K>, joined?: Joined<K, V, VT>): KStream<K, VR>;
  join<GK, GV, VR>(table: GlobalKTable<GK, GV>, keyMapper: (key: K, value: V) => GK, joiner: ValueJoiner<V, GV, VR, K>, named?: Named): KStream<K, VR>;
  join(other: unknown, a: any, b?: any, c?: any): KStream<K, any> {
    return this.anyJoin('inner', other, a, b, c);
  }

  /** Left join: every record of this stream yields a result, with null when nothing matched. */
  leftJoin<VO, VR>(other: KStream<K, VO>, joiner: ValueJoiner<V, VO | null, VR, K>, windows: JoinWindows, streamJoined?: StreamJoined<K, V, VO>): KStream<K, VR>;
  leftJoin<VT, VR>(table: KTable<K, VT>, joiner: ValueJoiner<V, VT | null, VR, K>, joined?: Joined<K, V, VT>): KStream<K, VR>;
  leftJoin<GK, GV, VR>(table: GlobalKTable<GK, GV>, keyMapper: (key: K, value: V) => GK, joiner: ValueJoiner<V, GV | null, VR, K>, named?: Named): KStream<K, VR>;
  leftJoin(other: unknown, a: any, b?: any, c?: any): KStream<K, any> {
    return this.anyJoin('left', other, a, b, c);
  }

  /** Outer stream-stream join: unmatched records of either side yield a result with null for the other. */
  outerJoin<VO, VR>(other: KStream<K, VO>, joiner: ValueJoiner<V | null, VO | null, VR, K>, windows: JoinWindows, streamJoined?: StreamJoined<K, V, VO>): KStream<K, VR> {
    return this.streamJoin('outer', other, joiner, windows, streamJoined ?? StreamJoined.with<K, V, VO>());
  }

  private anyJoin(kind: 'inner' | 'left', other: unknown, a: any, b: any, c: any): KStream<K, any> {
    if (other instanceof KStream) {
      if (!(b instanceof JoinWindows)) throw new TopologyException('a stream-stream join needs JoinWindows');
      return this.streamJoin(kind, other, a, b, c ?? StreamJoined.with());
    }
    if (other instanceof KTable) {
      const joined = (b as Joined<K, V, unknown> | undefined) ?? Joined.with<K, V, unknown>();
      const prefix = kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-';
      const name = joined.name ?? this.b.newName(prefix);
      const left = this.forJoin(`${name}`, joined.keySerde, joined.valueSerde);
      const getter = other.valueGetter();
      this.b.addProcessor(name, streamTableJoin(kind, getter, (k: K) => k, a), [left.nodeName], getter.storeNames);
      return new KStream(this.b, name, left.keySerde, undefined, false);
    }
    if (other instanceof GlobalKTable) {
      const name = (c as Named | undefined)?.name ?? this.b.newName(kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-');
      this.b.addProcessor(name, streamTableJoin(kind, other.getter(), a, b), [this.nodeName]);
      return new KStream(this.b, name, this.keySerde, undefined, this.repartitionRequired);
    }
    throw new TopologyException('join takes a KStream, a KTable or a GlobalKTable');
  }

  private streamJoin<VO, VR>(kind: JoinKind, other: KStream<K, VO>, joiner: ValueJoiner<any, any, VR, K>, windows: JoinWindows, sj: StreamJoined<K, V, VO>): KStream<K, VR> {
    const keySerde = sj.keySerde ?? this.keySerde ?? other.keySerde;
    const left = this.forJoin(`${sj.name ?? this.nodeName}-left`, keySerde, sj.valueSerde);
    const right = other.forJoin(`${sj.name ?? other.nodeName}-right`, keySerde, sj.otherValueSerde);
    const leftWindowed = this.b.newName('KSTREAM-WINDOWED-');
    const rightWindowed = this.b.newName('KSTREAM-WINDOWED-');
    const thisName = sj.name ? `${sj.name}-join-this` : this.b.newName(kind === 'outer' ? 'KSTREAM-OUTERTHIS-' : 'KSTREAM-JOINTHIS-');
    const otherName = sj.name ? `${sj.name}-join-other` : this.b.newName(kind === 'inner' ? 'KSTREAM-JOINOTHER-' : 'KSTREAM-OUTEROTHER-');
    const leftStore = sj.storeName ? `${sj.storeName}-this-join-store` : `${thisName}-store`;
    const rightStore = sj.storeName ? `${sj.storeName}-other-join-store` : `${otherName}-store`;
    const outerStore = kind === 'inner' ? null : sj.storeName ? `${sj.storeName}-outer-shared-join-store` : `${thisName.replace(/-(JOINTHIS|OUTERTHIS)-/, '-OUTERSHARED-')}-store`;
    const spec = newStreamJoinSpec(kind, windows, joiner, leftStore, rightStore, outerStore);
    const leftValueSerde = sj.valueSerde ?? left.valueSerde;
    const rightValueSerde = sj.otherValueSerde ?? right.valueSerde;
    this.b.addProcessor(leftWindowed, joinWindow(spec, true), [left.nodeName]);
    this.b.addProcessor(rightWindowed, joinWindow(spec, false), [right.nodeName]);
    const windowStore = (name: string, valueSerde: Serde<any> | undefined): StoreBuilder<StateStore> => {
      const b = Stores.windowStoreBuilder(Stores.inMemoryWindowStore(name, windows.retentionMs(), 0, true), keySerde, valueSerde);
      return sj.loggingEnabled ? b : b.withLoggingDisabled();
    };
    this.b.topology.addStateStore(windowStore(leftStore, leftValueSerde), leftWindowed);
    this.b.topology.addStateStore(windowStore(rightStore, rightValueSerde), rightWindowed);
    this.b.addProcessor(thisName, streamStreamJoin(spec, true), [leftWindowed], [rightStore]);
    this.b.addProcessor(otherName, streamStreamJoin(spec, false), [rightWindowed], [leftStore]);
    if (outerStore) {
      const builder = StoreBuilder.of(outerStore, 'keyValue', (props) => {
        const serdes = outerStoreSerdes(
          resolveSerde(keySerde, props, 'key', `store ${outerStore}`),
          resolveSerde(leftValueSerde as Serde<unknown> | undefined, props, 'value', `store ${outerStore}`),
          resolveSerde(rightValueSerde as Serde<unknown> | undefined, props, 'value', `store ${outerStore}`),
        );
        // The side is in the key; the value serde needs it, so values carry their own side-specific encoding.
        const sideAware: Serde<any> = {
          serialize: (topic, v) => (v === null ? null : Buffer.concat([Buffer.from([v.left ? 0 : 1]), serdes.value(v.left).serialize(topic, v) ?? Buffer.alloc(0)])),
          deserialize: (topic, b) => (b === null ? null : { ...serdes.value(b[0] === 0).deserialize(topic, b.subarray(1))!, left: b[0] === 0 }),
        };
        return new InMemoryKeyValueStore<any, any>(outerStore, serdes.key, sideAware);
      });
      this.b.topology.addStateStore(sj.loggingEnabled ? builder : builder.withLoggingDisabled(), thisName, otherName);
    }
    const merge = this.b.addProcessor(this.b.newName('KSTREAM-MERGE-'), passThrough(), [thisName, otherName]);
    return new KStream<K, VR>(this.b, merge, keySerde, undefined, false);
  }

  /** Runs a Processor API processor on each record, connected to the named stores. */
  process<KOut, VOut>(supplier: ProcessorSupplier<K, V, KOut, VOut>, ...storeNames: string[]): KStream<KOut, VOut> {
    const name = this.b.addProcessor(this.b.newName('KSTREAM-PROCESSOR-'), supplier, [this.nodeName], storeNames);
    return new KStream<KOut, VOut>(this.b, name, undefined, undefined, true);
  }

  /** The stream read as a table (latest value per key). */
  toTable(materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<K, V> {
    const source = this.forJoin(() => `${this.b.newName('KSTREAM-TOTABLE-')}-input`, materialized.keySerde, materialized.valueSerde);
    const storeName = materialized.storeName ?? this.b.newStoreName('KSTREAM-TOTABLE-');
    const name = this.b.addProcessor(this.b.newName('KSTREAM-TOTABLE-'), tableSource(storeName), [source.nodeName]);
    const keySerde = materialized.keySerde ?? source.keySerde;
    const valueSerde = materialized.valueSerde ?? source.valueSerde;
    this.b.keyValueStore(storeName, keySerde, valueSerde, materialized.loggingEnabled, [name], materialized.storeSupplier);
    return new KTable<K, V>(this.b, name, keySerde, valueSerde, storeGetter(storeName), storeName, null);
  }
}

/** A branch of KStream.split(): its name and what to do with the branch's stream. */
export class Branched<K, V> {
  private constructor(
    readonly name: string | undefined,
    readonly chain: ((stream: KStream<K, V>) => KStream<K, V> | null | undefined) | undefined,
    readonly consumer: ((stream: KStream<K, V>) => void) | undefined,
  ) {}

  static as<K, V>(name: string): Branched<K, V> {
    return new Branched<K, V>(name, undefined, undefined);
  }

  /** The function's result (a stream, or null/undefined for none) goes into the result map under the branch's name. */
  static withFunction<K, V>(fn: (stream: KStream<K, V>) => KStream<K, V> | null | undefined, name?: string): Branched<K, V> {
    return new Branched<K, V>(name, fn, undefined);
  }

  /** The consumer takes the branch; the result map gets no entry for it. */
  static withConsumer<K, V>(fn: (stream: KStream<K, V>) => void, name?: string): Branched<K, V> {
    return new Branched<K, V>(name, undefined, fn);
  }
}

export class BranchedKStream<K, V> {
  private count = 0;
  private readonly result = new Map<string, KStream<K, V>>();

  /** @internal */
  constructor(
    private readonly b: InternalBuilder,
    private readonly parent: KStream<K, V>,
    private readonly splitName: string,
    private readonly branches: Array<{ predicate: (k: K, v: V) => boolean; child: string }>,
  ) {}

  private add(predicate: (k: K, v: V) => boolean, branched: Branched<K, V> | undefined, defaultName: string): void {
    const name = `${this.splitName}${branched?.name ?? defaultName}`;
    const node = this.b.addProcessor(name, passThrough(), [this.splitName]);
    this.branches.push({ predicate, child: node });
    const stream = new KStream<K, V>(this.b, node, this.parent.keySerde, this.parent.valueSerde, this.parent.repartitionRequired);
    if (branched?.consumer) {
      branched.consumer(stream);
      return;
    }
    const out = branched?.chain ? branched.chain(stream) : stream;
    if (out) this.result.set(name, out);
  }

  branch(predicate: (key: K, value: V) => boolean, branched?: Branched<K, V>): this {
    this.add(predicate, branched, String(++this.count));
    return this;
  }

  /** The branch of records no predicate matched, and the map of branches (names: split prefix + branch name or number; the default is "0"). */
  defaultBranch(branched?: Branched<K, V>): Map<string, KStream<K, V>> {
    this.add(() => true, branched, '0');
    return this.result;
  }

  noDefaultBranch(): Map<string, KStream<K, V>> {
    return this.result;
  }
}

/** How a windowed table's windows close, for suppress(untilWindowCloses). */
interface WindowClosing {
  readonly graceMs: number;
  readonly inclusiveEnd: boolean;
}

export class KGroupedStream<K, V> {
  /** @internal */
  constructor(
    private readonly b: InternalBuilder,
    private readonly parent: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    private readonly repartitionName: string | undefined,
    private readonly repartitionRequired: boolean,
  ) {}

  private repartitioned: string | null = null;

  /**
   * @internal the node an aggregation hangs from: after the repartition topic when the key changed (one topic per
   * grouped stream, named by Grouped or else after the first aggregation's store, shared by its aggregations).
   */
  input(storeName: string): string {
    if (!this.repartitionRequired) return this.parent;
    this.repartitioned ??= this.b.repartition(this.parent, this.repartitionName ?? storeName, this.keySerde, this.valueSerde);
    return this.repartitioned;
  }

  /** @internal */
  get builder(): InternalBuilder {
    return this.b;
  }

  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<K, number> {
    return this.doAggregate('KSTREAM-AGGREGATE-', () => 0, (_k, _v, n) => n + 1, materialized.valueSerde ? materialized : materialized.withValueSerde(Serdes.Long()));
  }

  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<K, V> {
    const r = reduceAsAggregator<K, V>(reducer);
    return this.doAggregate<V>('KSTREAM-REDUCE-', r.init as Initializer<V>, r.agg as Aggregator<K, V, V>, materialized.valueSerde ? materialized : this.valueSerde ? materialized.withValueSerde(this.valueSerde) : materialized);
  }

  aggregate<VA>(initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, materialized: Materialized<K, NoInfer<VA>> = Materialized.with<K, VA>()): KTable<K, VA> {
    return this.doAggregate('KSTREAM-AGGREGATE-', initializer, aggregator, materialized);
  }

  private doAggregate<VA>(prefix: string, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, materialized: Materialized<K, VA>): KTable<K, VA> {
    const storeName = materialized.storeName ?? this.b.newStoreName(prefix);
    const input = this.input(storeName);
    const name = this.b.addProcessor(this.b.newName(prefix), streamAggregate(storeName, initializer, aggregator), [input]);
    const keySerde = materialized.keySerde ?? this.keySerde;
    this.b.keyValueStore(storeName, keySerde, materialized.valueSerde, materialized.loggingEnabled, [name], materialized.storeSupplier);
    return new KTable<K, VA>(this.b, name, keySerde, materialized.valueSerde, storeGetter(storeName), storeName, null);
  }

  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof SessionWindows) return new SessionWindowedKStream(this, windows);
    return new TimeWindowedKStream(this, windows);
  }
}

export class TimeWindowedKStream<K, V> {
  /** @internal */
  constructor(private readonly grouped: KGroupedStream<K, V>, private readonly windows: TimeWindows | SlidingWindows) {}

  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<Windowed<K>, number> {
    return this.doAggregate('KSTREAM-AGGREGATE-', () => 0, (_k, _v, n) => n + 1, materialized.valueSerde ? materialized : materialized.withValueSerde(Serdes.Long()));
  }

  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<Windowed<K>, V> {
    const r = reduceAsAggregator<K, V>(reducer);
    const vs = this.grouped.valueSerde;
    return this.doAggregate<V>('KSTREAM-REDUCE-', r.init as Initializer<V>, r.agg as Aggregator<K, V, V>, materialized.valueSerde || !vs ? materialized : materialized.withValueSerde(vs));
  }

  aggregate<VA>(initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, materialized: Materialized<K, NoInfer<VA>> = Materialized.with<K, VA>()): KTable<Windowed<K>, VA> {
    return this.doAggregate('KSTREAM-AGGREGATE-', initializer, aggregator, materialized);
  }

  private doAggregate<VA>(prefix: string, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, materialized: Materialized<K, VA>): KTable<Windowed<K>, VA> {
    const b = this.grouped.builder;
    const storeName = materialized.storeName ?? b.newStoreName(prefix);
    const input = this.grouped.input(storeName);
    const keySerde = materialized.keySerde ?? this.grouped.keySerde;
    const w = this.windows;
    const sizeMs = w instanceof TimeWindows ? w.sizeMs : w.timeDifferenceMs;
    const minRetention = w instanceof TimeWindows ? w.retentionMs() : w.timeDifferenceMs * 2 + w.graceMs + 1;
    const retention = materialized.retentionMs ?? minRetention;
    if (retention < minRetention) throw new TopologyException(`store ${storeName}: retention ${retention} ms is shorter than the window size plus grace (${minRetention} ms)`);
    const sup = materialized.storeSupplier;
    const stores: StoreBuilder<StateStore>[] = [Stores.timestampedWindowStoreBuilder(sup?.kind === 'window' ? sup : Stores.inMemoryWindowStore(storeName, retention, sizeMs, false), keySerde, materialized.valueSerde)];
    let name: string;
    if (w instanceof TimeWindows) {
      name = b.addProcessor(b.newName(prefix), windowAggregate(storeName, w, initializer, aggregator), [input]);
    } else {
      const recordsStore = `${storeName}-records`;
      const records = sup?.persistent ? Stores.persistentWindowStore(recordsStore, retention, 0, true) : Stores.inMemoryWindowStore(recordsStore, retention, 0, true);
      stores.push(Stores.windowStoreBuilder(records, keySerde, this.grouped.valueSerde));
      name = b.addProcessor(b.newName(prefix), slidingAggregate(storeName, recordsStore, w, initializer, aggregator), [input]);
    }
    for (const s of stores) b.topology.addStateStore(materialized.loggingEnabled ? s : s.withLoggingDisabled(), name);
    const windowedKeySerde = keySerde ? WindowedSerdes.timeWindowedSerdeFrom(keySerde, sizeMs) : undefined;
    return new KTable<Windowed<K>, VA>(b, name, windowedKeySerde, materialized.valueSerde, windowStoreGetter(storeName), storeName, { graceMs: w.graceMs, inclusiveEnd: w instanceof SlidingWindows });
  }
}

export class SessionWindowedKStream<K, V> {
  /** @internal */
  constructor(private readonly grouped: KGroupedStream<K, V>, private readonly windows: SessionWindows) {}

  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_k, _v, n) => n + 1, (_k, a, b) => a + b, materialized.valueSerde ? materialized : materialized.withValueSerde(Serdes.Long()));
  }

  reduce(reducer: Reducer<V>, materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<Windowed<K>, V> {
    const r = reduceAsAggregator<K, V>(reducer);
    const merge = (_k: K, a: V | null, b: V | null): V | null => (a === null ? b : b === null ? a : reducer(a, b));
    const vs = this.grouped.valueSerde;
    return this.aggregate<V>(r.init as Initializer<V>, r.agg as Aggregator<K, V, V>, merge as Merger<K, V>, materialized.valueSerde || !vs ? materialized : materialized.withValueSerde(vs));
  }

  aggregate<VA>(initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, merger: Merger<K, NoInfer<VA>>, materialized: Materialized<K, NoInfer<VA>> = Materialized.with<K, VA>()): KTable<Windowed<K>, VA> {
    const b = this.grouped.builder;
    const storeName = materialized.storeName ?? b.newStoreName('KSTREAM-AGGREGATE-');
    const input = this.grouped.input(storeName);
    const keySerde = materialized.keySerde ?? this.grouped.keySerde;
    const w = this.windows;
    const retention = materialized.retentionMs ?? w.inactivityGapMs + w.graceMs;
    const name = b.addProcessor(b.newName('KSTREAM-AGGREGATE-'), sessionAggregate(storeName, w, initializer, aggregator, merger), [input]);
    const sup = materialized.storeSupplier;
    const store = Stores.sessionStoreBuilder(sup?.kind === 'session' ? sup : Stores.inMemorySessionStore(storeName, retention), keySerde, materialized.valueSerde);
    b.topology.addStateStore(materialized.loggingEnabled ? store : store.withLoggingDisabled(), name);
    const windowedKeySerde = keySerde ? WindowedSerdes.sessionWindowedSerdeFrom(keySerde) : undefined;
    return new KTable<Windowed<K>, VA>(b, name, windowedKeySerde, materialized.valueSerde, sessionStoreGetter(storeName), storeName, { graceMs: w.inactivityGapMs + w.graceMs, inclusiveEnd: true });
  }
}

export class KTable<K, V> {
  /** @internal */
  constructor(
    private readonly b: InternalBuilder,
    /** @internal the node forwarding this table's Change records. */
    readonly nodeName: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    private readonly getter: ValueGetterSupplier<K, V> | null,
    private readonly storeName: string | null,
    private readonly windowClosing: WindowClosing | null,
  ) {}

  /** The store interactive queries read this table from (null when not materialized). */
  queryableStoreName(): string | null {
    return this.storeName;
  }

  /** @internal */
  valueGetter(): ValueGetterSupplier<K, V> {
    if (!this.getter) throw new TopologyException(`table ${this.nodeName} cannot be looked up (a suppressed table): materialize it first`);
    return this.getter;
  }

  private mapped<VR>(prefix: string, fn: (key: K, value: V) => VR | null, materialized: Materialized<K, VR> | undefined, valueSerde: Serde<VR> | undefined): KTable<K, VR> {
    const storeName = materialized ? materialized.storeName ?? this.b.newStoreName(prefix) : undefined;
    const name = this.b.addProcessor(this.b.newName(prefix), tableMapChange(fn, storeName), [this.nodeName]);
    if (storeName) {
      this.b.keyValueStore(storeName, materialized!.keySerde ?? this.keySerde, materialized!.valueSerde ?? valueSerde, materialized!.loggingEnabled, [name], materialized!.storeSupplier);
      return new KTable<K, VR>(this.b, name, this.keySerde, materialized!.valueSerde ?? valueSerde, storeGetter(storeName), storeName, this.windowClosing);
    }
    const getter = this.getter ? mappedGetter(this.getter, fn) : null;
    return new KTable<K, VR>(this.b, name, this.keySerde, valueSerde, getter, null, this.windowClosing);
  }

  filter(predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V>): KTable<K, V> {
    return this.mapped('KTABLE-FILTER-', (k, v) => (predicate(k, v) ? v : null), materialized, this.valueSerde);
  }

  filterNot(predicate: (key: K, value: V) => boolean, materialized?: Materialized<K, V>): KTable<K, V> {
    return this.mapped('KTABLE-FILTER-', (k, v) => (predicate(k, v) ? null : v), materialized, this.valueSerde);
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR, materialized?: Materialized<K, NoInfer<VR>>): KTable<K, VR> {
    return this.mapped<VR>('KTABLE-MAPVALUES-', (k, v) => mapper(v, k), materialized, undefined);
  }

  /** The table's changes as a stream: each update's new value (null for a deletion). */
  toStream<KR = K>(keyMapper?: (key: K, value: V) => KR): KStream<KR, V> {
    const name = this.b.addProcessor(this.b.newName('KTABLE-TOSTREAM-'), tableToStream(), [this.nodeName]);
    const stream = new KStream<K, V>(this.b, name, this.keySerde, this.valueSerde, false);
    return keyMapper ? stream.selectKey(keyMapper) : (stream as unknown as KStream<KR, V>);
  }

  /** Holds updates back: untilWindowCloses emits each window's final result once, untilTimeLimit the latest value after a delay. */
  suppress(suppressed: Suppressed): KTable<K, V> {
    let durationMs = suppressed.timeLimitMs;
    let inclusiveEnd = false;
    if (suppressed.kind === 'until-window-closes') {
      if (!this.windowClosing) throw new TopologyException('suppress(untilWindowCloses) needs a windowed aggregation upstream');
      durationMs = this.windowClosing.graceMs;
      inclusiveEnd = this.windowClosing.inclusiveEnd;
    }
    const name = this.b.addProcessor(suppressed.name ?? this.b.newName('KTABLE-SUPPRESS-'), suppress({ kind: suppressed.kind, durationMs, inclusiveEnd, buffer: suppressed.bufferConfig }), [this.nodeName]);
    return new KTable<K, V>(this.b, name, this.keySerde, this.valueSerde, null, null, this.windowClosing);
  }

  join<VO, VR>(other: KTable<K, VO>, joiner: ValueJoiner<V, VO, VR, K>, materialized?: Materialized<K, NoInfer<VR>>): KTable<K, VR> {
    return this.tableJoin('inner', other, joiner, materialized);
  }

  leftJoin<VO, VR>(other: KTable<K, VO>, joiner: ValueJoiner<V, VO | null, VR, K>, materialized?: Materialized<K, NoInfer<VR>>): KTable<K, VR> {
    return this.tableJoin('left', other, joiner, materialized);
  }

  outerJoin<VO, VR>(other: KTable<K, VO>, joiner: ValueJoiner<V | null, VO | null, VR, K>, materialized?: Materialized<K, NoInfer<VR>>): KTable<K, VR> {
    return this.tableJoin('outer', other, joiner, materialized);
  }

  private tableJoin<VO, VR>(kind: JoinKind, other: KTable<K, VO>, joiner: ValueJoiner<any, any, VR, K>, materialized: Materialized<K, VR> | undefined): KTable<K, VR> {
    const prefix = kind === 'inner' ? 'JOIN' : kind === 'left' ? 'LEFT' : 'OUTER';
    const thisName = this.b.newName(`KTABLE-${prefix}THIS-`);
    const otherName = this.b.newName(`KTABLE-${prefix}OTHER-`);
    const leftGetter = this.valueGetter();
    const rightGetter = other.valueGetter();
    this.b.addProcessor(thisName, tableTableJoin(kind, true, rightGetter, joiner), [this.nodeName], rightGetter.storeNames);
    this.b.addProcessor(otherName, tableTableJoin(kind, false, leftGetter, joiner), [other.nodeName], leftGetter.storeNames);
    const mergeName = this.b.newName('KTABLE-MERGE-');
    const storeName = materialized ? materialized.storeName ?? this.b.newStoreName('KTABLE-MERGE-') : undefined;
    this.b.addProcessor(mergeName, passThrough(storeName), [thisName, otherName]);
    if (storeName) {
      this.b.keyValueStore(storeName, materialized!.keySerde ?? this.keySerde, materialized!.valueSerde, materialized!.loggingEnabled, [mergeName], materialized!.storeSupplier);
      return new KTable<K, VR>(this.b, mergeName, this.keySerde, materialized!.valueSerde, storeGetter(storeName), storeName, null);
    }
    return new KTable<K, VR>(this.b, mergeName, this.keySerde, undefined, joinedGetter(kind, leftGetter, rightGetter, joiner), null, null);
  }

  /** Re-keys the table for an aggregation; each update subtracts the old value from its group and adds the new one. */
  groupBy<KR, VR>(selector: (key: K, value: V) => KeyValue<KR, VR>, grouped: Grouped<NoInfer<KR>, NoInfer<VR>> = Grouped.with<KR, VR>()): KGroupedTable<KR, VR> {
    const name = this.b.addProcessor(this.b.newName('KTABLE-SELECT-'), tableRepartitionMap(selector), [this.nodeName]);
    return new KGroupedTable<KR, VR>(this.b, name, grouped.keySerde, grouped.valueSerde, grouped.name);
  }
}

export class KGroupedTable<K, V> {
  /** @internal */
  constructor(
    private readonly b: InternalBuilder,
    private readonly parent: string,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    private readonly repartitionName: string | undefined,
  ) {}

  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<K, number> {
    return this.doAggregate('KTABLE-AGGREGATE-', (s) => tableAggregate<K, V, number>(s, () => 0, (_k, _v, n) => n + 1, (_k, _v, n) => n - 1), materialized.valueSerde ? materialized : materialized.withValueSerde(Serdes.Long()));
  }

  reduce(adder: Reducer<V>, subtractor: Reducer<V>, materialized: Materialized<K, V> = Materialized.with<K, V>()): KTable<K, V> {
    return this.doAggregate('KTABLE-REDUCE-', (s) => tableReduce<K, V>(s, adder, subtractor), materialized.valueSerde || !this.valueSerde ? materialized : materialized.withValueSerde(this.valueSerde));
  }

  aggregate<VA>(initializer: Initializer<VA>, adder: Aggregator<K, V, VA>, subtractor: Aggregator<K, V, NoInfer<VA>>, materialized: Materialized<K, NoInfer<VA>> = Materialized.with<K, VA>()): KTable<K, VA> {
    return this.doAggregate('KTABLE-AGGREGATE-', (s) => tableAggregate<K, V, VA>(s, initializer, adder, subtractor), materialized);
  }

  private doAggregate<VA>(prefix: string, make: (storeName: string) => ProcessorSupplier<K, Change<V>, K, Change<VA>>, materialized: Materialized<K, VA>): KTable<K, VA> {
    const storeName = materialized.storeName ?? this.b.newStoreName(prefix);
    const source = this.b.repartition(this.parent, this.repartitionName ?? storeName, this.keySerde, this.valueSerde, (inner) => changeSerde(inner), false);
    const name = this.b.addProcessor(this.b.newName(prefix), make(storeName), [source]);
    const keySerde = materialized.keySerde ?? this.keySerde;
    this.b.keyValueStore(storeName, keySerde, materialized.valueSerde, materialized.loggingEnabled, [name], materialized.storeSupplier);
    return new KTable<K, VA>(this.b, name, keySerde, materialized.valueSerde, storeGetter(storeName), storeName, null);
  }
}

