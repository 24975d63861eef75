import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder, TopologyTestDriver, type TimestampedKeyValueStore,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const L = Serdes.Long();
const props = { 'application.id': 'agg', 'default.key.serde': S, 'default.value.serde': S };

test('groupByKey().count() emits every update (no caching) and the store holds the counts', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts')).toStream().to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  for (const k of ['a', 'b', 'a', 'a', 'c', 'b']) input.pipeInput(k, 'x', 1);
  const out = driver.createOutputTopic('out', S, L);
  assert.deepEqual(out.readKeyValuesToList(), [
    { key: 'a', value: 1 }, { key: 'b', value: 1 }, { key: 'a', value: 2 }, { key: 'a', value: 3 }, { key: 'c', value: 1 }, { key: 'b', value: 2 },
  ]);
  const store = driver.getKeyValueStore<string, number>('counts');
  assert.equal(store.get('a'), 3);
  assert.equal(store.get('zz'), null);
  assert.deepEqual([...store.all()], [{ key: 'a', value: 3 }, { key: 'b', value: 2 }, { key: 'c', value: 1 }]);
  assert.deepEqual([...store.range('b', 'c')].map((e) => e.key), ['b', 'c']);
  assert.equal(store.approximateNumEntries(), 3);
});

test('records with a null key or value are dropped by aggregations and counted', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').groupByKey().count(Materialized.as('c'));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput(null, 'v', 0);
  input.pipeInput('k', null, 0);
  input.pipeInput('k', 'v', 0);
  assert.equal(driver.getKeyValueStore<string, number>('c').get('k'), 1);
  assert.equal(driver.metrics()['dropped-records-total'], 2);
  assert.equal(driver.metrics()['process-total'], 3);
});

test('reduce keeps the first value as it is and folds the rest; aggregate starts from the initializer', () => {
  const b = new StreamsBuilder();
  const words = b.stream('in', Consumed.with(S, S));
  words.groupByKey().reduce((agg, v) => `${agg}+${v}`, Materialized.as('joined')).toStream().to('reduced');
  words.groupByKey()
    .aggregate(() => ({ n: 0, chars: 0 }), (_k, v, agg) => ({ n: agg.n + 1, chars: agg.chars + v.length }), Materialized.with(S, Serdes.JSON<{ n: number; chars: number }>()))
    .toStream().to('aggregated', Produced.with(S, Serdes.JSON<{ n: number; chars: number }>()));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'ab', 0);
  input.pipeInput('k', 'c', 0);
  input.pipeInput('j', 'def', 0);
  assert.deepEqual(driver.createOutputTopic('reduced', S, S).readValuesToList(), ['ab', 'ab+c', 'def']);
  assert.deepEqual(driver.createOutputTopic('aggregated', S, Serdes.JSON()).readValuesToList(), [{ n: 1, chars: 2 }, { n: 2, chars: 3 }, { n: 1, chars: 3 }]);
  assert.equal(driver.getKeyValueStore<string, string>('joined').get('k'), 'ab+c');
});

test('groupBy repartitions through <application.id>-<name>-repartition and counts by the new key', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S))
    .groupBy((_k, v) => v.split('@')[1], Grouped.with(S, S).withName('by-domain'))
    .count(Materialized.as('per-domain'))
    .toStream().to('out', Produced.with(S, L));
  const topology = b.build();
  assert.deepEqual(topology.internalTopics('agg'), { repartition: ['agg-by-domain-repartition'], changelog: ['agg-per-domain-changelog'] });
  const driver = new TopologyTestDriver(topology, props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('1', 'ann@x.org', 10);
  input.pipeInput('2', 'bob@y.org', 20);
  input.pipeInput('3', 'cy@x.org', 30);
  input.pipeInput('4', 'nodomain', 40); // the selector returns undefined: dropped before the repartition topic
  const out = driver.createOutputTopic('out', S, L);
  assert.deepEqual(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]), [['x.org', 1, 10], ['y.org', 1, 20], ['x.org', 2, 30]]);
  // The driver names a repartition topic as the application does (<application.id>-<name>).
  assert.deepEqual(driver.createOutputTopic('by-domain-repartition', S, S).readKeyValuesToList().map((kv) => kv.key), ['x.org', 'y.org', 'x.org']);
});

test('a key-changing map before groupByKey repartitions (named after the store); mapValues does not', () => {
  const keyed = new StreamsBuilder();
  keyed.stream<string, string>('in').selectKey((_k, v) => v).groupByKey().count();
  assert.deepEqual(keyed.build().internalTopics('a').repartition, ['a-KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition']);
  const values = new StreamsBuilder();
  values.stream<string, string>('in').mapValues((v) => v.length).groupByKey().count();
  assert.deepEqual(values.build().internalTopics('a').repartition, []);
});

test('the Processor API reaches a DSL store connected by name: values come with their timestamps', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').groupByKey().count(Materialized.as('counts'));
  b.stream<string, string>('lookups').process<string, string>(() => {
    let store: TimestampedKeyValueStore<string, number>;
    let forward: (k: string, v: string, ts: number) => void;
    return {
      init(ctx) {
        store = ctx.getStateStore('counts');
        forward = (k, v, ts) => ctx.forward({ key: k, value: v, timestamp: ts, headers: [] } as never);
      },
      process(r) {
        const c = store.get(r.key);
        forward(r.key, c ? `${c.value}@${c.timestamp}` : '0', r.timestamp);
      },
    };
  }, 'counts').to('answers');
  // A store shared by two processors joins them into one sub-topology.
  assert.equal(b.build().describe().subtopologies.length, 1);
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('a', 'x', 7);
  input.pipeInput('a', 'y', 3);
  driver.createInputTopic('lookups', S, S).pipeInput('a', '?', 0);
  assert.deepEqual(driver.createOutputTopic('answers', S, S).readKeyValue(), { key: 'a', value: '2@7' });
});

test('an aggregate carries the largest timestamp of its records; the timestamped store has it too', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).groupByKey().count(Materialized.as('c')).toStream().to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'v', 50);
  input.pipeInput('k', 'v', 20);
  input.pipeInput('j', 'v', 30);
  assert.deepEqual(driver.createOutputTopic('out', S, L).readRecordsToList().map((r) => `${r.key}=${r.value}@${r.timestamp}`), ['k=1@50', 'k=2@50', 'j=1@30']);
  assert.deepEqual(driver.getTimestampedKeyValueStore<string, number>('c').get('k'), { value: 2, timestamp: 50 });
  assert.equal(driver.getKeyValueStore<string, number>('c').get('k'), 2);
});

test('two aggregations of one re-keyed grouped stream share its repartition topic', () => {
  const b = new StreamsBuilder();
  const grouped = b.stream('in', Consumed.with(S, S)).groupBy((_k, v) => v, Grouped.as('by-value'));
  grouped.count(Materialized.as('n')).toStream().to('counts', Produced.with(S, L));
  grouped.reduce((a, v) => a + v, Materialized.as('concat')).toStream().to('concat');
  const topology = b.build();
  assert.deepEqual(topology.internalTopics('agg').repartition, ['agg-by-value-repartition']);
  const driver = new TopologyTestDriver(topology, props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('1', 'x', 0);
  input.pipeInput('2', 'x', 0);
  assert.deepEqual(driver.createOutputTopic('counts', S, L).readValuesToList(), [1, 2]);
  assert.deepEqual(driver.createOutputTopic('concat', S, S).readValuesToList(), ['x', 'xx']);
});
