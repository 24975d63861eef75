// The DSL's stateful processors, as ProcessorSuppliers over named stores. Each keeps Kafka Streams' semantics:
// windows close at end + grace against the stream time the processor has observed (late records are dropped and
// counted), KTables forward Change(new, old) with null as a tombstone, and left/outer stream-stream joins emit
// their unmatched records when the record's join window closes.
import { StreamsException } from './config.js';
import type { ProcessorContext, ProcessorSupplier, TaskId } from './processor.js';
import { change, Record, valueAndTimestamp, type Change, type KeyValue, type ValueAndTimestamp } from './record.js';
import type { Serde } from './serdes.js';
import type { CachedStateStore, KeyValueStore, SessionStore, TimestampedKeyValueStore, TimestampedWindowStore, WindowStore } from './state/stores.js';
import type { InternalProcessorContext } from './task.js';
import { Window, Windowed, type BufferConfig, type JoinWindows, type SessionWindows, type SlidingWindows, type TimeWindows } from './windows.js';

export type Initializer<VA> = () => VA;
export type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;
export type Reducer<V> = (aggregate: V, value: V) => V;
export type Merger<K, VA> = (key: K, aggOne: VA, aggTwo: VA) => VA;
export type ValueJoiner<V1, V2, VR, K = unknown> = (value1: V1, value2: V2, key: K) => VR;

type Ctx = InternalProcessorContext<any, any>;

/** Reads a KTable's current value (and its timestamp) for a key, from a store or computed from its parents'. */
export interface ValueGetterSupplier<K, V> {
  readonly storeNames: readonly string[];
  get(context: ProcessorContext<any, any>): (key: K) => ValueAndTimestamp<V> | null;
}

export function storeGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
    get: (ctx) => {
      const store = ctx.getStateStore<TimestampedKeyValueStore<K, V>>(storeName);
      return (key) => store.get(key);
    },
  };
}

export function windowStoreGetter<K, V>(storeName: string): ValueGetterSupplier<Windowed<K>, V> {
  return {
    storeNames: [storeName],
    get: (ctx) => {
      const store = ctx.getStateStore<TimestampedWindowStore<K, V>>(storeName);
      return (key) => store.fetch(key.key, key.window.start);
    },
  };
}

/** Session results are timestamped with the session end. */
export function sessionStoreGetter<K, V>(storeName: string): ValueGetterSupplier<Windowed<K>, V> {
  return {
    storeNames: [storeName],
    get: (ctx) => {
      const store = ctx.getStateStore<SessionStore<K, V>>(storeName);
      return (key) => {
        const v = store.fetchSession(key.key, key.window.start, key.window.end);
        return v === null ? null : valueAndTimestamp(v, key.window.end);
      };
    },
  };
}

/**
 * Kafka's TimestampedTupleForwarder: a processor whose store has a record cache forwards what the cache flushes
 * (the latest update per key, with the value the store held before as the old value) instead of every update.
 * Returns true when the store caches (the processor then leaves forwarding to it).
 */
function forwardOnFlush<K, V>(store: unknown, ctx: ProcessorContext<K, Change<V>>): boolean {
  const cached = store as Partial<CachedStateStore<K, ValueAndTimestamp<V>>>;
  if (typeof cached.setFlushListener !== 'function') return false;
  return cached.setFlushListener((f) => {
    ctx.forward(new Record(f.key, change(f.newValue?.value ?? null, f.oldValue?.value ?? null), f.newValue?.timestamp ?? f.timestamp, f.headers));
  });
}

// ---- KStream aggregations ---------------------------------------------------------------------------------------

export function streamAggregate<K, V, VA>(storeName: string, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>): ProcessorSupplier<K, V, K, Change<VA>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedKeyValueStore<K, VA>;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) { ctx.recordDropped('null key or value'); return; }
        const old = store.get(r.key);
        const agg = aggregator(r.key, r.value, old ? old.value : initializer());
        // The result carries the largest timestamp of the records aggregated into it.
        const ts = Math.max(old?.timestamp ?? -1, r.timestamp);
        store.put(r.key, valueAndTimestamp(agg, ts));
        if (!cached) ctx.forward(r.withValue(change(agg, old?.value ?? null)).withTimestamp(ts));
      },
    };
  };
}

export function reduceAsAggregator<K, V>(reducer: Reducer<V>): { init: Initializer<V | null>; agg: Aggregator<K, V, V | null> } {
  return { init: () => null, agg: (_k, v, a) => (a === null ? v : reducer(a, v)) };
}

export function windowAggregate<K, V, VA>(storeName: string, windows: TimeWindows, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedWindowStore<K, VA>;
    let observed = -1;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) { ctx.recordDropped('null key or value'); return; }
        observed = Math.max(observed, r.timestamp);
        const closeTime = observed - windows.graceMs;
        for (const w of windows.windowsFor(r.timestamp)) {
          if (w.end <= closeTime) { ctx.recordDropped('window closed'); continue; }
          const old = store.fetch(r.key, w.start);
          const agg = aggregator(r.key, r.value, old ? old.value : initializer());
          const ts = Math.max(old?.timestamp ?? -1, r.timestamp);
          store.put(r.key, valueAndTimestamp(agg, ts), w.start);
          if (!cached) ctx.forward(r.withKey(new Windowed(r.key, w)).withValue(change(agg, old?.value ?? null)).withTimestamp(ts));
        }
      },
    };
  };
}

export function sessionAggregate<K, V, VA>(storeName: string, windows: SessionWindows, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>, merger: Merger<K, VA>): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  return () => {
    let ctx: Ctx;
    let store: SessionStore<K, VA>;
    let observed = -1;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) { ctx.recordDropped('null key or value'); return; }
        observed = Math.max(observed, r.timestamp);
        const closeTime = observed - windows.graceMs;
        const t = r.timestamp;
        const overlapping = [...store.findSessions(r.key, t - windows.inactivityGapMs, t + windows.inactivityGapMs)];
        let start = t;
        let end = t;
        for (const s of overlapping) { start = Math.min(start, s.key.window.start); end = Math.max(end, s.key.window.end); }
        if (end < closeTime) { ctx.recordDropped('window closed'); return; }
        let agg = initializer();
        let old: VA | null = null;
        for (const s of overlapping) agg = merger(r.key, agg, s.value);
        agg = aggregator(r.key, r.value, agg);
        for (const s of overlapping) {
          if (s.key.window.start === start && s.key.window.end === end) { old = s.value; continue; }
          store.remove(s.key);
          ctx.forward(r.withKey(s.key).withValue(change<VA>(null, s.value)).withTimestamp(s.key.window.end));
        }
        // A session's result carries its end: the timestamp of its latest record.
        const session = new Windowed(r.key, new Window(start, end));
        store.put(session, agg);
        ctx.forward(r.withKey(session).withValue(change(agg, old)).withTimestamp(end));
      },
    };
  };
}

/**
 * Sliding windows: every distinct set of a key's records no more than timeDifference apart is one window
 * [start, start + timeDifference]: each record's left window ends at it, and its right window starts 1 ms after
 * it when a later record falls within timeDifference + 1. The key's raw records are kept (recordsStore) and a
 * window's aggregate recomputed from them in timestamp order, so every window a record falls in is updated.
 * A window's result carries the largest timestamp among its records.
 */
export function slidingAggregate<K, V, VA>(storeName: string, recordsStore: string, windows: SlidingWindows, initializer: Initializer<VA>, aggregator: Aggregator<K, V, VA>): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const diff = windows.timeDifferenceMs;
  return () => {
    let ctx: Ctx;
    let store: TimestampedWindowStore<K, VA>;
    let records: WindowStore<K, V>;
    let observed = -1;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); records = c.getStateStore(recordsStore); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) { ctx.recordDropped('null key or value'); return; }
        const t = r.timestamp;
        observed = Math.max(observed, t);
        const closeTime = observed - windows.graceMs;
        if (t + diff < closeTime) { ctx.recordDropped('window closed'); return; }
        records.put(r.key, r.value, t);
        const near = [...records.fetchRange(r.key, t - diff - 1, t + diff + 1)];
        const starts = new Set<number>();
        for (const x of near) {
          // Left windows containing t; a record earlier than the time difference has the window [0, timeDifference].
          if (x.key >= t && x.key <= t + diff) starts.add(Math.max(0, x.key - diff));
          if (x.key < t && x.key >= t - 1 - diff) starts.add(x.key + 1); // right windows containing t
        }
        if (near.some((y) => y.key > t && y.key <= t + 1 + diff)) starts.add(t + 1); // this record's right window
        for (const start of [...starts].sort((a, b) => a - b)) {
          const end = start + diff;
          if (end < closeTime) continue;
          let agg = initializer();
          let maxTs = -1;
          for (const x of near) if (x.key >= start && x.key <= end) { agg = aggregator(r.key, x.value, agg); maxTs = Math.max(maxTs, x.key); }
          const old = store.fetch(r.key, start);
          store.put(r.key, valueAndTimestamp(agg, maxTs), start);
          if (!cached) ctx.forward(new Record(new Windowed(r.key, new Window(start, end)), change(agg, old?.value ?? null), maxTs, r.headers));
        }
      },
    };
  };
}

// ---- KTable operations ------------------------------------------------------------------------------------------

export function tableSource<K, V>(storeName: string): ProcessorSupplier<K, V, K, Change<V>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedKeyValueStore<K, V>;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined) { ctx.recordDropped('null key'); return; }
        const old = store.get(r.key)?.value ?? null;
        const value = r.value ?? null;
        store.put(r.key, value === null ? null : valueAndTimestamp(value, r.timestamp));
        if (old === null && value === null) return;
        if (!cached) ctx.forward(r.withValue(change(value, old)));
      },
    };
  };
}

/** filter / mapValues / anything that maps a Change value by value; an optional store materializes the result. */
export function tableMapChange<K, V, VR>(fn: (key: K, value: V) => VR | null, storeName?: string): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedKeyValueStore<K, VR> | null = null;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; if (storeName) { store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); } },
      process(r) {
        const n = r.value.newValue === null ? null : fn(r.key, r.value.newValue);
        const o = store ? store.get(r.key)?.value ?? null : r.value.oldValue === null ? null : fn(r.key, r.value.oldValue);
        if (n === null && o === null) return;
        store?.put(r.key, n === null ? null : valueAndTimestamp(n, r.timestamp));
        if (!cached) ctx.forward(r.withValue(change(n, o)));
      },
    };
  };
}

export function mappedGetter<K, V, VR>(parent: ValueGetterSupplier<K, V>, fn: (key: K, value: V) => VR | null): ValueGetterSupplier<K, VR> {
  return {
    storeNames: parent.storeNames,
    get: (ctx) => {
      const g = parent.get(ctx);
      return (key) => {
        const v = g(key);
        const mapped = v === null ? null : fn(key, v.value);
        return mapped === null || v === null ? null : valueAndTimestamp(mapped, v.timestamp);
      };
    },
  };
}

export function tableToStream<K, V>(): ProcessorSupplier<K, Change<V>, K, V | null> {
  return () => {
    let ctx: ProcessorContext<K, V | null>;
    return {
      init(c) { ctx = c; },
      process(r) { ctx.forward(r.withValue(r.value.newValue)); },
    };
  };
}

/** Identity of a key for equality: primitives as they are, Buffers and objects by content. */
export function keyId(k: unknown): string {
  if (k instanceof Windowed) return `w${k.window.start}:${k.window.end}:${keyId(k.key)}`;
  if (Buffer.isBuffer(k)) return `b${k.toString('hex')}`;
  if (typeof k === 'string') return `s${k}`;
  return `j${JSON.stringify(k)}`;
}

/**
 * KTable.groupBy: re-keys each change. With the same new and old key one record carries both (the aggregation
 * subtracts then adds in one step); otherwise the subtraction goes to the old key first, then the addition.
 */
export function tableRepartitionMap<K, V, KR, VR>(selector: (key: K, value: V) => KeyValue<KR, VR>): ProcessorSupplier<K, Change<V>, KR, Change<VR>> {
  return () => {
    let ctx: Ctx;
    return {
      init(c) { ctx = c as Ctx; },
      process(r) {
        const o = r.value.oldValue === null ? null : selector(r.key, r.value.oldValue);
        const n = r.value.newValue === null ? null : selector(r.key, r.value.newValue);
        const valid = (kv: KeyValue<KR, VR> | null): kv is KeyValue<KR, VR> => kv !== null && kv.key !== null && kv.key !== undefined;
        if (valid(o) && valid(n) && keyId(o.key) === keyId(n.key)) {
          ctx.forward(r.withKey(n.key).withValue(change(n.value, o.value)));
          return;
        }
        if (o !== null && !valid(o)) ctx.recordDropped('null key');
        if (n !== null && !valid(n)) ctx.recordDropped('null key');
        if (valid(o)) ctx.forward(r.withKey(o.key).withValue(change<VR>(null, o.value)));
        if (valid(n)) ctx.forward(r.withKey(n.key).withValue(change<VR>(n.value, null)));
      },
    };
  };
}

export function tableAggregate<K, V, VA>(storeName: string, initializer: Initializer<VA>, adder: Aggregator<K, V, VA>, subtractor: Aggregator<K, V, VA>): ProcessorSupplier<K, Change<V>, K, Change<VA>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedKeyValueStore<K, VA>;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined) { ctx.recordDropped('null key'); return; }
        const stored = store.get(r.key);
        const old: VA | null = stored ? stored.value : null;
        let agg: VA | null = old;
        if (r.value.oldValue !== null && agg !== null) agg = subtractor(r.key, r.value.oldValue, agg);
        if (r.value.newValue !== null) agg = adder(r.key, r.value.newValue, agg ?? initializer());
        const ts = Math.max(stored?.timestamp ?? -1, r.timestamp);
        store.put(r.key, agg === null ? null : valueAndTimestamp(agg, ts));
        if (!cached) ctx.forward(r.withValue(change(agg, old)).withTimestamp(ts));
      },
    };
  };
}

export function tableReduce<K, V>(storeName: string, adder: Reducer<V>, subtractor: Reducer<V>): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let ctx: Ctx;
    let store: TimestampedKeyValueStore<K, V>;
    let cached = false;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(storeName); cached = forwardOnFlush(store, c); },
      process(r) {
        if (r.key === null || r.key === undefined) { ctx.recordDropped('null key'); return; }
        const stored = store.get(r.key);
        const old: V | null = stored ? stored.value : null;
        let agg: V | null = old;
        if (r.value.oldValue !== null && agg !== null) agg = subtractor(agg, r.value.oldValue);
        if (r.value.newValue !== null) agg = agg === null ? r.value.newValue : adder(agg, r.value.newValue);
        const ts = Math.max(stored?.timestamp ?? -1, r.timestamp);
        store.put(r.key, agg === null ? null : valueAndTimestamp(agg, ts));
        if (!cached) ctx.forward(r.withValue(change(agg, old)).withTimestamp(ts));
      },
    };
  };
}

/** The serde of a Change across a repartition topic: a flags byte, the new value's length and bytes, the old value's bytes. */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize(topic, c) {
      if (c === null) return null;
      const n = c.newValue === null ? null : inner.serialize(topic, c.newValue);
      const o = c.oldValue === null ? null : inner.serialize(topic, c.oldValue);
      const head = Buffer.alloc(5);
      head[0] = (n ? 1 : 0) | (o ? 2 : 0);
      head.writeUInt32BE(n?.length ?? 0, 1);
      return Buffer.concat([head, n ?? Buffer.alloc(0), o ?? Buffer.alloc(0)]);
    },
    deserialize(topic, b) {
      if (b === null) return null;
      const nLen = b.readUInt32BE(1);
      return change(
        b[0] & 1 ? inner.deserialize(topic, b.subarray(5, 5 + nLen)) : null,
        b[0] & 2 ? inner.deserialize(topic, b.subarray(5 + nLen)) : null,
      );
    },
  };
}

// ---- joins ------------------------------------------------------------------------------------------------------

export type JoinKind = 'inner' | 'left' | 'outer';

/** KTable-KTable join, one side: looks the other side up and forwards the joined Change. */
export function tableTableJoin<K, VT, VO, VR>(kind: JoinKind, thisIsLeft: boolean, other: ValueGetterSupplier<K, VO>, joiner: ValueJoiner<any, any, VR, K>): ProcessorSupplier<K, Change<VT>, K, Change<VR>> {
  return () => {
    let ctx: ProcessorContext<K, Change<VR>>;
    let get: (key: K) => ValueAndTimestamp<VO> | null;
    const join = (k: K, mine: VT | null, theirs: VO | null): VR | null => {
      const left = thisIsLeft ? mine : theirs;
      const right = thisIsLeft ? theirs : mine;
      if (kind === 'inner' && (left === null || right === null)) return null;
      if (kind === 'left' && left === null) return null;
      if (left === null && right === null) return null;
      return joiner(left, right, k);
    };
    return {
      init(c) { ctx = c; get = other.get(c); },
      process(r) {
        if (r.key === null || r.key === undefined) return;
        const theirs = get(r.key);
        const n = join(r.key, r.value.newValue, theirs?.value ?? null);
        const o = join(r.key, r.value.oldValue, theirs?.value ?? null);
        if (n === null && o === null) return;
        // The result carries the later of the two sides' timestamps.
        ctx.forward(r.withValue(change(n, o)).withTimestamp(Math.max(r.timestamp, theirs?.timestamp ?? -1)));
      },
    };
  };
}

export function joinedGetter<K, V1, V2, VR>(kind: JoinKind, left: ValueGetterSupplier<K, V1>, right: ValueGetterSupplier<K, V2>, joiner: ValueJoiner<any, any, VR, K>): ValueGetterSupplier<K, VR> {
  return {
    storeNames: [...left.storeNames, ...right.storeNames],
    get: (ctx) => {
      const l = left.get(ctx);
      const r = right.get(ctx);
      return (key) => {
        const lt = l(key);
        const rt = r(key);
        const lv = lt?.value ?? null;
        const rv = rt?.value ?? null;
        if (kind === 'inner' && (lv === null || rv === null)) return null;
        if (kind === 'left' && lv === null) return null;
        if (lv === null && rv === null) return null;
        return valueAndTimestamp(joiner(lv, rv, key), Math.max(lt?.timestamp ?? -1, rt?.timestamp ?? -1));
      };
    },
  };
}

/** Passes records through (the merge node of a KTable-KTable join, KStream.merge), optionally materializing a table. */
export function passThrough<K, V>(storeName?: string): ProcessorSupplier<K, V, K, V> {
  return () => {
    let ctx: ProcessorContext<K, V>;
    let store: TimestampedKeyValueStore<K, unknown> | null = null;
    let cached = false;
    return {
      init(c) { ctx = c; if (storeName) { store = c.getStateStore(storeName); cached = forwardOnFlush(store, c as ProcessorContext<K, Change<unknown>>); } },
      process(r) {
        if (store) {
          const v = (r.value as unknown as Change<unknown>).newValue;
          store.put(r.key, v === null ? null : valueAndTimestamp(v, r.timestamp));
        }
        if (!cached) ctx.forward(r);
      },
    };
  };
}

/** KStream-KTable (or GlobalKTable, with a key mapper) join: each stream record looks the table up. */
export function streamTableJoin<K, V, KT, VT, VR>(kind: 'inner' | 'left', table: ValueGetterSupplier<KT, VT>, keyMapper: (key: K, value: V) => KT, joiner: ValueJoiner<V, VT | null, VR, K>): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let ctx: Ctx;
    let get: (key: KT) => ValueAndTimestamp<VT> | null;
    return {
      init(c) { ctx = c as Ctx; get = table.get(c); },
      process(r) {
        if (r.value === null || r.value === undefined) { ctx.recordDropped('null value'); return; }
        const tk = r.key === null || r.key === undefined ? null : keyMapper(r.key, r.value);
        if (tk === null || tk === undefined) {
          if (kind === 'inner') { ctx.recordDropped('null key'); return; }
          ctx.forward(r.withValue(joiner(r.value, null, r.key)));
          return;
        }
        const other = get(tk)?.value ?? null;
        if (other === null && kind === 'inner') return;
        ctx.forward(r.withValue(joiner(r.value, other, r.key)));
      },
    };
  };
}

/** The stream time both sides of a stream-stream join share, one per task. */
class SharedTime {
  streamTime = -1;
}

export interface OuterKey<K> { timestamp: number; left: boolean; key: K }
export interface OuterValue { values: unknown[] }

/** Keys sort by timestamp (8 bytes big-endian), then side, then key bytes; values are the side's values, each length-prefixed. */
export function outerStoreSerdes<K>(keySerde: Serde<K>, leftSerde: Serde<unknown>, rightSerde: Serde<unknown>): { key: Serde<OuterKey<K>>; value: (left: boolean) => Serde<OuterValue> } {
  const key: Serde<OuterKey<K>> = {
    serialize(topic, k) {
      if (k === null) return null;
      const kb = keySerde.serialize(topic, k.key) ?? Buffer.alloc(0);
      const head = Buffer.alloc(9);
      head.writeBigInt64BE(BigInt(k.timestamp));
      head[8] = k.left ? 0 : 1;
      return Buffer.concat([head, kb]);
    },
    deserialize(topic, b) {
      if (b === null) return null;
      return { timestamp: Number(b.readBigInt64BE(0)), left: b[8] === 0, key: keySerde.deserialize(topic, b.subarray(9)) as K };
    },
  };
  const value = (left: boolean): Serde<OuterValue> => {
    const inner = left ? leftSerde : rightSerde;
    return {
      serialize(topic, v) {
        if (v === null) return null;
        const parts: Buffer[] = [];
        for (const x of v.values) {
          const b = inner.serialize(topic, x) ?? Buffer.alloc(0);
          const len = Buffer.alloc(4);
          len.writeUInt32BE(b.length);
          parts.push(len, b);
        }
        return Buffer.concat(parts);
      },
      deserialize(topic, b) {
        if (b === null) return null;
        const values: unknown[] = [];
        for (let off = 0; off < b.length;) {
          const len = b.readUInt32BE(off);
          values.push(inner.deserialize(topic, b.subarray(off + 4, off + 4 + len)));
          off += 4 + len;
        }
        return { values };
      },
    };
  };
  return { key, value };
}

export interface StreamJoinSpec<K, VR> {
  readonly kind: JoinKind;
  readonly windows: JoinWindows;
  readonly joiner: ValueJoiner<any, any, VR, K>;
  readonly leftStore: string;
  readonly rightStore: string;
  /** Unmatched records waiting for their window to close (left and outer joins). */
  readonly outerStore: string | null;
  readonly times: WeakMap<TaskId, SharedTime>;
}

export function newStreamJoinSpec<K, VR>(kind: JoinKind, windows: JoinWindows, joiner: ValueJoiner<any, any, VR, K>, leftStore: string, rightStore: string, outerStore: string | null): StreamJoinSpec<K, VR> {
  return { kind, windows, joiner, leftStore, rightStore, outerStore, times: new WeakMap() };
}

function sharedTime(spec: StreamJoinSpec<unknown, unknown>, ctx: ProcessorContext<any, any>): SharedTime {
  let t = spec.times.get(ctx.taskId);
  if (!t) spec.times.set(ctx.taskId, (t = new SharedTime()));
  return t;
}

/** How long after its timestamp a side's record can still be matched: left records by later right ones (after), right by later left ones (before). */
function reach(spec: StreamJoinSpec<unknown, unknown>, left: boolean): number {
  return (left ? spec.windows.afterMs : spec.windows.beforeMs) + spec.windows.graceMs;
}

/** The window-store side of a stream-stream join: drops late records, stores the rest, passes them on. */
export function joinWindow<K, V>(spec: StreamJoinSpec<K, unknown>, left: boolean): ProcessorSupplier<K, V, K, V> {
  return () => {
    let ctx: Ctx;
    let store: WindowStore<K, V>;
    let time: SharedTime;
    return {
      init(c) { ctx = c as Ctx; store = c.getStateStore(left ? spec.leftStore : spec.rightStore); time = sharedTime(spec as StreamJoinSpec<unknown, unknown>, c); },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) { ctx.recordDropped('null key or value'); return; }
        time.streamTime = Math.max(time.streamTime, r.timestamp);
        if (r.timestamp + reach(spec as StreamJoinSpec<unknown, unknown>, left) < time.streamTime) { ctx.recordDropped('window closed'); return; }
        store.put(r.key, r.value, r.timestamp);
        ctx.forward(r);
      },
    };
  };
}

/** The join side of a stream-stream join: emits closed unmatched records, then this record's matches (or parks it unmatched). */
export function streamStreamJoin<K, V, VR>(spec: StreamJoinSpec<K, VR>, left: boolean): ProcessorSupplier<K, V, K, VR> {
  const { beforeMs, afterMs } = spec.windows;
  const outerable = spec.kind === 'outer' || (spec.kind === 'left' && left);
  return () => {
    let ctx: Ctx;
    let other: WindowStore<K, unknown>;
    let outer: KeyValueStore<OuterKey<K>, OuterValue> | null = null;
    let time: SharedTime;
    const s = spec as StreamJoinSpec<unknown, unknown>;
    const emitClosed = (): void => {
      if (!outer) return;
      const horizon = time.streamTime - Math.min(reach(s, true), reach(s, false));
      const closed: Array<KeyValue<OuterKey<K>, OuterValue>> = [];
      for (const e of outer.all()) {
        if (e.key.timestamp >= horizon) break;
        if (e.key.timestamp + reach(s, e.key.left) < time.streamTime) closed.push(e);
      }
      for (const e of closed) {
        outer.delete(e.key);
        for (const v of e.value.values) {
          const value = e.key.left ? spec.joiner(v, null, e.key.key) : spec.joiner(null, v, e.key.key);
          ctx.forward(new Record(e.key.key, value, e.key.timestamp));
        }
      }
    };
    return {
      init(c) {
        ctx = c as Ctx;
        other = c.getStateStore(left ? spec.rightStore : spec.leftStore);
        if (spec.outerStore) outer = c.getStateStore(spec.outerStore);
        time = sharedTime(s, c);
      },
      process(r) {
        emitClosed();
        const t = r.timestamp;
        const from = left ? t - beforeMs : t - afterMs;
        const to = left ? t + afterMs : t + beforeMs;
        let matched = false;
        for (const m of other.fetchRange(r.key, from, to)) {
          matched = true;
          const value = left ? spec.joiner(r.value, m.value, r.key) : spec.joiner(m.value, r.value, r.key);
          ctx.forward(r.withValue(value).withTimestamp(Math.max(t, m.key)));
          if (outer) {
            // The other side's record is matched now: it no longer waits to be emitted unmatched.
            const k: OuterKey<K> = { timestamp: m.key, left: !left, key: r.key };
            if (outer.get(k) !== null) outer.delete(k);
          }
        }
        if (!matched && outerable && outer) {
          const k: OuterKey<K> = { timestamp: t, left, key: r.key };
          const prior = outer.get(k);
          outer.put(k, { values: [...(prior?.values ?? []), r.value] });
        }
      },
    };
  };
}

// ---- suppress -------------------------------------------------------------------------------------------------

export interface SuppressSpec {
  readonly kind: 'until-window-closes' | 'until-time-limit';
  /** untilWindowCloses: the windows' grace (sessions: gap + grace); untilTimeLimit: the limit. */
  readonly durationMs: number;
  /** Window ends are inclusive (sliding and session windows): a window closes 1 ms later than its end says. */
  readonly inclusiveEnd: boolean;
  readonly buffer: BufferConfig;
}

/**
 * KTable.suppress: holds the latest Change per key and forwards it once stream time passes the key's time plus
 * the duration (the window end for untilWindowCloses, the first buffered record's timestamp for untilTimeLimit).
 * Final results drop the tombstones of windows that never emitted. The buffer lives in the processor in this
 * slice (a changelogged buffer store comes with the runtime).
 */
export function suppress<K, V>(spec: SuppressSpec): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let ctx: Ctx;
    let observed = -1;
    const buffer = new Map<string, { record: Record<K, Change<V>>; time: number }>();
    const emit = (id: string): void => {
      const e = buffer.get(id)!;
      buffer.delete(id);
      if (spec.kind === 'until-window-closes' && e.record.value.newValue === null) return;
      ctx.forward(e.record);
    };
    return {
      init(c) { ctx = c as Ctx; },
      process(r) {
        observed = Math.max(observed, r.timestamp);
        let time: number;
        if (spec.kind === 'until-window-closes') {
          if (!(r.key instanceof Windowed)) throw new StreamsException('suppress(untilWindowCloses) needs a windowed KTable');
          time = r.key.window.end + (spec.inclusiveEnd ? 1 : 0);
        } else {
          time = r.timestamp;
        }
        const id = keyId(r.key);
        const prior = buffer.get(id);
        if (prior) buffer.delete(id);
        const value = change(r.value.newValue, prior ? prior.record.value.oldValue : r.value.oldValue);
        buffer.set(id, { record: r.withValue(value), time: prior && spec.kind === 'until-time-limit' ? prior.time : time });
        const expiry = observed - spec.durationMs;
        // In time order, then by key, as a time-ordered buffer evicts.
        const byTime = (a: [string, { time: number }], b: [string, { time: number }]): number => a[1].time - b[1].time || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
        const due = [...buffer].filter(([, e]) => e.time <= expiry).sort(byTime);
        for (const [k] of due) emit(k);
        while (buffer.size > spec.buffer.maxRecords) {
          if (spec.buffer.whenFull === 'shut-down') throw new StreamsException(`suppression buffer full (${spec.buffer.maxRecords} records)`);
          emit([...buffer].sort(byTime)[0][0]);
        }
      },
    };
  };
}
