import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder, TopologyTestDriver, keyValue, type KTable,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const L = Serdes.Long();
const props = { 'application.id': 'tables', 'default.key.serde': S, 'default.value.serde': S };

test('a table keeps the latest value per key; a null value is a tombstone that deletes it and flows downstream', () => {
  const b = new StreamsBuilder();
  const t = b.table('t', Consumed.with(S, S), Materialized.as('t-store'));
  assert.equal(t.queryableStoreName(), 't-store');
  t.toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('t', S, S);
  input.pipeInput('a', '1', 0);
  input.pipeInput('a', '2', 1);
  input.pipeInput('b', '3', 2);
  input.pipeInput('a', null, 3);
  input.pipeInput('c', null, 4); // deleting what never existed changes nothing
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [
    { key: 'a', value: '1' }, { key: 'a', value: '2' }, { key: 'b', value: '3' }, { key: 'a', value: null },
  ]);
  const store = driver.getKeyValueStore<string, string>('t-store');
  assert.equal(store.get('a'), null);
  assert.deepEqual([...store.all()], [{ key: 'b', value: '3' }]);
});

test('KTable.filter turns a value that stops matching into a tombstone, and forwards nothing when neither old nor new matched', () => {
  const b = new StreamsBuilder();
  b.table('t', Consumed.with(S, S)).filter((_k, v) => v.startsWith('x')).toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('t', S, S);
  for (const [k, v] of [['a', 'x1'], ['a', 'y'], ['a', 'y2'], ['b', 'y'], ['a', 'x3']]) input.pipeInput(k, v, 0);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [
    { key: 'a', value: 'x1' }, { key: 'a', value: null }, { key: 'a', value: 'x3' },
  ]);
});

test('KTable.mapValues with Materialized is queryable', () => {
  const b = new StreamsBuilder();
  b.table('t', Consumed.with(S, S)).mapValues((v) => v.length, Materialized.with<string, number>(S, L).withLoggingDisabled()).toStream().to('out', Produced.with(S, L));
  const named = new StreamsBuilder();
  named.table('t', Consumed.with(S, S)).mapValues((v) => v.length, Materialized.as<string, number>('lengths').withValueSerde(L));
  const driver = new TopologyTestDriver(named.build(), props, 0);
  driver.createInputTopic('t', S, S).pipeInput('a', 'four', 0);
  assert.equal(driver.getKeyValueStore<string, number>('lengths').get('a'), 4);
  assert.deepEqual(named.build().internalTopics('app').changelog, ['app-t-STATE-STORE-0000000000-changelog', 'app-lengths-changelog']);
  assert.deepEqual(b.build().internalTopics('app').changelog, ['app-t-STATE-STORE-0000000000-changelog'], 'logging disabled: no changelog');
});

test('KTable.groupBy().count(): a changed value is subtracted from its old group before it is added to the new one', () => {
  const b = new StreamsBuilder();
  b.table('users', Consumed.with(S, S))
    .groupBy((user, region) => keyValue(region, user), Grouped.with(S, S))
    .count(Materialized.as('per-region'))
    .toStream().to('out', Produced.with(S, L));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const users = driver.createInputTopic('users', S, S);
  users.pipeInput('u1', 'eu', 0);
  users.pipeInput('u2', 'eu', 1);
  users.pipeInput('u1', 'us', 2); // eu loses u1, then us gains it
  users.pipeInput('u2', null, 3); // eu loses u2
  users.pipeInput('u1', 'us', 4); // same group: one update that subtracts and adds
  assert.deepEqual(driver.createOutputTopic('out', S, L).readKeyValuesToList().map((kv) => `${kv.key}=${kv.value}`), [
    'eu=1', 'eu=2', 'eu=1', 'us=1', 'eu=0', 'us=1',
  ]);
  const store = driver.getKeyValueStore<string, number>('per-region');
  assert.equal(store.get('eu'), 0);
  assert.equal(store.get('us'), 1);
});

test('KGroupedTable.aggregate and reduce use the adder and the subtractor', () => {
  const b = new StreamsBuilder();
  const balances = b.table('balances', Consumed.with(S, Serdes.Integer()));
  const byBank = balances.groupBy((acct, bal) => keyValue(acct.split('-')[0], bal), Grouped.with(S, Serdes.Integer()));
  byBank.aggregate(() => 0, (_k, v, agg) => agg + v, (_k, v, agg) => agg - v, Materialized.with<string, number>(S, Serdes.Integer()))
    .toStream().to('sum', Produced.with(S, Serdes.Integer()));
  byBank.reduce((a, v) => Math.max(a, v), (a) => a, Materialized.as<string, number>('max').withValueSerde(Serdes.Integer()));
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('balances', S, Serdes.Integer());
  input.pipeInput('b1-x', 10, 0);
  input.pipeInput('b1-y', 5, 0);
  input.pipeInput('b1-x', 7, 0);
  assert.deepEqual(driver.createOutputTopic('sum', S, Serdes.Integer()).readValuesToList(), [10, 15, 12], 'old and new value in one group: one update');
  assert.equal(driver.getKeyValueStore<string, number>('max').get('b1'), 10);
});

function tableJoin(kind: 'join' | 'leftJoin' | 'outerJoin') {
  const b = new StreamsBuilder();
  const l = b.table('l', Consumed.with(S, S));
  const r = b.table('r', Consumed.with(S, S));
  const joined: KTable<string, string> = (l[kind] as any)(r, (a: string | null, c: string | null) => `${a}/${c}`, Materialized.as('joined'));
  joined.toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const li = driver.createInputTopic('l', S, S);
  const ri = driver.createInputTopic('r', S, S);
  li.pipeInput('a', '1', 0);
  ri.pipeInput('a', 'x', 1);
  ri.pipeInput('b', 'y', 2);
  li.pipeInput('a', null, 3);
  ri.pipeInput('a', null, 4);
  const out = driver.createOutputTopic('out', S, S).readKeyValuesToList().map((kv) => `${kv.key}=${kv.value}`);
  return { out, store: driver.getKeyValueStore<string, string>('joined') };
}

test('KTable-KTable inner join: results while both sides have the key, a tombstone when one side goes', () => {
  const { out, store } = tableJoin('join');
  assert.deepEqual(out, ['a=1/x', 'a=null']);
  assert.deepEqual([...store.all()], []);
});

test('KTable-KTable left join: every left value yields a result, with null for a missing right value', () => {
  assert.deepEqual(tableJoin('leftJoin').out, ['a=1/null', 'a=1/x', 'a=null']);
});

test('KTable-KTable outer join: either side yields a result; the key goes when both sides are gone', () => {
  const { out, store } = tableJoin('outerJoin');
  assert.deepEqual(out, ['a=1/null', 'a=1/x', 'b=null/y', 'a=null/x', 'a=null']);
  assert.deepEqual([...store.all()], [{ key: 'b', value: 'null/y' }]);
});

test('an unmaterialized join result can be joined again (value getters through both parents)', () => {
  const b = new StreamsBuilder();
  const l = b.table('l', Consumed.with(S, S));
  const r = b.table('r', Consumed.with(S, S));
  const third = b.table('third', Consumed.with(S, S));
  l.join(r, (a, c) => `${a}${c}`).mapValues((v) => v.toUpperCase()).join(third, (v, t) => `${v}-${t}`).toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('l', S, S).pipeInput('k', 'a', 0);
  driver.createInputTopic('r', S, S).pipeInput('k', 'b', 0);
  driver.createInputTopic('third', S, S).pipeInput('k', 'c', 0);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['AB-c']);
});

test('KStream.toTable reads a stream as a table', () => {
  const b = new StreamsBuilder();
  b.stream('in', Consumed.with(S, S)).toTable(Materialized.as('latest')).toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('k', '1', 0);
  input.pipeInput('k', '2', 0);
  assert.equal(driver.getKeyValueStore<string, string>('latest').get('k'), '2');
  assert.deepEqual(driver.createOutputTopic('out', S, S).readValuesToList(), ['1', '2']);
});

test('a table-table join result carries the later timestamp of its two sides', () => {
  const b = new StreamsBuilder();
  const l = b.table('l', Consumed.with(S, S));
  l.join(b.table('r', Consumed.with(S, S)), (a, c) => `${a}${c}`).toStream().to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  driver.createInputTopic('r', S, S).pipeInput('k', 'b', 40);
  driver.createInputTopic('l', S, S).pipeInput('k', 'a', 10);
  driver.createInputTopic('l', S, S).pipeInput('k', 'c', 60);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readRecordsToList().map((r) => `${r.value}@${r.timestamp}`), ['ab@40', 'cb@60']);
});
