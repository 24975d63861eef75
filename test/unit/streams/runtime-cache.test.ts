// Record caches in KafkaStreams against the in-process broker: hot keys make far fewer changelog and output
// records than input records, the final counts stay right (at-least-once and exactly_once_v2), and interactive
// queries see what the caches hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import {
  Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder, TimeWindows, type ReadOnlyKeyValueStore,
} from '../../../src/streams/index.js';
import { createTopics, fastProps, latest, long, produce, readUntil, sameMap, startApp, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();
const INPUT = 3000;
const KEYS = 6;

function events(n: number, keys: number): Array<{ key: string; value: string; timestamp: number }> {
  // Event times spread over 2 minutes: the windowed count has two 1-minute windows per key.
  return Array.from({ length: n }, (_, i) => ({ key: `user${i % keys}`, value: `e${i}`, timestamp: 1_700_000_040_000 + Math.floor((i / n) * 120_000) }));
}

/** The input offsets the group committed, once they cover `expected` records (the commit follows the output it flushed). */
async function committedSum(address: string, group: string, expected: number): Promise<number> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const n = (await admin.listGroupOffsets(group)).reduce((sum, o) => sum + o.offset, 0);
      if (n >= expected || Date.now() > deadline) return n;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await admin.close();
  }
}

test('hot keys with the record cache: far fewer changelog and output records than input records, the counts right', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'counts-out', partitions: 2 }]);
    const input = events(INPUT, KEYS);
    // All input first, so each poll brings many updates of each key into the cache before a commit flushes it.
    await produce(address, 'events', input);
    const b = new StreamsBuilder();
    b.stream('events', Consumed.with(S, S)).groupByKey(Grouped.with(S, S)).count(Materialized.as<string, number>('counts')).toStream().to('counts-out', Produced.with(S, L));
    const { app } = await startApp(b.build(), fastProps(address, 'cached', { 'commit.interval.ms': 500 }));
    const want = new Map(Array.from({ length: KEYS }, (_, k) => [`user${k}`, INPUT / KEYS]));
    try {
      const out = await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), want), 30_000);
      const logged = await readUntil(address, 'cached-counts-changelog', (rs) => sameMap(latest(rs, long), want), 30_000);
      console.log(`# ${INPUT} input records over ${KEYS} keys: ${out.length} output records, ${logged.length} changelog records`);
      assert.ok(out.length <= INPUT / 10, `${out.length} output records for ${INPUT} updates`);
      assert.ok(logged.length <= INPUT / 10, `${logged.length} changelog records for ${INPUT} updates`);
      // Each output is the count at a flush: per key the counts only grow, so nothing was lost or counted twice.
      for (let k = 0; k < KEYS; k++) {
        const seq = out.filter((r) => r.key!.toString() === `user${k}`).sort((a, b) => a.offset - b.offset).map((r) => long(r.value!));
        assert.ok(seq.every((v, i) => i === 0 || v > seq[i - 1]), `user${k}: ${seq.join(',')}`);
      }
      const store = app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      assert.deepEqual(new Map([...store.all()].map((e) => [e.key, e.value])), want);
      assert.equal(await committedSum(address, 'cached', INPUT), INPUT);
    } finally {
      await app.close();
    }
  });
});

test('exactly_once_v2 with the record cache: a windowed count of hot keys commits each flush with its offsets', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'windows-out', partitions: 2 }]);
    const input = events(INPUT, KEYS);
    await produce(address, 'events', input);
    const want = new Map<string, number>();
    for (const r of input) {
      const k = `${r.key}@${r.timestamp - (r.timestamp % 60_000)}`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    const b = new StreamsBuilder();
    b.stream('events', Consumed.with(S, S)).groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeAndGrace(60_000, 600_000)).count(Materialized.with(S, L))
      .toStream((w) => `${w.key}@${w.window.start}`).to('windows-out', Produced.with(S, L));
    const { app } = await startApp(b.build(), fastProps(address, 'cached-eos', { 'processing.guarantee': 'exactly_once_v2', 'commit.interval.ms': 500 }));
    try {
      const out = await readUntil(address, 'windows-out', (rs) => sameMap(latest(rs, long), want), 30_000, 'read_committed');
      console.log(`# exactly_once_v2: ${INPUT} input records into ${want.size} windows: ${out.length} output records`);
      assert.ok(out.length <= INPUT / 10, `${out.length} output records for ${INPUT} updates`);
      assert.equal(await committedSum(address, 'cached-eos', INPUT), INPUT);
    } finally {
      await app.close();
    }
  });
});
