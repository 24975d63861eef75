// KafkaStreams against the in-process broker: stateless, counts with a compacted changelog, restore on restart,
// repartitioning, the configuration checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { partitionForKey } from '../../../src/client/partitioner.js';
import {
  Consumed, KafkaStreams, Materialized, Produced, PunctuationType, Record, Repartitioned, Serdes, StreamsBuilder, StreamsException,
  type ReadOnlyKeyValueStore, type StateRestoreListener,
} from '../../../src/streams/index.js';
import { createTopics, fastProps, latest, long, produce, readUntil, sameMap, startApp, str, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();

test('a stateless filter and map runs from topic to topic; commits follow what was processed', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'words', partitions: 3 }, { name: 'upper', partitions: 3 }]);
    const b = new StreamsBuilder();
    b.stream('words', Consumed.with(S, S)).filter((_k, v) => !v.startsWith('skip')).mapValues((v) => v.toUpperCase()).to('upper', Produced.with(S, S));
    const { app, states } = await startApp(b.build(), fastProps(address, 'stateless'));
    try {
      const input = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: i % 5 === 0 ? `skip${i}` : `w${i}` }));
      await produce(address, 'words', input);
      const expected = input.filter((r) => !r.value.startsWith('skip')).map((r) => `${r.key}=${r.value.toUpperCase()}`).sort();
      const out = await readUntil(address, 'upper', (rs) => rs.length >= expected.length);
      assert.deepEqual(out.map((r) => `${str(r.key!)}=${str(r.value!)}`).sort(), expected);
      // Keys keep their partition: the sink hashes keys as the producer of the input did.
      const admin = new Admin({ bootstrapServers: address });
      await admin.connect();
      try {
        const deadline = Date.now() + 5000;
        let committed = 0;
        while (Date.now() < deadline) {
          committed = (await admin.listGroupOffsets('stateless')).reduce((n, o) => n + o.offset, 0);
          if (committed === input.length) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(committed, input.length, 'the committed offsets cover every input record');
      } finally {
        await admin.close();
      }
      assert.equal(app.metrics()['process-total'], 60);
    } finally {
      await app.close();
    }
    assert.deepEqual(states, ['CREATED', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);
  });
});

function countTopology(): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as('counts')).toStream().to('counts-out', Produced.with(S, L));
  return b.build();
}

function events(n: number, keys: number, offset = 0): Array<{ key: string; value: string }> {
  return Array.from({ length: n }, (_, i) => ({ key: `user${(i + offset) % keys}`, value: `e${i + offset}` }));
}

function expectedCounts(records: Array<{ key: string }>): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(r.key, (m.get(r.key) ?? 0) + 1);
  return m;
}

test('a count by key: right output, a compacted changelog holding the counts, the store queryable', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 3 }, { name: 'counts-out', partitions: 3 }]);
    // No record cache (0 bytes): every update reaches the output and the changelog (test/unit/streams/runtime-cache.test.ts has them cached).
    const { app } = await startApp(countTopology(), fastProps(address, 'counter', { 'statestore.cache.max.bytes': 0 }));
    try {
      const input = events(90, 9);
      await produce(address, 'events', input);
      const want = expectedCounts(input);
      const out = await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), want));
      assert.equal(out.length, 90, 'one update per record (no caching)');
      const changelog = 'counter-counts-changelog';
      const logged = await readUntil(address, changelog, (rs) => sameMap(latest(rs, long), want));
      assert.equal(logged.length, 90);
      // Each count is logged to the partition of its task, which is its input partition; with the timestamped
      // layout (8-byte timestamp, then the count).
      for (const r of logged) {
        assert.equal(r.partition, partitionForKey(r.key!, 3));
        assert.equal(r.value!.length, 16);
      }
      const admin = new Admin({ bootstrapServers: address });
      await admin.connect();
      try {
        const [d] = await admin.describeTopics([changelog]);
        assert.equal(d.partitions.length, 3);
        const [cfg] = await admin.describeConfigs([{ type: 'topic', name: changelog }]);
        assert.equal(cfg.configs.find((e) => e.name === 'cleanup.policy')?.value, 'compact');
      } finally {
        await admin.close();
      }
      const store = app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      assert.equal(store.get('user4'), 10);
      assert.equal(store.get('nobody'), null);
      assert.equal(store.approximateNumEntries(), 9);
      assert.deepEqual(new Map([...store.all()].map((e) => [e.key, e.value])), want);
    } finally {
      await app.close();
    }
    assert.throws(() => app.store('counts'), StreamsException);
  });
});

test('stop and start again: the store restores from its changelog and the counts continue', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'counts-out', partitions: 2 }]);
    const first = await startApp(countTopology(), fastProps(address, 'restorer', { 'statestore.cache.max.bytes': 0 }));
    const batch1 = events(40, 5);
    try {
      await produce(address, 'events', batch1);
      await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), expectedCounts(batch1)));
    } finally {
      await first.app.close();
    }
    const restored: Array<{ topic: string; partition: number; start: number; end: number; total: number; batches: number }> = [];
    const listener: StateRestoreListener = {
      onRestoreStart: (tp, store, start, end) => {
        assert.equal(store, 'counts');
        restored.push({ ...tp, start, end, total: -1, batches: 0 });
      },
      onBatchRestored: (tp) => { restored.find((r) => r.partition === tp.partition)!.batches++; },
      onRestoreEnd: (tp, _store, total) => { restored.find((r) => r.partition === tp.partition)!.total = total; },
    };
    const app = new KafkaStreams(countTopology(), fastProps(address, 'restorer', { 'statestore.cache.max.bytes': 0 }));
    app.setGlobalStateRestoreListener(listener);
    await app.start();
    try {
      const deadline = Date.now() + 15_000;
      while (app.state() !== 'RUNNING') {
        assert.ok(Date.now() < deadline, 'running again');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(restored.map((r) => r.topic), ['restorer-counts-changelog', 'restorer-counts-changelog']);
      assert.equal(restored.reduce((n, r) => n + r.total, 0), 40, 'every changelog record was restored');
      assert.ok(restored.every((r) => r.start === 0 && r.end === r.total && r.batches >= 1));
      const store = app.store<ReadOnlyKeyValueStore<string, number>>('counts');
      assert.deepEqual(new Map([...store.all()].map((e) => [e.key, e.value])), expectedCounts(batch1));
      const batch2 = events(25, 5, 40);
      await produce(address, 'events', batch2);
      const want = expectedCounts([...batch1, ...batch2]);
      const out = await readUntil(address, 'counts-out', (rs) => sameMap(latest(rs, long), want));
      assert.equal(out.length, 65, 'the first run\'s records were not processed again');
      assert.equal(store.get('user0'), want.get('user0'));
    } finally {
      await app.close();
    }
  });
});

test('selectKey then groupByKey().count() goes through a repartition topic', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'clicks', partitions: 2 }, { name: 'per-page', partitions: 2 }]);
    const b = new StreamsBuilder();
    b.stream('clicks', Consumed.with(S, S))
      .selectKey((_user, page) => page)
      .groupByKey()
      .count(Materialized.as('page-counts'))
      .toStream()
      .to('per-page', Produced.with(S, L));
    const topology = b.build();
    // selectKey drops the key serde: the repartition topic uses the defaults.
    const { app } = await startApp(topology, fastProps(address, 'pages', { 'default.key.serde': S, 'default.value.serde': S }));
    try {
      const input = Array.from({ length: 50 }, (_, i) => ({ key: `user${i % 6}`, value: `/page${i % 4}` }));
      await produce(address, 'clicks', input);
      const want = new Map<string, number>();
      for (const r of input) want.set(r.value, (want.get(r.value) ?? 0) + 1);
      await readUntil(address, 'per-page', (rs) => sameMap(latest(rs, long), want));
      const admin = new Admin({ bootstrapServers: address });
      await admin.connect();
      try {
        const topics = await admin.listTopics();
        const repartition = topics.find((t) => t.startsWith('pages-') && t.endsWith('-repartition'));
        assert.ok(repartition, `a repartition topic among ${topics.join(', ')}`);
        const [d] = await admin.describeTopics([repartition]);
        assert.equal(d.partitions.length, 2, 'as many partitions as its input');
        const rows = await readUntil(address, repartition, (rs) => rs.length >= 50);
        assert.deepEqual(new Set(rows.map((r) => str(r.key!))), new Set(want.keys()));
        assert.ok(topics.includes('pages-page-counts-changelog'));
      } finally {
        await admin.close();
      }
    } finally {
      await app.close();
    }
  });
});

test('repartition() with a partition count and a stream partitioner: the topic is created so and written so', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'src', partitions: 1 }, { name: 'dst', partitions: 1 }]);
    const b = new StreamsBuilder();
    b.stream('src', Consumed.with(S, S))
      .repartition(Repartitioned.as<string, string>('spread').withNumberOfPartitions(3).withStreamPartitioner((_t, _k, v, n) => Number(v) % n))
      .to('dst', Produced.with(S, S));
    const { app } = await startApp(b.build(), fastProps(address, 'spreader', { 'default.key.serde': S, 'default.value.serde': S }));
    try {
      await produce(address, 'src', Array.from({ length: 30 }, (_, i) => ({ key: 'same', value: String(i) })));
      const rows = await readUntil(address, 'spreader-spread-repartition', (rs) => rs.length >= 30);
      for (const r of rows) assert.equal(r.partition, Number(str(r.value!)) % 3);
      const out = await readUntil(address, 'dst', (rs) => rs.length >= 30);
      assert.deepEqual(out.map((r) => Number(str(r.value!))).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i));
      assert.deepEqual(app.activeTasks(), ['0_0', '1_0', '1_1', '1_2']);
    } finally {
      await app.close();
    }
  });
});

test('a stream-table join: one task reads both co-partitioned topics; the table restores on restart', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'users', partitions: 2 }, { name: 'orders', partitions: 2 }, { name: 'enriched', partitions: 2 }]);
    const topology = (): ReturnType<StreamsBuilder['build']> => {
      const b = new StreamsBuilder();
      const users = b.table('users', Consumed.with(S, S), Materialized.as<string, string>('users-store'));
      b.stream('orders', Consumed.with(S, S)).join(users, (order, name) => `${name} bought ${order}`).to('enriched', Produced.with(S, S));
      return b.build();
    };
    const users = Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, value: `name${i}` }));
    const first = await startApp(topology(), fastProps(address, 'joiner'));
    try {
      assert.deepEqual(first.app.activeTasks(), ['0_0', '0_1'], 'one sub-topology: both topics\' partition p in task 0_p');
      await produce(address, 'users', users);
      const store = first.app.store<ReadOnlyKeyValueStore<string, string>>('users-store');
      const deadline = Date.now() + 10_000;
      while (store.approximateNumEntries() < 6) {
        assert.ok(Date.now() < deadline, 'the table filled');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(store.get('u3'), 'name3');
      await produce(address, 'orders', [{ key: 'u1', value: 'tea' }, { key: 'u4', value: 'jam' }, { key: 'nobody', value: 'x' }]);
      const out = await readUntil(address, 'enriched', (rs) => rs.length >= 2);
      assert.deepEqual(out.map((r) => `${str(r.key!)}:${str(r.value!)}`).sort(), ['u1:name1 bought tea', 'u4:name4 bought jam']);
    } finally {
      await first.app.close();
    }
    // Restarted, the table comes back from its changelog: a new order joins with no new user record.
    const second = await startApp(topology(), fastProps(address, 'joiner'));
    try {
      await produce(address, 'orders', [{ key: 'u5', value: 'pie' }]);
      const out = await readUntil(address, 'enriched', (rs) => rs.length >= 3);
      assert.ok(out.some((r) => str(r.value!) === 'name5 bought pie'));
      assert.equal(out.length, 3, 'the first run\'s orders were not joined again');
    } finally {
      await second.app.close();
    }
  });
});

test('a task reading two topics takes the record with the lowest timestamp first', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'users', partitions: 1 }, { name: 'orders', partitions: 1 }, { name: 'enriched', partitions: 1 }]);
    const b = new StreamsBuilder();
    const users = b.table('users', Consumed.with(S, S));
    b.stream('orders', Consumed.with(S, S)).leftJoin(users, (order, name) => `${order}:${name ?? 'unknown'}`).to('enriched', Produced.with(S, S));
    const base = Date.now() - 10_000;
    // Written before the application starts, so one poll returns both topics' records.
    await produce(address, 'orders', [{ key: 'u1', value: 'early', timestamp: base + 50 }, { key: 'u1', value: 'late', timestamp: base + 200 }]);
    await produce(address, 'users', [{ key: 'u1', value: 'ann', timestamp: base + 100 }]);
    const { app } = await startApp(b.build(), fastProps(address, 'ordered'));
    try {
      const out = await readUntil(address, 'enriched', (rs) => rs.length >= 2);
      // In offset order per topic, orders first: both unknown; users first: both ann. By timestamp: one of each.
      assert.deepEqual(out.map((r) => str(r.value!)), ['early:unknown', 'late:ann']);
    } finally {
      await app.close();
    }
  });
});

test('the configuration is checked: standby and recovery-lag numbers; processing.guarantee names', async () => {
  const topology = countTopology();
  const base = { 'application.id': 'cfg', 'bootstrap.servers': '127.0.0.1:1' };
  assert.throws(() => new KafkaStreams(topology, { ...base, 'processing.guarantee': 'exactly_once_beta' as 'exactly_once_v2' }), /processing\.guarantee must be 'at_least_once' or 'exactly_once_v2'/);
  assert.equal(new KafkaStreams(topology, { ...base, 'processing.guarantee': 'exactly_once_v2' }).state(), 'CREATED');
  assert.equal(new KafkaStreams(topology, { ...base, 'num.standby.replicas': 1 }).state(), 'CREATED');
  assert.throws(() => new KafkaStreams(topology, { ...base, 'num.standby.replicas': -1 }), /num\.standby\.replicas must be an integer >= 0/);
  assert.throws(() => new KafkaStreams(topology, { ...base, 'num.standby.replicas': 1.5 }), /num\.standby\.replicas/);
  assert.throws(() => new KafkaStreams(topology, { ...base, 'acceptable.recovery.lag': -5 }), /acceptable\.recovery\.lag/);
  assert.throws(() => new KafkaStreams(topology, { ...base, 'application.id': 'bad id' }), /application\.id/);
  const app = new KafkaStreams(topology, { ...base, 'num.standby.replicas': 0, 'state.dir': '/tmp/unused' });
  assert.equal(app.state(), 'CREATED');
  await app.close();
  assert.equal(app.state(), 'NOT_RUNNING');
});

test('a failure while processing moves the application to ERROR and reports it', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'clicks', partitions: 1 }]);
    const b = new StreamsBuilder();
    // No key serde after selectKey and no default: the repartition sink cannot serialize.
    b.stream('clicks', Consumed.with(S, S)).selectKey((_k, v) => v).groupByKey().count();
    const app = new KafkaStreams(b.build(), fastProps(address, 'failing'));
    const states: string[] = [];
    let reported: Error | null = null;
    app.setStateListener((s) => states.push(s));
    app.setUncaughtExceptionHandler((err) => { reported = err; });
    await app.start();
    const deadline = Date.now() + 10_000;
    while (app.state() !== 'ERROR') {
      assert.ok(Date.now() < deadline, `state ${app.state()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(states, ['REBALANCING', 'ERROR']);
    assert.match(String(reported), /has no key serde/);
    assert.equal(app.lastError(), reported);
    await app.close();
    assert.equal(app.state(), 'ERROR');
  });
});

test('wall-clock punctuations fire from the loop in every task, with no input', async () => {
  await withBroker(async (address) => {
    await createTopics(address, [{ name: 'idle', partitions: 2 }, { name: 'ticks', partitions: 1 }]);
    const b = new StreamsBuilder();
    b.stream('idle', Consumed.with(S, S)).process<string, string>(() => ({
      init(c) {
        c.schedule(50, PunctuationType.WALL_CLOCK_TIME, (ts) => c.forward(new Record(c.taskId.toString(), String(ts), ts)));
      },
      process() {},
    })).to('ticks', Produced.with(S, S));
    const started = Date.now();
    const { app } = await startApp(b.build(), fastProps(address, 'ticker'));
    try {
      const ticks = await readUntil(address, 'ticks', (rs) => new Set(rs.map((r) => str(r.key!))).size === 2 && rs.length >= 6);
      assert.deepEqual(new Set(ticks.map((r) => str(r.key!))), new Set(['0_0', '0_1']));
      for (const r of ticks) {
        assert.equal(r.timestamp, Number(str(r.value!)), 'the record carries the punctuation time');
        assert.ok(r.timestamp >= started && r.timestamp <= Date.now());
      }
      assert.ok(app.metrics()['punctuate-total'] >= 6);
    } finally {
      await app.close();
    }
  });
});

test('a missing source topic fails start() and leaves the application in ERROR', async () => {
  await withBroker(async (address) => {
    const app = new KafkaStreams(countTopology(), fastProps(address, 'orphan'));
    await assert.rejects(app.start(), /source topics missing: events/);
    assert.equal(app.state(), 'ERROR');
    const admin = new Admin({ bootstrapServers: address });
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).some((t) => t.startsWith('orphan-')), 'no internal topic created for it');
    } finally {
      await admin.close();
    }
  });
});
