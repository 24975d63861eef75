import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Grouped, InMemoryKeyValueStore, InMemoryWindowStore, Materialized, Produced, Serdes, StreamsBuilder, TaskId, TimeWindows, TopologyTestDriver,
  timestampedSerde, type ChangeLogger, type StoreContext, type Topology,
} from '../../../src/streams/index.js';
import { cacheMaxBytes, RecordCache, ENTRY_OVERHEAD_BYTES, type CacheEntry } from '../../../src/streams/state/record-cache.js';
import type { CacheFlush } from '../../../src/streams/state/stores.js';
import { StreamTask, type TaskEnvironment } from '../../../src/streams/task.js';

const S = Serdes.String();
const L = Serdes.Long();

/** A store context with a changelog that records (key, value, timestamp) and a cache from `cache`. */
function context(log: Array<[string, string | null, number]>, cache: RecordCache | null, name = 's'): StoreContext & { ts: number } {
  const logger: ChangeLogger = { logChange: (k, v, t) => log.push([k.toString(), v === null ? null : v.toString(), t]) };
  const ctx = {
    ts: 0,
    applicationId: 'a', props: { 'application.id': 'a' }, changelogTopic: `a-${name}-changelog`, changeLogger: logger,
    recordTimestamp: () => ctx.ts,
    openCache: (onFlush: (entries: readonly CacheEntry[]) => void) => (cache?.enabled ? cache.open(`0_0-${name}`, onFlush) : null),
  };
  return ctx;
}

test('updates to one key in the cache replace each other: one store write, changelog record and forward per flush', () => {
  const log: Array<[string, string | null, number]> = [];
  const cache = new RecordCache(1 << 20);
  const store = new InMemoryKeyValueStore('s', S, S);
  const ctx = context(log, cache);
  store.init(ctx);
  const flushed: Array<CacheFlush<string, string>> = [];
  assert.equal(store.setFlushListener((f) => flushed.push(f)), true, 'the store caches');
  for (let i = 1; i <= 5; i++) {
    ctx.ts = i * 10;
    store.put('a', `v${i}`);
  }
  store.put('b', 'x');
  assert.equal(store.get('a'), 'v5', 'reads see the cache');
  assert.deepEqual(log, [], 'nothing logged before the flush');
  store.flush();
  assert.deepEqual(log, [['a', 'v5', 50], ['b', 'x', 50]], 'the latest value per key, with the timestamp of its last update');
  assert.deepEqual(flushed.map((f) => [f.key, f.newValue, f.oldValue, f.timestamp]), [['a', 'v5', null, 50], ['b', 'x', null, 50]]);
  // The next round forwards the value the store held as the old one; a delete of a key never flushed is nothing.
  ctx.ts = 60;
  store.put('a', 'v6');
  store.delete('b');
  store.put('c', 'tmp');
  store.delete('c');
  store.flush();
  assert.deepEqual(log.slice(2), [['a', 'v6', 60], ['b', null, 60]]);
  assert.deepEqual(flushed.slice(2).map((f) => [f.key, f.newValue, f.oldValue]), [['a', 'v6', 'v5'], ['b', null, 'x']]);
  store.flush();
  assert.equal(log.length, 4, 'a flush with nothing dirty writes nothing');
});

test('over budget the least recently used entry is evicted; a dirty one flushes every dirty entry first, in the order they became dirty', () => {
  const log: Array<[string, string | null, number]> = [];
  // Each entry: a 1-byte key, a 2-byte value and the overhead; room for exactly three.
  const cache = new RecordCache(3 * (3 + ENTRY_OVERHEAD_BYTES));
  const store = new InMemoryKeyValueStore('s', S, S);
  store.init(context(log, cache));
  store.put('c', 'c1');
  store.put('a', 'a1');
  store.put('b', 'b1');
  store.get('c'); // c is now the most recently used: a is the eldest
  assert.equal(cache.sizeBytes, 3 * (3 + ENTRY_OVERHEAD_BYTES));
  store.put('d', 'd1'); // over budget: a goes, dirty, so c, a, b, d are flushed (first-dirtied first)
  assert.deepEqual(log.map((e) => e[0]), ['c', 'a', 'b', 'd']);
  assert.equal(cache.evictions, 1);
  assert.equal(cache.sizeBytes, 3 * (3 + ENTRY_OVERHEAD_BYTES), 'within the budget again');
  // The evicted key is read from the store; the others are clean in the cache.
  assert.equal(store.get('a'), 'a1');
  store.put('e', 'e1'); // evicts the clean eldest (b: a was read back from the store, not cached): no flush
  assert.deepEqual(log.map((e) => e[0]), ['c', 'a', 'b', 'd'], 'evicting a clean entry writes nothing');
  assert.equal(cache.evictions, 2);
  store.flush();
  assert.deepEqual(log.map((e) => e[0]), ['c', 'a', 'b', 'd', 'e']);
  assert.deepEqual([...store.all()].map((e) => `${e.key}=${e.value}`), ['a=a1', 'b=b1', 'c=c1', 'd=d1', 'e=e1']);
});

test('ranges and window fetches read through the cache: cached values and deletes lie over the store', () => {
  const log: Array<[string, string | null, number]> = [];
  const cache = new RecordCache(1 << 20);
  const kv = new InMemoryKeyValueStore('s', S, S);
  kv.init(context(log, cache));
  for (const k of ['a', 'c', 'e']) kv.put(k, k);
  kv.flush();
  kv.put('b', 'B');
  kv.put('c', 'C');
  kv.delete('e');
  kv.put('f', 'F');
  assert.deepEqual([...kv.all()].map((e) => `${e.key}=${e.value}`), ['a=a', 'b=B', 'c=C', 'f=F']);
  assert.deepEqual([...kv.range('b', 'e')].map((e) => `${e.key}=${e.value}`), ['b=B', 'c=C']);
  assert.equal(kv.approximateNumEntries(), 4, 'the store\'s 3, plus b and f, less e');

  const w = new InMemoryWindowStore('w', 1000, 10, false, S, timestampedSerde(L));
  w.init(context(log, cache, 'w'));
  w.put('k', { value: 1, timestamp: 5 }, 0);
  w.flush();
  w.put('k', { value: 2, timestamp: 6 }, 0);
  w.put('k', { value: 7, timestamp: 15 }, 10);
  w.put('j', { value: 3, timestamp: 12 }, 10);
  assert.deepEqual(w.fetch('k', 0), { value: 2, timestamp: 6 });
  assert.deepEqual([...w.fetchRange('k', 0, 100)].map((e) => `${e.key}:${e.value.value}`), ['0:2', '10:7']);
  assert.deepEqual([...w.all()].map((e) => `${e.key.key}@${e.key.window.start}-${e.key.window.end}:${e.value.value}`), ['j@10-20:3', 'k@0-10:2', 'k@10-20:7']);
});

/** A task of `topology`'s first sub-topology whose sink output is collected: the runtime's commit calls task.flush(). */
function task(topology: Topology, props: { [key: string]: unknown }): { task: StreamTask; out: string[]; pipe: (key: string, ts: number) => void } {
  const p = { 'application.id': 'cache', ...props };
  const plan = topology.build(p);
  const out: string[] = [];
  const env: TaskEnvironment = {
    props: p,
    collector: { send: (_topic, key, value) => out.push(`${key?.toString()}=${value === null ? null : Number((value as Buffer).readBigInt64BE(0))}`) },
    now: () => 0,
    globalStores: new Map(),
    changeLogger: () => null,
    partitionsFor: () => 1,
    decorate: plan.decorate,
    recordCache: new RecordCache(cacheMaxBytes(p)),
  };
  const t = new StreamTask(new TaskId(0, 0), plan.subtopologies[0], env);
  t.init();
  let offset = 0;
  return { task: t, out, pipe: (key, ts) => { t.process('in', 0, offset++, Buffer.from(key), Buffer.from('v'), ts, []); } };
}

function countTopology(materialized: Materialized<string, number> = Materialized.with(S, L)): Topology {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey(Grouped.with(S, S)).count(materialized).toStream().to('out', Produced.with(S, L));
  return b.build();
}

test('a cached count forwards nothing until the flush before a commit, then the latest count per key', () => {
  const t = task(countTopology(), {});
  for (const k of ['a', 'b', 'a', 'a', 'b', 'c']) t.pipe(k, 1);
  assert.deepEqual(t.out, [], 'nothing forwarded while the cache holds the updates');
  t.task.flush();
  assert.deepEqual(t.out, ['a=3', 'b=2', 'c=1']);
  t.pipe('a', 2);
  t.task.close();
  assert.deepEqual(t.out, ['a=3', 'b=2', 'c=1', 'a=4'], 'a clean close flushes');
});

test('windowed counts are cached per key and window', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count(Materialized.with(S, L))
    .toStream((w) => `${w.key}@${w.window.start}`).to('out', Produced.with(S, L));
  const t = task(b.build(), {});
  for (const [k, ts] of [['a', 1], ['a', 2], ['b', 3], ['a', 12], ['a', 5]] as const) t.pipe(k, ts);
  t.task.flush();
  assert.deepEqual(t.out, ['a@0=2', 'b@0=1', 'a@10=1'], 'the late record (window 0 closed at stream time 12) is dropped, not cached');
});

test('a cache size of 0 (or the deprecated name, or withCachingDisabled) forwards every update at once', () => {
  for (const props of [{ 'statestore.cache.max.bytes': 0 }, { 'cache.max.bytes.buffering': 0 }]) {
    const t = task(countTopology(), props);
    for (const k of ['a', 'a', 'b']) t.pipe(k, 1);
    assert.deepEqual(t.out, ['a=1', 'a=2', 'b=1'], JSON.stringify(props));
    t.task.close();
  }
  const t = task(countTopology(Materialized.with<string, number>(S, L).withCachingDisabled()), {});
  for (const k of ['a', 'a']) t.pipe(k, 1);
  assert.deepEqual(t.out, ['a=1', 'a=2']);
  t.task.close(false);
});

test('a task closed dirty drops what its cache held', () => {
  const t = task(countTopology(), {});
  for (const k of ['a', 'a']) t.pipe(k, 1);
  t.task.close(false);
  assert.deepEqual(t.out, []);
});

test('the TopologyTestDriver commits after every record, as Kafka\'s does: cached outputs look uncached', () => {
  const driver = new TopologyTestDriver(countTopology(Materialized.as<string, number>('counts').withValueSerde(L).withKeySerde(S)), { 'application.id': 'ttd-cache' }, 0);
  const input = driver.createInputTopic('in', S, S);
  for (const k of ['a', 'a', 'b']) input.pipeInput(k, 'x', 1);
  assert.deepEqual(driver.createOutputTopic('out', S, L).readKeyValuesToList(), [{ key: 'a', value: 1 }, { key: 'a', value: 2 }, { key: 'b', value: 1 }]);
  assert.equal(driver.getKeyValueStore<string, number>('counts').get('a'), 2);
  driver.close();
});

test('a cached table feeding a cached mapValues table: one flush drains both; a key added and deleted between flushes forwards nothing', () => {
  const b = new StreamsBuilder();
  b.table('in', Consumed.with(S, S), Materialized.as<string, string>('source'))
    .mapValues((v) => v.length, Materialized.as<string, number>('lengths').withValueSerde(L))
    .toStream().to('out', Produced.with(S, L));
  const plan = b.build().build({ 'application.id': 'tables' });
  const out: string[] = [];
  const t = new StreamTask(new TaskId(0, 0), plan.subtopologies[0], {
    props: { 'application.id': 'tables' },
    collector: { send: (_topic, key, value) => out.push(`${key?.toString()}=${value === null ? null : Number((value as Buffer).readBigInt64BE(0))}`) },
    now: () => 0, globalStores: new Map(), changeLogger: () => null, partitionsFor: () => 1, decorate: plan.decorate,
    recordCache: new RecordCache(1 << 20),
  });
  t.init();
  let offset = 0;
  const pipe = (k: string, v: string | null): void => { t.process('in', 0, offset++, Buffer.from(k), v === null ? null : Buffer.from(v), 1, []); };
  pipe('a', 'x');
  pipe('a', 'xyz');
  pipe('b', 'yy');
  pipe('c', 'tmp');
  pipe('c', null);
  assert.deepEqual(out, []);
  assert.equal(t.flushCaches(), true);
  assert.deepEqual(out, ['a=3', 'b=2'], 'the source\'s flush forwards into the lengths cache, which the same task flush drains');
  pipe('b', null);
  t.flush();
  assert.deepEqual(out, ['a=3', 'b=2', 'b=null'], 'a delete of a flushed key is forwarded as a tombstone');
  assert.equal(t.flushCaches(), false, 'nothing left dirty');
  t.close();
});
