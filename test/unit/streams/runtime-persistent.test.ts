// KafkaStreams with persistent stores against the in-process broker: checkpoints written on commit and clean close,
// a restart after a clean close restores nothing, after a crash only the changelog tail past the checkpoint; the
// restore rate of a large changelog, persistent vs in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import {
  Consumed, KafkaStreams, Materialized, Produced, Serdes, Stores, StreamsBuilder,
  type KafkaStreamsProps, type ReadOnlyKeyValueStore, type StateRestoreListener,
} from '../../../src/streams/index.js';
import { lockTaskDirectory, readCheckpoint } from '../../../src/streams/state/state-directory.js';
import { createTopics, fastProps, latest, long, produce, readUntil, waitFor, withBroker } from './runtime-support.js';

const S = Serdes.String();
const L = Serdes.Long();

function countTopology(persistent: boolean): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  const supplier = persistent ? Stores.persistentKeyValueStore('counts') : Stores.inMemoryKeyValueStore('counts');
  b.stream('events', Consumed.with(S, S)).groupByKey().count(Materialized.as<string, number>(supplier)).toStream().to('counts-out', Produced.with(S, L));
  return b.build();
}

/** Starts an app, counting what its stores restore; resolves once RUNNING. */
async function start(props: KafkaStreamsProps, persistent = true): Promise<{ app: KafkaStreams; restored: () => number; restoreMs: () => number }> {
  const app = new KafkaStreams(countTopology(persistent), props);
  let restored = 0;
  let began = 0;
  let ended = 0;
  const listener: StateRestoreListener = {
    onRestoreStart: () => { began ||= performance.now(); },
    onRestoreEnd: (_tp, _store, total) => { restored += total; ended = performance.now(); },
  };
  app.setGlobalStateRestoreListener(listener);
  await app.start();
  await waitFor('the app to run', () => app.state() === 'RUNNING', 25_000);
  return { app, restored: () => restored, restoreMs: () => ended - began };
}

function events(n: number, keys: number): Array<{ key: string; value: string }> {
  return Array.from({ length: n }, (_, i) => ({ key: `user${i % keys}`, value: `e${i}` }));
}

async function countsReach(address: string, expected: number, keys: number): Promise<void> {
  await readUntil(address, 'counts-out', (rs) => {
    const m = latest(rs, long);
    return m.size === keys && [...m.values()].every((v) => v === expected);
  });
}

test('a persistent count store: checkpoints on clean close, a restart restores nothing; after a crash only the tail', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sstore-rt-'));
  try {
    await withBroker(async (address) => {
      await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'counts-out', partitions: 2 }]);
      // Without record caches (0 bytes): every update reaches the changelog and the output at once, so the crash
      // below leaves exactly the 20 uncommitted updates as the changelog's tail.
      const props = fastProps(address, 'pcount', { 'state.dir': stateDir, 'statestore.cache.max.bytes': 0 });
      const first = await start(props);
      await produce(address, 'events', events(40, 4));
      await countsReach(address, 10, 4);
      await first.app.close();
      for (const task of ['0_0', '0_1']) {
        const dir = join(stateDir, 'pcount', task);
        assert.ok(existsSync(join(dir, 'counts.db')), `${task}: the store's database`);
        assert.ok(!existsSync(join(dir, '.lock')), `${task}: the lock is released on close`);
        const cp = readCheckpoint(dir);
        assert.equal(cp.size, 1, `${task}: a checkpoint of its changelog partition`);
        assert.ok([...cp.values()][0] >= 0);
      }

      // Clean restart: nothing to restore, and the counts go on from the store on disk.
      const second = await start({ ...props, 'commit.interval.ms': 600_000 });
      assert.equal(second.restored(), 0, 'a restart after a clean close restores nothing');
      await produce(address, 'events', events(20, 4));
      await countsReach(address, 15, 4);
      // A crash: no commit, no flush, no checkpoint. The 20 changelog records written since are the tail.
      await second.app.close({ crash: true });

      const third = await start(props);
      try {
        assert.equal(third.restored(), 20, 'only the changelog tail past the checkpoint is restored');
        // At-least-once: the 20 uncommitted input records are processed again on top of the restored 15 each.
        await countsReach(address, 20, 4);
        const store = third.app.store<ReadOnlyKeyValueStore<string, number>>('counts');
        assert.equal(store.get('user0'), 20);
        assert.equal(store.approximateNumEntries(), 4);
      } finally {
        await third.app.close();
      }
    });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a checkpoint past the changelog end (the topic was recreated: a new cluster) wipes the store before restoring', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sstore-wipe-'));
  try {
    for (const [n, expected] of [[40, 10], [4, 1]] as const) {
      await withBroker(async (address) => {
        await createTopics(address, [{ name: 'events', partitions: 2 }, { name: 'counts-out', partitions: 2 }]);
        const run = await start(fastProps(address, 'pwipe', { 'state.dir': stateDir }));
        try {
          await produce(address, 'events', events(n, 4));
          // The second cluster's counts start from nothing, not from the first cluster's 10 per key left on disk.
          await countsReach(address, expected, 4);
          assert.equal(run.app.store<ReadOnlyKeyValueStore<string, number>>('counts').get('user1'), expected);
        } finally {
          await run.app.close();
        }
      });
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a task directory locked by another instance stops the application with an error naming the lock', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sstore-lock-'));
  const release = lockTaskDirectory(join(stateDir, 'plock', '0_0'));
  try {
    await withBroker(async (address) => {
      await createTopics(address, [{ name: 'events', partitions: 1 }, { name: 'counts-out', partitions: 1 }]);
      const app = new KafkaStreams(countTopology(true), fastProps(address, 'plock', { 'state.dir': stateDir }));
      let failure: Error | null = null;
      app.setUncaughtExceptionHandler((err) => { failure = err; });
      await app.start();
      await waitFor('the app to fail', () => app.state() === 'ERROR');
      assert.match(String(failure), /task directory .*plock\/0_0 is locked/);
      await app.close();
    });
  } finally {
    release();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

const BIG = Number(process.env.SSTORE_RESTORE_KEYS ?? 1_000_000);

test(`restoring ${BIG} keys from a changelog: in memory vs persistent (rates logged)`, async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'sstore-big-'));
  try {
    await withBroker(async (address) => {
      await createTopics(address, [{ name: 'events', partitions: 1 }, { name: 'counts-out', partitions: 1 }]);
      const admin = new Admin({ bootstrapServers: address });
      await admin.connect();
      await admin.createTopics([{ name: 'pbig-counts-changelog', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }]);
      await admin.close();
      // The changelog as the count store writes it: string keys, ValueAndTimestamp<Long> values.
      const p = new Producer({ bootstrapServers: address, acks: 'all', lingerMs: 5 });
      await p.connect();
      const t0 = performance.now();
      const value = Buffer.alloc(16);
      value.writeBigInt64BE(1n, 8);
      for (let i = 0; i < BIG; i += 10_000) {
        const batch = [];
        for (let j = i; j < Math.min(BIG, i + 10_000); j++) batch.push({ topic: 'pbig-counts-changelog', partition: 0, key: `k${j}`, value });
        await p.sendBatch(batch);
      }
      await p.close();
      const produceMs = performance.now() - t0;
      const props = fastProps(address, 'pbig', { 'state.dir': stateDir });
      const mem = await start(props, false);
      assert.equal(mem.restored(), BIG);
      assert.equal(mem.app.store<ReadOnlyKeyValueStore<string, number>>('counts').get(`k${BIG - 1}`), 1);
      await mem.app.close();
      const disk = await start(props, true);
      assert.equal(disk.restored(), BIG);
      assert.equal(disk.app.store<ReadOnlyKeyValueStore<string, number>>('counts').get(`k${BIG - 1}`), 1);
      await disk.app.close();
      const rate = (ms: number): number => Math.round(BIG / (ms / 1000));
      console.log(`# restore ${BIG} keys: produced in ${Math.round(produceMs)} ms; in memory ${Math.round(mem.restoreMs())} ms (${rate(mem.restoreMs())} records/s), ` +
        `persistent ${Math.round(disk.restoreMs())} ms (${rate(disk.restoreMs())} records/s), rate ratio persistent/in-memory ${(mem.restoreMs() / disk.restoreMs()).toFixed(2)}`);
      // Restarted after a clean close: the checkpoint covers the whole changelog.
      const again = await start(props, true);
      assert.equal(again.restored(), 0);
      await again.app.close();
    });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
