import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Materialized, Produced, Serdes, SessionWindows, SlidingWindows, StreamsBuilder, TimeWindows,
  TopologyTestDriver, type Windowed,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const L = Serdes.Long();
const props = { 'application.id': 'win', 'default.key.serde': S, 'default.value.serde': S };
const wkey = (w: Windowed<string>): string => `${w.key}@${w.window.start}-${w.window.end}`;

function drive(b: StreamsBuilder, records: Array<[string, number]>) {
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  for (const [k, ts] of records) input.pipeInput(k, 'v', ts);
  return { driver, out: driver.createOutputTopic('out', S, L).readKeyValuesToList().map((kv) => `${kv.key}=${kv.value}`) };
}

test('TimeWindows.windowsFor: tumbling windows align to the epoch; hopping ones overlap, earliest first', () => {
  assert.deepEqual(TimeWindows.ofSizeWithNoGrace(10).windowsFor(17).map((w) => [w.start, w.end]), [[10, 20]]);
  assert.deepEqual(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5).windowsFor(17).map((w) => [w.start, w.end]), [[10, 20], [15, 25]]);
  assert.deepEqual(TimeWindows.ofSizeWithNoGrace(10).advanceBy(3).windowsFor(4).map((w) => [w.start, w.end]), [[0, 10], [3, 13]]);
  assert.throws(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11), /advance must be/);
});

test('tumbling count: a window closes at end + grace against stream time; later records for it are dropped and counted', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10, 5)).count(Materialized.as('wc'))
    .toStream(wkey).to('out', Produced.with(S, L));
  // Stream time 12 leaves [0,10) open until 15: ts 3 still counts; at stream time 16 ts 4 is late.
  const { driver, out } = drive(b, [['k', 1], ['k', 5], ['k', 12], ['k', 3], ['k', 16], ['k', 4], ['k', 15]]);
  assert.deepEqual(out, ['k@0-10=1', 'k@0-10=2', 'k@10-20=1', 'k@0-10=3', 'k@10-20=2', 'k@10-20=3']);
  assert.equal(driver.metrics()['dropped-records-total'], 1);
  assert.deepEqual([...driver.metrics().droppedByReason], [['window closed', 1]]);
  const store = driver.getWindowStore<string, number>('wc');
  assert.deepEqual([...store.fetchRange('k', 0, 20)], [{ key: 0, value: 3 }, { key: 10, value: 3 }]);
  assert.equal(store.fetch('k', 10), 3);
  assert.deepEqual(driver.getTimestampedWindowStore<string, number>('wc').fetch('k', 0), { value: 3, timestamp: 5 }, 'the largest timestamp of the window');
  assert.deepEqual([...store.fetchAll(0, 100)].map((e) => `${wkey(e.key)}=${e.value}`), ['k@0-10=3', 'k@10-20=3']);
});

test('hopping count: a record lands in every window covering it', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5)).count()
    .toStream(wkey).to('out', Produced.with(S, L));
  const { out } = drive(b, [['k', 7], ['k', 12]]);
  assert.deepEqual(out, ['k@0-10=1', 'k@5-15=1', 'k@5-15=2', 'k@10-20=1']);
});

test('sliding windows: one window per distinct set of records within the time difference, ends included', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).count()
    .toStream(wkey).to('out', Produced.with(S, L));
  // 20: [10,20]. 25: its left window [15,25] holds both; 20's right window [21,31] opens with 25 alone.
  // 40: [30,40] alone. 22 is late: every window holding it ended before stream time 40.
  const { driver, out } = drive(b, [['k', 20], ['k', 25], ['k', 40], ['k', 22]]);
  assert.deepEqual(out, ['k@10-20=1', 'k@15-25=2', 'k@21-31=1', 'k@30-40=1']);
  assert.equal(driver.metrics()['dropped-records-total'], 1);
});

test('sliding windows: an out-of-order record within grace updates every window holding it and opens its own', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 20)).count()
    .toStream(wkey).to('out', Produced.with(S, L));
  const { out } = drive(b, [['k', 20], ['k', 25], ['k', 18]]);
  assert.deepEqual(out.slice(3), ['k@8-18=1', 'k@10-20=2', 'k@15-25=3', 'k@19-29=2']);
});

test('session windows merge when records fall within the gap; merged sessions are deleted downstream', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 10)).count(Materialized.as('sessions'))
    .toStream(wkey).to('out', Produced.with(S, L));
  const { driver, out } = drive(b, [['k', 0], ['k', 3], ['k', 20], ['k', 11], ['k', 15], ['k', 2], ['j', 1]]);
  assert.deepEqual(out, [
    'k@0-0=1',
    'k@0-0=null', 'k@0-3=2',
    'k@20-20=1',
    'k@11-11=1',
    'k@11-11=null', 'k@20-20=null', 'k@11-20=3',
    // k@2 would extend [0,3], which ended before stream time 20 - grace 10: dropped. So is j@1.
  ]);
  assert.equal(driver.metrics()['dropped-records-total'], 2);
  // The store keeps a session for gap + grace after its end: [0,3] is gone at stream time 20.
  const store = driver.getSessionStore<string, number>('sessions');
  assert.deepEqual([...store.fetch('k')].map((e) => `${wkey(e.key)}=${e.value}`), ['k@11-20=3']);
  assert.equal(store.fetchSession('k', 11, 20), 3);
});

test('session reduce merges the aggregates of merged sessions', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).mapValues((_v, k) => k.length).groupByKey(undefined)
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 5))
    .aggregate(() => '', (_k, v, agg) => `${agg}${v}`, (_k, a, c) => `${a}|${c}`, Materialized.with(S, S))
    .toStream(wkey).to('out', Produced.with(S, S));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('ab', 'x', 0);
  input.pipeInput('ab', 'x', 10);
  input.pipeInput('ab', 'x', 5);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['2', '2', null, null, '|2|22']);
});

test('sliding windows: records earlier than the time difference share the window [0, timeDifference]', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).count()
    .toStream(wkey).to('out', Produced.with(S, L));
  const { out } = drive(b, [['k', 3], ['k', 8], ['k', 15]]);
  // 3: [0,10]. 8: [0,10] again, and 3's right window [4,14]. 15: [5,15] (8 and 15), 8's right window [9,19].
  assert.deepEqual(out, ['k@0-10=1', 'k@0-10=2', 'k@4-14=1', 'k@5-15=2', 'k@9-19=1']);
});

test('a session result carries the session end as its timestamp; a merged-away session its own end', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5)).count()
    .toStream(wkey).to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'v', 10);
  input.pipeInput('k', 'v', 6);
  assert.deepEqual(driver.createOutputTopic('out', S, L).readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`), [
    'k@10-10=1@10', 'k@10-10=null@10', 'k@6-10=2@10',
  ]);
});
