// Interactive queries over HTTP against a running KafkaStreams: key-value, window and session stores, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consumed, Materialized, Serdes, SessionWindows, StreamsBuilder, TimeWindows, startQueryServer,
} from '../../../src/streams/index.js';
import { createTopics, fastProps, produce, startApp, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('GET /v1/stores…: values by key, key ranges, windows and sessions as JSON; clear errors', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'views', partitions: 2 }]);
    const b = new StreamsBuilder();
    const grouped = b.stream('views', Consumed.with(S, S)).groupByKey();
    grouped.count(Materialized.as('views-per-user'));
    grouped.windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).count(Materialized.as('views-per-minute'));
    grouped.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5000)).count(Materialized.as<string, number>('visits').withRetention(600_000));
    const { app } = await startApp(b.build(), fastProps(address, 'iq-http'));
    const server = await startQueryServer(app);
    try {
      const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
      await produce(address, 'views', [
        { key: 'ann', value: '/', timestamp: minute + 1000 },
        { key: 'ann', value: '/a', timestamp: minute + 2000 },
        { key: 'bob', value: '/', timestamp: minute + 3000 },
        { key: 'ann', value: '/b', timestamp: minute + 61_000 },
      ]);
      await waitFor('the counts', () => (app.store<{ get(k: string): number | null }>('views-per-user').get('ann') ?? 0) === 3 && app.store<{ get(k: string): number | null }>('views-per-user').get('bob') === 1);

      const list = await get(`${server.url}/v1/stores`);
      assert.equal(list.status, 200);
      assert.equal(list.body.state, 'RUNNING');
      assert.deepEqual(list.body.stores, [
        { name: 'views-per-minute', kind: 'window' }, { name: 'views-per-user', kind: 'keyValue' }, { name: 'visits', kind: 'session' },
      ]);

      assert.deepEqual((await get(`${server.url}/v1/stores/views-per-user/ann`)).body, { store: 'views-per-user', key: 'ann', value: 3 });
      const all = await get(`${server.url}/v1/stores/views-per-user`);
      assert.deepEqual(all.body.entries, [{ key: 'ann', value: 3 }, { key: 'bob', value: 1 }]);
      assert.equal(all.body.truncated, false);
      assert.deepEqual((await get(`${server.url}/v1/stores/views-per-user?from=b`)).body.entries, [{ key: 'bob', value: 1 }]);
      assert.deepEqual((await get(`${server.url}/v1/stores/views-per-user?limit=1`)).body, { store: 'views-per-user', kind: 'keyValue', entries: [{ key: 'ann', value: 3 }], truncated: true });

      const annMinutes = await get(`${server.url}/v1/stores/views-per-minute/ann?from=${minute}&to=${minute + 60_000}`);
      assert.deepEqual(annMinutes.body.windows, [{ start: minute, value: 2 }, { start: minute + 60_000, value: 1 }]);
      const firstMinute = await get(`${server.url}/v1/stores/views-per-minute?from=${minute}&to=${minute}`);
      assert.deepEqual(firstMinute.body.entries, [
        { key: 'ann', start: minute, end: minute + 60_000, value: 2 }, { key: 'bob', start: minute, end: minute + 60_000, value: 1 },
      ]);
      assert.deepEqual((await get(`${server.url}/v1/stores/visits/ann`)).body.sessions, [
        { start: minute + 1000, end: minute + 2000, value: 2 }, { start: minute + 61_000, end: minute + 61_000, value: 1 },
      ]);

      const missing = await get(`${server.url}/v1/stores/views-per-user/zed`);
      assert.equal(missing.status, 404);
      assert.match(String(missing.body.error), /not in views-per-user on this instance/);
      const noStore = await get(`${server.url}/v1/stores/nope`);
      assert.equal(noStore.status, 404);
      assert.match(String(noStore.body.error), /the stores are: views-per-minute, views-per-user, visits/);
      assert.equal((await get(`${server.url}/v1/stores/visits`)).status, 400);
      assert.equal((await get(`${server.url}/v1/stores/views-per-minute/ann?from=yesterday`)).status, 400);
      assert.equal((await fetch(`${server.url}/v1/stores`, { method: 'POST' })).status, 405);
      assert.equal((await get(`${server.url}/elsewhere`)).status, 404);
    } finally {
      await server.close();
      await app.close();
    }
  });
});

test('a stopped application answers 503 with the reason', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'views', partitions: 1 }]);
    const b = new StreamsBuilder();
    b.stream('views', Consumed.with(S, S)).groupByKey().count(Materialized.as('n'));
    const { app } = await startApp(b.build(), fastProps(address, 'iq-stopped'));
    const server = await startQueryServer(app);
    try {
      await app.close();
      const r = await get(`${server.url}/v1/stores/n/x`);
      assert.equal(r.status, 503);
      assert.match(String(r.body.error), /cannot be queried in state NOT_RUNNING/);
    } finally {
      await server.close();
    }
  });
});
