import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Consumed, Materialized, Produced, Serdes, SessionWindows, Stores, StreamsBuilder, TimeWindows, TopologyTestDriver, Window, Windowed,
  type KeyValueStore, type SessionStore, type StateStore, type StoreContext, type WindowStore,
} from '../../../src/streams/index.js';
import { lockTaskDirectory, readCheckpoint, writeCheckpoint, checkpointOffset } from '../../../src/streams/state/state-directory.js';

const S = Serdes.String();
const L = Serdes.Long();

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sstore-test-'));
}

function context(dir: string, log: string[] = []): StoreContext {
  return {
    applicationId: 'a', props: { 'application.id': 'a' }, changelogTopic: 'c',
    changeLogger: { logChange: (k, v) => log.push(`${k.toString('hex')}=${v === null ? 'null' : v.toString('hex')}`) },
    recordTimestamp: () => 0, taskDir: () => dir,
  };
}

/** The same store operations on an in-memory and a persistent store: same results, same changelog. */
for (const kind of ['in-memory', 'persistent'] as const) {
  const kv = (name: string) => (kind === 'persistent' ? Stores.persistentKeyValueStore(name) : Stores.inMemoryKeyValueStore(name));
  const ws = (name: string, r: number, s: number, d: boolean) => (kind === 'persistent' ? Stores.persistentWindowStore(name, r, s, d) : Stores.inMemoryWindowStore(name, r, s, d));
  const ss = (name: string, r: number) => (kind === 'persistent' ? Stores.persistentSessionStore(name, r) : Stores.inMemorySessionStore(name, r));
  const open = <T extends StateStore>(store: T, dir: string, log?: string[]): T => {
    store.init(context(dir, log));
    return store;
  };

  test(`${kind} key-value store: put/get/delete/putIfAbsent, ranges in serialized-byte order, paging past 1000 keys`, () => {
    const dir = tempDir();
    try {
      const log: string[] = [];
      const store = open(Stores.keyValueStoreBuilder(kv('s'), S, S).build({ 'application.id': 'a' }), dir, log) as KeyValueStore<string, string>;
      assert.equal(store.persistent, kind === 'persistent');
      for (const k of ['b', 'a', 'ab', 'B', 'é', '']) store.put(k, k.toUpperCase());
      assert.deepEqual([...store.all()].map((e) => e.key), ['', 'B', 'a', 'ab', 'b', 'é']);
      assert.deepEqual([...store.range('a', 'b')].map((e) => e.key), ['a', 'ab', 'b']);
      assert.deepEqual([...store.range(undefined, 'a')].map((e) => e.key), ['', 'B', 'a']);
      assert.deepEqual([...store.range('b', undefined)].map((e) => e.key), ['b', 'é']);
      assert.equal(store.get('ab'), 'AB');
      assert.equal(store.putIfAbsent('ab', 'x'), 'AB');
      assert.equal(store.delete('ab'), 'AB');
      assert.equal(store.delete('ab'), null);
      assert.equal(store.get('ab'), null);
      assert.equal(store.approximateNumEntries(), 5);
      assert.deepEqual(log.slice(-1), ['6162=null']);
      // Writes while iterating (a processor updating what it scans) and ranges longer than one page.
      for (let i = 0; i < 2500; i++) store.put(`k${String(i).padStart(5, '0')}`, String(i));
      let n = 0;
      for (const e of store.range('k', 'l')) {
        store.put(e.key, `${e.value}!`);
        n++;
      }
      assert.equal(n, 2500);
      assert.equal(store.get('k02499'), '2499!');
      const keys = [...store.all()].map((e) => e.key);
      assert.deepEqual(keys, [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
      store.flush();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${kind} window store: fetch/fetchRange/fetchAll order, retention drops old windows, duplicates kept when asked`, () => {
    const dir = tempDir();
    try {
      const log: string[] = [];
      const store = open(Stores.windowStoreBuilder(ws('w', 20, 10, false), S, S).build({ 'application.id': 'a' }), dir, log) as WindowStore<string, string>;
      store.put('k', 'v0', 0);
      store.put('k', 'v10', 10);
      store.put('k', 'v10b', 10);
      assert.deepEqual([...store.fetchRange('k', 0, 100)], [{ key: 0, value: 'v0' }, { key: 10, value: 'v10b' }]);
      store.put('j', 'v30', 30); // observed 30: window 0 is past retention 20, window 10 is not
      assert.deepEqual([...store.all()].map((e) => `${e.key.key}@${e.key.window.start}-${e.key.window.end}`), ['j@30-40', 'k@10-20']);
      store.put('k', 'too-old', 5);
      assert.equal(store.fetch('k', 5), null);
      assert.equal(store.fetch('k', 10), 'v10b');
      assert.equal(log.length, 4, 'the expired write was not logged');
      store.put('k', null, 10);
      assert.equal(store.fetch('k', 10), null);
      store.close();

      const dup = open(Stores.windowStoreBuilder(ws('d', 100, 0, true), S, S).build({ 'application.id': 'a' }), dir) as WindowStore<string, string>;
      dup.put('k', 'x', 5);
      dup.put('k', 'y', 5);
      dup.put('k', null, 5);
      dup.put('a', 'z', 7);
      assert.deepEqual([...dup.fetchRange('k', 5, 5)].map((e) => e.value), ['x', 'y']);
      assert.deepEqual([...dup.fetchAll(0, 10)].map((e) => e.value), ['z', 'x', 'y']);
      dup.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${kind} session store: findSessions by end then start, merge by remove + put, retention`, () => {
    const dir = tempDir();
    try {
      const store = open(Stores.sessionStoreBuilder(ss('s', 100), S, L).build({ 'application.id': 'a' }), dir) as SessionStore<string, number>;
      store.put(new Windowed('k', new Window(0, 5)), 2);
      store.put(new Windowed('k', new Window(10, 20)), 3);
      store.put(new Windowed('j', new Window(0, 50)), 9);
      assert.deepEqual([...store.findSessions('k', 6, 30)].map((e) => e.value), [3]);
      assert.deepEqual([...store.findSessions('k', 0, 10)].map((e) => e.value), [2, 3]);
      // A merge: both sessions removed, the merged one put.
      store.remove(new Windowed('k', new Window(0, 5)));
      store.remove(new Windowed('k', new Window(10, 20)));
      store.put(new Windowed('k', new Window(0, 20)), 5);
      assert.deepEqual([...store.fetch('k')].map((e) => `${e.key.window.toString()}=${e.value}`), ['[0,20]=5']);
      assert.equal(store.fetchSession('j', 0, 50), 9);
      store.put(new Windowed('k', new Window(200, 200)), 1); // observed 200: sessions ending before 100 expire
      assert.deepEqual([...store.fetch('k')].map((e) => e.key.window.toString()), ['[200,200]']);
      assert.deepEqual([...store.fetch('j')], []);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a persistent store keeps what was flushed across a reopen and drops what was not (a crash)', () => {
  const dir = tempDir();
  try {
    const build = () => Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('s'), S, S).build({ 'application.id': 'a' });
    const a = build();
    a.init(context(dir));
    a.put('flushed', '1');
    a.flush();
    a.put('unflushed', '2');
    a.close(); // no flush: rolled back
    assert.ok(existsSync(join(dir, 's.db')));
    const b = build();
    b.init(context(dir));
    assert.equal(b.get('flushed'), '1');
    assert.equal(b.get('unflushed'), null);
    b.close();

    const w = () => Stores.windowStoreBuilder(Stores.persistentWindowStore('w', 20, 10, false), S, S).build({ 'application.id': 'a' });
    const w1 = w();
    w1.init(context(dir));
    w1.put('k', 'old', 0);
    w1.put('k', 'new', 30);
    w1.flush();
    w1.close();
    const w2 = w();
    w2.init(context(dir));
    w2.put('k', 'late', 5); // the observed stream time (30) survived the reopen: too old
    assert.equal(w2.fetch('k', 5), null);
    assert.deepEqual([...w2.all()].map((e) => e.value), ['new']);
    w2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a task directory is locked: a second holder fails clearly until the first releases it', () => {
  const dir = join(tempDir(), 'app', '0_0');
  try {
    const release = lockTaskDirectory(dir);
    assert.throws(() => lockTaskDirectory(dir), /task directory .*0_0 is locked/);
    release();
    const again = lockTaskDirectory(dir);
    again();
  } finally {
    rmSync(join(dir, '..', '..'), { recursive: true, force: true });
  }
});

test('checkpoint files round-trip in Kafka\'s text layout and are replaced atomically', () => {
  const dir = tempDir();
  try {
    assert.equal(readCheckpoint(dir).size, 0);
    writeCheckpoint(dir, [{ topic: 'app-s-changelog', partition: 3, offset: 41 }, { topic: 'app-t-changelog', partition: 3, offset: 7 }]);
    const cp = readCheckpoint(dir);
    assert.equal(checkpointOffset(cp, 'app-s-changelog', 3), 41);
    assert.equal(checkpointOffset(cp, 'app-t-changelog', 3), 7);
    assert.equal(checkpointOffset(cp, 'app-s-changelog', 2), undefined);
    assert.deepEqual(readdirSync(dir), ['.checkpoint']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the DSL with Materialized.as(a persistent supplier) in the TopologyTestDriver: counts on disk in a temp state dir removed on close', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().count(Materialized.as(Stores.persistentKeyValueStore('counts'))).toStream().to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), { 'application.id': 'ttd-persistent' }, 0);
  const input = driver.createInputTopic('in', S, S);
  const output = driver.createOutputTopic('out', S, L);
  for (const k of ['a', 'b', 'a', 'a']) input.pipeInput(k, 'x');
  assert.deepEqual(output.readKeyValuesToList().map((kv) => `${kv.key}=${kv.value}`), ['a=1', 'b=1', 'a=2', 'a=3']);
  const store = driver.getKeyValueStore<string, number>('counts');
  assert.equal(store.persistent, true);
  assert.equal(store.get('a'), 3);
  const stateDir = driver.props['state.dir'] as string | undefined;
  assert.equal(stateDir, undefined, 'the caller\'s props are left alone');
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith('ttd-state-'));
  driver.close();
  const after = readdirSync(tmpdir()).filter((d) => d.startsWith('ttd-state-'));
  assert.equal(after.length, dirs.length - 1, 'the temporary state dir is removed on close');
});

test('windowed and session counts on persistent suppliers, and a Processor API store builder, in the TopologyTestDriver', () => {
  const b = new StreamsBuilder();
  const stream = b.stream('in', Consumed.with(S, S));
  const grouped = stream.groupByKey();
  grouped.windowedBy(TimeWindows.ofSizeAndGrace(10, 5)).count(Materialized.as<string, number>(Stores.persistentWindowStore('wc', 100, 10, false)));
  grouped.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5)).count(Materialized.as<string, number>(Stores.persistentSessionStore('sc', 100)));
  b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('seen'), S, L));
  stream.process(() => {
    let store: KeyValueStore<string, number>;
    return {
      init(ctx) { store = ctx.getStateStore('seen'); },
      process(r) { store.put(r.key as string, (store.get(r.key as string) ?? 0) + 1); },
    };
  }, 'seen');
  const driver = new TopologyTestDriver(b.build(), { 'application.id': 'ttd-persistent-w' }, 0);
  try {
    const input = driver.createInputTopic('in', S, S);
    for (const [k, ts] of [['k', 1], ['k', 5], ['k', 12], ['j', 3], ['k', 30]] as const) input.pipeInput(k, 'x', ts);
    const w = driver.getWindowStore<string, number>('wc');
    assert.equal(w.persistent, true);
    assert.deepEqual([...w.fetchRange('k', 0, 30)], [{ key: 0, value: 2 }, { key: 10, value: 1 }, { key: 30, value: 1 }]);
    const s = driver.getSessionStore<string, number>('sc');
    assert.deepEqual([...s.fetch('k')].map((e) => `${e.key.window.toString()}=${e.value}`), ['[1,5]=2', '[12,12]=1', '[30,30]=1']);
    assert.equal(driver.getKeyValueStore<string, number>('seen').get('k'), 4);
  } finally {
    driver.close();
  }
});
