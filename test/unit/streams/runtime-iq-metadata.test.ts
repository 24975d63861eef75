// Interactive queries across instances (application.server): two instances of a counting application, each with
// its query server on its application.server. The metadata names both with disjoint partitions covering all; each
// key's metadata names the instance whose local store holds it; the wrong instance's HTTP endpoint redirects to
// the right one; after one instance closes, the metadata converges to the survivor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  Consumed, Grouped, KafkaStreams, KeyQueryMetadata, Materialized, Repartitioned, Serdes, StreamsBuilder, startQueryServer, type ReadOnlyKeyValueStore,
  type StreamsMetadata,
} from '../../../src/streams/index.js';
import { createTopics, fastProps, produce, startApp, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();

function topology(): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts'));
  return b.build();
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const partitions = (m: StreamsMetadata): number[] => m.topicPartitions.map((tp) => tp.partition);
const taskPartitions = (app: KafkaStreams): number[] => app.activeTasks().map((id) => Number(id.split('_')[1])).sort((x, y) => x - y);

/** The app's metadata matches what each instance runs (the cooperative hand-overs done). */
function settled(apps: KafkaStreams[]): boolean {
  return apps.every((app) => {
    if (app.state() !== 'RUNNING') return false;
    const all = app.metadataForAllStreamsClients();
    if (all.length !== apps.length) return false;
    return apps.every((other) => {
      const m = all.find((x) => x.hostInfo.equals(other.applicationServer()!));
      return m !== undefined && JSON.stringify(partitions(m)) === JSON.stringify(taskPartitions(other));
    });
  });
}

test('metadata across two instances: hosts, key owners, HTTP redirects to the owner; converges after one closes', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 4 }]);
    const [pa, pb] = [await freePort(), await freePort()];
    const unstarted = new KafkaStreams(topology(), fastProps(address, 'iq-meta', { 'application.server': `127.0.0.1:${pa}` }));
    assert.throws(() => unstarted.metadataForAllStreamsClients(), /state CREATED/);
    assert.throws(() => new KafkaStreams(topology(), fastProps(address, 'iq-meta', { 'application.server': 'no-port' })), /host:port/);

    // Before the first assignment (start() resolves once subscribed; the join needs round trips): nothing known.
    const first = new KafkaStreams(topology(), fastProps(address, 'iq-meta', { 'application.server': `127.0.0.1:${pa}` }));
    await first.start();
    assert.equal(first.state(), 'REBALANCING');
    assert.deepEqual(first.metadataForAllStreamsClients(), []);
    assert.deepEqual(first.queryMetadataForKey('counts', 'k0', S), KeyQueryMetadata.NOT_AVAILABLE);
    await waitFor('the first instance to run', () => first.state() === 'RUNNING');
    const a = { app: first };
    const b = await startApp(topology(), fastProps(address, 'iq-meta', { 'application.server': `127.0.0.1:${pb}` }));
    const qa = await startQueryServer(a.app);
    const qb = await startQueryServer(b.app);
    let bClosed = false;
    try {
      assert.equal(qa.url, `http://127.0.0.1:${pa}`);
      assert.equal(qb.url, `http://127.0.0.1:${pb}`);
      await waitFor('the metadata to match the tasks', () => settled([a.app, b.app]) && a.app.activeTasks().length === 2);

      const all = a.app.metadataForAllStreamsClients();
      assert.deepEqual(all.map((m) => m.hostInfo.toString()), [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`].sort());
      assert.deepEqual(JSON.parse(JSON.stringify(b.app.metadataForAllStreamsClients())), JSON.parse(JSON.stringify(all)));
      const covered = all.flatMap(partitions).sort();
      assert.deepEqual(covered, [0, 1, 2, 3], 'disjoint partitions covering all');
      for (const m of all) {
        assert.deepEqual(m.stateStoreNames, ['counts']);
        assert.ok(m.topicPartitions.every((tp) => tp.topic === 'events'));
        assert.deepEqual(m.standbyTopicPartitions, []);
      }
      assert.equal(a.app.streamsMetadataForStore('counts').length, 2);
      assert.deepEqual(a.app.streamsMetadataForStore('no-such-store'), []);
      assert.deepEqual(a.app.queryMetadataForKey('no-such-store', 'k', S), KeyQueryMetadata.NOT_AVAILABLE);
      assert.equal(a.app.metadataForLocalThreads()[0].activeTasks.length, 2);
      assert.deepEqual(a.app.metadataForLocalThreads()[0].activeTasks.flatMap((t) => t.topicPartitions.map((tp) => tp.partition)).sort(), taskPartitions(a.app));

      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      const records = Array.from({ length: 120 }, (_, i) => ({ key: keys[i % 12], value: `v${i}` }));
      await produce(address, 'events', records);
      const sa = a.app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      const sb = b.app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      await waitFor('every count', () => keys.every((k) => (sa.get(k) ?? sb.get(k)) === 10));

      const byHost = new Map([[`127.0.0.1:${pa}`, { app: a.app, store: sa, url: qa.url }], [`127.0.0.1:${pb}`, { app: b.app, store: sb, url: qb.url }]]);
      const owners = new Set<string>();
      for (const key of keys) {
        const meta = a.app.queryMetadataForKey('counts', key, S);
        assert.deepEqual(b.app.queryMetadataForKey('counts', key, S), meta);
        const owner = byHost.get(meta.activeHost.toString())!;
        const other = [...byHost.values()].find((x) => x !== owner)!;
        owners.add(meta.activeHost.toString());
        assert.equal(owner.store.get(key), 10, `${key} on its active host ${meta.activeHost.toString()}`);
        assert.equal(other.store.get(key), null, `${key} not on the other host`);
        assert.ok(partitions(all.find((m) => m.hostInfo.equals(meta.activeHost))!).includes(meta.partition));

        // The wrong instance answers where the key lives; following the Location gives the count.
        const wrong = await fetch(`${other.url}/v1/stores/counts/${key}`, { redirect: 'manual' });
        assert.equal(wrong.status, 307);
        const location = `${owner.url}/v1/stores/counts/${key}`;
        assert.equal(wrong.headers.get('location'), location);
        const body = (await wrong.json()) as Record<string, unknown>;
        assert.equal(body.activeHost, meta.activeHost.toString());
        assert.equal(body.partition, meta.partition);
        assert.deepEqual(await (await fetch(location, { redirect: 'manual' })).json(), { store: 'counts', key, value: 10 });
        assert.deepEqual(await (await fetch(`${other.url}/v1/stores/counts/${key}`)).json(), { store: 'counts', key, value: 10 }, 'fetch follows the 307');
        const httpMeta = (await (await fetch(`${other.url}/v1/metadata/counts/${key}`)).json()) as Record<string, unknown>;
        assert.deepEqual(httpMeta, { store: 'counts', key, activeHost: meta.activeHost.toString(), standbyHosts: [], partition: meta.partition });
      }
      assert.equal(owners.size, 2, 'both instances own some of the 12 keys');
      // A custom StreamPartitioner decides the partition.
      assert.equal(a.app.queryMetadataForKey('counts', 'k0', () => 3).partition, 3);
      const httpAll = (await (await fetch(`${qa.url}/v1/metadata`)).json()) as { self: string; instances: Array<{ hostInfo: { host: string; port: number } }> };
      assert.equal(httpAll.self, `127.0.0.1:${pa}`);
      assert.deepEqual(httpAll.instances.map((i) => i.hostInfo.port).sort(), [pa, pb].sort());

      // b leaves: a's metadata converges to a alone with every partition, and a answers every key itself.
      await qb.close();
      await b.app.close();
      bClosed = true;
      await waitFor('the metadata to name only a', () => settled([a.app]) && a.app.activeTasks().length === 4, 20_000);
      assert.deepEqual(a.app.metadataForAllStreamsClients().map((m) => [m.hostInfo.port, partitions(m)]), [[pa, [0, 1, 2, 3]]]);
      await waitFor('the restored counts', () => keys.every((k) => sa.get(k) === 10));
      for (const key of keys) {
        assert.equal(a.app.queryMetadataForKey('counts', key, S).activeHost.port, pa);
        assert.deepEqual(await (await fetch(`${qa.url}/v1/stores/counts/${key}`, { redirect: 'manual' })).json(), { store: 'counts', key, value: 10 });
      }
    } finally {
      await qa.close();
      if (!bClosed) await qb.close();
      await b.app.close();
      await a.app.close();
    }
  });
});

test('with a standby replica: each key names the other instance as standby, which answers ?stale=true itself', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 2 }]);
    const [pa, pb] = [await freePort(), await freePort()];
    const props = (port: number): ReturnType<typeof fastProps> => fastProps(address, 'iq-standby', { 'application.server': `127.0.0.1:${port}`, 'num.standby.replicas': 1 });
    const a = await startApp(topology(), props(pa));
    const b = await startApp(topology(), props(pb));
    const qa = await startQueryServer(a.app);
    const qb = await startQueryServer(b.app);
    try {
      await waitFor('one task each and a standby of the other', () => settled([a.app, b.app]) && a.app.activeTasks().length === 1 && b.app.metadataForAllStreamsClients()
        .every((m) => m.standbyTopicPartitions.length === 1 && m.standbyTopicPartitions[0].partition !== m.topicPartitions[0].partition));
      for (const m of a.app.metadataForAllStreamsClients()) assert.deepEqual(m.standbyStateStoreNames, ['counts']);
      const keys = Array.from({ length: 8 }, (_, i) => `s${i}`);
      await produce(address, 'events', keys.flatMap((key) => [{ key, value: '1' }, { key, value: '2' }]));
      const stale = (app: KafkaStreams): ReadOnlyKeyValueStore<string, number> => app.store('counts', { enableStaleStores: true });
      // Both instances hold every key (active or standby) once the standbys caught up.
      await waitFor('the standbys to catch up', () => keys.every((k) => stale(a.app).get(k) === 2 && stale(b.app).get(k) === 2));
      const urlOf = new Map([[pa, qa.url], [pb, qb.url]]);
      for (const key of keys) {
        const meta = a.app.queryMetadataForKey('counts', key, S);
        assert.equal(meta.standbyHosts.length, 1);
        assert.notEqual(meta.standbyHosts[0].port, meta.activeHost.port);
        const standbyUrl = urlOf.get(meta.standbyHosts[0].port)!;
        assert.equal((await fetch(`${standbyUrl}/v1/stores/counts/${key}`, { redirect: 'manual' })).status, 307);
        const res = await fetch(`${standbyUrl}/v1/stores/counts/${key}?stale=true`, { redirect: 'manual' });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { store: 'counts', key, value: 2 });
      }
    } finally {
      await qa.close();
      await qb.close();
      await b.app.close();
      await a.app.close();
    }
  });
});

test('a store behind a repartition topic of 4 partitions (input: 3): the key partitions over it, and its owner holds it', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 3 }]);
    const regroup = (): ReturnType<StreamsBuilder['build']> => {
      const b = new StreamsBuilder();
      b.stream('events', Consumed.with(S, S)).selectKey((_k, v) => v).repartition(Repartitioned.with(S, S).withNumberOfPartitions(4))
        .groupByKey(Grouped.with(S, S)).count(Materialized.as('by-page'));
      return b.build();
    };
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await startApp(regroup(), fastProps(address, 'iq-regroup', { 'application.server': `127.0.0.1:${pa}` }));
    const b = await startApp(regroup(), fastProps(address, 'iq-regroup', { 'application.server': `127.0.0.1:${pb}` }));
    try {
      const repartition = (m: StreamsMetadata | undefined): number[] => (m?.topicPartitions ?? []).filter((tp) => tp.topic.endsWith('-repartition')).map((tp) => tp.partition);
      const mine = (app: KafkaStreams): number[] => app.activeTasks().filter((t) => t.startsWith('1_')).map((t) => Number(t.slice(2))).sort((x, y) => x - y);
      await waitFor('the tasks split and the metadata to match', () => [a.app, b.app].every((app) => app.state() === 'RUNNING' && app.metadataForAllStreamsClients().length === 2)
        && a.app.activeTasks().length + b.app.activeTasks().length === 7
        && [a.app, b.app].every((app) => JSON.stringify(repartition(a.app.metadataForAllStreamsClients().find((m) => m.hostInfo.equals(app.applicationServer()!)))) === JSON.stringify(mine(app))));
      const holders = a.app.metadataForAllStreamsClients().filter((m) => repartition(m).length > 0).map((m) => m.hostInfo.port).sort();
      assert.deepEqual(a.app.streamsMetadataForStore('by-page').map((m) => m.hostInfo.port).sort(), holders);
      const pages = Array.from({ length: 12 }, (_, i) => `/p${i}`);
      await produce(address, 'events', pages.flatMap((page, i) => Array.from({ length: 3 }, (_, j) => ({ key: `u${i + j}`, value: page }))));
      const stores = new Map([[pa, a.app.store<ReadOnlyKeyValueStore<string, number>>('by-page')], [pb, b.app.store<ReadOnlyKeyValueStore<string, number>>('by-page')]]);
      await waitFor('every page counted', () => pages.every((p) => (stores.get(pa)!.get(p) ?? stores.get(pb)!.get(p)) === 3));
      const partitionsSeen = new Set<number>();
      for (const page of pages) {
        const meta = b.app.queryMetadataForKey('by-page', page, S);
        partitionsSeen.add(meta.partition);
        assert.equal(stores.get(meta.activeHost.port)!.get(page), 3, `${page} on ${meta.activeHost.toString()}`);
        assert.equal(stores.get(meta.activeHost.port === pa ? pb : pa)!.get(page), null);
      }
      assert.ok(partitionsSeen.has(3), 'a key on partition 3, which the 3-partition input does not have');
    } finally {
      await b.app.close();
      await a.app.close();
    }
  });
});
