// GlobalKTables in the KafkaStreams runtime: the global store is read to the end of its topic before any task
// processes, kept up to date while the application runs, queryable, and read again from its topic on restart.
// The global topic has more partitions than the stream (a global table needs no co-partitioning).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, Stores, StreamsBuilder, type ReadOnlyKeyValueStore } from '../../../src/streams/index.js';
import { readCheckpoint } from '../../../src/streams/state/state-directory.js';
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

test('a persistent global store checkpoints: a restart reads only what came after; without a checkpoint it is wiped and read in full', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'gp-products', partitions: 3 }, { name: 'gp-orders', partitions: 1 }, { name: 'gp-out', partitions: 1 }]);
    await produce(address, 'gp-products', Array.from({ length: 30 }, (_, i) => ({ key: `p${i}`, value: `name${i}` })));
    const stateDir = await mkdtemp(join(tmpdir(), 'tributary-global-'));
    const build = (): ReturnType<StreamsBuilder['build']> => {
      const b = new StreamsBuilder();
      const products = b.globalTable('gp-products', Consumed.with(S, S), Materialized.as<string, string>(Stores.persistentKeyValueStore('gp-store')));
      b.stream('gp-orders', Consumed.with(S, S)).leftJoin(products, (_k, v) => v, (v, name) => `${v}=${name ?? '?'}`).to('gp-out', Produced.with(S, S));
      return b.build();
    };
    const props = fastProps(address, 'global-persistent', { 'state.dir': stateDir });
    const run = async (): Promise<{ app: KafkaStreams; restored: number }> => {
      const app = new KafkaStreams(build(), props);
      let restored = 0;
      app.setGlobalStateRestoreListener({ onRestoreEnd: (_tp, _store, n) => { restored += n; } });
      await app.start();
      await waitFor('the app to run', () => app.state() === 'RUNNING');
      return { app, restored };
    };
    try {
      const first = await run();
      assert.equal(first.restored, 30);
      await first.app.close();
      const cp = readCheckpoint(join(stateDir, 'global-persistent', `${globalSubtopology(build())}_-1`));
      assert.equal(cp.size, 3, 'one checkpoint line per partition of the global topic');

      // Clean restart: nothing to read; the store is still whole.
      const second = await run();
      assert.equal(second.restored, 0);
      assert.equal(second.app.store<ReadOnlyKeyValueStore<string, string>>('gp-store').approximateNumEntries(), 30);
      await second.app.close();

      // Changes while it was down: only those are read.
      await produce(address, 'gp-products', [{ key: 'p1', value: 'renamed' }, { key: 'p30', value: 'name30' }, { key: 'p2', value: null }]);
      const third = await run();
      assert.equal(third.restored, 3);
      const view = third.app.store<ReadOnlyKeyValueStore<string, string>>('gp-store');
      assert.equal(view.approximateNumEntries(), 30);
      assert.equal(view.get('p1'), 'renamed');
      assert.equal(view.get('p2'), null);
      await third.app.close();

      // No checkpoint (as after a crash before the first one): wiped and read in full, same content.
      rmSync(join(stateDir, 'global-persistent', `${globalSubtopology(build())}_-1`, '.checkpoint'));
      const fourth = await run();
      assert.equal(fourth.restored, 33);
      assert.equal(fourth.app.store<ReadOnlyKeyValueStore<string, string>>('gp-store').approximateNumEntries(), 30);
      await fourth.app.close();
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

/** The id of the topology's global sub-topology (its task directory is "<id>_-1"). */
function globalSubtopology(topology: ReturnType<StreamsBuilder['build']>): number {
  return topology.build(fastProps('unused:1', 'global-persistent')).subtopologies.find((s) => s.global)!.id;
}
