import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Branched, Consumed, Grouped, Materialized, Named, Produced, Repartitioned, Serdes, StreamsBuilder, TimeWindows,
  TopologyTestDriver, keyValue, type KStream, type KTable, type Windowed,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const props = { 'application.id': 'app', 'default.key.serde': S, 'default.value.serde': S };

function run(build: (b: StreamsBuilder) => void, input: Array<[string | null, string | null, number?]>, outputs: string[] = ['out'], read?: (d: TopologyTestDriver) => unknown[]) {
  const b = new StreamsBuilder();
  build(b);
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const inTopic = driver.createInputTopic('in', S, S);
  for (const [k, v, ts] of input) inTopic.pipeInput(k, v, ts ?? 0);
  const result: unknown[][] = outputs.map((o) => driver.createOutputTopic(o, S, S).readKeyValuesToList());
  if (read) result.unshift(read(driver));
  driver.close();
  return result;
}

test('filter, filterNot, mapValues and map keep the record order and transform each record', () => {
  const [out] = run((b) => {
    b.stream('in', Consumed.with(S, S))
      .filter((_k, v) => v !== 'drop')
      .filterNot((k) => k === 'skip')
      .mapValues((v, k) => `${k}:${v.toUpperCase()}`)
      .map((k, v) => keyValue(v.length, `${k}/${v}`))
      .to('out', Produced.with(Serdes.Integer(), S));
  }, [['a', 'x'], ['b', 'drop'], ['skip', 'y'], ['cc', 'zz']], [], (d) => d.createOutputTopic('out', Serdes.Integer(), S).readKeyValuesToList());
  assert.deepEqual(out, [{ key: 3, value: 'a/a:X' }, { key: 5, value: 'cc/cc:ZZ' }]);
});

test('map output keys go through the Produced key serde', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).map((k, v) => keyValue(v.length, k)).to('out', Produced.with(Serdes.Integer(), S));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('in', S, S).pipeInput('key', 'four', 5);
  const out = driver.createOutputTopic('out', Serdes.Integer(), S);
  assert.deepEqual(out.readRecord(), { key: 4, value: 'key', timestamp: 5, headers: [] });
  assert.ok(out.isEmpty());
});

test('flatMap and flatMapValues emit zero or more records per input', () => {
  const [out] = run((b) => {
    b.stream<string, string>('in')
      .flatMapValues((v) => v.split(' '))
      .flatMap((k, v) => (v === 'none' ? [] : [keyValue(k, v), keyValue(`${k}2`, v)]))
      .to('out');
  }, [['a', 'x y'], ['b', 'none'], ['c', 'z']]);
  assert.deepEqual(out, [
    { key: 'a', value: 'x' }, { key: 'a2', value: 'x' },
    { key: 'a', value: 'y' }, { key: 'a2', value: 'y' },
    { key: 'c', value: 'z' }, { key: 'c2', value: 'z' },
  ]);
});

test('selectKey, peek and foreach see every record; foreach ends the stream', () => {
  const seen: string[] = [];
  const each: string[] = [];
  const [out] = run((b) => {
    const s = b.stream<string, string>('in').peek((k, v) => seen.push(`${k}=${v}`)).selectKey((_k, v) => v);
    s.to('out');
    s.foreach((k, v) => each.push(`${k}<${v}`));
  }, [['a', '1'], ['b', '2']]);
  assert.deepEqual(seen, ['a=1', 'b=2']);
  assert.deepEqual(out, [{ key: '1', value: '1' }, { key: '2', value: '2' }]);
  assert.deepEqual(each, ['1<1', '2<2']);
});

test('split sends each record to the first matching branch; names are prefix + name or number, the default is 0', () => {
  const b = new StreamsBuilder();
  const consumed: string[] = [];
  const branches = b.stream<string, string>('in').split(Named.as('route-'))
    .branch((_k, v) => v.startsWith('a'), Branched.as('apples'))
    .branch((_k, v) => v.startsWith('a') || v.startsWith('b'))
    .branch((_k, v) => v.startsWith('c'), Branched.withConsumer((s) => s.foreach((_k, v) => consumed.push(v))))
    .defaultBranch();
  assert.deepEqual([...branches.keys()], ['route-apples', 'route-2', 'route-0']);
  branches.get('route-apples')!.to('apples');
  branches.get('route-2')!.to('bees');
  branches.get('route-0')!.to('rest');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  for (const v of ['apple', 'banana', 'avocado', 'cherry', 'date']) input.pipeInput('k', v, 0);
  assert.deepEqual(driver.createOutputTopic('apples', S, S).readValuesToList(), ['apple', 'avocado']);
  assert.deepEqual(driver.createOutputTopic('bees', S, S).readValuesToList(), ['banana']);
  assert.deepEqual(driver.createOutputTopic('rest', S, S).readValuesToList(), ['date']);
  assert.deepEqual(consumed, ['cherry']);
});

test('branch (deprecated) returns one stream per predicate; unmatched records are dropped', () => {
  const b = new StreamsBuilder();
  const [even, odd] = b.stream<string, string>('in').branch((_k, v) => Number(v) % 2 === 0, (_k, v) => Number(v) % 2 === 1);
  even.to('even');
  odd.to('odd');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('in', S, S).pipeKeyValueList(['1', '2', 'x', '3', '4'].map((v) => keyValue('k', v)));
  assert.deepEqual(driver.createOutputTopic('even', S, S).readValuesToList(), ['2', '4']);
  assert.deepEqual(driver.createOutputTopic('odd', S, S).readValuesToList(), ['1', '3']);
});

test('merge interleaves two streams in processing order', () => {
  const b = new StreamsBuilder();
  const x = b.stream<string, string>('in');
  const y = b.stream<string, string>('in2').mapValues((v) => `y${v}`);
  x.merge(y).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const a = driver.createInputTopic('in', S, S);
  const c = driver.createInputTopic('in2', S, S);
  a.pipeInput('k', '1', 1);
  c.pipeInput('k', '2', 2);
  a.pipeInput('k', '3', 3);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['1', 'y2', '3']);
});

test('to with a topic extractor picks the topic per record; the extractor sees key, value and source topic', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').to((k, _v, ctx) => `${ctx.topic}-${k}`);
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('x', '1', 0);
  input.pipeInput('y', '2', 0);
  input.pipeInput('x', '3', 0);
  assert.deepEqual([...driver.producedTopicNames()].sort(), ['in-x', 'in-y']);
  assert.deepEqual(driver.createOutputTopic('in-x', S, S).readValuesToList(), ['1', '3']);
  assert.deepEqual(driver.createOutputTopic('in-y', S, S).readValuesToList(), ['2']);
});

test('repartition and through route records back into the topology inside the driver', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').selectKey((_k, v) => v).repartition(Repartitioned.as('by-value')).mapValues((v) => `r:${v}`).to('out');
  b.stream<string, string>('in2').through('mid').mapValues((v) => `t:${v}`).to('out2');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('in', S, S).pipeInput('k', 'v1', 7);
  driver.createInputTopic('in2', S, S).pipeInput('k', 'v2', 8);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readRecord(), { key: 'v1', value: 'r:v1', timestamp: 7, headers: [] });
  assert.deepEqual(driver.createOutputTopic('out2', S, S).readKeyValue(), { key: 'k', value: 't:v2' });
  assert.ok(driver.producedTopicNames().has('app-by-value-repartition'));
  assert.deepEqual(driver.createOutputTopic('mid', S, S).readKeyValuesToList(), [{ key: 'k', value: 'v2' }]);
});

test('a timestamp extractor sets event time; output records carry it and headers pass through', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, Serdes.JSON<{ at: number; n: string }>()).withTimestampExtractor((r) => (r.value as { at: number }).at))
    .mapValues((v) => v.n).to('out', Produced.with(S, S));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const headers = [{ key: 'h', value: Buffer.from('1') }];
  driver.createInputTopic('in', S, Serdes.JSON<{ at: number; n: string }>()).pipeInput('k', { at: 4242, n: 'x' }, 1, headers);
  const r = driver.createOutputTopic('out', S, S).readRecord();
  assert.equal(r.timestamp, 4242);
  assert.equal(r.value, 'x');
  assert.deepEqual(r.headers, headers);
});

test('input topics auto-advance time when no timestamp is given; reading an empty topic throws', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S, 1000, 10);
  input.pipeValueList(['a', 'b', 'c']);
  const out = driver.createOutputTopic('out', S, S);
  assert.deepEqual(out.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]), [[null, 'a', 1000], [null, 'b', 1010], [null, 'c', 1020]]);
  assert.throws(() => out.readRecord(), /no record/);
  assert.throws(() => driver.createInputTopic('nope', S, S), /does not read topic nope/);
});

test('readKeyValuesToMap keeps the last value per key and drops tombstoned keys', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('a', '1', 0);
  input.pipeInput('b', '2', 0);
  input.pipeInput('a', '3', 0);
  input.pipeInput('b', null, 0);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToMap(), new Map([['a', '3']]));
});

test('a missing serde is reported with what needed it', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').to('out');
  assert.throws(() => new TopologyTestDriver(b.build(), { 'application.id': 'app' }, 0), /source KSTREAM-SOURCE-0000000000 has no key serde/);
  assert.throws(() => new TopologyTestDriver(b.build(), { 'application.id': 'bad id' }, 0), /application.id/);
});

test('Branched.withFunction puts the stream it returns in the result map; a null result leaves the branch out', () => {
  const b = new StreamsBuilder();
  const branches = b.stream<string, string>('in').split()
    .branch((_k, v) => v === 'a', Branched.withFunction((s) => s.mapValues((v) => v.toUpperCase()), 'upper'))
    .branch((_k, v) => v === 'b', Branched.withFunction(() => null))
    .noDefaultBranch();
  assert.deepEqual([...branches.keys()], ['KSTREAM-BRANCH-0000000001upper']);
  branches.get('KSTREAM-BRANCH-0000000001upper')!.to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('in', S, S).pipeValueList(['a', 'b', 'c']);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['A']);
});

test('a processor that throws fails pipeInput; records it queued are not processed later', () => {
  const b = new StreamsBuilder();
  const s = b.stream<string, string>('in').peek((_k, v) => { if (v === 'boom') throw new Error('boom'); });
  s.repartition(Repartitioned.as('r')).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  assert.throws(() => input.pipeInput('k', 'boom', 0), /boom/);
  input.pipeInput('k', 'fine', 1);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['fine']);
});

test('a timestamp extractor sees the partition time (the largest timestamp extracted so far) and can fall back to it', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S).withTimestampExtractor((r, partitionTime) => (r.value === 'no-time' ? partitionTime : r.timestamp))).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'a', 40);
  input.pipeInput('k', 'b', 25);
  input.pipeInput('k', 'no-time', 5);
  input.pipeInput('k', 'no-time', 5, undefined);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readRecordsToList().map((r) => r.timestamp), [40, 25, 40, 40]);
});

test('a record whose extracted timestamp is negative is dropped and counted', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S).withTimestampExtractor((r) => (r.value === 'bad' ? -1 : r.timestamp))).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', 'bad', 1);
  input.pipeInput('k', 'good', 2);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['good']);
  assert.equal(driver.metrics()['dropped-records-total'], 1);
});

test('types flow from the serdes through the DSL (checked when the tests compile)', () => {
  interface Order { qty: number; sku: string }
  const b = new StreamsBuilder();
  const orders: KStream<string, Order> = b.stream('orders', Consumed.with(S, Serdes.JSON<Order>()));
  const totals: KTable<string, number> = orders.groupByKey().aggregate(() => 0, (_k, o, sum) => sum + o.qty, Materialized.as('totals'));
  const perSku: KTable<Windowed<string>, number> = orders.groupBy((_k, o) => o.sku, Grouped.as('by-sku')).windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count();
  const labels: KStream<string, string> = totals.toStream().mapValues((n) => n.toFixed(1));
  labels.to('labels');
  perSku.toStream((w) => `${w.key}@${w.window.start}`).to('per-sku', Produced.with(S, Serdes.Long()));
  assert.equal(b.build().describe().subtopologies.length, 2);
});
