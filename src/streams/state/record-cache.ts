// The record cache (Kafka Streams' ThreadCache and NamedCache): one byte budget for a whole KafkaStreams instance
// (statestore.cache.max.bytes), divided into one named cache per cached store of each task. A store with caching
// puts its serialized updates here instead of into its bytes store; updates to one key replace each other, so a
// hot key costs one store write, one changelog record and one downstream record per flush instead of one per
// update. A named cache flushes its dirty entries (in the order they first became dirty) to its store's listener
// on commit, on close, and when the instance goes over budget: a put evicts the least recently used entries of
// the cache it went into, and evicting a dirty entry flushes that cache's dirty entries first, as Kafka does.
import type { Headers } from '../record.js';

/** Kafka's default statestore.cache.max.bytes: 10 MiB. */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;

/** What an entry costs beyond its key and value bytes (object, map slot, timestamps): an approximation, as Kafka's. */
export const ENTRY_OVERHEAD_BYTES = 64;

export interface CacheEntry {
  /** The store's key bytes (a window store's entry also has its window start). */
  readonly key: Buffer;
  readonly windowStart: number;
  /** Serialized; null: deleted. */
  readonly value: Buffer | null;
  /** The record that made the entry: its changelog record and its forwarded result carry this. */
  readonly timestamp: number;
  readonly headers: Headers;
  dirty: boolean;
  readonly size: number;
}

/** Receives a cache's dirty entries, in the order they first became dirty since the last flush. */
export type CacheFlushHandler = (entries: readonly CacheEntry[]) => void;

export class NamedCache {
  /** Insertion order is recency: a touched entry is moved to the end, the first one is the eldest. */
  private readonly entries = new Map<string, CacheEntry>();
  private dirty = new Set<string>();
  private bytes = 0;

  constructor(readonly name: string, private readonly owner: RecordCache, private readonly onFlush: CacheFlushHandler) {}

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** The entry for id, made the most recently used; undefined when the cache does not hold it. */
  get(id: string): CacheEntry | undefined {
    const e = this.entries.get(id);
    if (e !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, e);
    }
    return e;
  }

  /** Without touching recency (range scans of interactive queries). */
  values(): IterableIterator<CacheEntry> {
    return this.entries.values();
  }

  /** A dirty entry (a store update); evicts over budget, which may flush this cache. */
  put(id: string, key: Buffer, windowStart: number, value: Buffer | null, timestamp: number, headers: Headers): void {
    const size = key.length + (value?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    this.remove(id);
    this.entries.set(id, { key, windowStart, value, timestamp, headers, dirty: true, size });
    this.bytes += size;
    this.owner.added(size);
    // A Set keeps the position of a key already in it: the flush order is that of the first update.
    this.dirty.add(id);
    this.owner.maybeEvict(this);
  }

  private remove(id: string): void {
    const old = this.entries.get(id);
    if (old === undefined) return;
    this.entries.delete(id);
    this.bytes -= old.size;
    this.owner.added(-old.size);
  }

  /** Hands every dirty entry to the store and marks it clean; returns whether there was any. */
  flush(): boolean {
    if (this.dirty.size === 0) return false;
    const ids = this.dirty;
    // Entries made dirty by the flush itself (a listener writing back) wait for the next one.
    this.dirty = new Set();
    const batch: CacheEntry[] = [];
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e === undefined || !e.dirty) continue;
      e.dirty = false;
      batch.push(e);
    }
    this.onFlush(batch);
    return batch.length > 0;
  }

  /** Drops the least recently used entry, flushing the dirty ones first when it is dirty; false when empty. */
  evictOne(): boolean {
    const first = this.entries.entries().next();
    if (first.done === true) return false;
    const [id, e] = first.value;
    if (e.dirty) this.flush();
    // The flush may have touched or replaced it: drop whatever is eldest now only if it is still this id.
    if (this.entries.get(id) === e) this.remove(id);
    this.owner.evictions++;
    return true;
  }

  /** Drops what the cache holds and leaves the budget (its store closed). */
  close(): void {
    this.owner.close(this);
  }

  /** Drops everything without flushing (a task closed dirty, or the store wiped). */
  clear(): void {
    this.owner.added(-this.bytes);
    this.entries.clear();
    this.dirty.clear();
    this.bytes = 0;
  }
}

/** One instance's caches and their shared budget. */
export class RecordCache {
  private readonly caches = new Map<string, NamedCache>();
  private bytes = 0;
  /** Entries evicted to stay within the budget (a metric, and what the tests watch). */
  evictions = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`statestore.cache.max.bytes must be >= 0, got ${maxBytes}`);
  }

  /** Caching is on only with a positive budget: 0 means every update goes straight to its store. */
  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** A store's cache in a task (name: "<task id>-<store>"); one left open by a task closed dirty is dropped. */
  open(name: string, onFlush: CacheFlushHandler): NamedCache {
    this.caches.get(name)?.close();
    const c = new NamedCache(name, this, onFlush);
    this.caches.set(name, c);
    return c;
  }

  /** Forgets a store's cache (its store closed); what it held is dropped. */
  close(cache: NamedCache): void {
    cache.clear();
    if (this.caches.get(cache.name) === cache) this.caches.delete(cache.name);
  }

  /** @internal NamedCache's accounting. */
  added(bytes: number): void {
    this.bytes += bytes;
  }

  /** @internal Over budget: evicts from the cache that was written (Kafka's choice: the task in flight pays). */
  maybeEvict(cache: NamedCache): void {
    while (this.bytes > this.maxBytes && cache.evictOne()) { /* evicted one */ }
  }
}

/** The id of a key-value entry: its bytes as a string of one char per byte. */
export function kvCacheId(key: Buffer): string {
  return key.toString('latin1');
}

/** The id of a window entry: the window start, then the key's bytes. */
export function windowCacheId(key: Buffer, windowStart: number): string {
  return `${windowStart}|${key.toString('latin1')}`;
}

/** The statestore.cache.max.bytes of the props (or its deprecated name cache.max.bytes.buffering), else the default. */
export function cacheMaxBytes(props: { [key: string]: unknown }): number {
  const v = props['statestore.cache.max.bytes'] ?? props['cache.max.bytes.buffering'];
  if (v === undefined) return DEFAULT_CACHE_MAX_BYTES;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new RangeError(`statestore.cache.max.bytes must be an integer >= 0, got ${String(v)}`);
  return n;
}
