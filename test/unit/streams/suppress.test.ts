import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BufferConfig, Consumed, Materialized, Produced, Serdes, SessionWindows, StreamsBuilder, Suppressed, TimeWindows,
  TopologyTestDriver, type Windowed,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const L = Serdes.Long();
const props = { 'application.id': 'sup', 'default.key.serde': S, 'default.value.serde': S };
const wkey = (w: Windowed<string>): string => `${w.key}@${w.window.start}`;

test('untilWindowCloses emits each window once, with its final count, when stream time passes end + grace', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10, 5)).count()
    .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
    .toStream(wkey).to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  const out = driver.createOutputTopic('out', S, L);
  const step = (k: string, ts: number): string[] => {
    input.pipeInput(k, 'v', ts);
    return out.readKeyValuesToList().map((kv) => `${kv.key}=${kv.value}`);
  };
  assert.deepEqual(step('k', 1), []);
  assert.deepEqual(step('k', 5), []);
  assert.deepEqual(step('j', 2), []);
  assert.deepEqual(step('k', 12), []);
  assert.deepEqual(step('j', 14), [], '[0,10) is open until stream time 15');
  assert.deepEqual(step('k', 15), ['j@0=1', 'k@0=2']);
  assert.deepEqual(step('k', 3), [], 'late for [0,10): dropped by the aggregation, nothing re-emitted');
  assert.deepEqual(step('k', 30), ['j@10=1', 'k@10=2']);
  assert.equal(driver.metrics()['dropped-records-total'], 1);
});

test('untilWindowCloses on sessions waits for gap + grace after the session end, and drops merged-away sessions', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5)).count()
    .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
    .toStream((w) => `${w.key}@${w.window.start}-${w.window.end}`).to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'v', 0);
  input.pipeInput('k', 'v', 4); // merges: [0,0] is deleted while buffered, never emitted
  input.pipeInput('k', 'v', 9); // [0,9]: a record at 14 could still extend it
  input.pipeInput('j', 'v', 14);
  const out = driver.createOutputTopic('out', S, L);
  assert.deepEqual(out.readKeyValuesToList(), []);
  input.pipeInput('j', 'v', 15);
  assert.deepEqual(out.readKeyValuesToList(), [{ key: 'k@0-9', value: 3 }]);
});

test('untilTimeLimit emits the latest value a time limit after the first buffered update of a key', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().count(Materialized.as('c'))
    .suppress(Suppressed.untilTimeLimit(10, BufferConfig.unbounded()))
    .toStream().to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  const out = driver.createOutputTopic('out', S, L);
  input.pipeInput('k', 'v', 0);
  input.pipeInput('k', 'v', 3);
  input.pipeInput('j', 'v', 5);
  assert.ok(out.isEmpty());
  input.pipeInput('k', 'v', 12);
  assert.deepEqual(out.readKeyValuesToList(), [{ key: 'k', value: 3 }]);
  input.pipeInput('k', 'v', 20);
  assert.deepEqual(out.readKeyValuesToList(), [{ key: 'j', value: 1 }]);
});

test('a full buffer fails (final results) or emits the oldest early (emitEarlyWhenFull)', () => {
  const windowed = new StreamsBuilder();
  windowed.stream('in', Consumed.with(S, S)).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count()
    .suppress(Suppressed.untilWindowCloses(BufferConfig.maxRecords(1))).toStream(wkey).to('out', Produced.with(S, L));
  const d1 = new TopologyTestDriver(windowed.build(), props, 0);
  const in1 = d1.createInputTopic('in', S, S);
  in1.pipeInput('a', 'v', 1);
  assert.throws(() => in1.pipeInput('b', 'v', 2), /suppression buffer full \(1 records\)/);
  assert.throws(() => Suppressed.untilWindowCloses(BufferConfig.maxRecords(1).emitEarlyWhenFull()), /shuts down when full/);

  const plain = new StreamsBuilder();
  plain.stream('in', Consumed.with(S, S)).groupByKey().count()
    .suppress(Suppressed.untilTimeLimit(100, BufferConfig.maxRecords(1).emitEarlyWhenFull())).toStream().to('out', Produced.with(S, L));
  const d2 = new TopologyTestDriver(plain.build(), props, 0);
  const in2 = d2.createInputTopic('in', S, S);
  in2.pipeInput('a', 'v', 1);
  in2.pipeInput('b', 'v', 2);
  assert.deepEqual(d2.createOutputTopic('out', S, L).readKeyValuesToList(), [{ key: 'a', value: 1 }]);
});

test('suppress(untilWindowCloses) on an unwindowed table is refused when the topology is built', () => {
  const b = new StreamsBuilder();
  const t = b.stream('in', Consumed.with(S, S)).groupByKey().count();
  assert.throws(() => t.suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded())), /needs a windowed aggregation/);
});
