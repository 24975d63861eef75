// State stores. Each store has two layers: a bytes store (keys and values as serialized bytes, ordered by their
// bytes; in memory here, or persistent in persistent.ts) and a typed layer over it that applies the serdes and is
// what processors and interactive queries use. The typed layer is where every write is logged to the store's
// changelog topic: it calls the ChangeLogger hook it was initialised with (the runtime's, none in the test driver),
// and restore() applies a changelog record back without logging it. A key-value or window store built with
// caching puts its writes into a record cache (record-cache.ts) instead, and writes, logs and forwards them (through
// its flush listener) when the cache flushes.
import type { Headers, KeyValue, ValueAndTimestamp } from '../record.js';
import type { Serde } from '../serdes.js';
import { resolveSerde, type StreamsProps } from '../config.js';
import { Window, Windowed } from '../windows.js';
import { SqliteKeyValueBytesStore, SqliteSessionBytesStore, SqliteWindowBytesStore } from './persistent.js';
import { kvCacheId, windowCacheId, type CacheEntry, type CacheFlushHandler, type NamedCache } from './record-cache.js';

/** Where each write would go to the changelog topic (<application.id>-<store>-changelog). */
export interface ChangeLogger {
  logChange(key: Buffer, value: Buffer | null, timestamp: number): void;
}

export interface StoreContext {
  readonly applicationId: string;
  readonly props: StreamsProps;
  /** The changelog topic name, or null when logging is disabled. */
  readonly changelogTopic: string | null;
  /** The changelog writer; null when nothing logs (the test driver, or logging disabled). */
  readonly changeLogger: ChangeLogger | null;
  /** The timestamp of the record being processed (the changelog record's timestamp). */
  recordTimestamp(): number;
  /** The task's directory under state.dir, created and locked on the first call (persistent stores only). */
  taskDir?(): string;
  /** The headers of the record being processed (a cached entry keeps them for what it forwards). */
  recordHeaders?(): Headers;
  /** The store's record cache, or null when the store is built without caching or the budget is 0. */
  openCache?(onFlush: CacheFlushHandler): NamedCache | null;
  /** Runs fn with the record timestamp set to that of a flushed cache entry (downstream writes carry it). */
  withRecordTimestamp?(timestamp: number, fn: () => void): void;
}

/** A cached store's update as its cache flushes it: the new value and the one the store held before the flush. */
export interface CacheFlush<K, V> {
  readonly key: K;
  readonly newValue: V | null;
  readonly oldValue: V | null;
  /** The timestamp and headers of the record that made the last update. */
  readonly timestamp: number;
  readonly headers: Headers;
}

/** A store that may sit behind a record cache (the DSL's key-value and window stores). */
export interface CachedStateStore<K, V> {
  /**
   * With caching on, the store calls listener for each update its cache flushes and returns true: the processor
   * then forwards on flush instead of on every update (Kafka's TimestampedTupleForwarder). False: no cache.
   */
  setFlushListener(listener: (flush: CacheFlush<K, V>) => void): boolean;
  /** Flushes the cache (store writes, changelog records, forwards); returns whether it held any dirty entry. */
  flushCache(): boolean;
}

export interface StateStore {
  readonly name: string;
  readonly persistent: boolean;
  init(context: StoreContext): void;
  flush(): void;
  close(): void;
  /** Applies one changelog record (key and value as logged) without logging it: restoration. */
  restore?(changelogKey: Buffer, value: Buffer | null): void;
  /** Persistent stores: deletes everything (the content does not match the changelog any more). */
  wipe?(): void;
}

export interface ReadOnlyKeyValueStore<K, V> {
  get(key: K): V | null;
  /** Entries with from <= key <= to in serialized-key order (undefined: unbounded). */
  range(from: K | undefined, to: K | undefined): IterableIterator<KeyValue<K, V>>;
  all(): IterableIterator<KeyValue<K, V>>;
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  /** A null value deletes the key. */
  put(key: K, value: V | null): void;
  putIfAbsent(key: K, value: V): V | null;
  putAll(entries: readonly KeyValue<K, V>[]): void;
  delete(key: K): V | null;
}

export interface ReadOnlyWindowStore<K, V> {
  /** The value of key in the window starting at windowStart. */
  fetch(key: K, windowStart: number): V | null;
  /** key's windows starting in [timeFrom, timeTo], earliest first (duplicates in insertion order). */
  fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<KeyValue<number, V>>;
  /** Every key's windows starting in [timeFrom, timeTo], by key bytes then start. */
  fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>>;
  all(): IterableIterator<KeyValue<Windowed<K>, V>>;
}

export interface WindowStore<K, V> extends StateStore, ReadOnlyWindowStore<K, V> {
  /** A null value deletes (unless the store retains duplicates, where null is ignored). */
  put(key: K, value: V | null, windowStart: number): void;
}

export interface ReadOnlySessionStore<K, AGG> {
  /** key's sessions that end at or after earliestSessionEnd and start at or before latestSessionStart, by end then start. */
  findSessions(key: K, earliestSessionEnd: number, latestSessionStart: number): IterableIterator<KeyValue<Windowed<K>, AGG>>;
  fetchSession(key: K, sessionStart: number, sessionEnd: number): AGG | null;
  /** All of key's sessions. */
  fetch(key: K): IterableIterator<KeyValue<Windowed<K>, AGG>>;
}

export interface SessionStore<K, AGG> extends StateStore, ReadOnlySessionStore<K, AGG> {
  put(session: Windowed<K>, aggregate: AGG | null): void;
  remove(session: Windowed<K>): void;
}

// ---- bytes stores ----------------------------------------------------------------------------------------------

/** What a bytes store may add to the in-memory ones: persistent ones open in the task directory and batch writes. */
interface BytesLifecycle {
  open?(dir: string): void;
  wipe?(): void;
  flush?(): void;
  close?(): void;
}

export interface KeyValueBytesStore extends BytesLifecycle {
  get(key: Buffer): Buffer | null;
  put(key: Buffer, value: Buffer | null): void;
  range(from: Buffer | undefined, to: Buffer | undefined): IterableIterator<{ key: Buffer; value: Buffer }>;
  size(): number;
}

export interface WindowBytesStore extends BytesLifecycle {
  put(key: Buffer, value: Buffer | null, start: number): number;
  fetch(key: Buffer, start: number): Buffer | null;
  fetchRange(key: Buffer, from: number, to: number): IterableIterator<{ key: Buffer; start: number; value: Buffer }>;
  fetchAll(from: number, to: number): IterableIterator<{ key: Buffer; start: number; value: Buffer }>;
}

export interface SessionBytesStore extends BytesLifecycle {
  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean;
  get(key: Buffer, start: number, end: number): Buffer | null;
  find(key: Buffer, earliestEnd: number, latestStart: number): Array<{ key: Buffer; start: number; end: number; value: Buffer }>;
}

// ---- bytes stores (in memory) --------------------------------------------------------------------------------

/** Buffers as strings that sort as their bytes do (latin1: one char per byte). */
const str = (b: Buffer): string => b.toString('latin1');
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted insert into an array of numbers (no duplicates). */
function insertSorted(arr: number[], v: number): void {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (arr[lo] !== v) arr.splice(lo, 0, v);
}

export class InMemoryKeyValueBytesStore {
  private readonly map = new Map<string, { key: Buffer; value: Buffer }>();
  private sorted: string[] | null = null;

  get(key: Buffer): Buffer | null {
    return this.map.get(str(key))?.value ?? null;
  }

  put(key: Buffer, value: Buffer | null): void {
    const k = str(key);
    if (value === null) {
      if (this.map.delete(k)) this.sorted = null;
    } else {
      if (!this.map.has(k)) this.sorted = null;
      this.map.set(k, { key, value });
    }
  }

  *range(from: Buffer | undefined, to: Buffer | undefined): IterableIterator<{ key: Buffer; value: Buffer }> {
    this.sorted ??= [...this.map.keys()].sort(cmp);
    const lo = from === undefined ? undefined : str(from);
    const hi = to === undefined ? undefined : str(to);
    for (const k of [...this.sorted]) {
      if (lo !== undefined && k < lo) continue;
      if (hi !== undefined && k > hi) break;
      const e = this.map.get(k);
      if (e) yield e;
    }
  }

  size(): number {
    return this.map.size;
  }
}

interface WindowEntry { key: Buffer; start: number; seq: number; value: Buffer }

export class InMemoryWindowBytesStore {
  /** key string → window start → entries (one, or several when duplicates are retained). */
  private readonly byKey = new Map<string, Map<number, WindowEntry[]>>();
  /** window start → keys with a window there, and the starts in order, for expiry and fetchAll. */
  private readonly byStart = new Map<number, Set<string>>();
  private readonly starts: number[] = [];
  private observedStreamTime = -1;
  private seq = 0;

  constructor(readonly retentionMs: number, readonly retainDuplicates: boolean) {}

  /** Returns the sequence number the entry got (0 without duplicates), or -1 when the window had expired. */
  put(key: Buffer, value: Buffer | null, start: number): number {
    this.observedStreamTime = Math.max(this.observedStreamTime, start);
    this.expire();
    if (start < this.observedStreamTime - this.retentionMs) return -1;
    const k = str(key);
    let windows = this.byKey.get(k);
    if (value === null) {
      if (this.retainDuplicates || !windows?.delete(start)) return -1;
      this.byStart.get(start)?.delete(k);
      return 0;
    }
    if (!windows) this.byKey.set(k, (windows = new Map()));
    const entry = { key, start, seq: this.retainDuplicates ? ++this.seq : 0, value };
    const list = windows.get(start);
    if (list && this.retainDuplicates) list.push(entry);
    else windows.set(start, [entry]);
    let keys = this.byStart.get(start);
    if (!keys) {
      this.byStart.set(start, (keys = new Set()));
      insertSorted(this.starts, start);
    }
    keys.add(k);
    return entry.seq;
  }

  private expire(): void {
    const limit = this.observedStreamTime - this.retentionMs;
    while (this.starts.length > 0 && this.starts[0] < limit) {
      const start = this.starts.shift()!;
      for (const k of this.byStart.get(start) ?? []) {
        const windows = this.byKey.get(k);
        windows?.delete(start);
        if (windows?.size === 0) this.byKey.delete(k);
      }
      this.byStart.delete(start);
    }
  }

  fetch(key: Buffer, start: number): Buffer | null {
    const list = this.byKey.get(str(key))?.get(start);
    return list ? list[list.length - 1].value : null;
  }

  *fetchRange(key: Buffer, from: number, to: number): IterableIterator<WindowEntry> {
    const windows = this.byKey.get(str(key));
    if (!windows) return;
    const starts = [...windows.keys()].filter((s) => s >= from && s <= to).sort((a, b) => a - b);
    for (const s of starts) yield* [...(windows.get(s) ?? [])];
  }

  *fetchAll(from: number, to: number): IterableIterator<WindowEntry> {
    const entries: WindowEntry[] = [];
    for (const windows of this.byKey.values()) {
      for (const [s, list] of windows) if (s >= from && s <= to) entries.push(...list);
    }
    entries.sort((a, b) => cmp(str(a.key), str(b.key)) || a.start - b.start || a.seq - b.seq);
    yield* entries;
  }
}

interface SessionEntry { key: Buffer; start: number; end: number; value: Buffer }

export class InMemorySessionBytesStore {
  private readonly byKey = new Map<string, Map<string, SessionEntry>>();
  private observedStreamTime = -1;

  constructor(readonly retentionMs: number) {}

  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    this.observedStreamTime = Math.max(this.observedStreamTime, end);
    const k = str(key);
    const id = `${end}:${start}`;
    if (value === null) return this.byKey.get(k)?.delete(id) ?? false;
    if (end < this.observedStreamTime - this.retentionMs) return false;
    let sessions = this.byKey.get(k);
    if (!sessions) this.byKey.set(k, (sessions = new Map()));
    sessions.set(id, { key, start, end, value });
    return true;
  }

  get(key: Buffer, start: number, end: number): Buffer | null {
    return this.byKey.get(str(key))?.get(`${end}:${start}`)?.value ?? null;
  }

  find(key: Buffer, earliestEnd: number, latestStart: number): SessionEntry[] {
    const sessions = this.byKey.get(str(key));
    if (!sessions) return [];
    const limit = this.observedStreamTime - this.retentionMs;
    const out: SessionEntry[] = [];
    for (const [id, s] of sessions) {
      if (s.end < limit) sessions.delete(id);
      else if (s.end >= earliestEnd && s.start <= latestStart) out.push(s);
    }
    return out.sort((a, b) => a.end - b.end || a.start - b.start);
  }
}

// ---- typed stores ---------------------------------------------------------------------------------------------

abstract class TypedStore {
  protected ctx: StoreContext | null = null;
  protected abstract readonly bytes: BytesLifecycle;
  /** Values are ValueAndTimestamp (the DSL's stores); interactive reads through the test driver unwrap them. */
  timestamped = false;

  constructor(readonly name: string) {}

  /** Persistent: the bytes store lives on disk in the task directory. */
  get persistent(): boolean {
    return this.bytes.open !== undefined;
  }

  init(context: StoreContext): void {
    this.ctx = context;
    if (this.bytes.open) {
      if (!context.taskDir) throw new Error(`persistent store ${this.name}: the runtime gives no task directory`);
      this.bytes.open(context.taskDir());
    }
  }

  /** The record cache in front of the bytes store (Kafka's caching layer); null: writes go straight through. */
  protected cache: NamedCache | null = null;

  /** Opens the store's cache when the task gives one (the DSL's stores, a positive statestore.cache.max.bytes). */
  protected openCache(onFlush: CacheFlushHandler): void {
    this.cache = this.ctx?.openCache?.(onFlush) ?? null;
  }

  flushCache(): boolean {
    return this.cache?.flush() ?? false;
  }

  /** Drops what the cache holds, unflushed (the store is about to be written past it: a task made a standby). */
  clearCache(): void {
    this.cache?.clear();
  }

  flush(): void {
    this.flushCache();
    this.bytes.flush?.();
  }

  /** A clean close flushes first (the task does); what the cache still holds is dropped here. */
  close(): void {
    this.cache?.close();
    this.cache = null;
    this.bytes.close?.();
  }

  wipe(): void {
    this.cache?.clear();
    this.bytes.wipe?.();
  }

  protected topic(): string {
    return this.ctx?.changelogTopic ?? this.name;
  }

  protected log(key: Buffer, value: Buffer | null, timestamp = this.ctx?.recordTimestamp() ?? 0): void {
    this.ctx?.changeLogger?.logChange(key, value, timestamp);
  }

  protected cachePut(id: string, key: Buffer, windowStart: number, value: Buffer | null): void {
    this.cache!.put(id, key, windowStart, value, this.ctx?.recordTimestamp() ?? 0, this.ctx?.recordHeaders?.() ?? []);
  }

  /** Runs a flushed entry's forward with its record timestamp in place. */
  protected inRecordContext(timestamp: number, fn: () => void): void {
    if (this.ctx?.withRecordTimestamp) this.ctx.withRecordTimestamp(timestamp, fn);
    else fn();
  }
}

function mustSerialize<T>(serde: Serde<T>, topic: string, v: T, what: string): Buffer {
  const b = serde.serialize(topic, v);
  if (b === null) throw new Error(`store ${topic}: the ${what} serialized to null`);
  return b;
}

/** A typed store over its key and value serdes: keys to bytes (a key that does not serialize fails), bytes to values. */
abstract class SerdeStore<K, V> extends TypedStore {
  constructor(
    name: string,
    protected readonly keySerde: Serde<K>,
    protected readonly valueSerde: Serde<V>,
  ) {
    super(name);
  }

  protected k(key: K): Buffer {
    return mustSerialize(this.keySerde, this.topic(), key, 'key');
  }

  protected value(b: Buffer | null): V | null {
    return b === null ? null : this.valueSerde.deserialize(this.topic(), b);
  }
}

export class InMemoryKeyValueStore<K, V> extends SerdeStore<K, V> implements KeyValueStore<K, V>, CachedStateStore<K, V> {
  private listener: ((flush: CacheFlush<K, V>) => void) | null = null;

  constructor(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    private readonly inner: KeyValueBytesStore = new InMemoryKeyValueBytesStore(),
  ) {
    super(name, keySerde, valueSerde);
  }

  protected get bytes(): BytesLifecycle {
    return this.inner;
  }

  override init(context: StoreContext): void {
    super.init(context);
    this.openCache((entries) => this.flushEntries(entries));
  }

  setFlushListener(listener: (flush: CacheFlush<K, V>) => void): boolean {
    this.listener = listener;
    return this.cache !== null;
  }

  /** The cache first (a null value there is a delete not flushed yet), then the bytes store. */
  private getBytes(kb: Buffer): Buffer | null {
    if (this.cache !== null) {
      const e = this.cache.get(kvCacheId(kb));
      if (e !== undefined) return e.value;
    }
    return this.inner.get(kb);
  }

  get(key: K): V | null {
    return this.value(this.getBytes(this.k(key)));
  }

  put(key: K, value: V | null): void {
    const kb = this.k(key);
    const vb = value === null ? null : this.valueSerde.serialize(this.topic(), value);
    if (this.cache !== null) {
      this.cachePut(kvCacheId(kb), kb, 0, vb);
      return;
    }
    this.inner.put(kb, vb);
    this.log(kb, vb);
  }

  /** Writes flushed entries to the bytes store and the changelog, and hands each to the listener with its old value. */
  private flushEntries(entries: readonly CacheEntry[]): void {
    for (const e of entries) {
      const old = this.inner.get(e.key);
      // Neither in the store nor left in it: nothing to write, log or forward (Kafka skips it too).
      if (old === null && e.value === null) continue;
      this.inner.put(e.key, e.value);
      this.log(e.key, e.value, e.timestamp);
      const listener = this.listener;
      if (listener === null) continue;
      const t = this.topic();
      this.inRecordContext(e.timestamp, () => listener({
        key: this.keySerde.deserialize(t, e.key) as K, newValue: this.value(e.value), oldValue: this.value(old), timestamp: e.timestamp, headers: e.headers,
      }));
    }
  }

  putIfAbsent(key: K, value: V): V | null {
    const old = this.get(key);
    if (old === null) this.put(key, value);
    return old;
  }

  putAll(entries: readonly KeyValue<K, V>[]): void {
    for (const e of entries) this.put(e.key, e.value);
  }

  delete(key: K): V | null {
    const old = this.get(key);
    if (old !== null) this.put(key, null);
    return old;
  }

  *range(from: K | undefined, to: K | undefined): IterableIterator<KeyValue<K, V>> {
    const t = this.topic();
    const fromB = from === undefined ? undefined : this.k(from);
    const toB = to === undefined ? undefined : this.k(to);
    for (const e of this.mergedRange(fromB, toB)) {
      yield { key: this.keySerde.deserialize(t, e.key) as K, value: this.valueSerde.deserialize(t, e.value) as V };
    }
  }

  /** The bytes store's range with the cache's entries in it laid over (cached deletes hide stored keys). */
  private *mergedRange(from: Buffer | undefined, to: Buffer | undefined): IterableIterator<{ key: Buffer; value: Buffer }> {
    if (this.cache === null || this.cache.size === 0) {
      yield* this.inner.range(from, to);
      return;
    }
    const cached = [...this.cache.values()]
      .filter((e) => (from === undefined || Buffer.compare(e.key, from) >= 0) && (to === undefined || Buffer.compare(e.key, to) <= 0))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    let i = 0;
    for (const s of this.inner.range(from, to)) {
      for (; i < cached.length && Buffer.compare(cached[i].key, s.key) < 0; i++) {
        if (cached[i].value !== null) yield { key: cached[i].key, value: cached[i].value! };
      }
      if (i < cached.length && cached[i].key.equals(s.key)) {
        const c = cached[i++];
        if (c.value !== null) yield { key: c.key, value: c.value };
        continue;
      }
      yield s;
    }
    for (; i < cached.length; i++) if (cached[i].value !== null) yield { key: cached[i].key, value: cached[i].value! };
  }

  all(): IterableIterator<KeyValue<K, V>> {
    return this.range(undefined, undefined);
  }

  /** The bytes store's count, with the keys the cache adds or deletes and has not flushed yet. */
  approximateNumEntries(): number {
    let n = this.inner.size();
    if (this.cache === null || this.cache.dirtyCount === 0) return n;
    for (const e of this.cache.values()) {
      if (!e.dirty) continue;
      const stored = this.inner.get(e.key) !== null;
      if (e.value !== null && !stored) n++;
      else if (e.value === null && stored) n--;
    }
    return n;
  }

  restore(changelogKey: Buffer, value: Buffer | null): void {
    // Copies: a consumed record's bytes may be views of a whole fetch response.
    this.inner.put(Buffer.from(changelogKey), value === null ? null : Buffer.from(value));
  }
}

export class InMemoryWindowStore<K, V> extends SerdeStore<K, V> implements WindowStore<K, V>, CachedStateStore<Windowed<K>, V> {
  private readonly inner: WindowBytesStore;
  private listener: ((flush: CacheFlush<Windowed<K>, V>) => void) | null = null;

  constructor(
    name: string,
    retentionMs: number,
    /** The window size, for the end of the Windowed keys fetchAll returns (0 for join stores). */
    readonly windowSizeMs: number,
    readonly retainDuplicates: boolean,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    inner?: WindowBytesStore,
  ) {
    super(name, keySerde, valueSerde);
    this.inner = inner ?? new InMemoryWindowBytesStore(retentionMs, retainDuplicates);
  }

  protected get bytes(): BytesLifecycle {
    return this.inner;
  }

  override init(context: StoreContext): void {
    super.init(context);
    // A store keeping duplicates (a stream-stream join's) has no cache, as in Kafka: every record is its own entry.
    if (!this.retainDuplicates) this.openCache((entries) => this.flushEntries(entries));
  }

  setFlushListener(listener: (flush: CacheFlush<Windowed<K>, V>) => void): boolean {
    this.listener = listener;
    return this.cache !== null;
  }

  put(key: K, value: V | null, windowStart: number): void {
    const kb = this.k(key);
    const vb = value === null ? null : this.valueSerde.serialize(this.topic(), value);
    if (this.cache !== null) {
      this.cachePut(windowCacheId(kb, windowStart), kb, windowStart, vb);
      return;
    }
    this.write(kb, vb, windowStart, this.ctx?.recordTimestamp() ?? 0);
  }

  /** The bytes store's put and its changelog record; false when nothing was written (an expired window). */
  private write(kb: Buffer, vb: Buffer | null, windowStart: number, timestamp: number): boolean {
    const seq = this.inner.put(kb, vb, windowStart);
    if (seq < 0) return false;
    // The changelog key: the key's bytes, the window start and (duplicates retained) the sequence number.
    const suffix = Buffer.allocUnsafe(this.retainDuplicates ? 12 : 8);
    suffix.writeBigInt64BE(BigInt(windowStart));
    if (this.retainDuplicates) suffix.writeInt32BE(seq | 0, 8);
    this.log(Buffer.concat([kb, suffix]), vb, timestamp);
    return true;
  }

  private flushEntries(entries: readonly CacheEntry[]): void {
    for (const e of entries) {
      const old = this.inner.fetch(e.key, e.windowStart);
      if (old === null && e.value === null) continue;
      this.write(e.key, e.value, e.windowStart, e.timestamp);
      const listener = this.listener;
      if (listener === null) continue;
      const t = this.topic();
      const key = new Windowed(this.keySerde.deserialize(t, e.key) as K, new Window(e.windowStart, e.windowStart + this.windowSizeMs));
      this.inRecordContext(e.timestamp, () => listener({ key, newValue: this.value(e.value), oldValue: this.value(old), timestamp: e.timestamp, headers: e.headers }));
    }
  }

  fetch(key: K, windowStart: number): V | null {
    const kb = this.k(key);
    if (this.cache !== null) {
      const e = this.cache.get(windowCacheId(kb, windowStart));
      if (e !== undefined) return this.value(e.value);
    }
    return this.value(this.inner.fetch(kb, windowStart));
  }

  /** The cache's entries for key (every key when undefined) with a start in [from, to]: a scan (interactive queries). */
  private cachedWindows(kb: Buffer | undefined, from: number, to: number): CacheEntry[] {
    if (this.cache === null || this.cache.size === 0) return [];
    return [...this.cache.values()].filter((e) => e.windowStart >= from && e.windowStart <= to && (kb === undefined || e.key.equals(kb)));
  }

  *fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<KeyValue<number, V>> {
    const kb = this.k(key);
    const cached = this.cachedWindows(kb, timeFrom, timeTo);
    if (cached.length === 0) {
      for (const e of this.inner.fetchRange(kb, timeFrom, timeTo)) yield { key: e.start, value: this.valueSerde.deserialize(this.topic(), e.value) as V };
      return;
    }
    const byStart = new Map<number, Buffer | null>();
    for (const e of this.inner.fetchRange(kb, timeFrom, timeTo)) byStart.set(e.start, e.value);
    for (const e of cached) byStart.set(e.windowStart, e.value);
    for (const start of [...byStart.keys()].sort((a, b) => a - b)) {
      const v = byStart.get(start)!;
      if (v !== null) yield { key: start, value: this.valueSerde.deserialize(this.topic(), v) as V };
    }
  }

  *fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>> {
    const t = this.topic();
    const cached = this.cachedWindows(undefined, timeFrom, timeTo);
    let entries: Iterable<{ key: Buffer; start: number; value: Buffer | null }> = this.inner.fetchAll(timeFrom, timeTo);
    if (cached.length > 0) {
      const byId = new Map<string, { key: Buffer; start: number; value: Buffer | null }>();
      for (const e of entries) byId.set(windowCacheId(e.key, e.start), e);
      for (const e of cached) byId.set(windowCacheId(e.key, e.windowStart), { key: e.key, start: e.windowStart, value: e.value });
      entries = [...byId.values()].sort((a, b) => Buffer.compare(a.key, b.key) || a.start - b.start);
    }
    for (const e of entries) {
      if (e.value === null) continue;
      const key = new Windowed(this.keySerde.deserialize(t, e.key) as K, new Window(e.start, e.start + this.windowSizeMs));
      yield { key, value: this.valueSerde.deserialize(t, e.value) as V };
    }
  }

  all(): IterableIterator<KeyValue<Windowed<K>, V>> {
    return this.fetchAll(-Infinity, Infinity);
  }

  restore(changelogKey: Buffer, value: Buffer | null): void {
    const suffix = this.retainDuplicates ? 12 : 8;
    const at = changelogKey.length - suffix;
    this.inner.put(Buffer.from(changelogKey.subarray(0, at)), value === null ? null : Buffer.from(value), Number(changelogKey.readBigInt64BE(at)));
  }
}

export class InMemorySessionStore<K, AGG> extends SerdeStore<K, AGG> implements SessionStore<K, AGG> {
  private readonly inner: SessionBytesStore;

  constructor(name: string, retentionMs: number, keySerde: Serde<K>, valueSerde: Serde<AGG>, inner?: SessionBytesStore) {
    super(name, keySerde, valueSerde);
    this.inner = inner ?? new InMemorySessionBytesStore(retentionMs);
  }

  protected get bytes(): BytesLifecycle {
    return this.inner;
  }

  private write(session: Windowed<K>, agg: AGG | null): void {
    const kb = this.k(session.key);
    const vb = agg === null ? null : this.valueSerde.serialize(this.topic(), agg);
    if (!this.inner.put(kb, session.window.start, session.window.end, vb)) return;
    const suffix = Buffer.allocUnsafe(16);
    suffix.writeBigInt64BE(BigInt(session.window.end));
    suffix.writeBigInt64BE(BigInt(session.window.start), 8);
    this.log(Buffer.concat([kb, suffix]), vb);
  }

  put(session: Windowed<K>, aggregate: AGG | null): void {
    this.write(session, aggregate);
  }

  remove(session: Windowed<K>): void {
    this.write(session, null);
  }

  *findSessions(key: K, earliestSessionEnd: number, latestSessionStart: number): IterableIterator<KeyValue<Windowed<K>, AGG>> {
    const t = this.topic();
    for (const s of this.inner.find(mustSerialize(this.keySerde, t, key, 'key'), earliestSessionEnd, latestSessionStart)) {
      yield { key: new Windowed(key, new Window(s.start, s.end)), value: this.valueSerde.deserialize(t, s.value) as AGG };
    }
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): AGG | null {
    return this.value(this.inner.get(this.k(key), sessionStart, sessionEnd));
  }

  fetch(key: K): IterableIterator<KeyValue<Windowed<K>, AGG>> {
    return this.findSessions(key, -Infinity, Infinity);
  }

  restore(changelogKey: Buffer, value: Buffer | null): void {
    const at = changelogKey.length - 16;
    const end = Number(changelogKey.readBigInt64BE(at));
    const start = Number(changelogKey.readBigInt64BE(at + 8));
    this.inner.put(Buffer.from(changelogKey.subarray(0, at)), start, end, value === null ? null : Buffer.from(value));
  }
}

/** Timestamped stores: the DSL keeps each value with the timestamp of the record that made it. */
export type TimestampedKeyValueStore<K, V> = KeyValueStore<K, ValueAndTimestamp<V>>;
export type TimestampedWindowStore<K, V> = WindowStore<K, ValueAndTimestamp<V>>;

/** ValueAndTimestamp as bytes: the 8-byte big-endian timestamp, then the value's bytes (Kafka's layout). */
export function timestampedSerde<V>(inner: Serde<V>): Serde<ValueAndTimestamp<V>> {
  return {
    serialize(topic, v) {
      if (v === null || v === undefined) return null;
      const b = inner.serialize(topic, v.value) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(8 + b.length);
      out.writeBigInt64BE(BigInt(v.timestamp));
      b.copy(out, 8);
      return out;
    },
    deserialize(topic, b) {
      if (b === null || b === undefined) return null;
      return { timestamp: Number(b.readBigInt64BE(0)), value: inner.deserialize(topic, b.subarray(8)) as V };
    },
  };
}

/** A timestamped key-value store read and written as plain values (the test driver's getKeyValueStore). */
export class KeyValueStoreFacade<K, V> implements KeyValueStore<K, V> {
  constructor(private readonly inner: TimestampedKeyValueStore<K, V>) {}
  get name(): string { return this.inner.name; }
  get persistent(): boolean { return this.inner.persistent; }
  init(context: StoreContext): void { this.inner.init(context); }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close(); }
  get(key: K): V | null { return this.inner.get(key)?.value ?? null; }
  put(key: K, value: V | null): void { this.inner.put(key, value === null ? null : { value, timestamp: -1 }); }
  putIfAbsent(key: K, value: V): V | null {
    const old = this.get(key);
    if (old === null) this.put(key, value);
    return old;
  }
  putAll(entries: readonly KeyValue<K, V>[]): void { for (const e of entries) this.put(e.key, e.value); }
  delete(key: K): V | null { return this.inner.delete(key)?.value ?? null; }
  *range(from: K | undefined, to: K | undefined): IterableIterator<KeyValue<K, V>> {
    for (const e of this.inner.range(from, to)) yield { key: e.key, value: e.value.value };
  }
  all(): IterableIterator<KeyValue<K, V>> { return this.range(undefined, undefined); }
  approximateNumEntries(): number { return this.inner.approximateNumEntries(); }
}

/** A timestamped window store read as plain values. */
export class WindowStoreFacade<K, V> implements WindowStore<K, V> {
  constructor(private readonly inner: TimestampedWindowStore<K, V>) {}
  get name(): string { return this.inner.name; }
  get persistent(): boolean { return this.inner.persistent; }
  init(context: StoreContext): void { this.inner.init(context); }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close(); }
  put(key: K, value: V | null, windowStart: number): void { this.inner.put(key, value === null ? null : { value, timestamp: -1 }, windowStart); }
  fetch(key: K, windowStart: number): V | null { return this.inner.fetch(key, windowStart)?.value ?? null; }
  *fetchRange(key: K, timeFrom: number, timeTo: number): IterableIterator<KeyValue<number, V>> {
    for (const e of this.inner.fetchRange(key, timeFrom, timeTo)) yield { key: e.key, value: e.value.value };
  }
  *fetchAll(timeFrom: number, timeTo: number): IterableIterator<KeyValue<Windowed<K>, V>> {
    for (const e of this.inner.fetchAll(timeFrom, timeTo)) yield { key: e.key, value: e.value.value };
  }
  all(): IterableIterator<KeyValue<Windowed<K>, V>> { return this.fetchAll(-Infinity, Infinity); }
}

// ---- builders -------------------------------------------------------------------------------------------------

export type StoreKind = 'keyValue' | 'window' | 'session';

/** Describes a store; each task builds its own instance. Serdes left undefined fall back to the application's defaults. */
export class StoreBuilder<S extends StateStore = StateStore> {
  private constructor(
    readonly name: string,
    readonly kind: StoreKind,
    private readonly make: (props: StreamsProps) => S,
    readonly loggingEnabled: boolean,
    readonly logConfig: Readonly<{ [key: string]: string }>,
    /** A record cache in front of the store (key-value and window stores; off unless asked, as Kafka's builders). */
    readonly cachingEnabled = false,
  ) {}

  static of<S extends StateStore>(name: string, kind: StoreKind, make: (props: StreamsProps) => S): StoreBuilder<S> {
    return new StoreBuilder(name, kind, make, true, {});
  }

  withLoggingDisabled(): StoreBuilder<S> {
    return new StoreBuilder(this.name, this.kind, this.make, false, {}, this.cachingEnabled);
  }

  withLoggingEnabled(config: { [key: string]: string } = {}): StoreBuilder<S> {
    return new StoreBuilder(this.name, this.kind, this.make, true, config, this.cachingEnabled);
  }

  withCachingEnabled(): StoreBuilder<S> {
    return new StoreBuilder(this.name, this.kind, this.make, this.loggingEnabled, this.logConfig, true);
  }

  withCachingDisabled(): StoreBuilder<S> {
    return new StoreBuilder(this.name, this.kind, this.make, this.loggingEnabled, this.logConfig, false);
  }

  build(props: StreamsProps): S {
    return this.make(props);
  }
}

export interface KeyValueBytesStoreSupplier { readonly name: string; readonly kind: 'keyValue'; readonly persistent: boolean }
export interface WindowBytesStoreSupplier {
  readonly name: string; readonly kind: 'window'; readonly retentionMs: number; readonly windowSizeMs: number; readonly retainDuplicates: boolean;
  readonly persistent?: boolean;
}
export interface SessionBytesStoreSupplier { readonly name: string; readonly kind: 'session'; readonly retentionMs: number; readonly persistent?: boolean }

export type BytesStoreSupplier = KeyValueBytesStoreSupplier | WindowBytesStoreSupplier | SessionBytesStoreSupplier;

const kvBytes = (s: KeyValueBytesStoreSupplier): KeyValueBytesStore | undefined => (s.persistent ? new SqliteKeyValueBytesStore(s.name) : undefined);
const windowBytes = (s: WindowBytesStoreSupplier): WindowBytesStore | undefined =>
  (s.persistent ? new SqliteWindowBytesStore(s.name, s.retentionMs, s.retainDuplicates) : undefined);
const sessionBytes = (s: SessionBytesStoreSupplier): SessionBytesStore | undefined => (s.persistent ? new SqliteSessionBytesStore(s.name, s.retentionMs) : undefined);

function checkWindow(name: string, retentionMs: number, windowSizeMs: number): void {
  if (windowSizeMs > retentionMs) throw new RangeError(`window store ${name}: retention ${retentionMs} ms is shorter than the window size ${windowSizeMs} ms`);
}

/** Factories for store suppliers and builders, named as Kafka Streams names them. */
export const Stores = {
  inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, kind: 'keyValue', persistent: false };
  },
  inMemoryWindowStore(name: string, retentionMs: number, windowSizeMs: number, retainDuplicates: boolean): WindowBytesStoreSupplier {
    checkWindow(name, retentionMs, windowSizeMs);
    return { name, kind: 'window', retentionMs, windowSizeMs, retainDuplicates };
  },
  inMemorySessionStore(name: string, retentionMs: number): SessionBytesStoreSupplier {
    return { name, kind: 'session', retentionMs };
  },
  /** A key-value store in a SQLite database under the task's directory (Kafka's RocksDB store). */
  persistentKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, kind: 'keyValue', persistent: true };
  },
  /** The same store: values are ValueAndTimestamp when built with timestampedKeyValueStoreBuilder (as the DSL does). */
  persistentTimestampedKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, kind: 'keyValue', persistent: true };
  },
  persistentWindowStore(name: string, retentionMs: number, windowSizeMs: number, retainDuplicates: boolean): WindowBytesStoreSupplier {
    checkWindow(name, retentionMs, windowSizeMs);
    return { name, kind: 'window', retentionMs, windowSizeMs, retainDuplicates, persistent: true };
  },
  persistentTimestampedWindowStore(name: string, retentionMs: number, windowSizeMs: number, retainDuplicates: boolean): WindowBytesStoreSupplier {
    checkWindow(name, retentionMs, windowSizeMs);
    return { name, kind: 'window', retentionMs, windowSizeMs, retainDuplicates, persistent: true };
  },
  persistentSessionStore(name: string, retentionMs: number): SessionBytesStoreSupplier {
    return { name, kind: 'session', retentionMs, persistent: true };
  },
  keyValueStoreBuilder<K, V>(supplier: KeyValueBytesStoreSupplier, keySerde?: Serde<K>, valueSerde?: Serde<V>): StoreBuilder<KeyValueStore<K, V>> {
    return StoreBuilder.of(supplier.name, 'keyValue', (props) => new InMemoryKeyValueStore<K, V>(
      supplier.name,
      resolveSerde(keySerde, props, 'key', `store ${supplier.name}`),
      resolveSerde(valueSerde, props, 'value', `store ${supplier.name}`),
      kvBytes(supplier),
    ));
  },
  windowStoreBuilder<K, V>(supplier: WindowBytesStoreSupplier, keySerde?: Serde<K>, valueSerde?: Serde<V>): StoreBuilder<WindowStore<K, V>> {
    return StoreBuilder.of(supplier.name, 'window', (props) => new InMemoryWindowStore<K, V>(
      supplier.name, supplier.retentionMs, supplier.windowSizeMs, supplier.retainDuplicates,
      resolveSerde(keySerde, props, 'key', `store ${supplier.name}`),
      resolveSerde(valueSerde, props, 'value', `store ${supplier.name}`),
      windowBytes(supplier),
    ));
  },
  /** A key-value store of ValueAndTimestamp values (the DSL's tables and aggregations). */
  timestampedKeyValueStoreBuilder<K, V>(supplier: KeyValueBytesStoreSupplier, keySerde?: Serde<K>, valueSerde?: Serde<V>): StoreBuilder<TimestampedKeyValueStore<K, V>> {
    return StoreBuilder.of(supplier.name, 'keyValue', (props) => {
      const store = new InMemoryKeyValueStore<K, ValueAndTimestamp<V>>(
        supplier.name,
        resolveSerde(keySerde, props, 'key', `store ${supplier.name}`),
        timestampedSerde(resolveSerde(valueSerde, props, 'value', `store ${supplier.name}`)),
        kvBytes(supplier),
      );
      store.timestamped = true;
      return store;
    });
  },
  /** A window store of ValueAndTimestamp values (the DSL's windowed aggregations). */
  timestampedWindowStoreBuilder<K, V>(supplier: WindowBytesStoreSupplier, keySerde?: Serde<K>, valueSerde?: Serde<V>): StoreBuilder<TimestampedWindowStore<K, V>> {
    return StoreBuilder.of(supplier.name, 'window', (props) => {
      const store = new InMemoryWindowStore<K, ValueAndTimestamp<V>>(
        supplier.name, supplier.retentionMs, supplier.windowSizeMs, supplier.retainDuplicates,
        resolveSerde(keySerde, props, 'key', `store ${supplier.name}`),
        timestampedSerde(resolveSerde(valueSerde, props, 'value', `store ${supplier.name}`)),
        windowBytes(supplier),
      );
      store.timestamped = true;
      return store;
    });
  },
  sessionStoreBuilder<K, V>(supplier: SessionBytesStoreSupplier, keySerde?: Serde<K>, valueSerde?: Serde<V>): StoreBuilder<SessionStore<K, V>> {
    return StoreBuilder.of(supplier.name, 'session', (props) => new InMemorySessionStore<K, V>(
      supplier.name, supplier.retentionMs,
      resolveSerde(keySerde, props, 'key', `store ${supplier.name}`),
      resolveSerde(valueSerde, props, 'value', `store ${supplier.name}`),
      sessionBytes(supplier),
    ));
  },
};
