import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JoinWindows, Materialized, Serdes, Stores, StreamsBuilder, Topology, TopologyException,
} from '../../../src/streams/index.js';

test('describe() splits at the repartition topic and prints nodes as Kafka Streams does', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').filter(() => true).groupBy((_k, v) => v).count().toStream().to('out');
  assert.equal(b.build().describe().toString(), `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [in])
      --> KSTREAM-FILTER-0000000001
    Processor: KSTREAM-FILTER-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter
      <-- KSTREAM-FILTER-0000000001
    Processor: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter (stores: [])
      --> KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-sink (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition)
      <-- KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter

   Sub-topology: 1
    Source: KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition])
      --> KSTREAM-AGGREGATE-0000000004
    Processor: KSTREAM-AGGREGATE-0000000004 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000003])
      --> KTABLE-TOSTREAM-0000000005
      <-- KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-source
    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])
      --> KSTREAM-SINK-0000000006
      <-- KSTREAM-AGGREGATE-0000000004
    Sink: KSTREAM-SINK-0000000006 (topic: out)
      <-- KTABLE-TOSTREAM-0000000005

`);
  assert.deepEqual(b.build().internalTopics('my-app'), {
    repartition: ['my-app-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition'],
    changelog: ['my-app-KSTREAM-AGGREGATE-STATE-STORE-0000000003-changelog'],
  });
});

test('a global table is its own sub-topology that generates no tasks; its store has no changelog of its own', () => {
  const b = new StreamsBuilder();
  const products = b.globalTable<string, string>('products');
  b.stream<string, string>('orders').join(products, (k) => k, (o) => o).to((k) => `out-${k}`);
  assert.equal(b.build().describe().toString(), `Topologies:
  Sub-topology: 0 for global store (will not generate tasks)
    Source: KSTREAM-SOURCE-0000000001 (topics: [products])
      --> KTABLE-SOURCE-0000000002
    Processor: KTABLE-SOURCE-0000000002 (stores: [products-STATE-STORE-0000000000])
      --> none
      <-- KSTREAM-SOURCE-0000000001

   Sub-topology: 1
    Source: KSTREAM-SOURCE-0000000003 (topics: [orders])
      --> KSTREAM-JOIN-0000000004
    Processor: KSTREAM-JOIN-0000000004 (stores: [])
      --> KSTREAM-SINK-0000000005
      <-- KSTREAM-SOURCE-0000000003
    Sink: KSTREAM-SINK-0000000005 (topic extractor)
      <-- KSTREAM-JOIN-0000000004

`);
  assert.deepEqual(b.build().internalTopics('a').changelog, []);
});

test('describe() as data: a windowed join keeps both sides in one sub-topology with their window stores', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('l').join(b.stream<string, string>('r'), (x) => x, JoinWindows.ofTimeDifferenceWithNoGrace(5)).to('out');
  const d = b.build().describe();
  assert.equal(d.subtopologies.length, 1);
  const byName = new Map(d.subtopologies[0].nodes.map((n) => [n.name, n]));
  assert.deepEqual(byName.get('KSTREAM-JOINTHIS-0000000004')!.stores, ['KSTREAM-JOINOTHER-0000000005-store']);
  assert.deepEqual(byName.get('KSTREAM-WINDOWED-0000000002')!.stores, ['KSTREAM-JOINTHIS-0000000004-store']);
  assert.deepEqual(byName.get('KSTREAM-MERGE-0000000006')!.predecessors, ['KSTREAM-JOINOTHER-0000000005', 'KSTREAM-JOINTHIS-0000000004']);
});

test('the Processor API topology: stores named by the user, errors for bad wiring', () => {
  const t = new Topology()
    .addSource('src', ['a', 'b'])
    .addProcessor('p', () => ({ process() {} }), 'src')
    .addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv')), 'p')
    .addSink('sink', 'c', 'p');
  assert.match(t.describe().toString(), /Source: src \(topics: \[a, b\]\)\n {6}--> p\n {4}Processor: p \(stores: \[kv\]\)/);
  assert.deepEqual(t.internalTopics('x').changelog, ['x-kv-changelog']);
  assert.throws(() => t.addSource('other', 'a'), /topic a is already read by source src/);
  assert.throws(() => t.addProcessor('p', () => ({ process() {} }), 'src'), /a node named p already exists/);
  assert.throws(() => t.addProcessor('q', () => ({ process() {} }), 'missing'), /no parent node named missing/);
  assert.throws(() => t.addProcessor('q2', () => ({ process() {} }), 'sink'), /sink sink cannot have children/);
  assert.throws(() => t.connectProcessorAndStateStores('p', 'nope'), TopologyException);
  assert.throws(() => t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv')).withLoggingDisabled()), /already added/);
});

test('a named store with logging disabled has no changelog topic', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').groupByKey().count(Materialized.as<string, number>('quiet').withLoggingDisabled().withKeySerde(Serdes.String()));
  assert.deepEqual(b.build().internalTopics('a'), { repartition: [], changelog: [] });
});
