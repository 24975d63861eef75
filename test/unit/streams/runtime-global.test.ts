// GlobalKTables in the KafkaStreams runtime: the global store is read to the end of its topic before any task
// processes, kept up to date while the application runs, queryable, and read again from its topic on restart.
// The global topic has more partitions than the stream (a global table needs no co-partitioning).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, StreamsBuilder, type ReadOnlyKeyValueStore } from '../../../src/streams/index.js';
import type { TopicPartition } from '../../../src/client/consumer.js';
import { createTopics, fastProps, produce, readUntil, startApp, str, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();

function topology(): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  const products = b.globalTable('products', Consumed.with(S, S), Materialized.as<string, string>('products-store'));
  const orders = b.stream('orders', Consumed.with(S, S));
  // The order's value names its product: "<product>:<qty>".
  orders.leftJoin(products, (_k, v) => v.split(':')[0], (v, name) => `${v.split(':')[1]} x ${name ?? '?'}`).to('out', Produced.with(S, S));
  return b.build();
}

test('a stream joins a GlobalKTable with more partitions; updates are seen by later records; restart restores it', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'products', partitions: 5 }, { name: 'orders', partitions: 2 }, { name: 'out', partitions: 2 }]);
    await produce(address, 'products', Array.from({ length: 10 }, (_, i) => ({ key: `p${i}`, value: `name${i}` })));
    const restored: Array<{ tp: TopicPartition; store: string; n: number }> = [];
    const props = fastProps(address, 'global-app');
    let { app } = await startApp(topology(), props);
    try {
      // Bootstrapped before RUNNING: every product is there.
      const view = (): ReadOnlyKeyValueStore<string, string> => app.store<ReadOnlyKeyValueStore<string, string>>('products-store');
      assert.equal(view().approximateNumEntries(), 10);
      assert.equal(view().get('p3'), 'name3');
      await produce(address, 'orders', Array.from({ length: 20 }, (_, i) => ({ key: `o${i}`, value: `p${i % 12}:${i}` })));
      const first = await readUntil(address, 'out', (rs) => rs.length >= 20);
      const got = new Map(first.map((r) => [r.key!.toString(), str(r.value!)]));
      for (let i = 0; i < 20; i++) assert.equal(got.get(`o${i}`), `${i} x ${i % 12 < 10 ? `name${i % 12}` : '?'}`);

      // An update and a new key in the table, then later orders see them.
      await produce(address, 'products', [{ key: 'p1', value: 'renamed1' }, { key: 'p11', value: 'name11' }]);
      await waitFor('the global store to follow its topic', () => view().get('p1') === 'renamed1' && view().get('p11') === 'name11');
      await produce(address, 'orders', [{ key: 'late1', value: 'p1:7' }, { key: 'late11', value: 'p11:8' }]);
      const second = await readUntil(address, 'out', (rs) => rs.length >= 22);
      const late = new Map(second.map((r) => [r.key!.toString(), str(r.value!)]));
      assert.equal(late.get('late1'), '7 x renamed1');
      assert.equal(late.get('late11'), '8 x name11');

      // Restart: the new instance reads the global topic again before it runs.
      await app.close();
      const again = new KafkaStreams(topology(), props);
      again.setGlobalStateRestoreListener({ onRestoreEnd: (tp, store, n) => restored.push({ tp, store, n }) });
      await again.start();
      app = again;
      await waitFor('the restarted app to run', () => again.state() === 'RUNNING');
      assert.equal(view().approximateNumEntries(), 11);
      assert.equal(view().get('p1'), 'renamed1');
      assert.equal(restored.length, 5, 'one restore per partition of the global topic');
      assert.ok(restored.every((r) => r.store === 'products-store'));
      assert.equal(restored.reduce((n, r) => n + r.n, 0), 12);
      await produce(address, 'orders', [{ key: 'after', value: 'p1:9' }]);
      const third = await readUntil(address, 'out', (rs) => rs.some((r) => r.key?.toString() === 'after'));
      assert.equal(third.filter((r) => r.key?.toString() === 'after').map((r) => str(r.value!))[0], '9 x renamed1');
    } finally {
      await app.close();
    }
  });
});
