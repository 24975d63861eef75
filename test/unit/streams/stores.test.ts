import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore, Serdes, Window, Windowed, timestampedSerde, type ChangeLogger, type StoreContext,
} from '../../../src/streams/index.js';

const S = Serdes.String();

function context(log: Array<[string, string | null, number]>): StoreContext {
  let ts = 0;
  const logger: ChangeLogger = { logChange: (k, v, t) => log.push([k.toString('hex'), v === null ? null : v.toString('hex'), t]) };
  return { applicationId: 'a', props: { 'application.id': 'a' }, changelogTopic: 'a-s-changelog', changeLogger: logger, recordTimestamp: () => (ts += 10) };
}

test('a key-value store logs every write, a delete as a null value, in serialized bytes', () => {
  const log: Array<[string, string | null, number]> = [];
  const store = new InMemoryKeyValueStore('s', S, Serdes.Long());
  store.init(context(log));
  store.put('a', 1);
  assert.equal(store.putIfAbsent('a', 5), 1);
  store.delete('a');
  store.delete('missing');
  assert.deepEqual(log, [
    ['61', '0000000000000001', 10],
    ['61', null, 20],
  ]);
});

test('key-value ranges follow the byte order of serialized keys', () => {
  const store = new InMemoryKeyValueStore('s', S, S);
  for (const k of ['b', 'a', 'ab', 'B', 'é']) store.put(k, k.toUpperCase());
  assert.deepEqual([...store.all()].map((e) => e.key), ['B', 'a', 'ab', 'b', 'é']);
  assert.deepEqual([...store.range('a', 'b')].map((e) => e.key), ['a', 'ab', 'b']);
  assert.deepEqual([...store.range(undefined, 'a')].map((e) => e.key), ['B', 'a']);
});

test('a window store drops windows older than its retention and keeps duplicates when asked', () => {
  const log: Array<[string, string | null, number]> = [];
  const store = new InMemoryWindowStore('w', 20, 10, false, S, S);
  store.init(context(log));
  store.put('k', 'v0', 0);
  store.put('k', 'v10', 10);
  store.put('k', 'v10b', 10);
  assert.deepEqual([...store.fetchRange('k', 0, 100)], [{ key: 0, value: 'v0' }, { key: 10, value: 'v10b' }]);
  store.put('j', 'v30', 30); // observed 30: window 0 is past retention 20, window 10 is not
  assert.deepEqual([...store.all()].map((e) => `${e.key.key}@${e.key.window.start}-${e.key.window.end}`), ['j@30-40', 'k@10-20']);
  store.put('k', 'too-old', 5);
  assert.equal(store.fetch('k', 5), null);
  assert.equal(log.length, 4, 'the expired write was not logged');
  assert.equal(log[0][0], '6b' + '0000000000000000', 'changelog key: key bytes, then the window start');

  const dup = new InMemoryWindowStore('d', 100, 0, true, S, S);
  dup.put('k', 'x', 5);
  dup.put('k', 'y', 5);
  dup.put('k', null, 5);
  assert.deepEqual([...dup.fetchRange('k', 5, 5)].map((e) => e.value), ['x', 'y']);
});

test('a session store finds sessions overlapping [earliest end, latest start] and removes by window', () => {
  const store = new InMemorySessionStore('s', 100, S, Serdes.Long());
  store.put(new Windowed('k', new Window(0, 5)), 2);
  store.put(new Windowed('k', new Window(10, 20)), 3);
  store.put(new Windowed('j', new Window(0, 50)), 9);
  assert.deepEqual([...store.findSessions('k', 6, 30)].map((e) => e.value), [3]);
  assert.deepEqual([...store.findSessions('k', 0, 10)].map((e) => e.value), [2, 3]);
  store.remove(new Windowed('k', new Window(0, 5)));
  assert.deepEqual([...store.fetch('k')].map((e) => e.key.window.toString()), ['[10,20]']);
  assert.equal(store.fetchSession('j', 0, 50), 9);
});

test('a timestamped value is the 8-byte timestamp followed by the value bytes', () => {
  const serde = timestampedSerde(Serdes.String());
  const b = serde.serialize('t', { value: 'hi', timestamp: 258 })!;
  assert.deepEqual(b, Buffer.from([0, 0, 0, 0, 0, 0, 1, 2, 0x68, 0x69]));
  assert.deepEqual(serde.deserialize('t', b), { value: 'hi', timestamp: 258 });
  assert.equal(serde.serialize('t', null), null);
});
