// Two KafkaStreams instances of one application: they split the tasks through the streams assignor and
// together produce the right counts, also when one of them leaves mid-stream and the other takes its tasks over
// (restoring their stores from the changelog).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumed, Materialized, Produced, Serdes, StreamsBuilder, type ReadOnlyKeyValueStore } from '../../../src/streams/index.js';
import { createTopics, fastProps, increasingCounts, latest, long, produce, readUntil, sameMap, startApp, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();

function topology(): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts')).toStream().to('counts-out', Produced.with(S, L));
  return b.build();
}

function counts(records: Array<{ key: string }>): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(r.key, (m.get(r.key) ?? 0) + 1);
  return m;
}

test('two instances split the partitions and together count right; one leaves, the other takes over', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 4 }, { name: 'counts-out', partitions: 4 }]);
    const a = await startApp(topology(), fastProps(address, 'pair'));
    const b = await startApp(topology(), fastProps(address, 'pair'));
    try {
      await waitFor('the tasks to be split', () => {
        const ta = a.app.activeTasks();
        const tb = b.app.activeTasks();
        return ta.length === 2 && tb.length === 2 && new Set([...ta, ...tb]).size === 4 && a.app.state() === 'RUNNING' && b.app.state() === 'RUNNING';
      });
      const batch1 = Array.from({ length: 120 }, (_, i) => ({ key: `k${i % 12}`, value: `v${i}` }));
      await produce(address, 'events', batch1);
      await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), counts(batch1)));
      // Each instance's view holds its own partitions' keys; together, all of them.
      const sa = a.app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      const sb = b.app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      const local = [...sa.all(), ...sb.all()];
      assert.equal(local.length, 12);
      assert.ok(sa.approximateNumEntries() > 0 && sb.approximateNumEntries() > 0);
      assert.deepEqual(new Map(local.map((e) => [e.key, e.value])), counts(batch1));

      // b leaves: a gets all four tasks, restoring b's two from the changelog, and goes on counting.
      await b.app.close();
      await waitFor('a to own every task', () => a.app.activeTasks().length === 4 && a.app.state() === 'RUNNING');
      assert.ok(a.states.includes('REBALANCING'));
      const batch2 = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 12}`, value: `w${i}` }));
      await produce(address, 'events', batch2);
      const want = counts([...batch1, ...batch2]);
      const out = await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), want));
      // Every record counted once (clean hand-over: flushes and commits on revoke and close); the record caches
      // write fewer counts than records, each larger than the last.
      assert.deepEqual(increasingCounts(out, want, long), []);
      assert.ok(out.length <= 180);
      assert.deepEqual(new Map([...sa.all()].map((e) => [e.key, e.value])), want);
    } finally {
      await b.app.close();
      await a.app.close();
    }
  });
});
