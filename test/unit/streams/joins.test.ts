import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, JoinWindows, Joined, Produced, Serdes, StreamJoined, StreamsBuilder, TopologyTestDriver, type KStream,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const props = { 'application.id': 'join', 'default.key.serde': S, 'default.value.serde': S };
const show = (l: string | null, r: string | null): string => `${l}+${r}`;

function streams(build: (left: KStream<string, string>, right: KStream<string, string>) => KStream<string, string>) {
  const b = new StreamsBuilder();
  build(b.stream('left', Consumed.with(S, S)), b.stream('right', Consumed.with(S, S))).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const left = driver.createInputTopic('left', S, S);
  const right = driver.createInputTopic('right', S, S);
  const out = driver.createOutputTopic('out', S, S);
  const read = (): string[] => out.readRecordsToList().map((r) => `${r.key}:${r.value}@${r.timestamp}`);
  return { driver, left, right, read };
}

test('inner stream-stream join: records within the window join (timestamp: the later); late records are dropped', () => {
  const { driver, left, right, read } = streams((l, r) => l.join(r, show, JoinWindows.ofTimeDifferenceWithNoGrace(10)));
  left.pipeInput('k', 'a1', 0);
  right.pipeInput('k', 'b1', 5);
  right.pipeInput('k', 'b2', 20);
  left.pipeInput('k', 'a2', 15);
  left.pipeInput('k', 'a3', 3); // stream time 20: its window [.., 13] closed
  right.pipeInput('j', 'b3', 20);
  assert.deepEqual(read(), ['k:a1+b1@5', 'k:a2+b1@15', 'k:a2+b2@20']);
  assert.equal(driver.metrics()['dropped-records-total'], 1);
});

test('before/after make the window asymmetric', () => {
  const { left, right, read } = streams((l, r) => l.join(r, show, JoinWindows.ofTimeDifferenceWithNoGrace(0).after(10)));
  left.pipeInput('k', 'a', 10);
  right.pipeInput('k', 'early', 9);
  right.pipeInput('k', 'late', 20);
  right.pipeInput('k', 'too-late', 21);
  assert.deepEqual(read(), ['k:a+late@20']);
});

test('left stream-stream join emits an unmatched left record once its window closes (after + grace), not before', () => {
  const { left, right, read } = streams((l, r) => l.leftJoin(r, show, JoinWindows.ofTimeDifferenceAndGrace(10, 5)));
  left.pipeInput('k', 'a1', 0);
  right.pipeInput('x', 'z', 15);
  assert.deepEqual(read(), [], 'stream time 15: a1 could still meet a right record at 10 arriving within grace');
  right.pipeInput('x', 'z', 16);
  assert.deepEqual(read(), ['k:a1+null@0']);
  right.pipeInput('k', 'b1', 30);
  assert.deepEqual(read(), [], 'an unmatched right record yields nothing in a left join');
  left.pipeInput('k', 'a2', 28);
  left.pipeInput('k', 'a3', 31);
  assert.deepEqual(read(), ['k:a2+b1@30', 'k:a3+b1@31']);
  left.pipeInput('k', 'a4', 50);
  right.pipeInput('other', 'c', 100);
  assert.deepEqual(read(), ['k:a4+null@50']);
});

test('a left record matched later within its window is never emitted unmatched', () => {
  const { left, right, read } = streams((l, r) => l.leftJoin(r, show, JoinWindows.ofTimeDifferenceAndGrace(10, 0)));
  left.pipeInput('k', 'a', 10);
  right.pipeInput('k', 'b', 18);
  right.pipeInput('x', 'y', 100);
  assert.deepEqual(read(), ['k:a+b@18']);
});

test('outer stream-stream join: unmatched records of either side are emitted when their windows close', () => {
  const { left, right, read } = streams((l, r) => l.outerJoin(r, show, JoinWindows.ofTimeDifferenceWithNoGrace(5)));
  left.pipeInput('k', 'a1', 10);
  right.pipeInput('k', 'b1', 12);
  right.pipeInput('k', 'b2', 30);
  left.pipeInput('k', 'a2', 33);
  right.pipeInput('k', 'b3', 40);
  left.pipeInput('k2', 'x', 46);
  assert.deepEqual(read(), ['k:a1+b1@12', 'k:a2+b2@33', 'k:null+b3@40']);
  right.pipeInput('k3', 'y', 52);
  assert.deepEqual(read(), ['k2:x+null@46']);
});

test('stream-stream join stores are named after the join or StreamJoined, with changelogs', () => {
  const b = new StreamsBuilder();
  b.stream<string, string>('left').leftJoin(b.stream<string, string>('right'), show, JoinWindows.ofTimeDifferenceWithNoGrace(5), StreamJoined.as('pairs')).to('out');
  assert.deepEqual(b.build().internalTopics('app').changelog.sort(), [
    'app-pairs-other-join-store-changelog', 'app-pairs-outer-shared-join-store-changelog', 'app-pairs-this-join-store-changelog',
  ]);
});

test('stream-table join looks the table up at the stream record; left join passes null when the key is absent or deleted', () => {
  const b = new StreamsBuilder();
  const users = b.table('users', Consumed.with(S, S));
  const clicks = b.stream('clicks', Consumed.with(S, S));
  clicks.join(users, (page, name) => `${page} by ${name}`).to('inner');
  clicks.leftJoin(users, (page, name) => `${page} by ${name}`, Joined.with(S, S, S)).to('left');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const u = driver.createInputTopic('users', S, S);
  const c = driver.createInputTopic('clicks', S, S);
  c.pipeInput('u1', 'p1', 1);
  u.pipeInput('u1', 'ann', 2);
  c.pipeInput('u1', 'p2', 3);
  u.pipeInput('u1', null, 4);
  c.pipeInput('u1', 'p3', 5);
  c.pipeInput(null, 'p4', 6);
  assert.deepEqual(driver.createOutputTopic('inner', S, S).readValuesToList(), ['p2 by ann']);
  assert.deepEqual(driver.createOutputTopic('left', S, S).readValuesToList(), ['p1 by null', 'p2 by ann', 'p3 by null', 'p4 by null']);
});

test('a re-keyed stream is repartitioned before a stream-table join', () => {
  const b = new StreamsBuilder();
  const users = b.table('users', Consumed.with(S, S));
  b.stream('clicks', Consumed.with(S, S)).selectKey((_k, v) => v.split(':')[0]).join(users, (v, name) => `${v}/${name}`).to('out');
  const topology = b.build();
  assert.deepEqual(topology.internalTopics('join').repartition, ['join-KSTREAM-JOIN-0000000005-repartition']);
  assert.equal(topology.describe().subtopologies.length, 2);
  const driver = new TopologyTestDriver(topology, props, 0);
  driver.createInputTopic('users', S, S).pipeInput('u9', 'zoe', 0);
  driver.createInputTopic('clicks', S, S).pipeInput('whatever', 'u9:home', 1);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [{ key: 'u9', value: 'u9:home/zoe' }]);
});

test('a GlobalKTable joins through a key mapper and is filled before stream records are processed', () => {
  const b = new StreamsBuilder();
  const products = b.globalTable('products', Consumed.with(S, S));
  const orders = b.stream('orders', Consumed.with(S, Serdes.JSON<{ product: string; qty: number }>()));
  orders.join(products, (_k, o) => o.product, (o, name) => `${o.qty} x ${name}`).to('out', Produced.with(S, S));
  orders.leftJoin(products, (_k, o) => o.product, (o, name) => `${o.qty} x ${name ?? '?'}`).to('left', Produced.with(S, S));
  const topology = b.build();
  const driver = new TopologyTestDriver(topology, props, 0);
  driver.createInputTopic('products', S, S).pipeInput('p1', 'kettle', 0);
  const o = driver.createInputTopic('orders', S, Serdes.JSON<{ product: string; qty: number }>());
  o.pipeInput('o1', { product: 'p1', qty: 2 }, 1);
  o.pipeInput('o2', { product: 'p2', qty: 1 }, 2);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [{ key: 'o1', value: '2 x kettle' }]);
  assert.deepEqual(driver.createOutputTopic('left', S, S).readValuesToList(), ['2 x kettle', '1 x ?']);
  assert.equal(driver.getKeyValueStore<string, string>(products.queryableStoreName()).get('p1'), 'kettle');
});
