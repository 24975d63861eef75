// Windowed aggregations on the runtime: time-window and session stores fill, are queryable across tasks, and come
// back from their changelogs (window and session changelog keys) after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Materialized, Serdes, SessionWindows, StreamsBuilder, TimeWindows, type ReadOnlySessionStore, type ReadOnlyWindowStore,
} from '../../../src/streams/index.js';
import { createTopics, fastProps, produce, startApp, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();

function topology(): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  const grouped = b.stream('clicks', Consumed.with(S, S)).groupByKey();
  grouped.windowedBy(TimeWindows.ofSizeWithNoGrace(10_000)).count(Materialized.as('per-10s'));
  // Kept a minute: by default a session store holds a session only for the gap (plus grace) past stream time.
  grouped.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5000)).count(Materialized.as<string, number>('sessions').withRetention(60_000));
  return b.build();
}

test('window and session stores: queryable, and restored from their changelogs on restart', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'clicks', partitions: 2 }]);
    const base = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    const input = [
      { key: 'a', value: 'x', timestamp: base + 1000 },
      { key: 'a', value: 'x', timestamp: base + 2000 },
      { key: 'b', value: 'x', timestamp: base + 3000 },
      { key: 'a', value: 'x', timestamp: base + 12_000 },
    ];
    const windows = (store: ReadOnlyWindowStore<string, number>): string[] =>
      ['a', 'b'].flatMap((k) => [...store.fetchRange(k, base, base + 20_000)].map((e) => `${k}@${e.key - base}=${e.value}`));
    const sessions = (store: ReadOnlySessionStore<string, number>): string[] =>
      ['a', 'b'].flatMap((k) => [...store.fetch(k)].map((e) => `${k}@${e.key.window.start - base}-${e.key.window.end - base}=${e.value}`));
    const wantWindows = ['a@0=2', 'a@10000=1', 'b@0=1'];
    const wantSessions = ['a@1000-2000=2', 'a@12000-12000=1', 'b@3000-3000=1'];

    const first = await startApp(topology(), fastProps(address, 'windowed'));
    try {
      await produce(address, 'clicks', input);
      const w = first.app.store<ReadOnlyWindowStore<string, number>>('per-10s');
      const s = first.app.store<ReadOnlySessionStore<string, number>>('sessions');
      await waitFor('the windows', () => windows(w).join() === wantWindows.join() && sessions(s).join() === wantSessions.join());
      assert.equal(w.fetch('a', base), 2);
      assert.equal(s.fetchSession('a', base + 1000, base + 2000), 2);
    } finally {
      await first.app.close();
    }

    const second = await startApp(topology(), fastProps(address, 'windowed'));
    try {
      assert.deepEqual(windows(second.app.store('per-10s')), wantWindows);
      assert.deepEqual(sessions(second.app.store('sessions')), wantSessions);
      // The counts go on from the restored state.
      await produce(address, 'clicks', [{ key: 'a', value: 'x', timestamp: base + 14_000 }]);
      const w = second.app.store<ReadOnlyWindowStore<string, number>>('per-10s');
      const s = second.app.store<ReadOnlySessionStore<string, number>>('sessions');
      await waitFor('the new record', () => w.fetch('a', base + 10_000) === 2);
      await waitFor('the merged session', () => sessions(s).join() === ['a@1000-2000=2', 'a@12000-14000=2', 'b@3000-3000=1'].join());
    } finally {
      await second.app.close();
    }
  });
});
